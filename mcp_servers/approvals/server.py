"""Approvals over MCP: an IDE, a chat app or another agent's operator can list what waits for
a decision and approve, edit-and-approve or deny it. A thin layer over ``approvals``.

    python -m mcp_servers.approvals                 # stdio
    python -m mcp_servers.approvals --transport http --port 8766

The database is the host's: ``--db URL``, else ``$AGENTHOST_DATABASE_URL``, else SQLite at
``$AGENTHOST_HOME/agenthost.db``. Whoever decides is named by ``--decider`` (default: mcp),
not by a tool argument: the audit log records who holds this server, not what a caller claims.
"""

from __future__ import annotations

import argparse
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from approvals import ApprovalRow, ApprovalStore, Decision, NotPending
from memory.sessions import default_db_url, make_engine


def _view(row: ApprovalRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "tool": row.tool,
        "arguments": row.arguments,
        "risk": row.risk,
        "session_id": row.session_id,
        "summary": row.summary,
        "created_at": row.created_at,
        "deadline": row.deadline,
        "decided_by": row.decided_by,
        "reason": row.reason,
        "edited_arguments": row.edited_arguments,
    }


def build_server(store: ApprovalStore, decider: str = "mcp") -> MCPServer:
    server: MCPServer = MCPServer(
        "agenthost-approvals",
        instructions="Pending approval requests of agenthost runs; approve, edit or deny them.",
    )

    @server.tool()
    def list_pending() -> list[dict[str, Any]]:
        """Approval requests waiting for a decision, oldest first."""
        return [_view(r) for r in store.pending()]

    @server.tool()
    def get_request(approval_id: str) -> dict[str, Any]:
        """One approval request with its decision, if any."""
        row = store.get(approval_id)
        if row is None:
            raise ToolError(f"no approval request {approval_id!r}")
        return _view(row)

    @server.tool()
    def approve(
        approval_id: str, reason: str = "", arguments: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Approve a pending request; give ``arguments`` to run the tool with those instead."""
        decision = (
            Decision("edit", decider, reason, arguments)
            if arguments is not None
            else Decision("approve", decider, reason)
        )
        return _decide(approval_id, decision)

    @server.tool()
    def deny(approval_id: str, reason: str = "") -> dict[str, Any]:
        """Deny a pending request; the agent is told why."""
        return _decide(approval_id, Decision("deny", decider, reason))

    @server.tool()
    def verify_audit() -> dict[str, Any]:
        """Check the audit log's hash chain."""
        ok, detail = store.verify()
        return {"ok": ok, "detail": detail}

    @server.resource("approvals://pending", mime_type="application/json")
    def pending_resource() -> list[dict[str, Any]]:
        """Pending approval requests."""
        return [_view(r) for r in store.pending()]

    def _decide(approval_id: str, decision: Decision) -> dict[str, Any]:
        try:
            return _view(store.decide(approval_id, decision))
        except NotPending as exc:
            raise ToolError(str(exc)) from None

    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mcp_servers.approvals",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL of the agenthost database")
    parser.add_argument("--decider", default="mcp", help="name recorded as the decider")
    args = parser.parse_args(argv)
    store = ApprovalStore(make_engine(args.db or default_db_url()))
    server = build_server(store, args.decider)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=args.host, port=args.port)
