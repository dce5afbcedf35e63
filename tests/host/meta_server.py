"""An MCP server with one tool, ``meta``, that returns the ``_meta`` its call came with: what
the host sends with a run's tool calls (the principal, the request id); and a resource,
``meta://request/{label}``, that does the same for a read (an attached resource)."""

from __future__ import annotations

import json

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("agenthost-meta")


@server.tool()
def meta(ctx: Context) -> str:
    """The request's ``_meta``, as JSON."""
    sent = ctx.request_context.meta
    return json.dumps(dict(sent) if sent else {}, sort_keys=True, default=str)


@server.resource("meta://request/{label}", mime_type="application/json")
def read_meta(label: str, ctx: Context) -> str:
    """The read request's ``_meta``, as JSON (a template: only templates get a Context)."""
    sent = ctx.request_context.meta
    return json.dumps(dict(sent) if sent else {}, sort_keys=True, default=str)


if __name__ == "__main__":
    server.run("stdio")
