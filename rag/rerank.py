"""Reranking: the ``Reranker`` seam, a sentence-transformers ``CrossEncoder`` on a local model
directory, and an LLM-scored reranker over the inference layer (no cross-encoder ships in a
PyPI package today; see docs/rag.md for the measurements)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import anyio
import anyio.to_thread

from inference import ChatRequest, Grammar, Message
from rag.llm import ChatModel, generate


class Reranker(Protocol):
    """Scores (higher is more relevant) for each passage against the query."""

    name: str

    async def score(self, query: str, passages: Sequence[str]) -> list[float]: ...


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder loaded from a local directory (never a hub)."""

    def __init__(self, path: Path, device: str = "cpu") -> None:
        from sentence_transformers import CrossEncoder

        self.name = f"cross-encoder:{path.name}"
        self._model = CrossEncoder(str(path), device=device, local_files_only=True)
        self._lock = anyio.Lock()

    async def score(self, query: str, passages: Sequence[str]) -> list[float]:
        pairs = [(query, p) for p in passages]
        async with self._lock:
            scores = await anyio.to_thread.run_sync(lambda: self._model.predict(pairs))
        return [float(s) for s in scores]


_DIGIT = Grammar(text="root ::= [0-9]", dialect="gbnf")
_PROMPT = (
    "Rate from 0 (unrelated) to 9 (answers it) how well the passage answers the question.\n"
    "Question: {query}\nPassage: {passage}\nRating:"
)


class LLMReranker:
    """Asks the model for a 0-9 relevance digit per passage (grammar-constrained, one token).
    Ties keep the first-stage order: the caller adds a small rank prior."""

    name = "llm"

    def __init__(self, model: ChatModel, *, tier: str | None = None, passage_chars: int = 600):
        self._model = model
        self._tier = tier
        self._chars = passage_chars

    async def score(self, query: str, passages: Sequence[str]) -> list[float]:
        scores: list[float] = []
        for passage in passages:
            prompt = _PROMPT.format(query=query, passage=passage[: self._chars])
            request = ChatRequest(
                (Message.user(prompt),), max_tokens=1, constraint=_DIGIT, tier=self._tier
            )
            text = (await generate(self._model, request)).strip()
            scores.append(float(text[0]) if text[:1].isdigit() else 0.0)
        return scores
