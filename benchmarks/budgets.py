"""How far past each budget a runaway task gets, on the real embedded model, through ``Host``.

Each budget kind (``agents.Budget``) is given a small limit and a task that would run far past
it: a planner that keeps making steps, a story that never ends, a prompt that takes seconds to
evaluate. The table says what the run used and by how much it went over. Prices are set on
the embedded backend in config (1 $/Mtok in, 100 $/Mtok out) so the cost budget has something
to count. The wall-clock rows run on an idle machine and next to a CPU-bound competitor on one
core; a cut while llama.cpp evaluates a long prompt is also timed with llama.cpp's abort flag
disabled (what the backend did before: it could stop only between tokens), in the same run.

One reservation against shared allowances (``memory.sessions.StoreReserver``: reserve +
settle, what a step adds when a user or tenant allowance is shared) is timed against one plain
checkpoint.

    python benchmarks/budgets.py [--seconds 2.0] [--no-before]

"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from agents import AgentConfig, Budget
from agents.budget import Spent
from agents.request import RunRequest
from agents.state import RunState
from host.host import Host
from inference.accounting import Price
from inference.backends import embedded
from inference.config import InferenceConfig
from memory.sessions import StoreReserver
from settings import ServerConfig, Settings

RUNAWAY_STORY = "Write a very long story about a dragon, with many chapters."
RUNAWAY_PLAN = "Plan, then write, a ten-chapter novel about a lighthouse, one chapter a step."
# ~1500 prompt tokens: seconds of prompt evaluation on two cores before the first token
LONG_PROMPT = "Summarise the following notes.\n" + "note: the tide rises and falls. " * 210
PRICE = Price(input_per_mtok=1.0, output_per_mtok=100.0)

COMPETITOR = """
import os, sys
try:
    os.sched_setaffinity(0, {int(sys.argv[1])})
except (AttributeError, OSError):
    pass
while True:
    pass
"""


@dataclass
class Row:
    kind: str
    limit: float
    used: float
    outcome: str
    wall_s: float
    tokens: tuple[int, int]  # input, output recorded for the run
    note: str = ""

    @property
    def over(self) -> float:
        return self.used - self.limit


def settings(home: Path) -> Settings:
    return Settings(
        home=home,
        servers={"time": ServerConfig(command=sys.executable, enabled=False)},
        agent=AgentConfig(max_tokens_per_call=1024),
        inference=InferenceConfig(prices={"local": PRICE}),
    )


async def run(host: Host, task: str, budget: Budget, agent: str = "react") -> tuple[Any, float]:
    start = time.perf_counter()
    result = await host.run(RunRequest(task, agent=agent, budget=budget))
    return result, time.perf_counter() - start


@contextlib.contextmanager
def competitor() -> Iterator[None]:
    """A CPU-bound process pinned to the first core, for as long as the block runs."""
    proc = subprocess.Popen([sys.executable, "-c", COMPETITOR, "0"])
    time.sleep(0.5)  # let it start spinning
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def abort_disabled() -> Iterator[None]:
    """The backend as it was before the abort flag: llama.cpp stops only between tokens."""
    original = embedded.AbortFlag.set
    embedded.AbortFlag.set = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        embedded.AbortFlag.set = original  # type: ignore[method-assign]


async def budgets(host: Host, seconds: float, before: bool) -> list[Row]:
    rows: list[Row] = []

    async def add(kind: str, limit: float, task: str, budget: Budget, agent: str = "react",
                  note: str = "") -> None:  # fmt: skip
        result, wall = await run(host, task, budget, agent)
        spent: Spent = result.spent
        used = wall if kind == "max_seconds" else float(getattr(spent, _KIND[kind]))
        tokens = (spent.input_tokens, spent.output_tokens)
        rows.append(Row(kind, limit, used, result.outcome.kind.value, wall, tokens, note))
        print(f"  {kind} {note}: {used:.6g} of {limit:g} ({wall:.1f} s)", file=sys.stderr)

    # a plan needs a planning turn and one per plan step: more than one
    await add("max_steps", 1, RUNAWAY_PLAN, Budget(max_steps=1), agent="plan")
    await add("max_output_tokens", 40, RUNAWAY_STORY, Budget(max_output_tokens=40))
    await add("max_input_tokens", 120, RUNAWAY_PLAN, Budget(max_input_tokens=120), agent="plan")
    await add("max_cost_usd", 0.003, RUNAWAY_STORY, Budget(max_cost_usd=0.003))
    limit = Budget(max_seconds=seconds)
    await add("max_seconds", seconds, RUNAWAY_STORY, limit, note="generating")
    await add("max_seconds", seconds, LONG_PROMPT, limit, note="long prompt")
    if before:
        with abort_disabled():
            await add("max_seconds", seconds, LONG_PROMPT, limit, note="long prompt, no abort")
    with competitor():
        await add("max_seconds", seconds, RUNAWAY_STORY, limit, note="generating, busy")
        await add("max_seconds", seconds, LONG_PROMPT, limit, note="long prompt, busy")
        if before:
            with abort_disabled():
                note = "long prompt, busy, no abort"
                await add("max_seconds", seconds, LONG_PROMPT, limit, note=note)
    return rows


_KIND = {
    "max_steps": "steps",
    "max_output_tokens": "output_tokens",
    "max_input_tokens": "input_tokens",
    "max_cost_usd": "cost_usd",
}


def reservation_timing(host: Host, n: int = 200) -> str:
    """One reservation (reserve + settle: what a step adds when a user or tenant allowance is
    shared) against one plain checkpoint, median of ``n``, on the host's SQLite store."""
    store = host.store
    state = RunState(session_id=uuid.uuid4().hex, trace_id=uuid.uuid4().hex, task="timing")
    store.save(state, None)
    reserver = StoreReserver(store, state.session_id, user="bench", tenant="bench", since=None)
    save_s, reserve_s = [], []
    for _ in range(n):
        start = time.perf_counter()
        store.save(state, None)  # also deletes the holds, as a real checkpoint does
        save_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        reserver.reserve(lambda others: Spent(steps=1))
        reserver.settle(Spent(steps=1))
        reserve_s.append(time.perf_counter() - start)
    save_ms = statistics.median(save_s) * 1000
    reserve_ms = statistics.median(reserve_s) * 1000
    return (
        f"| step bookkeeping (SQLite, median of {n}) | ms |\n|---|---:|\n"
        f"| plain checkpoint (SessionStore.save) | {save_ms:.2f} |\n"
        f"| reservation (reserve + settle) | {reserve_ms:.2f} ({reserve_ms / save_ms:.2f}x) |"
    )


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def table(rows: list[Row]) -> str:
    lines = [
        "| kind | limit | used | overshoot | overshoot, ms | tokens in/out recorded | outcome |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        kind = f"{r.kind} ({r.note})" if r.note else r.kind
        if r.kind == "max_seconds":
            used, over = f"{r.used:.2f} s", f"{r.over:+.2f} s"
            ms = f"{r.over * 1000:+.0f}"
        elif r.kind == "max_cost_usd":
            used, over, ms = f"${r.used:.6f}", f"${r.over:+.6f}", ""
        else:
            used, over, ms = f"{r.used:g}", f"{r.over:+g}", ""
        tokens = f"{r.tokens[0]}/{r.tokens[1]}"
        lines.append(f"| {kind} | {r.limit:g} | {used} | {over} | {ms} | {tokens} | {r.outcome} |")
    return "\n".join(lines)


async def main_async(seconds: float, before: bool) -> None:
    home = Path(tempfile.mkdtemp(prefix="agenthost-bench-budgets-"))
    async with Host(settings(home)) as host:
        await run(host, "Hi", Budget(max_output_tokens=1))  # load the model first
        print(f"load before: {load()}", file=sys.stderr)
        rows = await budgets(host, seconds, before)
        reservation = reservation_timing(host)
    print(f"\nSmolLM2-135M embedded, one run per row; load after: {load()}\n")
    print(table(rows))
    print()
    print(reservation)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0, help="the wall-clock limit")
    ap.add_argument(
        "--no-before", action="store_true", help="skip the rows without llama.cpp's abort flag"
    )
    args = ap.parse_args()
    anyio.run(main_async, args.seconds, not args.no_before)


if __name__ == "__main__":
    main()
