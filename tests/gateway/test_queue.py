"""The request queue in front of inference: priority and arrival order, backpressure, waiters
that are cancelled, and an agent that yields to higher-priority work between its steps.
Order is observed through events and ``anyio.wait_all_tasks_blocked``, never through timing."""

from __future__ import annotations

from contextlib import AsyncExitStack

import anyio
import pytest
from anyio.abc import TaskGroup

from core.errors import Unavailable
from gateway.queue import QueueFull, RequestQueue
from settings.gateway import QueueConfig

pytestmark = pytest.mark.anyio


def make_queue(
    slots: int = 1,
    max_waiting: int = 64,
    max_wait_s: float = 30.0,
    clock: list[float] | None = None,
) -> RequestQueue:
    config = QueueConfig(slots=slots, max_waiting=max_waiting, max_wait_s=max_wait_s)
    if clock is None:
        return RequestQueue(config)
    return RequestQueue(config, clock=lambda: clock[0])


async def take(queue: RequestQueue, priority: int, admitted: bool = False) -> AsyncExitStack:
    """Hold a slot until the returned stack is closed (as the gateway's agent runs do)."""
    stack = AsyncExitStack()
    await stack.enter_async_context(queue.slot(priority, admitted=admitted))
    return stack


async def served_order(queue: RequestQueue, arrivals: list[tuple[str, int]]) -> list[str]:
    """With the only slot held, let requests arrive one after another, then free the slot and
    return the order they were served in."""
    order: list[str] = []

    async def request(name: str, priority: int) -> None:
        async with queue.slot(priority):
            order.append(name)

    held = await take(queue, 0)
    async with anyio.create_task_group() as tg:
        for name, priority in arrivals:
            tg.start_soon(request, name, priority)
            await anyio.wait_all_tasks_blocked()  # it is in line before the next arrives
        assert queue.stats().waiting == len(arrivals)
        await held.aclose()
    return order


async def test_waiters_are_served_by_priority_then_arrival() -> None:
    queue = make_queue()
    arrivals = [("batch", 2), ("std-1", 1), ("high", 0), ("std-2", 1), ("std-3", 1)]
    assert await served_order(queue, arrivals) == ["high", "std-1", "std-2", "std-3", "batch"]
    stats = queue.stats()
    assert (stats.active, stats.waiting, stats.served) == (0, 0, 6)


async def test_one_priority_is_first_come_first_served() -> None:
    queue = make_queue(slots=1)
    names = [f"r{i}" for i in range(6)]
    assert await served_order(queue, [(name, 1) for name in names]) == names


async def test_waiting_by_priority_is_reported() -> None:
    queue = make_queue()
    held = await take(queue, 0)
    async with anyio.create_task_group() as tg:
        for priority in (2, 1, 2):
            tg.start_soon(take, queue, priority)
        await anyio.wait_all_tasks_blocked()
        stats = queue.stats()
        assert (stats.slots, stats.active, stats.waiting) == (1, 1, 3)
        assert stats.waiting_by_priority == {1: 1, 2: 2}
        tg.cancel_scope.cancel()
    await held.aclose()


async def test_a_full_queue_refuses_a_new_request_at_once() -> None:
    queue = make_queue(max_waiting=1, max_wait_s=600)
    held = await take(queue, 0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(take, queue, 1)
        await anyio.wait_all_tasks_blocked()
        with anyio.fail_after(60), pytest.raises(QueueFull) as refused:  # a guard, not a speed test
            await take(queue, 0)  # even the highest priority: the line is full
        tg.cancel_scope.cancel()
    await held.aclose()
    assert isinstance(refused.value, Unavailable)
    assert refused.value.exit_code == 3
    assert refused.value.retry_after_s >= 1
    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith("the request queue is full (1 waiting for 1 model slots)")
    assert queue.stats().refused == 1


async def test_refusal_says_beforehand_what_a_new_request_would_get() -> None:
    """The gateway asks before it screens a prompt: the answer is the slot's own."""
    queue = make_queue(max_waiting=1, max_wait_s=600)
    assert queue.refusal() is None  # a free slot
    held = await take(queue, 0)
    assert queue.refusal() is None  # room in the line
    async with anyio.create_task_group() as tg:
        tg.start_soon(take, queue, 1)
        await anyio.wait_all_tasks_blocked()
        refused = queue.refusal()
        assert isinstance(refused, QueueFull)
        assert str(refused).startswith("the request queue is full (1 waiting for 1 model slots)")
        assert refused.retry_after_s >= 1
        assert queue.stats().refused == 1
        tg.cancel_scope.cancel()
    await held.aclose()
    assert queue.refusal() is None


async def test_waiting_past_max_wait_s_is_refused() -> None:
    queue = make_queue(max_wait_s=0.01)
    held = await take(queue, 0)
    with pytest.raises(QueueFull, match=r"no model slot came free within 0\.01 s") as refused:
        await take(queue, 0)
    assert refused.value.retry_after_s >= 1
    stats = queue.stats()
    assert (stats.waiting, stats.refused, stats.active) == (0, 1, 1)
    await held.aclose()
    assert queue.stats().active == 0


async def test_an_admitted_request_is_never_refused_only_ordered() -> None:
    queue = make_queue(max_waiting=0, max_wait_s=0.01)
    held = await take(queue, 0)
    served: list[str] = []

    async def next_step() -> None:
        async with queue.slot(2, admitted=True):
            served.append("step")

    async with anyio.create_task_group() as tg:
        tg.start_soon(next_step)  # max_waiting is 0, yet it waits
        await anyio.wait_all_tasks_blocked()
        with pytest.raises(QueueFull):
            await take(queue, 0)  # a new request is still refused
        await anyio.sleep(0.05)  # past max_wait_s: an admitted step is not timed out
        assert queue.stats().waiting == 1
        assert served == []
        await held.aclose()
    assert served == ["step"]
    assert queue.stats().refused == 1


async def request(
    queue: RequestQueue, served: list[str], name: str, priority: int, scope: anyio.CancelScope
) -> None:
    with scope:
        async with queue.slot(priority):
            served.append(name)


async def test_a_cancelled_waiter_gives_up_its_place() -> None:
    queue = make_queue(max_waiting=1)
    held = await take(queue, 0)
    served: list[str] = []

    impatient = anyio.CancelScope()
    async with anyio.create_task_group() as tg:
        tg.start_soon(request, queue, served, "impatient", 1, impatient)
        await anyio.wait_all_tasks_blocked()
        with pytest.raises(QueueFull):
            await take(queue, 1)  # the line (one place) is full
        impatient.cancel()
    assert queue.stats().waiting == 0  # no ghost left in line

    async with anyio.create_task_group() as tg:
        tg.start_soon(request, queue, served, "next", 1, anyio.CancelScope())
        await anyio.wait_all_tasks_blocked()
        assert queue.stats().waiting == 1  # its place is free again
        await held.aclose()
    assert served == ["next"]
    assert (queue.stats().active, queue.stats().waiting) == (0, 0)


async def test_a_waiter_cancelled_as_it_is_granted_hands_the_slot_on() -> None:
    queue = make_queue()
    held = await take(queue, 0)
    served: list[str] = []

    cancelled = anyio.CancelScope()
    async with anyio.create_task_group() as tg:
        tg.start_soon(request, queue, served, "cancelled", 0, cancelled)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(request, queue, served, "behind", 1, anyio.CancelScope())
        await anyio.wait_all_tasks_blocked()
        cancelled.cancel()  # its cancellation is pending, it has not resumed ...
        await held.aclose()  # ... when the freed slot is handed to it (first in line)
    assert served == ["behind"]  # it passed the slot on instead of leaking it
    assert (queue.stats().active, queue.stats().waiting) == (0, 0)


async def test_cancelling_the_holder_gives_the_slot_back() -> None:
    queue = make_queue()

    async def hold_forever() -> None:
        async with queue.slot(1):
            await anyio.sleep_forever()

    async with anyio.create_task_group() as tg:
        tg.start_soon(hold_forever)
        await anyio.wait_all_tasks_blocked()
        assert queue.stats().active == 1
        tg.cancel_scope.cancel()
    assert queue.stats().active == 0
    with anyio.fail_after(60):  # a guard: the slot is free, so this does not wait
        await (await take(queue, 0)).aclose()


async def test_high_priority_work_runs_between_a_low_priority_agents_steps() -> None:
    """Preemption at step boundaries: with one slot, a request that arrives during step 0 of a
    batch agent is served before step 1, and the agent then carries on."""
    queue = make_queue(slots=1)
    events: list[str] = []

    async def high_request() -> None:
        events.append("high arrives")
        async with queue.slot(0):
            events.append("high served")

    async def batch_agent(tg: TaskGroup) -> None:
        for step in range(3):
            async with queue.slot(2, admitted=True):
                events.append(f"step {step}")
                if step == 0:
                    tg.start_soon(high_request)
                    await anyio.wait_all_tasks_blocked()  # it is in line behind this step

    async with anyio.create_task_group() as tg:
        tg.start_soon(batch_agent, tg)
    assert events == ["step 0", "high arrives", "high served", "step 1", "step 2"]


async def test_retry_after_is_the_line_ahead_times_the_mean_service_time() -> None:
    clock = [0.0]
    queue = make_queue(slots=1, max_waiting=1, clock=clock)
    assert queue.retry_after_s() == 1  # nothing measured yet
    async with queue.slot(0):
        clock[0] += 10
    assert queue.stats().mean_service_s == pytest.approx(10.0)
    async with queue.slot(0):
        clock[0] += 20
    assert queue.stats().mean_service_s == pytest.approx(12.0)  # 10 + 0.2 × (20 - 10)

    held = await take(queue, 0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(take, queue, 1)
        await anyio.wait_all_tasks_blocked()
        with pytest.raises(QueueFull) as refused:
            await take(queue, 1)
        tg.cancel_scope.cancel()
    await held.aclose()
    # One waiting plus this request, over one slot, at 12 s each.
    assert refused.value.retry_after_s == 24
    assert str(refused.value).endswith("retry in 24 s")
