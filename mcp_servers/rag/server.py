"""The RAG MCP server: each tool is a typed function over ``RagService``.

    python -m mcp_servers.rag                             # stdio
    python -m mcp_servers.rag --transport http            # http://127.0.0.1:8768/mcp
    python -m mcp_servers.rag --config agenthost.toml

It reads ``[rag]`` and ``[inference]`` of the configuration (``--config``, else
``$AGENTHOST_CONFIG``, ``./agenthost.toml``, ``$AGENTHOST_HOME/agenthost.toml``) and
``AGENTHOST_*``: the index under ``rag.dir`` (default ``$AGENTHOST_HOME/rag``), the tenant and
groups it reads as (``rag.tenant``, ``rag.groups``; never a tool argument), and the folders
``ingest`` may read (``rag.ingest_roots``, default the working directory). The service, its
index and the embedding model open with the first call that needs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers.serving import Lazy, arguments, start, tool_errors
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

    mcp: MCPServer[None] = MCPServer("agenthost-rag", instructions=INSTRUCTIONS, lifespan=lifespan)

    @mcp.tool()
    async def search(
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
                query, collections, k=k, filters=filters, mode=mode, rerank=rerank, expand=expand
            )

    @mcp.tool()
    async def answer(
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
            return await svc.answer(question, collections, k=k, rerank=rerank, expand=expand)

    @mcp.tool()
    async def ingest(
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
            return await svc.ingest(resolved, collection, acl=acl or ())

    @mcp.tool()
    async def get_chunk(chunk_id: str) -> ChunkRecord:
        """One passage in full, with its source, headings and line/page span."""
        svc = await service.aget()
        with tool_errors():
            kn = await svc.knowledge()
            return kn.get_chunk(chunk_id, svc.principal)

    @mcp.tool()
    async def list_collections() -> list[CollectionInfo]:
        """Collections this session may read, with their sizes."""
        svc = await service.aget()
        with tool_errors():
            kn = await svc.knowledge()
            return kn.list_collections(svc.principal)

    @mcp.resource(
        "rag://documents/{source_id}",
        name="document",
        description="An ingested document as indexed (its chunks in order)",
        mime_type="text/plain",
    )
    async def document(source_id: int) -> str:
        svc = await service.aget()
        kn = await svc.knowledge()
        info, text = kn.document_text(source_id, svc.principal)
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
        docs = kn.documents(svc.principal)
        return "[" + ",".join(d.model_dump_json() for d in docs) + "]"

    return mcp


def main(argv: list[str] | None = None) -> None:
    args = arguments("rag", __doc__).parse_args(argv)

    def build(settings: Settings) -> MCPServer[None]:
        return build_server(Lazy(lambda: open_service(settings)), settings.rag.ingest_roots)

    start("rag", args, build)
