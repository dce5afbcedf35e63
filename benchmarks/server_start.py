"""How long each MCP server takes to answer ``initialize`` (process start to a completed
handshake over stdio), against its floor measured in the same run: a bare SDK server with one
tool, started the same way. Clients give up on slow servers (15 s is common); the goal here is
2 s on 2 cores.

Runs are interleaved (floor, each server, floor, ...) and the median taken.

    python benchmarks/server_start.py [--runs 5] [--json out.json]
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


async def time_to_initialize(args: list[str], env: dict[str, str]) -> float:
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(REPO))
    start = time.perf_counter()
    async with Client(params) as client:
        elapsed = time.perf_counter() - start
        await client.list_tools()  # it really serves
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        floor_py = Path(tmp) / "floor.py"
        floor_py.write_text(FLOOR)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "AGENTHOST_HOME": str(Path(tmp) / "home"),
        }
        times: dict[str, list[float]] = {"floor: bare SDK server": []}
        times |= {name: [] for name in SERVERS}
        for _ in range(opts.runs):
            times["floor: bare SDK server"].append(await time_to_initialize([str(floor_py)], env))
            for name, args in SERVERS.items():
                times[name].append(await time_to_initialize(args, env))
    floor = statistics.median(times["floor: bare SDK server"])
    load = os.getloadavg()[0]
    print(f"server start to initialize answered, median of {opts.runs}, load {load:.1f}")
    print("| server | seconds | vs floor | ≤ 2 s |")
    print("|---|---:|---:|---|")
    rows = {}
    for name, values in times.items():
        median = statistics.median(values)
        rows[name] = median
        ok = "yes" if median <= 2.0 else "no"
        print(f"| {name} | {median:.2f} | {median / floor:.2f}× | {ok} |")
    if opts.json:
        opts.json.write_text(json.dumps({"load": load, "seconds": rows}, indent=2))


if __name__ == "__main__":
    anyio.run(main)
