"""Headless agent runs started over HTTP: each runs in the gateway's task group (it outlives
the request that started it), writes its events to a ``RunLog``, and takes a slot of the
request queue for each step's model call, so a low-priority run waits between its steps
while higher-priority work is queued."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from agents.events import RunEvent, RunFinished, RunStarted, StepFinished, StepStarted, ToolStarted
from agents.request import RunRequest
from core.errors import AgentHostError
from gateway.events import EventStore, RunLog
from gateway.queue import RequestQueue

if TYPE_CHECKING:
    from host.host import Host

log = logging.getLogger("agenthost.gateway")

POLL_S = 0.5  # how often a follower of a run served elsewhere reads the store


@dataclass
class LiveRun:
    log: RunLog
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    done: anyio.Event = field(default_factory=anyio.Event)
    error: BaseException | None = None


class StepSlots:
    """A run's hold on the queue: taken when a step starts (its model call comes first),
    given back when the step's first tool starts or the step ends. Between steps the run
    queues again behind anything of higher priority (it is never refused: it was admitted)."""

    def __init__(self, queue: RequestQueue, priority: int) -> None:
        self.queue = queue
        self.priority = priority
        self._held: AsyncExitStack | None = None

    async def on_event(self, event: RunEvent) -> None:
        if isinstance(event, StepStarted):
            await self.release()
            stack = AsyncExitStack()
            await stack.enter_async_context(self.queue.slot(self.priority, admitted=True))
            self._held = stack
        elif isinstance(event, ToolStarted | StepFinished | RunFinished):
            await self.release()

    async def release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            await held.aclose()


class RunManager:
    def __init__(self, host: Host, events: EventStore, queue: RequestQueue) -> None:
        self.host = host
        self.events = events
        self.queue = queue
        self.live: dict[str, LiveRun] = {}
        self.tasks: TaskGroup | None = None

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """The task group runs live in; cancelled when the gateway stops (runs in flight are
        saved as cancelled, and ``agenthost resume`` continues them)."""
        async with anyio.create_task_group() as self.tasks:
            task_status.started()
            await anyio.sleep_forever()

    async def start(self, request: RunRequest, priority: int) -> str:
        """Start ``request`` and return its session id once the run has one; a request the
        host refuses (an unknown role or tier) raises here, before anything runs."""
        assert self.tasks is not None
        run = LiveRun(RunLog(self.events))
        started = anyio.Event()
        slots = StepSlots(self.queue, priority)

        async def on_event(event: RunEvent) -> None:
            if isinstance(event, RunStarted):
                run.log.session_id = event.session_id
                self.live[event.session_id] = run
                started.set()
            await slots.on_event(event)
            await run.log.add(event)

        async def main() -> None:
            with run.scope:
                try:
                    await self.host.run(request, on_event=on_event)
                except AgentHostError as exc:  # refused before it started, or a host error
                    run.error = exc
                except Exception as exc:  # a bug: logged, and the run's followers told
                    log.exception("run failed")
                    run.error = exc
            with anyio.CancelScope(shield=True):
                await slots.release()
                await run.log.flush()
            run.log.close()
            run.done.set()
            started.set()
            if run.log.session_id:
                self.live.pop(run.log.session_id, None)

        self.tasks.start_soon(main)
        await started.wait()
        if not run.log.session_id:
            assert run.error is not None
            raise run.error
        return run.log.session_id

    async def cancel(self, session_id: str) -> bool:
        """Cancel a run served here and wait until it is saved as cancelled (False: not
        served by this process)."""
        run = self.live.get(session_id)
        if run is None:
            return False
        run.scope.cancel()
        await run.done.wait()
        return True

    async def cancel_all(self) -> None:
        """Cancel every run served here (the gateway is stopping), each saved as cancelled."""
        async with anyio.create_task_group() as tg:
            for session_id in list(self.live):
                tg.start_soon(self.cancel, session_id)

    async def follow(
        self, session_id: str, after: int, *, finished: bool
    ) -> AsyncIterator[tuple[int, str, dict[str, Any]]]:
        """Every event after ``after``, then each new one until the run ends. ``finished``:
        the store says the run is over, so what it holds is all there is."""
        sent = after
        while True:
            run = self.live.get(session_id)
            if run is None:  # served elsewhere, or over: the store has what was flushed
                rows = await anyio.to_thread.run_sync(self.events.after, session_id, sent)
                for row in rows:
                    sent = row[0]
                    yield row
                if finished or any(t == "run_finished" for _, t, _ in rows):
                    return
                if session_id not in self.live:
                    finished = await anyio.to_thread.run_sync(self._over, session_id)
                    if not finished:
                        await anyio.sleep(POLL_S)
                continue
            signal = run.log.signal()
            new = run.log.events[sent:]
            for row in new:
                sent = row[0]
                yield row
            if run.log.finished and sent >= len(run.log.events):
                return
            if not new:
                await signal.wait()

    def _over(self, session_id: str) -> bool:
        return self.host.store.get(session_id).status != "running"
