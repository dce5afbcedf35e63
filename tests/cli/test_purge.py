"""``agenthost purge``: what it removes and keeps, with "now" handed in (``purge_storage``)
instead of waiting days; and the command itself in a real process: its refusals, its dry
run and its help."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from agents import Outcome, OutcomeKind, RunState
from approvals import ApprovalRequest, ApprovalStore, Decision
from cli.purge import purge_storage
from core.principal import Principal
from memory.sessions import SessionStore
from settings import Settings, audit_anchor
from tests.cli.conftest import agenthost

DAYS = 30
LATER = datetime.now(UTC) + timedelta(days=DAYS + 1)  # what exists now is old by then


def stored(settings: Settings) -> tuple[SessionStore, ApprovalStore]:
    store = SessionStore(settings.db_url)
    return store, ApprovalStore(store.engine, audit_anchor(settings))


def a_session(store: SessionStore, *, finished: bool) -> str:
    state = RunState.new("task", agent="react", principal=Principal("acme", "alice"))
    state.outcome = Outcome(OutcomeKind.COMPLETED) if finished else None
    store.save(state)
    return state.session_id


def fill(settings: Settings) -> dict[str, str]:
    """A finished and a running session, a decided and a pending approval, an old log."""
    settings.ensure_home()
    store, approvals = stored(settings)
    try:
        ids = {
            "finished": a_session(store, finished=True),
            "running": a_session(store, finished=False),
        }
        decided = ApprovalRequest(ids["finished"], "fs__rm", {"path": "/a"}, "high")
        approvals.record(decided, Decision("approve", "policy"))
        waiting = ApprovalRequest(ids["running"], "fs__rm", {"path": "/b"}, "high")
        approvals.submit(waiting)
        ids |= {"decided": decided.id, "waiting": waiting.id}
    finally:
        store.close()
    log = settings.logs_dir / "server-time.log"
    log.write_text("old lines\n")
    old = time.time() - 400 * 86400
    os.utime(log, (old, old))
    fresh = settings.logs_dir / "fresh.log"
    fresh.write_text("new lines\n")
    recently = (LATER - timedelta(days=1)).timestamp()  # written a day before "now"
    os.utime(fresh, (recently, recently))
    return ids


def test_purge_removes_the_old_keeps_the_running_and_the_log_verifies(
    isolated_home: Path,
) -> None:
    settings = Settings(home=isolated_home)
    ids = fill(settings)
    preview = purge_storage(settings, days=DAYS, now=LATER, dry_run=True)
    report = purge_storage(settings, days=DAYS, now=LATER)
    assert report.counts() == preview.counts()  # the dry run counted exactly this ...
    assert preview.dry_run
    assert preview.lines()[0].startswith("would remove (older than ")
    counts = report.counts()
    assert counts["sessions"] == 1  # ... and the running one stays, however old
    assert counts["approvals"] == 1  # the pending one stays, and so do its entries
    assert counts["log files"] == 1
    assert counts["audit entries"] == 2  # the decided one's: requested, approved
    assert not (settings.logs_dir / "server-time.log").exists()
    assert (settings.logs_dir / "fresh.log").exists()
    store, approvals = stored(settings)
    try:
        assert [s.id for s in store.recent()] == [ids["running"]]
        assert [a.id for a in approvals.recent()] == [ids["waiting"]]
        intact = "2 entries from seq 3 (older ones purged), chain intact"
        assert approvals.verify() == (True, intact)
        with store.engine.begin() as conn:  # tampering after a purge is still found
            conn.execute(text("UPDATE approvals SET status = 'approved'"))
        assert approvals.verify() == (
            False,
            f"approval {ids['waiting']} says approved, the audit log says pending",
        )
    finally:
        store.close()


def test_a_purge_with_nothing_pending_signs_the_new_start(isolated_home: Path) -> None:
    settings = Settings(home=isolated_home)
    ids = fill(settings)
    store, approvals = stored(settings)
    approvals.decide(ids["waiting"], Decision("deny", "ops"))
    store.close()
    report = purge_storage(settings, days=DAYS, now=LATER)
    # requested, approved, requested, denied: all of them; the purge's own entry stays
    assert report.counts()["audit entries"] == 4
    assert report.counts()["approvals"] == 2
    store, approvals = stored(settings)
    try:
        assert [a.event for a in approvals.audit()] == ["purged"]
        intact = "1 entry from seq 5 (older ones purged), chain intact"
        assert approvals.verify() == (True, intact)
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit"))
        missing = "the one entry is missing (the signed head is seq 5)"
        assert approvals.verify() == (False, missing)
    finally:
        store.close()


def test_the_command_refuses_without_yes_and_a_dry_run_removes_nothing(tmp_path: Path) -> None:
    no_period = agenthost("purge", cwd=tmp_path)
    assert no_period.returncode == 2
    assert no_period.stderr.strip() == (
        "error: no retention period: give --days N or set [retention] days"
    )
    (tmp_path / "agenthost.toml").write_text("[retention]\ndays = 30\n")
    unasked = agenthost("purge", cwd=tmp_path, stdin="")  # no terminal, no --yes
    assert unasked.returncode == 2
    assert unasked.stderr.strip() == "error: purge removes data: add --yes (no terminal to ask on)"
    dry = agenthost("purge", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would remove (older than ")
    assert "  sessions       0" in dry.stdout


def test_help_has_examples(tmp_path: Path) -> None:
    out = agenthost("purge", "--help", cwd=tmp_path)
    assert out.returncode == 0
    assert "agenthost purge --days 30 --dry-run" in out.stdout
    assert "--yes" in out.stdout
