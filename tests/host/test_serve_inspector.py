"""`agenthost serve --mcp` and each MCP server this repo ships, driven by the MCP project's own
client, MCP Inspector (its CLI mode, from npm via ``make node-servers``), with its default
timeouts, as an IDE user would try them. The Inspector's CLI does not print progress
notifications; test_serve.py checks them with the Python SDK's client."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from memory.sessions import SessionStore
from tests.host.test_resume import REPO, write_config

INSPECTOR = REPO / ".cache/node/node_modules/.bin/mcp-inspector"
pytestmark = pytest.mark.skipif(
    not INSPECTOR.exists() or shutil.which("node") is None,
    reason="MCP Inspector not installed: `make node-servers` needs node and npm",
)


def inspector(workdir: Path, home: Path, server: list[str], *args: str) -> list[str]:
    env = {"AGENTHOST_HOME": str(home), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    command = [str(INSPECTOR), "--cli", "--cwd", str(workdir)]
    command += [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
    return [*command, sys.executable, *server, *args]


def inspect(workdir: Path, home: Path, server: list[str], *args: str, code: int = 0) -> Any:
    """One Inspector CLI call; ``code`` is the exit status expected (5: the tool's isError)."""
    done = subprocess.run(
        inspector(workdir, home, server, *args),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=240,
        env=os.environ | {"MCP_INSPECTOR_SECRET_STORE": "memory"},
    )
    assert done.returncode == code, done.stderr[-2000:]
    return json.loads(done.stdout)


SERVE = ["-m", "cli", "serve", "--mcp"]


def test_the_inspector_runs_reads_and_prompts_the_host(tmp_path: Path, isolated_home: Path) -> None:
    write_config(tmp_path / "agenthost.toml")
    listed = inspect(tmp_path, isolated_home, SERVE, "--method", "tools/list")
    tools = {t["name"]: t for t in listed["tools"]}
    assert {"run_task", "resume_task", "list_sessions", "get_session"} <= set(tools)
    fields = set(tools["run_task"]["inputSchema"]["properties"])
    assert {"task", "agent", "tools", "tier", "max_steps", "prompt", "resources"} <= fields

    call = ["--method", "tools/call", "--tool-name", "run_task", "--tool-arg"]
    result = inspect(tmp_path, isolated_home, SERVE, *call, "task=count to five")
    assert not result.get("isError"), result
    summary = result["structuredContent"]
    assert summary["outcome"]["kind"] == "completed"
    assert summary["answer"] == "The total is 5."

    uri = f"agenthost://sessions/{summary['session_id']}"
    read = inspect(tmp_path, isolated_home, SERVE, "--method", "resources/read", "--uri", uri)
    body = json.loads(read["contents"][0]["text"])
    assert body["session"]["status"] == "completed"
    assert len(body["steps"]) == 6

    prompts = inspect(tmp_path, isolated_home, SERVE, "--method", "prompts/list")
    assert "delegate" in {p["name"] for p in prompts["prompts"]}
    got = inspect(
        tmp_path, isolated_home, SERVE, "--method", "prompts/get", "--prompt-name", "delegate",
        "--prompt-args", "task=count to five",
    )  # fmt: skip
    assert "run_task" in got["messages"][0]["content"]["text"]

    # a request that cannot run says why (not just "Error executing tool run_task")
    refused = inspect(
        tmp_path, isolated_home, SERVE, *call, "task=go", "--tool-arg", "role=nope", code=5
    )
    assert refused["isError"]
    assert "nope" in refused["content"][0]["text"]


def test_an_inspector_that_goes_away_leaves_the_run_cancelled(
    tmp_path: Path, isolated_home: Path
) -> None:
    """A user who presses Ctrl-C in the Inspector mid-run: the server stops, and the session
    is saved as cancelled (resumable), never left ``running``."""
    write_config(tmp_path / "agenthost.toml")
    args = ["--method", "tools/call", "--tool-name", "run_task", "--tool-arg", "task=count"]
    client = subprocess.Popen(
        inspector(tmp_path, isolated_home, SERVE, *args),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | {"MCP_INSPECTOR_SECRET_STORE": "memory"},
    )
    store = SessionStore(f"sqlite:///{isolated_home / 'agenthost.db'}")
    try:
        deadline = time.monotonic() + 120
        while not [r for r in store.recent(limit=5) if r.steps >= 1]:
            assert time.monotonic() < deadline, "the run never got going"
            assert client.poll() is None, "the Inspector exited before the run got going"
            time.sleep(0.2)
        client.send_signal(signal.SIGINT)
        client.wait(timeout=60)
        session = store.recent(limit=1)[0]
        while store.get(session.id).status == "running":
            assert time.monotonic() < deadline, "the session stayed running"
            time.sleep(0.2)
        row = store.get(session.id)
        assert row.status == "cancelled"
        assert row.steps < 6
    finally:
        client.kill()
        store.close()


SERVERS = {
    "approvals": {"list_pending", "approve", "deny", "verify_audit"},
    "memory": {"remember", "recall"},
    "rag": {"search", "answer", "ingest"},
    "sandbox": {"run_python", "run_shell", "list_files"},
}


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_the_inspector_lists_each_servers_tools(
    name: str, tmp_path: Path, isolated_home: Path
) -> None:
    listed = inspect(
        tmp_path, isolated_home, ["-m", f"mcp_servers.{name}"], "--method", "tools/list"
    )
    names = {t["name"] for t in listed["tools"]}
    assert SERVERS[name] <= names, names
