"""Per-step cost of the agent host, against its floor and against agent frameworks users would
pick instead, all measured in the same run on the same loop.

The loop: a scripted model that calls ``add`` on a real MCP server over stdio K times (new
arguments each time), then answers. The model costs nothing, so what is measured is the
machinery around it: the MCP round trip, and whatever the framework does per step.

- floor: a bare ``mcp`` client calling ``add`` (the round trip), plus the scripted model's own
  stream for the same turns: what any host must pay;
- agenthost: ``Host.run`` (router-free: the scripted backend directly), with budgets metered
  per token, every step checkpointed to SQLite and traced;
- peers (in ``.venv-bench``, their own dependencies; ``make bench-peers`` installs them):
  pydantic-ai, the OpenAI Agents SDK and LangGraph, each with its own stdio MCP client and a
  scripted model that returns the same turns.

Runs are interleaved (floor, ours, peers, floor, ...) and medians taken.

    python benchmarks/host_overhead.py [--calls 20] [--runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from agents import Budget
from agents.request import RunRequest
from host.host import Host
from inference import ChatRequest, Message
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from settings import ServerConfig, Settings

REPO = Path(__file__).resolve().parents[1]
SERVER = REPO / "tests" / "host" / "mcp_test_server.py"
PEERS = REPO / "benchmarks" / "peers" / "host_loop_peers.py"
PEER_PYTHON = REPO / ".venv-bench" / "bin" / "python"


def script(calls: int, tool: str) -> Any:
    """K calls of add with new arguments (a + 1 each time), then an answer."""

    def turn(request: ChatRequest) -> Turn:
        done = sum(1 for m in request.messages if m.role == "tool")
        if done >= calls:
            return Turn("The total is done.")
        return Turn("Adding.", (ScriptedCall(tool, {"a": done, "b": 1}),))

    return turn


# ---- the floor ------------------------------------------------------------------------


async def mcp_round_trips(n: int) -> list[float]:
    """Milliseconds per bare ``call_tool`` round trip over stdio."""
    params = StdioServerParameters(command=sys.executable, args=[str(SERVER)])
    out: list[float] = []
    async with Client(params) as client:
        for i in range(n):
            start = time.perf_counter()
            await client.call_tool("add", {"a": i, "b": 1})
            out.append((time.perf_counter() - start) * 1000)
    return out


async def model_turns(calls: int) -> float:
    """Milliseconds for the scripted model's own streams of one run's turns."""
    backend = ScriptedBackend(script(calls, "test__add"))
    messages: list[Message] = [Message.user("add")]
    start = time.perf_counter()
    for i in range(calls + 1):
        async for _event in backend.stream(ChatRequest(tuple(messages))):
            pass
        messages.append(Message.tool(f"c{i}", str(i + 1)))
    return (time.perf_counter() - start) * 1000


# ---- agenthost ------------------------------------------------------------------------


async def agenthost_run(calls: int, home: Path) -> tuple[float, int]:
    settings = Settings(
        home=home,
        servers={"test": ServerConfig(command=sys.executable, args=[str(SERVER)])},
    )
    model = ScriptedBackend(script(calls, "test__add"))
    async with Host(settings, model=model) as host:
        start = time.perf_counter()
        result = await host.run(RunRequest("add", budget=Budget(max_steps=calls + 5)))
        elapsed = (time.perf_counter() - start) * 1000
        last = host.store.steps(result.session_id)[-2].tools[-1].result
    assert result.outcome.ok, result.outcome
    assert last == str(calls), last  # the loop really ran the tool every time
    return elapsed, result.steps


# ---- peers ------------------------------------------------------------------------------


def peer_run(name: str, calls: int) -> dict[str, Any]:
    if not PEER_PYTHON.exists():
        return {"name": name, "error": "no .venv-bench: run `make bench-peers`"}
    done = subprocess.run(
        [
            str(PEER_PYTHON),
            str(PEERS),
            name,
            "--calls",
            str(calls),
            "--server-python",
            sys.executable,
            "--server",
            str(SERVER),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"name": name, "error": " | ".join(tail)}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["last_result"] != str(calls):  # the loop really ran the tool every time
        return {"name": name, "error": f"last tool result {result['last_result']!r}"}
    return result


# ---- the report -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="tool calls per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--round-trips", type=int, default=300)
    parser.add_argument("--peers", default="pydantic_ai,openai_agents,langgraph")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    steps = args.calls + 1
    peers = [p for p in args.peers.split(",") if p]

    rt = anyio.run(mcp_round_trips, args.round_trips)
    rt_p50 = statistics.median(rt)
    rt_p95 = statistics.quantiles(rt, n=20)[18]

    floor: list[float] = []
    ours: list[float] = []
    peer_ms: dict[str, list[float]] = {p: [] for p in peers}
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            model_ms = anyio.run(model_turns, args.calls)
            floor.append(
                (model_ms + args.calls * statistics.median(anyio.run(mcp_round_trips, args.calls)))
                / steps
            )
            elapsed, n = anyio.run(agenthost_run, args.calls, Path(tmp) / f"home{run}")
            assert n == steps, (n, steps)
            ours.append(elapsed / steps)
            for peer in peers:
                if peer in errors:
                    continue
                got = peer_run(peer, args.calls)
                if "error" in got:
                    errors[peer] = got["error"]
                else:
                    peer_ms[peer].append(got["ms_per_step"])
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)

    floor_ms = statistics.median(floor)
    our_ms = statistics.median(ours)
    measured = {p: statistics.median(v) for p, v in peer_ms.items() if v}
    fastest = min(measured.values()) if measured else None

    rows: list[tuple[str, float]] = [
        ("floor: bare mcp round trip + scripted model", floor_ms),
        ("agenthost Host.run", our_ms),
    ]
    rows += [(f"{p} (peer)", ms) for p, ms in measured.items()]
    print(
        f"\nMCP stdio round trip (bare mcp client): p50 {rt_p50:.2f} ms, p95 {rt_p95:.2f} ms "
        f"({args.round_trips} calls)"
    )
    print(f"{args.calls} tool calls + 1 answer per run, median of {args.runs} runs\n")
    print("| path | ms/step | overhead vs floor (ms/step) | ratio to fastest peer |")
    print("|---|---:|---:|---:|")
    for name, ms in rows:
        ratio = f"{ms / fastest:.2f}" if fastest else "-"
        print(f"| {name} | {ms:.2f} | {ms - floor_ms:+.2f} | {ratio} |")
    for peer, why in errors.items():
        print(f"\n{peer}: not measured: {why}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "round_trip_ms": {"p50": rt_p50, "p95": rt_p95},
                    "floor_ms_per_step": floor_ms,
                    "agenthost_ms_per_step": our_ms,
                    "peers_ms_per_step": measured,
                    "errors": errors,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    os.environ.setdefault("AGENTHOST_LOG_LEVEL", "error")
    main()
