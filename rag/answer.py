"""Grounded answers: numbered sources under a token budget, an answer only from them, and a
refusal when retrieval found nothing close enough."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import anyio.to_thread

from inference import ChatRequest, Message
from rag.config import AnswerConfig
from rag.expand import QueryExpander
from rag.knowledge import Knowledge
from rag.llm import ChatModel, generate
from rag.rerank import Reranker
from rag.types import Answer, Citation, Expand, Filters, Hit, Mode, Principal

REFUSAL = "Not found in the sources."
SYSTEM = (
    "Answer the question using only the numbered sources. Cite the sources you use like [1]. "
    f'If the sources do not contain the answer, reply exactly: "{REFUSAL}"'
)
_CITE = re.compile(r"\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_CHARS_PER_TOKEN = 4  # a coarse, model-independent estimate; the budget errs on the safe side


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // _CHARS_PER_TOKEN)


def build_context(hits: Sequence[Hit], budget_tokens: int) -> tuple[str, list[Hit]]:
    """``[n] title > heading`` blocks in rank order until the budget is spent; the last one that
    does not fit whole is cut (when a useful part of it fits)."""
    parts: list[str] = []
    used_hits: list[Hit] = []
    left = budget_tokens
    for hit in hits:
        label = " > ".join([hit.title, *[h for h in hit.headings if h != hit.title]])
        block = f"[{len(used_hits) + 1}] {label}\n{hit.text.strip()}"
        cost = estimate_tokens(block)
        if cost > left:
            if left < 48:
                break
            block = block[: left * _CHARS_PER_TOKEN].rsplit(" ", 1)[0] + " …"
            cost = left
        parts.append(block)
        used_hits.append(hit)
        left -= cost
        if left <= 0:
            break
    return "\n\n".join(parts), used_hits


class Answerer:
    def __init__(
        self,
        knowledge: Knowledge,
        model: ChatModel,
        config: AnswerConfig | None = None,
        *,
        reranker: Reranker | None = None,
        expander: QueryExpander | None = None,
        use_cache: bool = True,
    ) -> None:
        self.knowledge = knowledge
        self.model = model
        self.config = config or knowledge.config.answer
        self.reranker = reranker
        self.expander = expander or QueryExpander(
            model, knowledge.config.expansion, tier=self.config.tier
        )
        self.use_cache = use_cache

    async def answer(
        self,
        question: str,
        principal: Principal,
        collections: Sequence[str] | None = None,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        expand: Expand = "none",
    ) -> Answer:
        """A grounded answer; ``expand`` ("multi", "hyde") widens retrieval through the model."""
        kn = self.knowledge
        cols = kn.collections_for(principal, collections)
        scope = self._scope(principal, cols, k, filters, mode, expand)
        qvec = await anyio.to_thread.run_sync(lambda: kn.embedder.inner.encode([question])[0])
        if self.use_cache:
            cached = kn.answers.get(principal.tenant, scope, qvec, self.config.cache_similarity)
            if cached is not None:
                return cached
        found = await kn.retrieve(
            question, principal, cols, k=k, filters=filters, mode=mode, reranker=self.reranker,
            query_vector=qvec, expand=expand, expander=self.expander,
        )  # fmt: skip
        hits = found.hits
        best = max((h.similarity for h in hits if h.similarity is not None), default=None)
        if best is None or best < self.config.min_score:
            result = Answer(
                text=REFUSAL, refused=True, citations=[], hits=hits, best_similarity=best
            )
        else:
            result = await self._generate(question, hits, best)
        result.expansion = found.expansion
        # an answer from a failed expansion is not what this scope promises: not cached
        if self.use_cache and not (found.expansion and found.expansion.note):
            kn.answers.put(principal.tenant, scope, cols, qvec, question, result)
        return result

    async def _generate(self, question: str, hits: list[Hit], best: float) -> Answer:
        context, used = build_context(hits, self.config.context_tokens)
        request = ChatRequest(
            (
                Message.system(SYSTEM),
                Message.user(f"Sources:\n{context}\n\nQuestion: {question}"),
            ),
            max_tokens=self.config.max_tokens,
            temperature=0.0,
            stop=tuple(self.config.stop),
            tier=self.config.tier,
        )
        text = (await generate(self.model, request)).strip()
        refused = REFUSAL.lower().rstrip(".") in text.lower()
        cited: list[Citation] = []
        for number in dict.fromkeys(int(n) for n in _CITE.findall(text)):
            if 1 <= number <= len(used):
                h = used[number - 1]
                cited.append(
                    Citation(number=number, chunk_id=h.chunk_id, source=h.source, span=h.span)
                )
        if not cited and not refused and self.config.attribute:
            cited = await self._attribute(text, used)
        return Answer(text=text, refused=refused, citations=cited, hits=used, best_similarity=best)

    async def _attribute(self, text: str, used: Sequence[Hit]) -> list[Citation]:
        """Post-hoc attribution for answers without [n] marks (small models rarely write them):
        each sentence of the answer cites the source closest to it, when close enough. The
        sources' vectors come from the embedding cache that ingest filled."""
        sentences = [s for s in _SENTENCE.split(text) if len(s.split()) >= 3]
        if not sentences or not used:
            return []
        embedder = self.knowledge.embedder
        vectors = await anyio.to_thread.run_sync(
            lambda: embedder.encode([*sentences, *(h.text for h in used)])
        )
        sims = vectors[: len(sentences)] @ vectors[len(sentences) :].T
        best: dict[int, float] = {}
        for row in sims:
            number = int(row.argmax())
            if row[number] >= self.config.attribution_min_similarity:
                best[number] = max(best.get(number, 0.0), float(row[number]))
        return [
            Citation(
                number=n + 1,
                chunk_id=used[n].chunk_id,
                source=used[n].source,
                span=used[n].span,
                how="attributed",
                similarity=round(sim, 4),
            )
            for n, sim in sorted(best.items())
        ]

    def _scope(
        self,
        principal: Principal,
        cols: Sequence[str],
        k: int | None,
        filters: Filters | None,
        mode: Mode,
        expand: Expand,
    ) -> str:
        """Everything besides the question that decides an answer: a cached answer is reused
        only when all of it is equal."""
        kn = self.knowledge
        generations = {c: kn.meta.collection_generation(principal.tenant, c) for c in cols}
        return json.dumps(
            {
                "collections": generations,
                "groups": sorted(principal.readable),
                "k": k,
                "mode": mode,
                "expand": expand,
                "filters": filters.model_dump(mode="json") if filters else None,
                "rerank": self.reranker.name if self.reranker else None,
                "min_score": self.config.min_score,
                "budget": self.config.context_tokens,
            },
            sort_keys=True,
        )
