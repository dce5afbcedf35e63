"""The RAG MCP server: each tool is a typed function over ``RagService``.

    python -m mcp_servers.rag                             # stdio
    python -m mcp_servers.rag --transport http            # http://127.0.0.1:8768/mcp
    python -m mcp_servers.rag --config agenthost.toml

It reads ``[rag]`` and ``[inference]`` of the configuration (``--config``, else
``$AGENTHOST_CONFIG``, ``./agenthost.toml``, ``$AGENTHOST_HOME/agenthost.toml``) and
``AGENTHOST_*``: the index under ``rag.dir`` (default ``$AGENTHOST_HOME/rag``), the tenant and
groups a call for nobody in particular reads as (``rag.tenant``, ``rag.groups``), and the
folders ``ingest`` may read (``rag.ingest_roots``, default the working directory). The service,
its index and the embedding model open with the first call that needs them.

Whose documents a call reads and writes is never a tool argument. It is the principal the call
is for (``mcp_servers.serving.acting_for``: the one the host sends in the request's ``_meta``,
or over HTTP the caller's key's, which only a key with the host role may replace), so one
process serves many tenants over one index and each sees only its own collections, chunks and
documents: the tenant is a required clause of every query in SQLite, tantivy and the dense
mask, and of the answer cache's key. Within a tenant documents are shared, read through ACL
groups: the principal's roles, plus ``rag.groups`` when it is of ``rag.tenant``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from core.principal import Principal
from mcp_servers.serving import Lazy, acting_for, arguments, start, tool_errors
from rag.types import (
    Answer,
    ChunkRecord,
    CollectionInfo,
    Expand,
    Filters,
    IngestReport,
    Mode,
    SearchResult,
)
from rag.types import Principal as Reader
from settings import Settings

if TYPE_CHECKING:
    from rag.service import RagService

INSTRUCTIONS = (
    "Search and answer from the documents ingested into collections. Use `search` for passages "
    "(each has a chunk_id; `get_chunk` returns one in full), `answer` for a grounded answer "
    "with numbered citations, `list_collections` to see what exists."
)

ExpandArg = Annotated[
    Expand,
    Field(
        description="none; multi: the model rephrases the query and every rephrasing is "
        "searched too; hyde: the model drafts an answer whose embedding searches. Costs model "
        "calls; a model failure falls back to the query alone (see expansion.note)"
    ),
]


def open_service(settings: Settings) -> RagService:
    """The service over the configured index (the retrieval stack is imported here)."""
    from rag.service import RagService

    return RagService(settings.rag_dir, settings.rag, settings.inference, settings.logs_dir)


def reader(ctx: Any, own: Reader) -> Reader:
    """Whom a call reads and writes as: the tenant of the principal it is for (``acting_for``)
    and its roles as ACL groups, with the process's groups (``rag.groups``) when it is of the
    process's tenant. A call for nobody in particular is the process's ``own``, as before."""
    who = acting_for(ctx, Principal(own.tenant, "", own.groups))
    return Reader(who.tenant, who.roles | (own.groups if who.tenant == own.tenant else frozenset()))


# A static resource gets no Context (the SDK injects one into tools and templates only), so
# ``rag://documents`` finds its request here, set for every request by ``remember_request``.
_request: ContextVar[ServerRequestContext[Any, Any] | None] = ContextVar(
    "rag_request", default=None
)


@dataclass(frozen=True)
class _Call:
    """What ``acting_for`` reads of a Context, for a request without one."""

    request_context: ServerRequestContext[Any, Any] | None


async def remember_request(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Middleware: each request's context in ``_request`` while it is handled."""
    token = _request.set(ctx)
    try:
        return await call_next(ctx)
    finally:
        _request.reset(token)


def build_server(
    service: Lazy[RagService], ingest_roots: list[Path] | None = None
) -> MCPServer[None]:
    """An MCP server over ``service``, built by the first call that needs it; ``ingest`` may
    read only below ``ingest_roots``."""
    roots = [r.resolve() for r in (ingest_roots or [Path.cwd()])]

    @asynccontextmanager
    async def lifespan(_: MCPServer[None]) -> AsyncIterator[None]:
        try:
            yield None
        finally:
            if (built := service.built) is not None:
                await built.aclose()

    mcp: MCPServer[None] = MCPServer(
        "agenthost-rag",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        middleware=[remember_request],
    )

    @mcp.tool()
    async def search(
        ctx: Context,
        query: Annotated[str, Field(description="what to look for, in natural language")],
        collections: Annotated[
            list[str] | None, Field(description="collections to search; default: all")
        ] = None,
        k: Annotated[
            int | None, Field(ge=1, le=50, description="how many passages; default: configured")
        ] = None,
        mode: Annotated[Mode, Field(description="hybrid, bm25 or dense")] = "hybrid",
        sources: Annotated[list[str] | None, Field(description="only these source paths")] = None,
        modified_after: datetime | None = None,
        modified_before: datetime | None = None,
        min_version: int | None = None,
        rerank: Annotated[bool, Field(description="rerank the top candidates")] = False,
        expand: ExpandArg = "none",
    ) -> SearchResult:
        """Find passages relevant to a query (hybrid BM25 + embeddings)."""
        filters = Filters(
            sources=sources,
            modified_after=modified_after,
            modified_before=modified_before,
            min_version=min_version,
        )
        svc = await service.aget()
        with tool_errors():
            return await svc.search(
                query, collections, k=k, filters=filters, mode=mode, rerank=rerank,
                expand=expand, principal=reader(ctx, svc.principal),
            )  # fmt: skip

    @mcp.tool()
    async def answer(
        ctx: Context,
        question: str,
        collections: Annotated[
            list[str] | None, Field(description="collections to use; default: all")
        ] = None,
        k: Annotated[
            int | None, Field(ge=1, le=20, description="passages to consider; default: configured")
        ] = None,
        rerank: bool = False,
        expand: ExpandArg = "none",
    ) -> Answer:
        """Answer a question only from the documents, citing them as [n]; refuses with "Not
        found in the sources." when nothing relevant was retrieved."""
        svc = await service.aget()
        with tool_errors():
            return await svc.answer(
                question, collections, k=k, rerank=rerank, expand=expand,
                principal=reader(ctx, svc.principal),
            )  # fmt: skip

    @mcp.tool()
    async def ingest(
        ctx: Context,
        paths: Annotated[list[str], Field(description="files or folders on the server")],
        collection: str,
        acl: Annotated[
            list[str] | None, Field(description="groups that may read these; default: everyone")
        ] = None,
    ) -> IngestReport:
        """Add or update documents in a collection (unchanged files are skipped)."""
        resolved = [Path(await (await anyio.Path(p).expanduser()).resolve()) for p in paths]
        for p in resolved:
            if not any(p == r or r in p.parents for r in roots):
                raise ToolError(f"{p} is outside the folders this server may ingest")
        svc = await service.aget()
        with tool_errors():
            return await svc.ingest(
                resolved, collection, acl=acl or (), principal=reader(ctx, svc.principal)
            )

    @mcp.tool()
    async def get_chunk(ctx: Context, chunk_id: str) -> ChunkRecord:
        """One passage in full, with its source, headings and line/page span."""
        svc = await service.aget()
        with tool_errors():
            kn = await svc.knowledge()
            return kn.get_chunk(chunk_id, reader(ctx, svc.principal))

    @mcp.tool()
    async def list_collections(ctx: Context) -> list[CollectionInfo]:
        """Collections this session may read, with their sizes."""
        svc = await service.aget()
        with tool_errors():
            kn = await svc.knowledge()
            return kn.list_collections(reader(ctx, svc.principal))

    @mcp.resource(
        "rag://documents/{source_id}",
        name="document",
        description="An ingested document as indexed (its chunks in order)",
        mime_type="text/plain",
    )
    async def document(source_id: int, ctx: Context) -> str:
        svc = await service.aget()
        kn = await svc.knowledge()
        info, text = kn.document_text(source_id, reader(ctx, svc.principal))
        return f"# {info.title}\n{info.path} (version {info.version})\n\n{text}"

    @mcp.resource(
        "rag://documents",
        name="documents",
        description="Every document this session may read, as JSON",
        mime_type="application/json",
    )
    async def documents() -> str:
        svc = await service.aget()
        kn = await svc.knowledge()
        docs = kn.documents(reader(_Call(_request.get()), svc.principal))
        return "[" + ",".join(d.model_dump_json() for d in docs) + "]"

    return mcp


def main(argv: list[str] | None = None) -> None:
    args = arguments("rag", __doc__).parse_args(argv)

    def build(settings: Settings) -> MCPServer[None]:
        return build_server(Lazy(lambda: open_service(settings)), settings.rag.ingest_roots)

    start("rag", args, build)
