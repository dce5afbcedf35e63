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
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from core.errors import AgentHostError, exit_code_of, map_errors
from settings import Settings, load_settings

PORTS: dict[str, int] = {"approvals": 8766, "memory": 8767, "rag": 8768, "sandbox": 8769}
TRANSPORTS = ("stdio", "http")


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


def serve(server: MCPServer[Any], args: argparse.Namespace) -> None:
    """Run ``server`` on the transport ``args`` chose, until the client or a signal ends it."""
    if args.transport == "http":
        server.run("streamable-http", host=args.host, port=args.port)
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
    serve(server, args)


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
