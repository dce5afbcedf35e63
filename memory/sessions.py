"""The session store: runs, their messages, steps, usage, outcome and trace spans (sqlmodel).

SQLite under ``$AGENTHOST_HOME`` by default; any SQLAlchemy URL (``postgresql+psycopg://...``)
otherwise. A run is checkpointed after every completed step in one transaction, so a process
killed mid-run loses at most the step in flight, and ``load`` rebuilds the state to resume from.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    bindparam,
    event,
    func,
    insert,
    inspect,
    literal,
    or_,
    text,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel, col, create_engine, delete, select

from agents.budget import Budget, BudgetKind, Exhaustion, Spent
from agents.state import (
    Outcome,
    OutcomeKind,
    PlanState,
    RunState,
    Span,
    Step,
    ToolRecord,
)
from core import ids
from core.db import create_tables
from core.errors import InvalidRequest
from core.principal import DEFAULT_TENANT, Principal
from inference.types import Message, ToolCall


def _now() -> datetime:
    return datetime.now(UTC)


class SessionRow(SQLModel, table=True):
    __tablename__ = "sessions"

    id: str = Field(primary_key=True)
    trace_id: str = Field(index=True)
    task: str
    agent: str
    role: str | None = None
    user: str | None = Field(default=None, index=True)
    tenant: str | None = Field(default=None, index=True)
    status: str = Field(default="running", index=True)
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    answer: str = ""
    budget: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    plan: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class MessageRow(SQLModel, table=True):
    __tablename__ = "messages"

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(index=True, foreign_key="sessions.id")
    seq: int
    role: str
    content: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    tool_call_id: str | None = None
    name: str | None = None


class StepRow(SQLModel, table=True):
    __tablename__ = "steps"

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(index=True, foreign_key="sessions.id")
    index: int
    kind: str = "act"
    text: str = ""
    tools: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    started: float = 0.0
    ended: float | None = None
    plan_step: int | None = None
    partial: bool = False


class ReservationRow(SQLModel, table=True):
    """What a run holds of its user's and tenant's allowances and has not yet checkpointed:
    a model call's worst case while it runs, then what it really spent. Other runs count it;
    the run's next checkpoint (whose session row then holds the spending) deletes it."""

    __tablename__ = "reservations"

    id: str = Field(primary_key=True)
    session_id: str = Field(index=True)
    user: str | None = Field(default=None, index=True)
    tenant: str | None = Field(default=None, index=True)
    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    expires_at: float = Field(index=True)  # a crashed run's hold lapses (resume frees it first)


class AllowanceLock(SQLModel, table=True):
    """One row per allowance scope (``user:alice``, ``tenant:acme``): a reservation updates it
    first, which serialises reservations of that scope across processes (SQLite's write
    lock, a PostgreSQL row lock) while it reads what others spent and holds its own."""

    __tablename__ = "allowance_locks"

    scope: str = Field(primary_key=True)
    version: int = 0


class SpanRow(SQLModel, table=True):
    __tablename__ = "spans"

    span_id: str = Field(primary_key=True)
    trace_id: str = Field(index=True)
    parent_id: str | None = None
    session_id: str | None = Field(default=None, index=True)
    kind: str
    name: str
    start: float
    end: float | None = None
    status: str = "ok"
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class NotInScope(InvalidRequest, PermissionError):
    """The record belongs to another tenant or user."""


class SessionNotFound(InvalidRequest):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"no session {session_id!r}")
        self.session_id = session_id


def _options(state: RunState) -> dict[str, Any]:
    """How the run was asked for, beyond the columns: what ``resume`` must ask for again."""
    return {
        "tools": list(state.tools),
        "tier": state.tier,
        "require_tool": state.require_tool,
        "roles": sorted(state.principal.roles),
        "compactions": state.compactions,
        "request_id": state.request_id,
    }


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers (the TUI, `sessions`) never block
            cur.execute("PRAGMA synchronous=NORMAL")  # durable at each commit with WAL
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class SessionStore:
    """Reads and writes runs. Calls are short synchronous transactions (well under a ms on
    SQLite), made from the event loop; the loop's own awaits dominate a step by far."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        create_tables(SQLModel.metadata, self.engine)
        # what was last written per session, so a checkpoint writes only what changed
        self._saved_messages: dict[str, tuple[int, Message | None]] = {}
        self._saved_steps: dict[str, int] = {}
        self._pending_spans: list[dict[str, Any]] = []
        self._known: set[str] = set()  # sessions whose row exists

    def close(self) -> None:
        self.flush_spans()
        self.engine.dispose()

    # ---- writing ----------------------------------------------------------------------

    def save(self, state: RunState, step: Step | None = None) -> None:
        """Checkpoint ``state`` in one transaction. SQLAlchemy Core, not the ORM: this runs
        after every step, and only what changed since the last checkpoint is written."""
        sid = state.session_id
        with self.engine.begin() as conn:
            values = _session_values(state)
            if sid not in self._known:
                exists = conn.execute(sa_select(SESSIONS.c.id).where(SESSIONS.c.id == sid)).first()
                self._known.add(sid)
                if exists is None:
                    conn.execute(
                        insert(SESSIONS).values(
                            id=sid,
                            trace_id=state.trace_id,
                            task=state.task,
                            agent=state.agent,
                            role=state.role,
                            user=state.principal.user or None,
                            tenant=state.principal.tenant,
                            created_at=_now(),
                            **values,
                        )
                    )
                    values = {}
            if values:
                conn.execute(UPDATE_SESSION, {"sid": sid, **values})
            self._save_messages(conn, state)
            self._save_steps(conn, state)
            # the session row now holds what its reservations held: they are done
            conn.execute(DELETE_RESERVATIONS, {"sid": sid})
            if self._pending_spans:
                conn.execute(INSERT_SPANS, self._pending_spans)
                self._pending_spans.clear()

    def _save_messages(self, conn: Connection, state: RunState) -> None:
        count, last = self._saved_messages.get(state.session_id, (0, None))
        messages = state.messages
        unchanged_prefix = count == 0 or (len(messages) >= count and messages[count - 1] == last)
        if not unchanged_prefix:  # the context was compacted: rewrite it
            conn.execute(DELETE_MESSAGES, {"sid": state.session_id})
            count = 0
        rows = [
            _message_values(state.session_id, seq, messages[seq])
            for seq in range(count, len(messages))
        ]
        if rows:
            conn.execute(INSERT_MESSAGES, rows)
        self._saved_messages[state.session_id] = (len(messages), messages[-1] if messages else None)

    def _save_steps(self, conn: Connection, state: RunState) -> None:
        first = self._saved_steps.get(state.session_id, 0)
        # the last saved step is written again: it may have been finished (or cut) since
        changed = state.steps[max(first - 1, 0) :]
        if changed:
            conn.execute(DELETE_STEPS, {"sid": state.session_id, "first": changed[0].index})
            conn.execute(INSERT_STEPS, [_step_values(state.session_id, s) for s in changed])
        self._saved_steps[state.session_id] = len(state.steps)

    def add_span(self, span: Span, session_id: str | None) -> None:
        """Buffer a span; it is written with the next checkpoint (or ``flush_spans``)."""
        self._pending_spans.append(_span_values(span, session_id))

    def record_finished(self, calls: Sequence[tuple[RunState, Sequence[Span]]]) -> None:
        """Write finished one-call sessions (the gateway's chat completions) with their spans,
        many in one transaction, and drop their reservations. Unlike ``save`` it touches none
        of the store's caches, so it may run in a worker thread while runs checkpoint on the
        event loop."""
        if not calls:
            return
        now = _now()
        sessions = [
            {
                "id": state.session_id,
                "trace_id": state.trace_id,
                "task": state.task,
                "agent": state.agent,
                "role": state.role,
                "user": state.principal.user or None,
                "tenant": state.principal.tenant,
                "created_at": now,
                **_session_values(state),
            }
            for state, _ in calls
        ]
        spans = [_span_values(span, state.session_id) for state, held in calls for span in held]
        with self.engine.begin() as conn:
            conn.execute(insert(SESSIONS), sessions)
            if spans:
                conn.execute(INSERT_SPANS, spans)
            conn.execute(
                RESERVATIONS.delete().where(
                    RESERVATIONS.c.session_id.in_([state.session_id for state, _ in calls])
                )
            )

    def flush_spans(self) -> None:
        if not self._pending_spans:
            return
        with self.engine.begin() as conn:
            conn.execute(INSERT_SPANS, self._pending_spans)
        self._pending_spans.clear()

    # ---- reading ----------------------------------------------------------------------

    def resolve(self, ref: str, *, visible_to: Principal | None = None) -> str:
        """The session id ``ref`` names: the id itself or a unique prefix (core/ids.py).
        With ``visible_to``, only among that principal's visible sessions
        (``Principal.visible_scope``): another's is ``SessionNotFound`` exactly as an unknown
        id is, and never makes a prefix ambiguous."""
        with Session(self.engine) as db:
            row = db.get(SessionRow, ref)
            if row is not None and (visible_to is None or visible_to.sees(row.tenant, row.user)):
                return ref
            scope = _visible(visible_to)

            def starting_with(prefix: str) -> Sequence[str]:
                match = col(SessionRow.id).startswith(prefix, autoescape=True)
                return db.exec(select(SessionRow.id).where(match, *scope).limit(6)).all()

            return ids.resolve(ref, "ses", starting_with, SessionNotFound, "session")

    def get(self, session_id: str, *, visible_to: Principal | None = None) -> SessionRow:
        """A session by its id or a unique prefix of it (among ``visible_to``'s, if given)."""
        session_id = self.resolve(session_id, visible_to=visible_to)
        with Session(self.engine) as db:
            row = db.get(SessionRow, session_id)
            if row is None:
                raise SessionNotFound(session_id)
            return row

    def load(self, session_id: str, *, visible_to: Principal | None = None) -> RunState:
        """The state as of the last checkpoint: what ``resume`` continues from (by id or a
        unique prefix of it; among ``visible_to``'s sessions, if given)."""
        session_id = self.resolve(session_id, visible_to=visible_to)
        with Session(self.engine) as db:
            row = db.get(SessionRow, session_id)
            if row is None:
                raise SessionNotFound(session_id)
            messages = db.exec(
                select(MessageRow)
                .where(MessageRow.session_id == session_id)
                .order_by(MessageRow.seq)  # type: ignore[arg-type]
            ).all()
            steps = _step_rows(db, session_id)
            state = RunState(
                session_id=row.id,
                trace_id=row.trace_id,
                task=row.task,
                agent=row.agent,
                role=row.role,
                principal=Principal.of(row.tenant, row.user, tuple(row.options.get("roles", ()))),
                budget=Budget(**row.budget),
                messages=[_message(m) for m in messages],
                steps=[_step(s) for s in steps],
                spent=Spent(
                    row.steps, row.input_tokens, row.output_tokens, row.cost_usd, row.seconds
                ),
                plan=PlanState.from_dict(row.plan) if row.plan else None,
                answer=row.answer,
                outcome=outcome_from_dict(row.outcome),
                tools=tuple(row.options.get("tools") or ()),
                tier=row.options.get("tier"),
                require_tool=bool(row.options.get("require_tool", False)),
                compactions=int(row.options.get("compactions", 0)),
                request_id=row.options.get("request_id"),
            )
        self._saved_messages[session_id] = (
            len(state.messages),
            state.messages[-1] if state.messages else None,
        )
        self._saved_steps[session_id] = len(state.steps)
        return state

    def recent(
        self,
        *,
        limit: int = 50,
        status: str | None = None,
        tenant: str | None = None,
        user: str | None = None,
        visible_to: Principal | None = None,
        agents: Sequence[str] | None = None,
    ) -> Sequence[SessionRow]:
        """Sessions newest first: of ``status``, ``tenant``, ``user`` and one of ``agents``
        when given, and only those ``visible_to`` may see when given (all must hold)."""
        with Session(self.engine) as db:
            query = select(SessionRow).order_by(SessionRow.created_at.desc()).limit(limit)  # type: ignore[attr-defined]
            if status:
                query = query.where(SessionRow.status == status)
            if agents is not None:
                query = query.where(col(SessionRow.agent).in_(agents))
            conditions = [*_whose(tenant, user), *_visible(visible_to)]
            if conditions:
                query = query.where(*conditions)
            return db.exec(query).all()

    def steps(self, session_id: str) -> list[Step]:
        with Session(self.engine) as db:
            return [_step(r) for r in _step_rows(db, session_id)]

    def spans(self, trace_id: str) -> list[SpanRow]:
        self.flush_spans()
        with Session(self.engine) as db:
            return list(
                db.exec(
                    select(SpanRow).where(SpanRow.trace_id == trace_id).order_by(SpanRow.start)  # type: ignore[arg-type]
                ).all()
            )

    def spent_by(
        self,
        *,
        user: str | None = None,
        tenant: str | None = None,
        since: datetime | None = None,
        exclude: str | None = None,
    ) -> Spent:
        """What a user's (or a tenant's) runs have used, for budgets that span runs."""
        with Session(self.engine) as db:
            query = sa_select(
                func.coalesce(func.sum(SessionRow.steps), 0),
                func.coalesce(func.sum(SessionRow.input_tokens), 0),
                func.coalesce(func.sum(SessionRow.output_tokens), 0),
                func.coalesce(func.sum(SessionRow.cost_usd), 0.0),
                func.coalesce(func.sum(SessionRow.seconds), 0.0),
            )
            if user is not None:
                query = query.where(col(SessionRow.user) == user)
            if tenant is not None:
                query = query.where(col(SessionRow.tenant) == tenant)
            if since is not None:
                query = query.where(col(SessionRow.created_at) >= since)
            if exclude is not None:
                query = query.where(col(SessionRow.id) != exclude)
            s, i, o, c, sec = db.execute(query).one()
            return Spent(int(s), int(i), int(o), float(c), float(sec))

    # ---- retention --------------------------------------------------------------------

    def purge(self, before: datetime, *, dry_run: bool = False) -> PurgeCounts:
        """Delete the finished sessions last updated before ``before`` (aware, UTC) with all
        that is recorded under them: messages, steps, spans, reservations, and the rows of
        other packages' tables keyed by session (``SESSION_TABLES_ELSEWHERE``). A running
        session is kept however old it is: it may still be resumed. Counts what went, or in
        a dry run what would go, by table."""
        self.flush_spans()
        own = (MESSAGES, STEPS, SPANS, RESERVATIONS)  # before sessions: their foreign keys
        counts = dict.fromkeys(["sessions", *(t.name for t in own)], 0)
        with self.engine.begin() as conn:
            finished = (SESSIONS.c.status != "running") & (SESSIONS.c.updated_at < before)
            ids = list(conn.execute(sa_select(SESSIONS.c.id).where(finished)).scalars())
            present = set(inspect(conn).get_table_names())
            elsewhere = [name for name in SESSION_TABLES_ELSEWHERE if name in present]
            counts |= dict.fromkeys(elsewhere, 0)
            for start in range(0, len(ids), PURGE_CHUNK):
                chunk = ids[start : start + PURGE_CHUNK]
                for table in (*own, SESSIONS):
                    key = table.c.id if table is SESSIONS else table.c.session_id
                    if dry_run:
                        query = sa_select(func.count()).select_from(table).where(key.in_(chunk))
                        counts[table.name] += conn.execute(query).scalar_one()
                    else:
                        counts[table.name] += conn.execute(
                            table.delete().where(key.in_(chunk))
                        ).rowcount
                for name in elsewhere:  # names we made, not input: no injection here
                    verb = "SELECT count(*) FROM" if dry_run else "DELETE FROM"
                    statement = text(f"{verb} {name} WHERE session_id IN :ids").bindparams(
                        bindparam("ids", expanding=True)
                    )
                    result = conn.execute(statement, {"ids": chunk})
                    counts[name] += result.scalar_one() if dry_run else result.rowcount
        if not dry_run:
            for sid in ids:
                self._known.discard(sid)
                self._saved_messages.pop(sid, None)
                self._saved_steps.pop(sid, None)
        return PurgeCounts(counts)


@dataclass(frozen=True)
class PurgeCounts:
    """Rows a purge removed (or, in a dry run, would remove), by table name."""

    rows: dict[str, int]

    @property
    def sessions(self) -> int:
        return self.rows.get("sessions", 0)


# other packages' tables whose rows belong to a session (the gateway's run events and
# idempotency keys, gateway/events.py): purged with it by name, when they exist, so that
# memory/ never imports gateway/
SESSION_TABLES_ELSEWHERE = ("run_events", "run_keys")
PURGE_CHUNK = 500  # ids per IN list: well under every SQLite's bound-parameter limit


RESERVATIONS = ReservationRow.__table__  # type: ignore[attr-defined]
LOCKS = AllowanceLock.__table__  # type: ignore[attr-defined]
LOCK = (
    update(LOCKS)
    .where(LOCKS.c.scope == bindparam("lock_scope"))
    .values(version=LOCKS.c.version + 1)
)
DELETE_RESERVATIONS = RESERVATIONS.delete().where(RESERVATIONS.c.session_id == bindparam("sid"))
SESSIONS = SessionRow.__table__  # type: ignore[attr-defined]
MESSAGES = MessageRow.__table__  # type: ignore[attr-defined]
STEPS = StepRow.__table__  # type: ignore[attr-defined]
SPANS = SpanRow.__table__  # type: ignore[attr-defined]

# built once: a checkpoint runs after every step, and building statements costs more than
# running them on SQLite
_UPDATABLE = (
    "status",
    "outcome",
    "answer",
    "plan",
    "budget",
    "options",
    "steps",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "seconds",
    "updated_at",
)
UPDATE_SESSION = (
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("sid"))
    .values({name: bindparam(name) for name in _UPDATABLE})
)
DELETE_MESSAGES = delete(MESSAGES).where(MESSAGES.c.session_id == bindparam("sid"))
DELETE_STEPS = delete(STEPS).where(
    STEPS.c.session_id == bindparam("sid"), STEPS.c.index >= bindparam("first")
)
INSERT_MESSAGES = insert(MESSAGES)
INSERT_STEPS = insert(STEPS)
INSERT_SPANS = insert(SPANS)


def _whose(tenant: str | None, user: str | None) -> list[ColumnElement[bool]]:
    """Conditions on sessions of ``tenant`` and ``user`` (None: any). A session's row holds
    no user (NULL) for a principal without one, and rows of old versions may hold no tenant
    for the default one: the same normalisation as ``Principal.sees``."""
    conditions: list[ColumnElement[bool]] = []
    if tenant is not None:
        same = col(SessionRow.tenant) == tenant
        conditions.append(
            or_(same, col(SessionRow.tenant).is_(None)) if tenant == DEFAULT_TENANT else same
        )
    if user is not None:
        conditions.append(
            col(SessionRow.user) == user
            if user
            else or_(col(SessionRow.user).is_(None), col(SessionRow.user) == "")
        )
    return conditions


def _visible(principal: Principal | None) -> list[ColumnElement[bool]]:
    """Conditions on the sessions ``principal`` may see (none without a principal)."""
    return [] if principal is None else _whose(*principal.visible_scope())


def _span_values(span: Span, session_id: str | None) -> dict[str, Any]:
    return {
        "span_id": span.span_id,
        "trace_id": span.trace_id,
        "parent_id": span.parent_id,
        "session_id": session_id,
        "kind": span.kind,
        "name": span.name,
        "start": span.start,
        "end": span.end,
        "status": span.status,
        "attributes": json.loads(json.dumps(span.attributes, default=str)),
    }


def _session_values(state: RunState) -> dict[str, Any]:
    spent = state.spent
    return {
        "status": state.outcome.kind.value if state.outcome else "running",
        "outcome": state.outcome.to_dict() if state.outcome else None,
        "answer": state.answer,
        "plan": state.plan.to_dict() if state.plan else None,
        "budget": state.budget.to_dict(),
        "options": _options(state),
        "steps": spent.steps,
        "input_tokens": spent.input_tokens,
        "output_tokens": spent.output_tokens,
        "cost_usd": spent.cost_usd,
        "seconds": spent.seconds,
        "updated_at": _now(),
    }


def _message_values(session_id: str, seq: int, m: Message) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "seq": seq,
        "role": m.role,
        "content": m.content,
        "tool_calls": [asdict(c) for c in m.tool_calls],
        "tool_call_id": m.tool_call_id,
        "name": m.name,
    }


def _step_values(session_id: str, step: Step) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "index": step.index,
        "kind": step.kind,
        "text": step.text,
        "tools": [asdict(t) for t in step.tools],
        "input_tokens": step.input_tokens,
        "output_tokens": step.output_tokens,
        "cost_usd": step.cost_usd,
        "model": step.model,
        "started": step.started,
        "ended": step.ended,
        "plan_step": step.plan_step,
        "partial": step.partial,
    }


def _step_rows(db: Session, session_id: str) -> Sequence[StepRow]:
    query = select(StepRow).where(StepRow.session_id == session_id)
    return db.exec(query.order_by(col(StepRow.index))).all()


def _message(row: MessageRow) -> Message:
    calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in row.tool_calls or [])
    return Message(row.role, row.content, calls, row.tool_call_id, row.name)  # type: ignore[arg-type]


def _step(row: StepRow) -> Step:
    return Step(
        index=row.index,
        kind=row.kind,
        text=row.text,
        tools=[ToolRecord(**t) for t in row.tools or []],
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cost_usd=row.cost_usd,
        model=row.model,
        started=row.started,
        ended=row.ended,
        plan_step=row.plan_step,
        partial=row.partial,
    )


def outcome_from_dict(data: dict[str, Any] | None) -> Outcome | None:
    """A stored outcome (``Outcome.to_dict``) back as an ``Outcome``."""
    if not data:
        return None
    budget = data.get("budget")
    exhaustion = (
        Exhaustion(BudgetKind(budget["kind"]), budget["limit"], budget["used"], budget["scope"])
        if budget
        else None
    )
    code = data.get("code")  # absent in rows stored before outcomes carried exit codes
    return Outcome(
        OutcomeKind(data["kind"]),
        data.get("detail", ""),
        exhaustion,
        code if isinstance(code, int) else None,
    )


class StoreRecorder:
    """The agents' ``Recorder`` backed by the session store."""

    def __init__(self, store: SessionStore, session_id: str) -> None:
        self.store = store
        self.session_id = session_id

    async def checkpoint(self, state: RunState, step: Step | None) -> None:
        self.store.save(state, step)

    async def span(self, span: Span) -> None:
        self.store.add_span(span, self.session_id)


def sqlite_url(path: Any) -> str:
    return f"sqlite:///{path}"


RESERVATION_TTL_S = 3600.0  # a hold of a run that died and was never resumed lapses


class StoreReserver:
    """Reserves a run's spending against its user's and tenant's allowances in the store, so
    concurrent runs (in any process) can never together spend more than an allowance.

    ``reserve(plan)`` runs one transaction: it locks the scopes' rows (in a fixed order),
    reads what every other run of them spent this period (checkpointed sessions plus their
    reservations), hands that to ``plan``, which checks the limits and returns the worst case
    to hold (or raises), and stores that hold. ``settle`` replaces the last hold with what the
    call really spent. The run's next checkpoint deletes its holds (``SessionStore.save``);
    ``release`` drops them when a run is resumed after a crash."""

    def __init__(
        self,
        store: SessionStore,
        session_id: str,
        *,
        user: str | None,
        tenant: str | None,
        since: datetime | None,
        ttl_s: float = RESERVATION_TTL_S,
    ) -> None:
        self.engine = store.engine
        self.session_id = session_id
        self.user, self.tenant, self.since, self.ttl_s = user, tenant, since, ttl_s
        self.scopes = sorted(
            s for s in (f"user:{user}" if user else "", f"tenant:{tenant}" if tenant else "") if s
        )
        self._last: str | None = None
        dialect = self.engine.dialect.name
        # SQLite has one write lock for the whole database: taking it once serialises every
        # reservation; PostgreSQL locks rows, so each scope's row is taken, in a fixed order
        self._locked = self.scopes[:1] if dialect == "sqlite" else self.scopes
        insert_lock = sqlite_insert if dialect == "sqlite" else pg_insert
        with self.engine.begin() as conn:
            for scope in self.scopes:
                conn.execute(
                    insert_lock(LOCKS).values(scope=scope, version=0).on_conflict_do_nothing()
                )

    def reserve(self, plan: Callable[[Mapping[str, Spent]], Spent]) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            for scope in self._locked:  # the lock first: what we read next cannot change
                conn.execute(LOCK, {"lock_scope": scope})
            others = {scope: self._elsewhere(conn, scope, now) for scope in self.scopes}
            hold = plan(others)
            self._last = uuid.uuid4().hex
            conn.execute(
                insert(RESERVATIONS).values(
                    id=self._last, session_id=self.session_id, user=self.user,
                    tenant=self.tenant, expires_at=now + self.ttl_s, **_amounts(hold),
                )
            )  # fmt: skip

    def settle(self, actual: Spent) -> None:
        if self._last is None:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(RESERVATIONS)
                .where(RESERVATIONS.c.id == self._last)
                .values(**_amounts(actual))
            )
        self._last = None

    def release(self) -> None:
        """Drop every hold of this run (a crashed attempt's): its spending is what its last
        checkpoint says, and the resumed run reserves again."""
        with self.engine.begin() as conn:
            conn.execute(DELETE_RESERVATIONS, {"sid": self.session_id})

    def _elsewhere(self, conn: Connection, scope: str, now: float) -> Spent:
        kind, _, who = scope.partition(":")
        params = {"sid": self.session_id, "who": who, "now": now, "since": self.since}
        s, i, o, c, sec = conn.execute(_usage_query(kind, self.since is not None), params).one()
        return Spent(int(s), int(i), int(o), float(c), float(sec))


@cache
def _usage_query(kind: str, since: bool) -> Any:
    """What other runs of a user (or tenant) spent: checkpointed sessions (this period) plus
    the holds they have not checkpointed yet. Built once per shape: a reservation runs before
    every step, and building statements costs more than running them on SQLite."""
    sessions, held = SESSIONS.c, RESERVATIONS.c
    mine = [sessions.id != bindparam("sid"), getattr(sessions, kind) == bindparam("who")]
    if since:
        mine.append(sessions.created_at >= bindparam("since"))
    checkpointed = sa_select(
        sessions.steps, sessions.input_tokens, sessions.output_tokens, sessions.cost_usd,
        sessions.seconds,
    ).where(*mine)  # fmt: skip
    holds = sa_select(
        held.steps, held.input_tokens, held.output_tokens, held.cost_usd,
        literal(0.0).label("seconds"),
    ).where(
        held.session_id != bindparam("sid"),
        getattr(held, kind) == bindparam("who"),
        held.expires_at > bindparam("now"),
    )  # fmt: skip
    both = checkpointed.union_all(holds).subquery()
    return sa_select(
        func.coalesce(func.sum(both.c.steps), 0),
        func.coalesce(func.sum(both.c.input_tokens), 0),
        func.coalesce(func.sum(both.c.output_tokens), 0),
        func.coalesce(func.sum(both.c.cost_usd), 0.0),
        func.coalesce(func.sum(both.c.seconds), 0.0),
    )


def _amounts(spent: Spent) -> dict[str, Any]:
    return {
        "steps": spent.steps,
        "input_tokens": spent.input_tokens,
        "output_tokens": spent.output_tokens,
        "cost_usd": spent.cost_usd,
    }
