"""The chat-completion recorder on SQLite: written on the event loop, in transactions of at
most ``FLUSH_ROWS``, with every completion kept (the PostgreSQL path, from a worker thread,
is in ``test_gateway_stores.py``)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from sqlalchemy import text

from agents.state import Outcome, OutcomeKind, RunState, Span
from core.principal import Principal
from gateway.app import FLUSH_ROWS, CallRecorder
from memory.sessions import SessionStore

pytestmark = pytest.mark.anyio


def completion(i: int) -> tuple[RunState, Span]:
    state = RunState.new("(chat completion)", agent="chat", principal=Principal("acme", f"u{i}"))
    state.outcome = Outcome(OutcomeKind.COMPLETED)
    span = Span(state.trace_id, "gateway", "chat.completions")
    span.finish("ok", tenant="acme", output_tokens=i)
    return state, span


async def test_sqlite_completions_are_written_on_the_loop_in_bounded_transactions(
    tmp_path: Path,
) -> None:
    store = SessionStore(f"sqlite:///{tmp_path / 'a.db'}")
    recorder = CallRecorder(store)
    assert not recorder.in_thread
    sizes: list[int] = []
    write = store.record_finished

    def counted(batch: list[tuple[RunState, list[Span]]]) -> None:
        sizes.append(len(batch))
        write(batch)

    store.record_finished = counted  # type: ignore[method-assign,assignment]
    n = 2 * FLUSH_ROWS + 5
    for i in range(n):
        recorder.add(*completion(i))
    called_from_threads = []
    real = anyio.to_thread.run_sync

    async def spy(*args: object, **kwargs: object) -> object:
        called_from_threads.append(args)
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    anyio.to_thread.run_sync = spy  # type: ignore[assignment]
    try:
        await recorder.flush()
    finally:
        anyio.to_thread.run_sync = real
    assert sizes == [FLUSH_ROWS, FLUSH_ROWS, 5]
    assert not called_from_threads
    with store.engine.connect() as db:
        rows = db.execute(text("select count(*) from sessions where agent = 'chat'")).scalar_one()
        spans = db.execute(text("select count(*) from spans")).scalar_one()
    assert rows == n
    assert spans == n
    await recorder.flush()  # nothing pending: nothing written
    assert sizes == [FLUSH_ROWS, FLUSH_ROWS, 5]
