"""A run's events with ids, for ``GET /v1/runs/{id}/events``: numbered from 1 as they come,
followed live while the run is served here, kept in the store (``run_events``) so a client
that reconnects with ``Last-Event-ID`` gets every event after that one and none twice, from
this gateway process or another one on the same database."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from enum import Enum
from typing import Any

import anyio
from pydantic import BaseModel
from sqlalchemy import JSON, Column, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from agents.events import RunEvent, RunFinished, StepFinished
from core.db import create_tables


class RunEventRow(SQLModel, table=True):
    __tablename__ = "run_events"

    session_id: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    type: str
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class RunKeyRow(SQLModel, table=True):
    """An ``Idempotency-Key`` a run was started with: the same key from the same principal
    gets the same run back instead of a second one."""

    __tablename__ = "run_keys"

    tenant: str = Field(primary_key=True)
    user: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    session_id: str


EVENTS = RunEventRow.__table__  # type: ignore[attr-defined]
KEYS = RunKeyRow.__table__  # type: ignore[attr-defined]


def event_type(event: RunEvent) -> str:
    """``RunStarted`` → ``run_started``: the SSE ``event:`` field."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def event_data(event: RunEvent) -> dict[str, Any]:
    data = dataclasses.asdict(event)
    return json.loads(json.dumps(data, default=_plain))  # type: ignore[no-any-return]


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(SQLModel.metadata, engine, [EVENTS, KEYS])

    def append(self, session_id: str, events: Sequence[tuple[int, str, dict[str, Any]]]) -> None:
        if not events:
            return
        rows = [{"session_id": session_id, "seq": s, "type": t, "data": d} for s, t, d in events]
        with self.engine.begin() as conn:
            conn.execute(insert(EVENTS), rows)

    def after(self, session_id: str, seq: int) -> list[tuple[int, str, dict[str, Any]]]:
        query = (
            select(EVENTS.c.seq, EVENTS.c.type, EVENTS.c.data)
            .where(EVENTS.c.session_id == session_id, EVENTS.c.seq > seq)
            .order_by(EVENTS.c.seq)
        )
        with self.engine.connect() as conn:
            return [(int(s), str(t), dict(d)) for s, t, d in conn.execute(query)]

    def run_for_key(self, tenant: str, user: str, key: str) -> str | None:
        query = select(KEYS.c.session_id).where(
            KEYS.c.tenant == tenant, KEYS.c.user == user, KEYS.c.key == key
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else str(row[0])

    def keep_key(self, tenant: str, user: str, key: str, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(KEYS).values(tenant=tenant, user=user, key=key, session_id=session_id)
            )


class RunLog:
    """One live run's events: appended by the run, read by any number of followers. Written
    to the store at each step's end and at the run's end (token deltas in between are kept
    here until then), so a reader elsewhere lags by at most one step."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.session_id = ""
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.finished = False
        self._flushed = 0
        self._changed = anyio.Event()

    async def add(self, event: RunEvent) -> None:
        self.events.append((len(self.events) + 1, event_type(event), event_data(event)))
        if isinstance(event, StepFinished | RunFinished):
            await self.flush()
        if isinstance(event, RunFinished):
            self.finished = True
        self._changed.set()
        self._changed = anyio.Event()

    async def flush(self) -> None:
        pending = self.events[self._flushed :]
        if pending and self.session_id:
            self._flushed = len(self.events)
            await anyio.to_thread.run_sync(self.store.append, self.session_id, pending)

    def close(self) -> None:
        """The run is over (finished, failed or cancelled): wake every follower."""
        self.finished = True
        self._changed.set()

    def signal(self) -> anyio.Event:
        """Set at the next change: take it before reading ``events``, then wait on it."""
        return self._changed
