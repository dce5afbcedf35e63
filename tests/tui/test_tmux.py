"""The console in a real terminal: `agenthost tui` under tmux, keys sent with send-keys, the
screen read with capture-pane, driving a real run on the embedded model to completion."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory.sessions import SessionStore, sqlite_url

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

AGENTHOST = Path(sys.executable).with_name("agenthost")


class Terminal:
    def __init__(self, name: str) -> None:
        self.name = name

    def keys(self, *keys: str, literal: bool = False) -> None:
        args = ["tmux", "send-keys", "-t", self.name, *(["-l"] if literal else []), *keys]
        subprocess.run(args, check=True)

    def screen(self) -> str:
        out = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout

    def wait_for(self, text: str, within_s: float = 60) -> str:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not on screen after {within_s}s:\n{self.screen()}")

    def alive(self) -> bool:
        probe = ["tmux", "has-session", "-t", self.name]
        return subprocess.run(probe, capture_output=True).returncode == 0


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    home = tmp_path / "home"
    name = f"agenthost-tui-{uuid.uuid4().hex[:8]}"
    env = {
        "AGENTHOST_HOME": str(home),
        "AGENTHOST_AGENT__REQUIRE_TOOL_FIRST": "true",  # the 135M model needs the nudge
        "TERM": "xterm-256color",
    }
    setenv = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
    command = f"cd {tmp_path} && {AGENTHOST} tui"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "36", *setenv, command],
        check=True,
        env={**os.environ, "TMUX": ""},
    )
    try:
        yield Terminal(name), home
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


@pytest.mark.timeout(600)
def test_a_real_run_on_the_embedded_model_driven_by_keys(terminal: tuple[Terminal, Path]) -> None:
    term, home = terminal
    term.wait_for("1 Runs", within_s=60)
    term.wait_for("Status filter")
    term.keys("n")
    term.wait_for("Start a run")
    term.keys("What is the time in Tokyo? Use the tool.", literal=True)
    term.keys("Tab", "Tab", "Tab", "Tab")  # agent, role, tier, then the tools field
    term.keys("time__*", literal=True)
    term.keys("C-s")
    shown = term.wait_for("completed", within_s=400)
    assert "time__get_current_time" in shown  # the step tree shows the tool call
    term.keys("t")
    shown = term.wait_for("agent react", within_s=30)
    assert "model" in shown
    assert "tool" in shown
    term.keys("Escape")
    term.wait_for("Cancel run")  # back on the run view
    term.keys("Escape")
    shown = term.wait_for("Status filter")  # the runs list
    assert "What is the time in Tokyo" in shown
    term.keys("q")
    deadline = time.monotonic() + 30
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not term.alive(), f"the console did not exit on q:\n{term.screen()}"
    store = SessionStore(sqlite_url(home / "agenthost.db"))
    try:
        (row,) = store.recent()
        assert row.status == "completed"
        tools = [t.name for s in store.steps(row.id) for t in s.tools]
        assert "time__get_current_time" in tools
    finally:
        store.close()
