"""``SessionStore.purge``: finished sessions older than a cut-off go with everything recorded
under them (the gateway's rows too); running ones stay; a dry run only counts. Time is a
cut-off handed in, never slept for: "old" rows are made by moving ``updated_at`` back. The
anchored audit log's purge runs here too, on both dialects."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from agents import Outcome, OutcomeKind, RunState, Span, Step
from agents.budget import Spent
from approvals import ApprovalRequest, ApprovalStore, AuditAnchor, Decision
from core.principal import Principal
from gateway.events import EventStore
from inference import Message
from memory.sessions import SessionNotFound, SessionStore, StoreReserver, make_engine
from tests.memory.test_sessions import a_state

CUTOFF = datetime(2001, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    if request.param == "sqlite":
        store = SessionStore(f"sqlite:///{tmp_path / 'sessions.db'}")
        yield store
        store.close()
        return
    # a database of its own on the session's PostgreSQL: other tests count the sessions of
    # theirs, and a purge must neither see nor leave any of them
    server = make_url(request.getfixturevalue("postgres_url"))
    name = f"purge_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    store = SessionStore(server.set(database=name).render_as_string(hide_password=False))
    try:
        yield store
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()


def a_run(store: SessionStore, *, finished: bool, updated: datetime) -> RunState:
    """A checkpointed run with a message, a step, a span and a reservation, last updated at
    ``updated``."""
    state = a_state()
    state.outcome = Outcome(OutcomeKind.COMPLETED) if finished else None
    store.add_span(Span(state.trace_id, "agent", "invoke_agent plan"), state.session_id)
    store.save(state, state.steps[0])
    reserver = StoreReserver(store, state.session_id, user="alice", tenant="acme", since=None)
    reserver.reserve(lambda _others: Spent(1, 10, 5, 0.0, 0.0))
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE sessions SET updated_at = :at WHERE id = :id"),
            {"at": updated.replace(tzinfo=None), "id": state.session_id},
        )
    return state


def rows(store: SessionStore, table: str, session_id: str) -> int:
    with store.engine.connect() as conn:
        query = text(f"SELECT count(*) FROM {table} WHERE session_id = :id")
        return int(conn.execute(query, {"id": session_id}).scalar_one())


def test_old_finished_sessions_go_with_their_rows_running_ones_stay(
    store: SessionStore,
) -> None:
    events = EventStore(store.engine)  # the gateway's tables, purged by name
    old = a_run(store, finished=True, updated=CUTOFF - timedelta(days=1))
    stuck = a_run(store, finished=False, updated=CUTOFF - timedelta(days=400))
    recent = a_run(store, finished=True, updated=CUTOFF + timedelta(hours=1))
    for state in (old, stuck, recent):
        events.append(state.session_id, [(1, "run_started", {}), (2, "run_finished", {})])
        events.keep_key(
            state.principal.tenant, "alice", f"key-{state.session_id}", state.session_id
        )

    counted = store.purge(CUTOFF, dry_run=True)
    assert rows(store, "messages", old.session_id) == 4  # a dry run removes nothing
    removed = store.purge(CUTOFF)
    assert removed == counted
    assert removed.rows == {
        "sessions": 1, "messages": 4, "steps": 1, "spans": 1, "reservations": 1,
        "run_events": 2, "run_keys": 1,
    }  # fmt: skip
    for table in ("messages", "steps", "spans", "reservations", "run_events", "run_keys"):
        assert rows(store, table, old.session_id) == 0, table
        assert rows(store, table, stuck.session_id) > 0, table
    with pytest.raises(SessionNotFound):
        store.get(old.session_id)
    assert store.get(stuck.session_id).status == "running"
    assert store.get(recent.session_id).status == "completed"
    assert store.purge(CUTOFF).sessions == 0


def test_a_purged_session_id_can_be_written_again(store: SessionStore) -> None:
    """The store's caches forget a purged session: a later checkpoint under its id (a run
    resumed from elsewhere) writes a whole new row, not an update of a missing one."""
    state = a_run(store, finished=True, updated=CUTOFF - timedelta(days=1))
    assert store.purge(CUTOFF).sessions == 1
    state.messages.append(Message.assistant("again"))
    state.steps.append(Step(2, "answer", "again"))
    store.save(state, state.steps[-1])
    assert len(store.load(state.session_id).messages) == 5


def test_without_the_gateways_tables_only_the_stores_own_are_counted(
    tmp_path: Path,
) -> None:
    store = SessionStore(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        with store.engine.begin() as conn:  # a store the gateway never opened
            conn.execute(text("DROP TABLE run_events"))
            conn.execute(text("DROP TABLE run_keys"))
        state = RunState.new("t", agent="react", principal=Principal("acme", "bob"))
        state.outcome = Outcome(OutcomeKind.CANCELLED)
        store.save(state)
        counts = store.purge(datetime.now(UTC) + timedelta(days=1))
        assert counts.rows == {
            "sessions": 1, "messages": 0, "steps": 0, "spans": 0, "reservations": 0,
        }  # fmt: skip
    finally:
        store.close()


def test_the_anchored_audit_log_appends_purges_and_verifies_on_both_dialects(
    store: SessionStore, tmp_path: Path
) -> None:
    """The audit side of a purge on the same two databases: heads signed in the append's
    transaction (PostgreSQL: under the head row's lock) by two stores at once, then a purge
    that leaves a signed start, and a cut-off tail found after it."""
    engine_url = store.engine.url.render_as_string(hide_password=False)
    anchor = AuditAnchor(tmp_path / "home")
    stores = [ApprovalStore(store.engine, anchor), ApprovalStore(make_engine(engine_url), anchor)]
    errors: list[BaseException] = []

    def append(approvals: ApprovalStore, base: int) -> None:
        try:
            for n in range(4):
                asked = ApprovalRequest("ses_1", "fs__rm", {"n": base + n}, "high")
                approvals.submit(asked)
                approvals.decide(asked.id, Decision("approve", "ops"))
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(s, 10 * i)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stores[1].engine.dispose()  # the other "process" is done
    assert errors == []
    approvals = stores[0]
    assert approvals.verify() == (True, "16 entries, chain intact")
    cutoff = time.time()
    kept = ApprovalRequest("ses_2", "fs__rm", {}, "high")
    approvals.submit(kept)
    purged = approvals.purge(cutoff)
    assert (purged.approvals, purged.entries) == (8, 16)
    assert approvals.verify() == (True, "2 entries from seq 17 (older ones purged), chain intact")
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit WHERE seq = 18"))
    assert approvals.verify() == (False, "1 entry missing after seq 17 (the signed head is seq 18)")
