"""The code sandbox as an MCP server: ``python -m mcp_servers.sandbox``."""

from __future__ import annotations

from mcp_servers.sandbox.server import build_server, main

__all__ = ["build_server", "main"]
