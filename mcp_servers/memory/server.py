"""Memory over MCP: remember, recall (by keyword and by meaning), forget, list notes, and
summarise a session into a note. A thin layer over ``memory.notes`` and ``memory.compaction``.

    python -m mcp_servers.memory --tenant acme --user alice          # stdio
    python -m mcp_servers.memory --transport http                    # http://127.0.0.1:8767/mcp
    python -m mcp_servers.memory --config agenthost.toml --embedder none --no-model

Whose memory a call reads and writes is never a tool argument a model controls. It is the
principal the host sends with the call (the request's ``_meta``: one process serves every user
of the host, each kept apart), else the command line's (``--tenant``/``--user``, or
``AGENTHOST_TENANT`` / ``AGENTHOST_USER``); over HTTP it is the caller's key's
(``mcp_servers.serving.acting_for``). The database is the host's: ``--db URL``, else the
configuration's (``database_url``, ``$AGENTHOST_DATABASE_URL``, else SQLite at
``$AGENTHOST_HOME/agenthost.db``).
Summaries use the configuration's ``[inference]`` models; semantic recall uses the embedding
model of ``[rag.embedding]``, the one the RAG server uses. The database opens with the first
call, the embedding model with the first note that needs it, the model with the first summary.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from core.principal import Principal
from inference.registry import build_router
from mcp_servers.serving import Lazy, acting_for, arguments, database_url, start, tool_errors
from rag.config import EmbeddingConfig
from rag.errors import RagConfigError
from settings import Settings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from inference import ChatModel
    from memory.notes import Embedder, NotesStore, Scope
    from memory.sessions import SessionStore

log = logging.getLogger("agenthost.memory")


@dataclass(frozen=True)
class Memory:
    """What the tools share: one scope's notes, and the session store summaries read."""

    notes: NotesStore
    scope: Scope
    sessions: SessionStore


def open_memory(url: str, tenant: str, user: str, embedder: Embedder | None) -> Memory:
    """The notes and sessions of the database at ``url``, for ``tenant`` and ``user``
    (SQLModel and numpy load here, not at start)."""
    from memory.notes import NotesStore, Scope
    from memory.sessions import SessionStore, make_engine

    engine = make_engine(url)
    sessions = SessionStore(engine.url.render_as_string(hide_password=False))
    return Memory(NotesStore(engine, embedder), Scope(tenant, user), sessions)


def build_server(memory: Lazy[Memory], *, model: ChatModel | None = None) -> MCPServer:
    """The MCP server over ``memory``, opened by the first call that needs it."""
    server: MCPServer = MCPServer(
        "agenthost-memory",
        instructions=(
            "Long-term memory. remember facts worth keeping; recall them later by meaning or "
            "keyword before asking the user again."
        ),
    )

    def scope(ctx: Context, m: Memory) -> Scope:
        """The scope of this call: whom it is for (``acting_for``)."""
        from memory.notes import Scope

        who = acting_for(ctx, Principal(m.scope.tenant, m.scope.user))
        return Scope(who.tenant, who.user)

    @server.tool()
    def remember(
        ctx: Context, text: str, key: str | None = None, tags: list[str] | None = None
    ) -> dict[str, Any]:
        """Store a note (same key: replaced). Returns the note with its id and key."""
        m = memory.get()
        with tool_errors(ValueError):
            return m.notes.remember(scope(ctx, m), text, key=key, tags=tags).to_dict()

    @server.tool()
    def recall(
        ctx: Context,
        query: str,
        k: int = 5,
        mode: Literal["hybrid", "semantic", "keyword"] = "hybrid",
        tags: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The notes that best match the query, best first, with scores."""
        m = memory.get()
        if m.notes.embedder is None and mode == "semantic":
            raise ToolError("semantic recall is off on this server (no embedding model)")
        effective = "keyword" if m.notes.embedder is None else mode
        hits = m.notes.recall(
            scope(ctx, m), query, k=max(1, min(k, 50)), mode=effective, tags=tags or ()
        )
        return [n.to_dict() for n in hits]

    @server.tool()
    def forget(ctx: Context, key: str) -> dict[str, Any]:
        """Delete a note by key or id."""
        m = memory.get()
        return {"forgotten": m.notes.forget(scope(ctx, m), key), "key": key}

    @server.tool()
    def list_notes(
        ctx: Context, tags: list[str] | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Notes, newest first (only those with all ``tags``, if given)."""
        m = memory.get()
        found = m.notes.list_notes(scope(ctx, m), tags=tags or (), limit=limit)
        return [n.to_dict() for n in found]

    @server.tool()
    async def summarize_session(ctx: Context, session_id: str) -> dict[str, Any]:
        """Summarise an agenthost session's turns into a note (summary, facts, open questions,
        and the ids of the turns it replaces)."""
        m = await memory.aget()
        from memory.compaction import summarize_session as summarize_stored_session

        if model is None:
            raise ToolError("summaries need a model; this server has none (--no-model)")
        with tool_errors():
            note = await summarize_stored_session(
                m.sessions, m.notes, model, session_id, scope(ctx, m)
            )
        return note.to_dict()

    @server.resource("memory://notes", mime_type="application/json")
    def all_notes() -> list[dict[str, Any]]:
        """Every note of this tenant and user."""
        m = memory.get()
        return [n.to_dict() for n in m.notes.list_notes(m.scope, limit=1000)]

    return server


class LazyEmbedder:
    """The RAG embedder, loaded on the first note that needs it, so the server answers
    ``initialize`` at once instead of after the model's load (seconds on 2 cores)."""

    def __init__(self, config: EmbeddingConfig) -> None:
        from rag.embedding import model_dir

        self.config = config
        self._model_id = model_dir(config)[1]  # the package's name and version: no load
        self._inner: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_id

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        with self._lock:
            if self._inner is None:
                from rag.embedding import SentenceTransformerEmbedder

                self._inner = SentenceTransformerEmbedder(self.config)
        return self._inner.encode(texts)


def load_embedder(choice: str, config: EmbeddingConfig | None = None) -> Embedder | None:
    """The RAG server's embedder (same model, same code), loaded on first use; None for
    keyword-only memory (``none``, or ``auto`` where sentence-transformers is missing)."""
    if choice == "none":
        return None
    if importlib.util.find_spec("sentence_transformers") is None:
        if choice == "minilm":
            raise RagConfigError("sentence-transformers is not installed: pip install it")
        log.warning("no embedding model available: recall is keyword-only")
        return None
    return LazyEmbedder(config or EmbeddingConfig())


def main(argv: list[str] | None = None) -> None:
    parser = arguments("memory", __doc__)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL of the agenthost database")
    parser.add_argument("--tenant", default=os.environ.get("AGENTHOST_TENANT", "default"))
    parser.add_argument("--user", default=os.environ.get("AGENTHOST_USER", ""))
    parser.add_argument("--embedder", choices=["auto", "minilm", "none"], default="auto")
    parser.add_argument("--no-model", action="store_true", help="no summaries (no model load)")
    args = parser.parse_args(argv)

    def build(settings: Settings) -> MCPServer:
        url = database_url(settings, args.db)
        embedder = load_embedder(args.embedder, settings.rag.embedding)
        memory = Lazy(lambda: open_memory(url, args.tenant, args.user, embedder))
        # built now (no model loads until the first summary): a bad [inference] is a startup error
        model = None if args.no_model else build_router(settings.inference, settings.logs_dir)
        return build_server(memory, model=model)

    start("memory", args, build)
