"""A stream's first-event and idle timeouts at the cost of two stores per event.

A cancel scope around every ``await`` of a token stream is the plain way to bound the silence
between events, and the dearest part of a token's path: ``anyio.fail_after`` costs ~23 µs an
event on this project's 2-core machine and ``asyncio.timeout`` ~12 µs, against ~0.4 µs for
passing the event on (``benchmarks/router_overhead.py``). A 300-token reply paid ~7 ms for
it. ``IdleTimer`` keeps one timer for the whole stream instead: each wait records when it
began, and the timer, when it fires, cancels the task only if the wait under way has lasted
its limit (else it re-arms for that wait's deadline). So a stream re-arms the timer about
once per limit, not once per token.

It cancels the task the way ``asyncio.timeout`` does (``Task.cancel``, then ``uncancel`` to
tell its own cancellation from anyone else's), so a cancel scope or a caller's cancellation
that lands at the same time is never mistaken for a timeout. On an event loop other than
asyncio's, ``wait`` falls back to ``anyio.fail_after``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

import anyio
import sniffio

T = TypeVar("T")


class IdleTimer:
    """Bounds each wait on a stream. Use ``await timer.wait(stream, limit)`` for every event,
    then ``close()``. ``wait`` raises ``TimeoutError`` when no event came within ``limit``
    seconds (the stream's generator has then been cancelled at its await, as a cancel scope
    would), and ``StopAsyncIteration`` at the end of the stream."""

    def __init__(self) -> None:
        self._asyncio = sniffio.current_async_library() == "asyncio"
        if self._asyncio:
            self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[object] | None = None  # the task waiting (each wait's own)
        self._since: float | None = None  # when the wait under way began; None: not waiting
        self._limit = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._expired = False

    async def wait(self, stream: AsyncIterator[T], limit: float) -> T:
        if not self._asyncio:
            with anyio.fail_after(limit):
                return await anext(stream)
        task = self._task = asyncio.current_task()  # a generator may move between tasks
        assert task is not None
        now = self._loop.time()
        self._since, self._limit = now, limit
        handle = self._handle
        if handle is None or handle.when() > now + limit:  # none yet, or too late for this wait
            if handle is not None:
                handle.cancel()
            self._handle = self._loop.call_at(now + limit, self._fire)
        try:
            return await anext(stream)
        except asyncio.CancelledError:
            if self._expired:
                self._expired = False
                if task.uncancel() == 0:  # only ours: the wait timed out
                    raise TimeoutError from None
            raise
        finally:
            self._since = None
            if self._expired:  # the stream swallowed our cancellation and went on
                self._expired = False
                task.uncancel()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        if self._since is None or self._task is None:
            return  # between waits: the next wait arms a timer again
        due = self._since + self._limit
        if self._loop.time() < due:  # armed for an earlier wait: this one has time left
            self._handle = self._loop.call_at(due, self._fire)
            return
        self._expired = True
        self._task.cancel()
