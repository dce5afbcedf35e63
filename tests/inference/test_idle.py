"""The stream idle timer (``inference.idle.IdleTimer``): it times out a silent stream and
cancels it at its await, never takes another cancellation for its own, re-arms about once a
limit rather than once a token, and is what the router's first-token and idle timeouts use."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from inference import ChatRequest, Message, TextDelta
from inference.backends.scripted import ScriptedBackend, Turn
from inference.config import RouterConfig, Timeouts
from inference.errors import StreamInterrupted
from inference.idle import IdleTimer
from inference.router import Router

pytestmark = pytest.mark.anyio


async def events(n: int, delay: float = 0.0, then_silent: bool = False) -> AsyncIterator[int]:
    for i in range(n):
        if delay:
            await anyio.sleep(delay)
        yield i
    if then_silent:
        await anyio.sleep(3600)


class CountingLoop:
    """The running loop, counting the timers armed on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.armed = loop, 0

    def time(self) -> float:
        return self.loop.time()

    def call_at(self, when: float, callback: Any) -> asyncio.TimerHandle:
        self.armed += 1
        return self.loop.call_at(when, callback)


async def drain(timer: IdleTimer, stream: AsyncIterator[int], limit: float) -> list[int]:
    out = []
    try:
        while True:
            out.append(await timer.wait(stream, limit))
    except StopAsyncIteration:
        return out
    finally:
        timer.close()


async def test_a_silent_stream_times_out_and_is_cancelled_at_its_await() -> None:
    cancelled = []

    async def silent() -> AsyncIterator[int]:
        yield 1
        try:
            await anyio.sleep(3600)
        except BaseException as exc:
            cancelled.append(type(exc).__name__)
            raise
        yield 2

    timer, stream = IdleTimer(), silent()
    assert await timer.wait(stream, 5) == 1
    with anyio.fail_after(30), pytest.raises(TimeoutError):
        await timer.wait(stream, 0.05)
    timer.close()
    assert cancelled == ["CancelledError"]
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    await anyio.lowlevel.checkpoint()  # and no cancellation is left pending for the task


async def test_a_thousand_events_arm_one_timer_not_a_thousand() -> None:
    timer = IdleTimer()
    timer._loop = counting = CountingLoop(asyncio.get_running_loop())  # type: ignore[assignment]
    assert await drain(timer, events(1000), 60) == list(range(1000))
    assert counting.armed == 1


async def test_a_steady_stream_longer_in_all_than_the_limit_does_not_time_out() -> None:
    timer = IdleTimer()
    timer._loop = counting = CountingLoop(asyncio.get_running_loop())  # type: ignore[assignment]
    # 30 gaps of 0.05 s: 1.5 s in all (more on a busy machine) against a 1 s limit a gap
    started = counting.time()
    assert await drain(timer, events(30, delay=0.05), 1.0) == list(range(30))
    # the first timer, then one re-arm each time it fires mid-stream: once a limit, however
    # long a busy machine stretches the stream (1.5 s idle: 3 arms at most)
    assert counting.armed <= 2 + int(counting.time() - started)


async def test_a_shorter_limit_after_the_first_event_is_armed_for() -> None:
    timer = IdleTimer()
    stream = events(1, then_silent=True)
    assert await timer.wait(stream, 120) == 0  # the first-token limit
    with anyio.fail_after(30), pytest.raises(TimeoutError):
        await timer.wait(stream, 0.05)  # the idle limit: not held back by the 120 s timer
    timer.close()


async def test_a_callers_cancellation_is_not_taken_for_a_timeout() -> None:
    timer = IdleTimer()
    with anyio.move_on_after(0.05) as scope:
        await timer.wait(events(1, delay=3600), 60)
    timer.close()
    assert scope.cancelled_caught


async def test_a_timeout_that_lands_with_another_cancellation_lets_that_one_win() -> None:
    timer = IdleTimer()
    waiting = anyio.Event()
    outcome: list[str] = []

    async def waiter() -> None:
        async def silent() -> AsyncIterator[int]:
            waiting.set()
            await anyio.sleep(3600)
            yield 0

        try:
            await timer.wait(silent(), 3600)
        except TimeoutError:
            outcome.append("timeout")
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    task = asyncio.get_running_loop().create_task(waiter())
    await waiting.wait()
    task.cancel()  # someone else's cancellation ...
    timer._since = -1e9  # ... and, at the same moment, the wait's limit is up
    timer._fire()
    with pytest.raises(asyncio.CancelledError):
        await task
    timer.close()
    assert outcome == ["cancelled"]


async def test_a_stream_that_swallows_the_cancellation_goes_on_uncancelled() -> None:
    async def stubborn() -> AsyncIterator[str]:
        with contextlib.suppress(asyncio.CancelledError):  # a badly behaved backend
            await anyio.sleep(3600)
        yield "late"

    timer = IdleTimer()
    with anyio.fail_after(30):
        assert await timer.wait(stubborn(), 0.05) == "late"
    timer.close()
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    await anyio.sleep(0.01)  # nothing cancels the task later


class GoesSilent(ScriptedBackend):
    """Says its first token, then nothing."""

    async def stream(self, request: ChatRequest) -> AsyncIterator[Any]:
        async for event in super().stream(request):
            yield event
            if isinstance(event, TextDelta):
                await anyio.sleep(3600)


async def test_the_router_stops_a_stream_that_goes_silent_after_its_first_token() -> None:
    router = Router(
        {"a": GoesSilent(lambda r: Turn("one two three"), name="a")},
        {"main": ["a"]},
        RouterConfig(retries=0),
        timeouts={"a": Timeouts(idle_s=0.05)},
    )
    got: list[str] = []

    async def read() -> None:
        async for event in router.stream(ChatRequest(messages=(Message("user", "hi"),))):
            if isinstance(event, TextDelta):
                got.append(event.text)

    with anyio.fail_after(30), pytest.raises(StreamInterrupted, match=r"no next token within"):
        await read()
    assert got == ["one"]
