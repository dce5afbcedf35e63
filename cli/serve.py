"""The long-running verbs: ``serve`` (the host over MCP) and ``tui`` (the operator console)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from cli.boundary import App, BadArgument, err, run_async, settings

app = App()


@app.command()
def serve(
    mcp: Annotated[
        bool, typer.Option("--mcp", help="Serve the host over MCP (the only mode so far).")
    ] = False,
    transport: Annotated[
        str, typer.Option(help="stdio (for IDEs and desktop apps) or http (streamable HTTP).")
    ] = "stdio",
    bind: Annotated[str, typer.Option("--host", help="Address for http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for http.")] = 8765,
) -> None:
    """Serve the host to MCP clients: tool run_task, resources agenthost://sessions/{id}.

    Claude Desktop / VS Code: add {"command": "agenthost", "args": ["serve", "--mcp"]} to
    their mcpServers (see docs/host.md).
    """
    if not mcp:
        raise BadArgument("say what to serve: --mcp")
    if transport not in ("stdio", "http"):
        raise BadArgument(f"unknown transport {transport!r}: use stdio or http")

    async def go() -> None:
        from host.serve import serve as serve_mcp

        await serve_mcp(
            settings(), "http" if transport == "http" else "stdio", bind=bind, port=port
        )

    run_async(go)


@app.command()
def gateway(
    bind: Annotated[
        str | None,
        typer.Option("--host", help="Listen address (default: [gateway] host, 127.0.0.1)."),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: [gateway] port, 8780).")] = None,
) -> None:
    """Serve the HTTP gateway: OpenAI-compatible /v1/chat/completions and the runs API,
    behind bearer keys, rate limits and a priority queue (docs/gateway.md).

    Every request needs a key (agenthost keys create); /healthz is open.

    Examples:

      agenthost keys create --tenant acme --user alice

      agenthost gateway --port 8780

      curl -s localhost:8780/v1/chat/completions -H "Authorization: Bearer $KEY" \\
        -d '{"messages": [{"role": "user", "content": "Hello!"}]}'
    """
    loaded = settings()
    where = f"http://{bind or loaded.gateway.host}:{port or loaded.gateway.port}"

    async def go() -> None:
        from gateway.app import serve_gateway

        err.print(f"agenthost gateway on {where} (keys: agenthost keys create)")
        await serve_gateway(loaded, host=bind, port=port)

    run_async(go)


@app.command()
def tui(
    attach: Annotated[
        bool,
        typer.Option(
            "--attach",
            help="Only watch: show the runs and approvals of other agenthost processes "
            "(same $AGENTHOST_HOME) without starting MCP servers or models here.",
        ),
    ] = False,
) -> None:
    """The operator console: start runs and watch them stream, approve risky tool calls,
    see budgets move, open traces, check MCP servers, search memory and knowledge.

    Keyboard first: ? lists every key, ctrl+p finds every action by name. Runs still going
    when you quit are saved as cancelled; `agenthost resume SESSION` continues them.
    Logs go to $AGENTHOST_HOME/logs/tui.log (the screen is the console's).

    Examples:

      agenthost tui

      agenthost tui --attach    # next to an `agenthost serve --mcp` or CLI runs
    """
    if not sys.stdout.isatty() and not os.environ.get("AGENTHOST_TUI_FORCE"):
        raise BadArgument("the console needs a terminal (stdout is not a tty)")
    loaded = settings(log_file="tui.log")
    from tui.app import run_console  # textual loads only for the console

    run_console(loaded, attach=attach)
