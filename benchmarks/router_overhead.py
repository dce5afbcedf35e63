"""What the model router adds to each streamed token, against the backend's own stream.

The floor is the backend's ``stream()`` read directly, with nothing of ours around it: a
scripted backend with no token delay, so the model costs nothing and only the code around it
is timed. Beside it:

- **agenthost's router** (``Router.stream``): routing, the circuit breaker, the route
  events, and the first-token and idle timeouts (``inference.idle.IdleTimer``: one timer a
  stream);
- **a cancel scope per token** (``anyio.fail_after`` around each ``await``): how the router
  bounded the silence between tokens before ``IdleTimer``, and the plain way to do it;
- **asyncio.timeout per token**: the standard library's cheaper scope, for reference.

Rounds are interleaved (floor, router, scope, timeout, floor, ...) and the median round
taken. The load average is printed with the table.

    python benchmarks/router_overhead.py [--tokens 300] [--requests 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio

from inference import ChatRequest, Message, StreamEvent
from inference.backends.scripted import ScriptedBackend, Turn
from inference.router import Router


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


async def drain(events: AsyncIterator[StreamEvent]) -> None:
    async for _ in events:
        pass


async def scoped(events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    while True:
        try:
            with anyio.fail_after(60):
                event = await anext(events)
        except StopAsyncIteration:
            return
        yield event


async def timed_out(events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    while True:
        try:
            async with asyncio.timeout(60):
                event = await anext(events)
        except StopAsyncIteration:
            return
        yield event


async def main(args: argparse.Namespace) -> None:
    text = " ".join(f"w{i}" for i in range(args.tokens))
    backend = ScriptedBackend(lambda r: Turn(text), name="s")
    router = Router({"s": backend}, {"main": ["s"]})
    request = ChatRequest(messages=(Message("user", "hi"),), max_tokens=args.tokens + 8)
    paths: dict[str, Callable[[], Awaitable[None]]] = {
        "backend stream (floor)": lambda: drain(backend.stream(request)),
        "agenthost router": lambda: drain(router.stream(request)),
        "a cancel scope per token (anyio.fail_after)": lambda: drain(
            scoped(backend.stream(request))
        ),
        "asyncio.timeout per token": lambda: drain(timed_out(backend.stream(request))),
    }
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.rounds):
        for name, path in paths.items():
            start = time.perf_counter()
            for _ in range(args.requests):
                await path()
            samples[name].append((time.perf_counter() - start) / args.requests)
    floor = statistics.median(samples["backend stream (floor)"])
    print(f"\n{args.tokens} tokens a reply, {args.requests} replies a round, median of "
          f"{args.rounds} rounds; load average {load()}\n")  # fmt: skip
    print("| path | ms a reply | µs a token | added µs a token | × floor |")
    print("|---|---|---|---|---|")
    for name, values in samples.items():
        per = statistics.median(values)
        per_token = per / args.tokens * 1e6
        added = (per - floor) / args.tokens * 1e6
        print(f"| {name} | {per * 1e3:.2f} | {per_token:.2f} | {added:+.2f} | {per / floor:.2f} |")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=300, help="tokens a reply")
    parser.add_argument("--requests", type=int, default=50, help="replies a round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    anyio.run(main, parser.parse_args())


if __name__ == "__main__":
    cli()
