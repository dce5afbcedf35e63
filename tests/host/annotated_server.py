"""An MCP server whose tools carry annotations (readOnlyHint, idempotentHint,
destructiveHint) and nothing in the host's config about them: the host must read the hints."""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("agenthost-annotated")
_looked = {"count": 0}


@server.tool(annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True))
def lookup(key: str) -> str:
    """Look a key up (read-only, idempotent): answers with how often it really ran."""
    _looked["count"] += 1
    return f"{key}: looked up {_looked['count']} time(s) by pid {os.getpid()}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def now() -> str:
    """Read-only but not idempotent: never cached."""
    _looked["count"] += 1
    return str(_looked["count"])


@server.tool(annotations=ToolAnnotations(destructive_hint=True))
def erase(name: str) -> str:
    """Destructive: the host asks for an approval first."""
    return f"erased {name}"


if __name__ == "__main__":
    server.run("stdio")
