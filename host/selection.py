"""Which tools a turn is offered: the design note's dynamic tool loading.

A run may reach dozens of tools; a small model chooses badly among many, and every tool's
schema costs prompt tokens. So each turn offers the few tools most relevant to the task and the
recent turns, and the rest stay one ``search_tools`` call away.

Relevance is BM25 over each tool's words (its server, name, description and argument names,
split at ``_`` and case changes), joined, when a run has more tools than it may offer, by the
cosine similarity of sentence embeddings (the RAG embedder, loaded once in the background at
the host's start; until it is there, keywords rank alone). Both are cheap per turn: tool texts
are indexed once per tool list, the query is one short text.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from inference.types import ToolSpec
from settings.host import ToolsConfig

log = logging.getLogger("agenthost.tools")

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_STOP = """
a an and are as at be by can do does for from get give how i in is it its me my of on or please
set some that the this to use using what when where which who why with you your
"""
STOPWORDS = frozenset(_STOP.split())


def words(text: str) -> list[str]:
    """Lowercase content words, split at non-letters and case changes (``get_current_time``,
    ``getCurrentTime`` → current, time), with a light plural/verb-ending strip."""
    out = []
    for raw in _WORD.findall(text):
        word = raw.lower()
        if word in STOPWORDS or len(word) < 2:
            continue
        for suffix in ("ing", "es", "s", "ed"):
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


def tool_text(spec: ToolSpec) -> str:
    props = spec.parameters.get("properties", {}) if isinstance(spec.parameters, dict) else {}
    name = spec.name.replace("__", " ")
    return f"{name} {name} {spec.description} {' '.join(props)}"


class Encoder(Protocol):
    """What ranking needs of an embedding model (``rag.embedding.Embedder`` is one)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class ToolRanker:
    """Ranks tools for a query. ``encoder`` makes the embedding model on first need."""

    def __init__(self, config: ToolsConfig, encoder: Callable[[], Encoder] | None = None) -> None:
        self.config = config
        self._make_encoder = encoder
        self._encoder: Encoder | None = None
        self._loading = threading.Lock()
        self._docs: dict[str, tuple[Counter[str], int]] = {}
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def uses_embeddings(self) -> bool:
        return self.config.ranking != "keyword" and self._make_encoder is not None

    def needs_embeddings(self, tool_count: int) -> bool:
        if not self.uses_embeddings:
            return False
        return self.config.ranking == "embedding" or tool_count > self.config.offer

    def load(self) -> None:
        """Load the embedding model now (blocking: the host calls it in a worker thread at
        start, and ranks by keywords alone until it is there)."""
        with self._loading:
            if self._encoder is None and self._make_encoder is not None:
                try:
                    self._encoder = self._make_encoder()
                except Exception as exc:  # no model: keywords alone still rank
                    log.info("tool ranking without embeddings: %s", exc)
                    self._make_encoder = None

    def rank(self, specs: Sequence[ToolSpec], query: str) -> list[tuple[ToolSpec, float]]:
        """``specs`` best first for ``query``, with a relevance in [0, 1]."""
        if not specs:
            return []
        lexical = self._bm25(specs, words(query))
        top = max(lexical) or 1.0
        scores = [s / top for s in lexical]
        if self._encoder is not None and self.needs_embeddings(len(specs)):
            cosine = self._cosine(specs, query)
            # embeddings carry meaning, keywords carry exact names: both count
            scores = [0.65 * c + 0.35 * k for c, k in zip(cosine, scores, strict=True)]
        order = sorted(range(len(specs)), key=lambda i: -scores[i])
        return [(specs[i], scores[i]) for i in order]

    def name_match(self, spec: ToolSpec, query: str) -> float:
        """The share of the tool's own name words (not its server's) found in ``query``."""
        name = spec.name.split("__", 1)[-1]
        wanted = set(words(name))
        if not wanted:
            return 0.0
        return len(wanted & set(words(query))) / len(wanted)

    # ---- scoring --------------------------------------------------------------------

    def _doc(self, spec: ToolSpec) -> tuple[Counter[str], int]:
        text = tool_text(spec)
        found = self._docs.get(text)
        if found is None:
            terms = words(text)
            found = self._docs[text] = (Counter(terms), len(terms))
        return found

    def _bm25(self, specs: Sequence[ToolSpec], query: list[str]) -> list[float]:
        docs = [self._doc(s) for s in specs]
        n = len(docs)
        avg = sum(length for _, length in docs) / n or 1.0
        df = Counter(term for counts, _ in docs for term in counts)
        k1, b = 1.2, 0.75
        out = []
        for counts, length in docs:
            score = 0.0
            for term in set(query):
                tf = counts.get(term, 0)
                if not tf:
                    continue
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg))
            out.append(score)
        return out

    def _cosine(self, specs: Sequence[ToolSpec], query: str) -> list[float]:
        assert self._encoder is not None
        texts = [f"{s.name.replace('__', ' ').replace('_', ' ')}: {s.description}" for s in specs]
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, self._encoder.encode(missing), strict=True):
                self._vectors[text] = vector
        q = self._encoder.encode([query])[0]
        return [max(0.0, float(self._vectors[t] @ q)) for t in texts]
