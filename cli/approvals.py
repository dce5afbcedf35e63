"""``agenthost approvals``: risky tool calls waiting for a person (list, approve, deny, audit)."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from approvals.types import Decision
from cli.boundary import App, BadArgument, err, settings
from core.errors import AgentHostError
from core.ids import short

if TYPE_CHECKING:
    from approvals.store import ApprovalStore

app = App(
    help="Risky tool calls waiting for a decision: list them, approve, deny, audit.",
    no_args_is_help=True,
)


def _store() -> ApprovalStore:
    # SQLModel loads for these commands only, not for every `agenthost` (serve --mcp included)
    from approvals.store import ApprovalStore
    from memory.sessions import make_engine
    from settings import audit_anchor

    loaded = settings()
    return ApprovalStore(make_engine(loaded.db_url), audit_anchor(loaded))


@app.command("list")
def approvals_list(
    show_all: Annotated[
        bool, typer.Option("--all", help="Decided ones too (newest first).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Pending approval requests (or all recent ones)."""
    store = _store()
    rows = store.recent() if show_all else store.pending()
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    # short unique prefixes (accepted by approve/deny/edit and show/resume), never cut
    table = Table("id", "status", "tool", "risk", "session", "arguments", "waiting")
    table.columns[0].no_wrap = table.columns[4].no_wrap = True
    now = time.time()
    for r in rows:
        waited = f"{now - r.created_at:.0f}s" if r.status == "pending" else r.decided_by or ""
        table.add_row(
            short(r.id), r.status, r.tool, r.risk, short(r.session_id),
            json.dumps(r.arguments)[:60], waited,
        )  # fmt: skip
    Console().print(table)
    if not rows:
        err.print("[dim]nothing pending[/]" if not show_all else "[dim]no approvals yet[/]")


def _decide(approval_id: str, decision: Decision) -> None:
    row = _store().decide(approval_id, decision)  # NotPending: an InvalidRequest (exit 2)
    err.print(f"{row.id}: {row.status} by {row.decided_by}")


@app.command("approve")
def approvals_approve(
    approval_id: Annotated[
        str, typer.Argument(help="Request id or a unique prefix (see `approvals list`).")
    ],
    reason: Annotated[str, typer.Option(help="Why (goes into the audit log).")] = "",
    args: Annotated[
        str | None, typer.Option("--args", help="Run with these JSON arguments instead.")
    ] = None,
    by: Annotated[str, typer.Option(help="Who decides.")] = os.environ.get("USER", "cli"),
) -> None:
    """Approve a pending request, optionally with edited arguments."""
    if args is None:
        _decide(approval_id, Decision("approve", by, reason))
        return
    try:
        edited = json.loads(args)
    except json.JSONDecodeError as exc:
        raise BadArgument(f"--args is not JSON: {exc}") from None
    if not isinstance(edited, dict):
        raise BadArgument("--args must be a JSON object")
    _decide(approval_id, Decision("edit", by, reason, edited))


@app.command("deny")
def approvals_deny(
    approval_id: Annotated[str, typer.Argument(help="Request id or a unique prefix of it.")],
    reason: Annotated[str, typer.Option(help="Why (the agent is told).")] = "",
    by: Annotated[str, typer.Option(help="Who decides.")] = os.environ.get("USER", "cli"),
) -> None:
    """Deny a pending request."""
    _decide(approval_id, Decision("deny", by, reason))


@app.command("audit")
def approvals_audit(
    as_json: Annotated[bool, typer.Option("--json", help="Print the entries as JSON.")] = False,
) -> None:
    """Verify the audit log (exit 1 when it was tampered with): its hash chain, its signed
    head and start (a cut-off tail, a forged head), and that every approval row says what
    the log recorded (a decision edited in place)."""
    store = _store()
    if as_json:
        print(json.dumps([a.model_dump(mode="json") for a in store.audit()], indent=2))
    ok, detail = store.verify()
    err.print(f"[green]ok[/] {detail}" if ok else f"[red]tampered:[/] {detail}")
    if not ok:
        raise typer.Exit(AgentHostError.exit_code)
