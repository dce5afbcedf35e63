"""``agenthost purge``: remove what is older than the retention period.

What goes: finished sessions (by their last update; never a running one, which may be
resumed) with their messages, steps, spans, reservations and the gateway's run events and
idempotency keys (``SessionStore.purge``); decided approvals and the audit entries older than
the period, the chain staying verifiable from a signed start (``ApprovalStore.purge``); log
files not written to within the period. The audit log is checked first: a log that fails
verification stops the whole purge, which would otherwise erase the evidence.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.boundary import App, BadArgument, err, settings
from settings import Settings, audit_anchor

if TYPE_CHECKING:
    from approvals.store import Purged
    from memory.sessions import PurgeCounts

app = App()


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed, or in a dry run would remove."""

    before: datetime
    dry_run: bool
    sessions: PurgeCounts
    approvals: Purged
    logs: list[Path] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Rows and files by what they are, in the order they are printed."""
        return {
            **self.sessions.rows,
            "approvals": self.approvals.approvals,
            "audit entries": self.approvals.entries,
            "log files": len(self.logs),
        }

    def lines(self) -> list[str]:
        verb = "would remove" if self.dry_run else "removed"
        when = self.before.strftime("%Y-%m-%d %H:%M UTC")
        counts = self.counts()
        width = max(len(name) for name in counts)
        return [f"{verb} (older than {when}):"] + [
            f"  {name:<{width}}  {count}" for name, count in counts.items()
        ]


def old_logs(logs_dir: Path, before: datetime) -> list[Path]:
    """Files under ``logs_dir`` last written before ``before``."""
    if not logs_dir.is_dir():
        return []
    cutoff = before.timestamp()
    return sorted(p for p in logs_dir.rglob("*") if p.is_file() and p.stat().st_mtime < cutoff)


def purge_storage(
    loaded: Settings, *, days: int, now: datetime, dry_run: bool = False
) -> PurgeReport:
    """Remove (or count, ``dry_run``) what is older than ``days`` before ``now`` (aware)."""
    # SQLModel loads for this command only
    from approvals.store import ApprovalStore
    from memory.sessions import SessionStore

    before = now - timedelta(days=days)
    store = SessionStore(loaded.db_url)
    try:
        # the audit log first: when it fails verification this raises, and nothing is removed
        approvals = ApprovalStore(store.engine, audit_anchor(loaded))
        purged = approvals.purge(before.timestamp(), dry_run=dry_run)
        sessions = store.purge(before, dry_run=dry_run)
    finally:
        store.close()
    logs = old_logs(loaded.logs_dir, before)
    if not dry_run:
        for path in logs:
            path.unlink(missing_ok=True)
    return PurgeReport(before, dry_run, sessions, purged, logs)


@app.command()
def purge(
    days: Annotated[
        int | None,
        # \\[ escapes the bracket: --help is rich markup, where [retention] is a style
        typer.Option(min=1, help="Remove what is older than this (default: \\[retention] days)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print what would be removed.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Remove stored data older than the retention period, and print what went.

    Finished sessions (never a running one) with their messages, steps, spans, reservations
    and gateway run events; decided approvals; audit entries, the log staying verifiable
    (`agenthost approvals audit`); log files. Asks first on a terminal; elsewhere it needs
    --yes. A tampered audit log stops the purge (exit 1).

    Examples:

      agenthost purge --days 30 --dry-run

      agenthost purge                      # \\[retention] days = 90 in agenthost.toml

      agenthost purge --days 7 --yes       # from cron
    """
    loaded = settings()
    period = days if days is not None else loaded.retention.days
    if period is None:
        raise BadArgument("no retention period: give --days N or set [retention] days")
    now = datetime.now(UTC)
    if not dry_run and not yes:
        if not sys.stdin.isatty():
            raise BadArgument("purge removes data: add --yes (no terminal to ask on)")
        preview = purge_storage(loaded, days=period, now=now, dry_run=True)
        print("\n".join(preview.lines()))
        if not typer.confirm("Remove these?", default=False):
            err.print("nothing removed")
            return
    report = purge_storage(loaded, days=period, now=now, dry_run=dry_run)
    print("\n".join(report.lines()))
