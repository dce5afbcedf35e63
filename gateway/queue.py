"""The bounded queue in front of inference: ``slots`` model calls run at once, the rest wait
in priority order (a tenant tier's number, lowest first; first come, first served within
one), and a new request is turned away with ``QueueFull`` (503 and Retry-After) when too
many already wait or it has waited too long.

A running agent takes a slot for each step with ``admitted=True``: it is never refused (it
was let in once), but it queues between its steps like everyone else, so high-priority work
that arrives while a batch agent runs is served before the agent's next step: preemption at
step boundaries, without interrupting a model call.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import anyio.lowlevel

from core.errors import Unavailable
from settings.gateway import QueueConfig

# Weight of the newest slot hold in the mean service time: recent load counts most, and
# one slow call does not swing the estimate.
EWMA_WEIGHT = 0.2


class QueueFull(Unavailable):
    """No slot for a new request now; ``retry_after_s`` is when one is likely."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class QueueStats:
    """A snapshot of the queue, for metrics and the health endpoint."""

    slots: int
    active: int  # slots held (or handed to a waiter that has not resumed yet)
    waiting: int
    waiting_by_priority: dict[int, int]
    served: int  # slot holds that ended
    refused: int  # QueueFull raised
    mean_service_s: float  # moving average of how long a slot is held; 0 until one ends


class _Waiter:
    __slots__ = ("granted", "ready")

    def __init__(self) -> None:
        self.ready = anyio.Event()
        self.granted = False


class RequestQueue:
    """Slots for model calls, handed out in priority order.

    A slot given back goes straight to the best waiter (it never becomes free while anyone
    waits), so a newcomer cannot take it ahead of higher-priority work that was already in
    line. All bookkeeping is synchronous between checkpoints, which is what makes a waiter's
    cancellation safe: it either got the slot (and gives it back) or is taken out of line.
    """

    def __init__(self, config: QueueConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._free = config.slots
        self._lines: dict[int, deque[_Waiter]] = {}
        self._waiting = 0
        self._served = 0
        self._refused = 0
        self._mean_service_s = 0.0

    @asynccontextmanager
    async def slot(self, priority: int, *, admitted: bool = False) -> AsyncIterator[None]:
        """Hold one of config.slots while the body runs. Waiters are served lowest priority
        number first, FIFO within a priority. A new request (admitted=False) raises QueueFull at
        once when config.max_waiting are already waiting, or after waiting config.max_wait_s;
        an admitted one (a running agent's next step) is never refused, only ordered."""
        await self._acquire(priority, admitted)
        started = self._clock()
        try:
            yield
        finally:
            self._record(self._clock() - started)
            self._release()

    def stats(self) -> QueueStats:
        return QueueStats(
            slots=self.config.slots,
            active=self.config.slots - self._free,
            waiting=self._waiting,
            waiting_by_priority={p: len(line) for p, line in sorted(self._lines.items())},
            served=self._served,
            refused=self._refused,
            mean_service_s=self._mean_service_s,
        )

    def refusal(self) -> QueueFull | None:
        """The ``QueueFull`` a new request would get now (counted as refused), or None: for a
        caller to turn it away before it does costly work first. ``slot`` still decides."""
        if self._free > 0 or self._waiting < self.config.max_waiting:
            return None
        return self._full()

    def retry_after_s(self) -> int:
        """Seconds until a new request would likely get a slot: the waiters ahead of it and
        itself, spread over the slots, times the mean service time; at least 1 (also before
        any hold has ended, when there is nothing to go on)."""
        rounds = (self._waiting + 1) / self.config.slots
        return max(1, math.ceil(rounds * self._mean_service_s))

    async def _acquire(self, priority: int, admitted: bool) -> None:
        await anyio.lowlevel.checkpoint_if_cancelled()
        if self._free > 0:
            self._free -= 1
            return
        if not admitted and self._waiting >= self.config.max_waiting:
            raise self._full()
        waiter = _Waiter()
        self._lines.setdefault(priority, deque()).append(waiter)
        self._waiting += 1
        try:
            with anyio.move_on_after(None if admitted else self.config.max_wait_s):
                await waiter.ready.wait()
        except BaseException:
            # Cancelled: hand on a slot given to us meanwhile, or leave the line.
            if waiter.granted:
                self._release()
            else:
                self._leave(priority, waiter)
            raise
        if not waiter.granted:  # max_wait_s ran out (a grant at the deadline still counts)
            self._leave(priority, waiter)
            raise self._refuse(
                f"no model slot came free within {self.config.max_wait_s:g} s "
                f"({self._waiting} waiting for {self.config.slots})"
            )

    def _release(self) -> None:
        if not self._lines:  # holds only lines with someone in them
            self._free += 1
            return
        priority = min(self._lines)
        line = self._lines[priority]
        waiter = line.popleft()
        if not line:
            del self._lines[priority]
        self._waiting -= 1
        waiter.granted = True
        waiter.ready.set()

    def _leave(self, priority: int, waiter: _Waiter) -> None:
        line = self._lines[priority]
        line.remove(waiter)
        if not line:
            del self._lines[priority]
        self._waiting -= 1

    def _full(self) -> QueueFull:
        return self._refuse(
            f"the request queue is full ({self._waiting} waiting for "
            f"{self.config.slots} model slots)"
        )

    def _refuse(self, why: str) -> QueueFull:
        self._refused += 1
        retry = self.retry_after_s()
        return QueueFull(f"{why}; retry in {retry} s", retry)

    def _record(self, held_s: float) -> None:
        self._served += 1
        if self._served == 1:
            self._mean_service_s = held_s
        else:
            self._mean_service_s += EWMA_WEIGHT * (held_s - self._mean_service_s)
