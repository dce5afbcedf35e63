"""``agenthost servers``: bring MCP server lists from desktop apps and IDEs; list and read the
connected servers' resources and prompts."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from cli.boundary import App, err, run_async, settings
from settings import servers_from_json, to_toml

if TYPE_CHECKING:
    from host.host import Host

app = App(
    help="MCP servers: import the lists Claude Desktop or VS Code already have; list and read "
    "the connected servers' resources and prompts."
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _host() -> Host:
    from host.host import Host  # the engine loads only for the commands that use it

    return Host(settings())


@app.command("import")
def import_servers(
    file: Annotated[
        Path, typer.Argument(help="claude_desktop_config.json, .vscode/mcp.json or settings.json")
    ],
) -> None:
    """Print [servers.*] TOML for every server a Claude Desktop (mcpServers) or VS Code
    (servers) JSON file lists; append it to agenthost.toml, or name the file in
    `servers_json = [...]` there to read it at every start instead.

    Examples:

      agenthost servers import ~/.config/Claude/claude_desktop_config.json >> agenthost.toml

      agenthost servers import .vscode/mcp.json
    """
    servers = servers_from_json(file)
    print(to_toml(servers), end="")
    err.print(f"[dim]{len(servers)} server(s) from {file}[/]")


def _first(row: dict[str, Any]) -> str:
    return str(row["description"]).split("\n")[0]


def _listing(rows: list[tuple[str, str]]) -> None:
    """Each reference whole on its own line (users copy it; a table would cut or wrap it at
    80 columns), its details indented below."""
    out = Console(highlight=False)
    for ref, details in rows:
        out.print(f"[bold]{escape(ref)}[/]", soft_wrap=True)
        if details:
            out.print(f"    [dim]{escape(details)}[/]")


@app.command()
def resources(as_json: JsonOpt = False) -> None:
    """Start the configured MCP servers and list their resources. The REF column is what
    `servers read` and `run --attach` take.

    Example:

      agenthost servers resources
    """

    async def go() -> list[dict[str, Any]]:
        async with _host() as host:
            return [asdict(r) | {"ref": r.ref} for r in await host.resources()]

    rows = run_async(go)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    _listing(
        [(r["ref"], " · ".join(filter(None, [r["name"], r["mime_type"], _first(r)]))) for r in rows]
    )


@app.command()
def prompts(as_json: JsonOpt = False) -> None:
    """Start the configured MCP servers and list their prompts (arguments marked * are
    required). Run one with `agenthost run --prompt REF --arg KEY=VALUE`.

    Example:

      agenthost servers prompts
    """

    async def go() -> list[dict[str, Any]]:
        async with _host() as host:
            return [asdict(p) | {"ref": p.ref} for p in await host.prompts()]

    rows = run_async(go)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    listed = []
    for p in rows:
        args = ", ".join(f"{name}{'*' if required else ''}" for name, required in p["arguments"])
        listed.append(
            (p["ref"], " · ".join(filter(None, [f"args: {args}" if args else "", _first(p)])))
        )
    _listing(listed)


@app.command()
def read(
    ref: Annotated[str, typer.Argument(help="SERVER:URI, as `servers resources` lists")],
) -> None:
    """Print a connected server's resource.

    Example:

      agenthost servers read everything:demo://resource/static/document/features.md
    """

    async def go() -> str:
        async with _host() as host:
            return await host.read_resource(ref)

    print(run_async(go))
