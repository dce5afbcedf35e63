"""Kill the host process mid-run (SIGKILL), then `agenthost resume` finishes the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from memory.sessions import SessionStore
from tests.host.conftest import TEST_SERVER

REPO = Path(__file__).resolve().parents[2]


def write_config(path: Path) -> None:
    path.write_text(
        f"""
[inference.backends.local]
kind = "scripted"
script = "tests.host.scripts:adder"
token_delay_s = 0.15

[servers.test]
command = "{sys.executable}"
args = ["{TEST_SERVER}"]

[tools]  # the script calls its tools whatever the task says: offer them all
offer = 64
require_when = "never"
"""
    )


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


def test_sigkill_mid_run_then_resume(tmp_path: Path, isolated_home: Path) -> None:
    write_config(tmp_path / "agenthost.toml")
    env = os.environ | {"PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        cli("run", "count to five", "--json"),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    store = SessionStore(f"sqlite:///{isolated_home / 'agenthost.db'}")
    deadline = time.monotonic() + 60
    session = None
    while time.monotonic() < deadline:
        rows = store.recent(limit=1)
        if rows and rows[0].steps >= 2:
            session = rows[0].id
            break
        time.sleep(0.05)
    assert session is not None, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    killed = store.get(session)
    assert killed.status == "running"
    steps_before = killed.steps
    assert 2 <= steps_before < 6

    done = subprocess.run(
        cli("resume", session, "--json"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["outcome"]["kind"] == "completed"
    assert summary["answer"] == "The total is 5."
    assert summary["session_id"] == session
    assert summary["steps"] == 6
    # nothing lost, nothing done twice: the tool results are exactly 1..5, one per step
    fresh = SessionStore(store.url)
    results = [t.result for s in fresh.steps(session) for t in s.tools]
    assert results == ["1", "2", "3", "4", "5"]
    state = fresh.load(session)
    assert [m.content for m in state.messages if m.role == "tool"] == results

    again = subprocess.run(
        cli("resume", session), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 2
    assert "already completed" in again.stderr
    assert "Traceback" not in again.stderr
