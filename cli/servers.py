"""``agenthost servers``: bring MCP server lists from desktop apps and IDEs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.boundary import App, err
from settings import servers_from_json, to_toml

app = App(help="MCP servers: import the lists Claude Desktop or VS Code already have.")


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
