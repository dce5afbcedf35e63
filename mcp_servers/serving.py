"""What the four MCP servers (approvals, memory, rag, sandbox) share: one set of flags, one
way to start, one mapping of errors.

Every server takes the same flags::

    --transport stdio|http   stdio (default), or streamable HTTP at http://HOST:PORT/mcp
    --host 127.0.0.1         HTTP: the address to listen on
    --port N                 HTTP: approvals 8766, memory 8767, rag 8768, sandbox 8769
                             (8765 is ``agenthost serve --mcp``)
    --config PATH            agenthost.toml (else $AGENTHOST_CONFIG, ./agenthost.toml,
                             $AGENTHOST_HOME/agenthost.toml)

and reads its configuration with ``settings.load_settings`` exactly as the host does, so a
server the host starts (which hands it its home, config file and ``AGENTHOST_*`` variables)
sees the host's database, index and ``[sandbox]``. An ``AgentHostError`` while starting is one
line on stderr (``agenthost <server>: <message>``) and the category's exit code, never a
traceback; one raised by a tool comes back to the client as a tool error (``tool_errors``).

A server answers ``initialize`` as soon as Python, the SDK and its settings are imported (2 s
on 2 cores is the bar, ``benchmarks/server_start.py``): what its tools share (a database, an
index, a model) is a ``Lazy``, built by the first call that needs it, and the heavy imports
behind it (SQLAlchemy, numpy, the retrieval stack) happen there.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, NoReturn, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from core.errors import AgentHostError, exit_code_of, map_errors
from core.principal import Principal
from settings import Settings, load_settings

PORTS: dict[str, int] = {"approvals": 8766, "memory": 8767, "rag": 8768, "sandbox": 8769}
TRANSPORTS = ("stdio", "http")

T = TypeVar("T")


def arguments(name: str, doc: str | None = None) -> argparse.ArgumentParser:
    """The parser every server starts from: the shared flags; a server adds its own."""
    parser = argparse.ArgumentParser(
        prog=f"python -m mcp_servers.{name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    shared = parser.add_argument_group("transport and configuration (every agenthost server)")
    shared.add_argument(
        "--transport", choices=TRANSPORTS, default="stdio", help="stdio (default) or http"
    )
    shared.add_argument("--host", default="127.0.0.1", help="http: address (default 127.0.0.1)")
    shared.add_argument(
        "--port", type=int, default=PORTS[name], help=f"http: port (default {PORTS[name]})"
    )
    shared.add_argument(
        "--config",
        type=Path,
        default=None,
        help="agenthost.toml (default: $AGENTHOST_CONFIG, ./agenthost.toml, "
        "$AGENTHOST_HOME/agenthost.toml)",
    )
    return parser


def fail(name: str, exc: BaseException) -> NoReturn:
    """One line on stderr and the error's exit code."""
    print(f"agenthost {name}: {exc}", file=sys.stderr, flush=True)
    sys.exit(exit_code_of(exc))


@contextmanager
def startup(name: str) -> Iterator[None]:
    """Around a server's start: an agenthost error (or a file problem ``map_errors`` knows)
    becomes one line and an exit code instead of a traceback."""
    try:
        with map_errors():
            yield
    except AgentHostError as exc:
        fail(name, exc)


def load(name: str, args: argparse.Namespace, **overrides: Any) -> Settings:
    """The settings of ``args.config`` (or the usual places) and ``AGENTHOST_*``."""
    with startup(name):
        return load_settings(args.config, **overrides)


def serve(server: MCPServer[Any], args: argparse.Namespace, settings: Settings) -> None:
    """Run ``server`` on the transport ``args`` chose, until the client or a signal ends it.
    Over HTTP every request needs a bearer key (``agenthost keys create``) from the
    configuration's database: 401 without one (auth/http.py); stdio is the parent's pipe."""
    if args.transport == "http":
        from auth.http import guard, serve_http

        app = guard(server.streamable_http_app(host=args.host), settings.db_url, settings.auth)
        anyio.run(serve_http, app, args.host, args.port)
    else:
        server.run("stdio")


def start(
    name: str,
    args: argparse.Namespace,
    build: Callable[[Settings], MCPServer[Any]],
    **overrides: Any,
) -> None:
    """Load the settings, build the server from them and serve it; anything that goes wrong
    before serving is one line and an exit code."""
    settings = load(name, args, **overrides)
    with startup(name):
        server = build(settings)
    serve(server, args, settings)


def database_url(settings: Settings, explicit: str | None = None) -> str:
    """The database the server opens with its first call: ``explicit`` (``--db``), else the
    configuration's. The default one's folder (the home) is made now, so an unusable home is
    still a startup error (the store itself loads SQLAlchemy, too slow for the handshake)."""
    if explicit is None and settings.database_url is None:
        settings.home.mkdir(parents=True, exist_ok=True)
    return explicit or settings.db_url


@contextmanager
def tool_errors(*also: type[Exception]) -> Iterator[None]:
    """Inside a tool: an ``AgentHostError`` (and any of ``also``) becomes a ``ToolError``, which
    the client sees as the tool's error result with the message alone."""
    caught: tuple[type[Exception], ...] = (AgentHostError, *also)
    try:
        yield
    except ToolError:
        raise
    except caught as exc:
        raise ToolError(str(exc)) from exc


class Lazy(Generic[T]):
    """What a server's tools share, built by the first call that needs it (in that call's
    worker thread; concurrent first calls wait for the one build). A build that fails is that
    call's tool error, with its reason, and the next call tries again."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> T | None:
        """The value if a call has built it, else None (nothing is built here)."""
        return self._value

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                with tool_errors(), map_errors():
                    self._value = self._build()
            return self._value

    async def aget(self) -> T:
        """``get`` for async tools: a first build runs off the event loop."""
        if self._value is not None:
            return self._value
        return await anyio.to_thread.run_sync(self.get)


def caller(ctx: Any) -> Principal | None:
    """The principal of the HTTP request a tool call came in on (its bearer key's, put there
    by ``auth.http.BearerAuth``), or None on stdio, where the caller is the parent process
    that started this server."""
    request = getattr(ctx.request_context, "request", None)
    if request is None:
        return None
    state = request.scope.get("state") or {}
    principal = state.get("principal")
    return principal if isinstance(principal, Principal) else None


def require_role(ctx: Any, role: str) -> Principal | None:
    """Refuse a call over HTTP whose key's principal lacks ``role`` (a tool error saying so);
    the caller's principal (None on stdio, which its parent process is trusted with)."""
    who = caller(ctx)
    request = getattr(ctx.request_context, "request", None)
    if request is not None and (who is None or role not in who.roles):
        name = who.describe() if who is not None else "an unauthenticated caller"
        raise ToolError(f"{name} may not do this: it needs the {role!r} role")
    return who


HOST_ROLE = "host"  # an HTTP key with it may act for the principal a call's _meta names


def acting_for(ctx: Any, default: Principal) -> Principal:
    """Whom a tool call is for, so one server process serves many users with the same
    isolation as one process each:

    - on stdio, the principal the host sent in the request's ``_meta`` (the parent process
      is trusted to assert one), else ``default`` (the command line's);
    - over HTTP, the caller's own key's principal; only a key with the ``host`` role may act
      for the principal in ``_meta``. Any other claim is ignored: a client cannot take
      another user's scope by naming it."""
    meta = getattr(ctx.request_context, "meta", None)
    claimed = Principal.from_meta(dict(meta) if meta else None)
    if getattr(ctx.request_context, "request", None) is None:
        return claimed or default
    who = caller(ctx)
    if who is None:  # BearerAuth lets no request without a key through; refuse, to be sure
        raise ToolError("this call has no principal (no bearer key)")
    return claimed if claimed is not None and HOST_ROLE in who.roles else who
