"""A small MCP server for the host tests, run over stdio (`python mcp_test_server.py`).

Its tools exercise what the host must survive: slow calls, crashes, tools that appear at run
time, a risky tool, and a counter whose reset shows that a restart happened.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("agenthost-test")
_calls = {"count": 0}


@server.tool()
def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


@server.tool()
def counter() -> str:
    """Count calls since this process started."""
    _calls["count"] += 1
    return f"{_calls['count']} (pid {os.getpid()})"


@server.tool()
def slow(seconds: float) -> str:
    """Sleep, then answer (blocks the whole server: a hang)."""
    time.sleep(seconds)
    return "done"


@server.tool()
def crash() -> str:
    """Exit the process at once, as a crash would."""
    os._exit(3)


@server.tool()
def delete_file(path: str) -> str:
    """Delete a file (a risky tool: the host's policy should stop it)."""
    Path(path).unlink()
    return f"deleted {path}"


@server.tool()
def http_trace(url: str) -> str:
    """A request's trace as a debugging tool prints it: headers included (credentials from
    this process's environment, as a careless tool would leak them)."""
    return (
        f"GET {url}\nAuthorization: Bearer {os.environ.get('TRACE_TOKEN', '')}\n"
        f"X-Api-Key: {os.environ.get('SEEDED_API_KEY', '')}\n200 OK"
    )


@server.tool()
def fail(message: str) -> str:
    """Raise an error with ``message``."""
    raise ValueError(message)


@server.tool()
async def load_extra(ctx: Context) -> str:
    """Register a new tool, `multiply`, and announce that the tool list changed."""

    def multiply(a: int, b: int) -> str:
        """Multiply two integers."""
        return str(a * b)

    server.add_tool(multiply)
    await ctx.notify_tools_changed()
    return "multiply loaded"


@server.tool()
def blob(n: int) -> str:
    """``n`` characters of filler (a large tool result)."""
    return f"blob {n}: " + "x" * n


@server.tool()
def pid() -> str:
    """The server's process id."""
    return str(os.getpid())


if __name__ == "__main__":
    marker = os.environ.get("AGENTHOST_TEST_MARKER")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    if len(sys.argv) > 2 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
