"""Approvals over MCP: an IDE, a chat app or another agent's operator can list what waits for
a decision and approve, edit-and-approve or deny it. A thin layer over ``approvals``.

    python -m mcp_servers.approvals                       # stdio
    python -m mcp_servers.approvals --transport http      # http://127.0.0.1:8766/mcp
    python -m mcp_servers.approvals --config agenthost.toml --decider ide:alice

The database is the host's: ``--db URL``, else the configuration's (``database_url``,
``$AGENTHOST_DATABASE_URL``, else SQLite at ``$AGENTHOST_HOME/agenthost.db``). Whoever decides
is named by ``--decider`` (default: mcp), not by a tool argument: the audit log records who
holds this server, not what a caller claims. Over HTTP, where every request carries a key
(``agenthost keys create``), deciding needs the ``approver`` role and the decider is the key's
principal. The database opens with the first call. Entries this server appends are signed
with the home's audit key, as the host's are (``$AGENTHOST_AUDIT_KEY``, else
``$AGENTHOST_HOME/audit.key``), and ``verify_audit`` checks the signed head.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from approvals.types import Decision
from mcp_servers.serving import (
    Lazy,
    arguments,
    database_url,
    require_role,
    start,
    tool_errors,
)
from settings import Settings, audit_anchor

if TYPE_CHECKING:
    from approvals.anchor import AuditAnchor
    from approvals.store import ApprovalRow, ApprovalStore


APPROVER = "approver"  # the role a key needs to decide over HTTP


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


def open_store(url: str, anchor: AuditAnchor | None = None) -> ApprovalStore:
    """The approvals tables of the database at ``url``, their audit log signed with
    ``anchor`` (SQLModel loads here, not at start)."""
    from approvals.store import ApprovalStore
    from memory.sessions import make_engine

    return ApprovalStore(make_engine(url), anchor)


def build_server(store: Lazy[ApprovalStore], decider: str = "mcp") -> MCPServer:
    """The MCP server over ``store``, opened by the first call that needs it."""
    server: MCPServer = MCPServer(
        "agenthost-approvals",
        instructions="Pending approval requests of agenthost runs; approve, edit or deny them.",
    )

    @server.tool()
    def list_pending() -> list[dict[str, Any]]:
        """Approval requests waiting for a decision, oldest first."""
        return [_view(r) for r in store.get().pending()]

    @server.tool()
    def get_request(approval_id: str) -> dict[str, Any]:
        """One approval request with its decision, if any."""
        row = store.get().get(approval_id)
        if row is None:
            raise ToolError(f"no approval request {approval_id!r}")
        return _view(row)

    def by(ctx: Context) -> str:
        """Who decides: over HTTP the key's principal, which must have the approver role."""
        who = require_role(ctx, APPROVER)
        return decider if who is None else f"{decider}:{who.tenant}/{who.user}"

    @server.tool()
    def approve(
        ctx: Context,
        approval_id: str,
        reason: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Approve a pending request; give ``arguments`` to run the tool with those instead."""
        name = by(ctx)
        decision = (
            Decision("edit", name, reason, arguments)
            if arguments is not None
            else Decision("approve", name, reason)
        )
        return _decide(approval_id, decision)

    @server.tool()
    def deny(ctx: Context, approval_id: str, reason: str = "") -> dict[str, Any]:
        """Deny a pending request; the agent is told why."""
        return _decide(approval_id, Decision("deny", by(ctx), reason))

    @server.tool()
    def verify_audit() -> dict[str, Any]:
        """Check the audit log: its hash chain, its signed ends (a cut-off tail, a forged
        head) and that every approval row says what the log recorded."""
        ok, detail = store.get().verify()
        return {"ok": ok, "detail": detail}

    @server.resource("approvals://pending", mime_type="application/json")
    def pending_resource() -> list[dict[str, Any]]:
        """Pending approval requests."""
        return [_view(r) for r in store.get().pending()]

    def _decide(approval_id: str, decision: Decision) -> dict[str, Any]:
        with tool_errors():
            return _view(store.get().decide(approval_id, decision))

    return server


def main(argv: list[str] | None = None) -> None:
    parser = arguments("approvals", __doc__)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL of the agenthost database")
    parser.add_argument("--decider", default="mcp", help="name recorded as the decider")
    args = parser.parse_args(argv)

    def build(settings: Settings) -> MCPServer:
        url = database_url(settings, args.db)
        anchor = audit_anchor(settings)  # a malformed AGENTHOST_AUDIT_KEY fails the start
        return build_server(Lazy(lambda: open_store(url, anchor)), args.decider)

    start("approvals", args, build)
