"""``RagService``: what the CLI and the MCP server share — a lazily opened ``Knowledge``, the
inference router for answers and LLM reranking, and the principal of this process. A call may
name another principal (``principal=``): the MCP server scopes each call by the one it is for,
so one process serves many tenants over the one index, each reading and writing only its own."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.to_thread

from inference import InferenceConfig, Router, build_router
from rag.answer import Answerer
from rag.config import RagConfig
from rag.embedding import Embedder
from rag.errors import RagConfigError
from rag.expand import QueryExpander
from rag.knowledge import Knowledge, Progress
from rag.rerank import CrossEncoderReranker, LLMReranker, Reranker
from rag.types import Answer, Expand, Filters, IngestReport, Mode, Principal, SearchResult


class RagService:
    def __init__(
        self,
        root: Path,
        config: RagConfig,
        inference: InferenceConfig,
        logs_dir: Path,
        *,
        embedder: Embedder | None = None,
    ) -> None:
        self.root = root
        self.config = config
        self.principal = Principal(config.tenant, frozenset(config.groups))
        self._inference = inference
        self._logs_dir = logs_dir
        self._embedder = embedder
        self._knowledge: Knowledge | None = None
        self._router: Router | None = None
        self._reranker: Reranker | None = None
        self._expander: QueryExpander | None = None
        self._lock = anyio.Lock()

    async def knowledge(self) -> Knowledge:
        async with self._lock:
            if self._knowledge is None:
                self._knowledge = await anyio.to_thread.run_sync(
                    lambda: Knowledge(self.root, self.config, embedder=self._embedder)
                )
            return self._knowledge

    def router(self) -> Router:
        if self._router is None:
            self._router = build_router(self._inference, self._logs_dir)
        return self._router

    def reranker(self) -> Reranker | None:
        choice = self.config.retrieval.reranker
        if choice == "none":
            return None
        if self._reranker is None:
            if choice == "llm":
                self._reranker = LLMReranker(self.router(), tier=self.config.answer.tier)
            else:
                path = Path(choice).expanduser()
                if not path.is_dir():
                    raise RagConfigError(
                        f"rag.retrieval.reranker: {choice!r} is not 'none', 'llm' or a "
                        "CrossEncoder model directory"
                    )
                self._reranker = CrossEncoderReranker(path, self.config.embedding.device)
        return self._reranker

    def expander(self) -> QueryExpander:
        if self._expander is None:
            self._expander = QueryExpander(
                self.router(), self.config.expansion, tier=self.config.answer.tier
            )
        return self._expander

    async def ingest(
        self,
        paths: Sequence[Path],
        collection: str,
        *,
        acl: Sequence[str] = (),
        progress: Progress | None = None,
        principal: Principal | None = None,
    ) -> IngestReport:
        """Ingest into ``collection`` of the principal's tenant (default: this process's)."""
        kn = await self.knowledge()
        tenant = (principal or self.principal).tenant
        return await anyio.to_thread.run_sync(
            lambda: kn.ingest(paths, collection, tenant=tenant, acl=acl, progress=progress)
        )

    async def search(
        self,
        query: str,
        collections: Sequence[str] | None = None,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        rerank: bool = False,
        expand: Expand = "none",
        principal: Principal | None = None,
    ) -> SearchResult:
        """Passages ``principal`` (default: this process's) may read."""
        kn = await self.knowledge()
        reranker = self.reranker() if rerank else None
        expander = self.expander() if expand != "none" else None
        return await kn.retrieve(
            query, principal or self.principal, collections, k=k, filters=filters, mode=mode,
            reranker=reranker, expand=expand, expander=expander,
        )  # fmt: skip

    async def answer(
        self,
        question: str,
        collections: Sequence[str] | None = None,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        rerank: bool = False,
        expand: Expand = "none",
        principal: Principal | None = None,
    ) -> Answer:
        """An answer from what ``principal`` (default: this process's) may read."""
        kn = await self.knowledge()
        answerer = Answerer(
            kn,
            self.router(),
            reranker=self.reranker() if rerank else None,
            expander=self.expander(),
        )
        return await answerer.answer(
            question, principal or self.principal, collections, k=k, filters=filters, expand=expand
        )

    async def aclose(self) -> None:
        if self._router is not None:
            await self._router.aclose()
            self._router = None
        if self._knowledge is not None:
            self._knowledge.close()
            self._knowledge = None
