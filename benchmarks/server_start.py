"""How long each MCP server takes to answer ``initialize`` (process start to a completed
handshake over stdio), against its floor measured in the same run: a bare SDK server with one
tool, started the same way. Clients give up on slow servers (15 s is common); the goal here is
2 s on 2 cores.

Runs are interleaved (floor, each server, floor, ...) and the median taken.

    python benchmarks/server_start.py [--runs 5] [--json out.json] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

REPO = Path(__file__).resolve().parents[1]
FLOOR = '''
from mcp.server.mcpserver import MCPServer
server = MCPServer("floor")
@server.tool()
def ping() -> str:
    """pong"""
    return "pong"
server.run("stdio")
'''

SERVERS: dict[str, list[str]] = {
    "approvals": ["-m", "mcp_servers.approvals"],
    "memory": ["-m", "mcp_servers.memory"],  # embedder and model as configured: loaded lazily
    "rag": ["-m", "mcp_servers.rag"],
    "sandbox": ["-m", "mcp_servers.sandbox"],
    "agenthost serve --mcp": ["-m", "cli", "serve", "--mcp"],
    "time (mcp-server-time)": ["-m", "mcp_server_time", "--local-timezone", "UTC"],
}


async def time_to_initialize(args: list[str], env: dict[str, str], tree: Path = REPO) -> float:
    """Seconds from starting ``python ARGS`` in ``tree`` (its code first on the path) to a
    completed handshake."""
    env = env | {"PYTHONPATH": str(tree)}
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(tree))
    start = time.perf_counter()
    async with Client(params) as client:
        elapsed = time.perf_counter() - start
        await client.list_tools()  # it really serves
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. `git archive HEAD | tar -x -C DIR`): its servers are "
        "timed in the same runs, interleaved, for a before/after ratio",
    )
    opts = parser.parse_args()
    trees = {"": REPO} | ({"baseline": opts.baseline.resolve()} if opts.baseline else {})
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        floor_py = Path(tmp) / "floor.py"
        floor_py.write_text(FLOOR)
        env = {"PATH": os.environ.get("PATH", ""), "AGENTHOST_HOME": str(Path(tmp) / "home")}
        floor_times: list[float] = []
        times: dict[tuple[str, str], list[float]] = {
            (name, tree): [] for name in SERVERS for tree in trees
        }
        for _ in range(opts.runs):
            floor_times.append(await time_to_initialize([str(floor_py)], env))
            for name, tree in times:
                times[name, tree].append(await time_to_initialize(SERVERS[name], env, trees[tree]))
    floor = statistics.median(floor_times)
    load = (load_before, os.getloadavg()[0])  # 1-minute load average, before and after
    print(
        f"server start to initialize answered, median of {opts.runs}, "
        f"load {load[0]:.1f} → {load[1]:.1f} ({os.cpu_count()} cores)"
    )
    base = " baseline s | vs baseline |" if opts.baseline else ""
    print(f"| server | seconds | vs floor | ≤ 2 s |{base}")
    print("|---|---:|---:|---|" + ("---:|---:|" if opts.baseline else ""))
    print(
        f"| floor: bare SDK server | {floor:.2f} | 1.00× | {_ok(floor)} |" + (" | |" * bool(base))
    )
    rows: dict[str, float] = {"floor: bare SDK server": floor}
    for name in SERVERS:
        median = rows[name] = statistics.median(times[name, ""])
        line = f"| {name} | {median:.2f} | {median / floor:.2f}× | {_ok(median)} |"
        if opts.baseline:
            before = rows[f"{name} (baseline)"] = statistics.median(times[name, "baseline"])
            line += f" {before:.2f} | {median / before:.2f}× |"
        print(line)
    if opts.json:
        opts.json.write_text(json.dumps({"load": load, "seconds": rows}, indent=2))


def _ok(seconds: float) -> str:
    return "yes" if seconds <= 2.0 else "no"


if __name__ == "__main__":
    anyio.run(main)
