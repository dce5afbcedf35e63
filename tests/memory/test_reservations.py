"""Allowances shared by concurrent runs: 20 runs of one user, in two processes at once,
against a step and a dollar allowance, on SQLite and on a real PostgreSQL. Every step and
model call is reserved in the store before it happens (``memory.sessions.StoreReserver``),
so together they never spend more than the allowance; a run killed mid-call leaves a hold
that its resume releases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from memory.sessions import RESERVATIONS, SessionStore
from tests.host.conftest import TEST_SERVER

REPO = Path(__file__).resolve().parents[2]
STEPS = 10
DOLLARS = 0.004  # $100 per Mtok out: 40 output tokens in all, fewer than 20 runs want


def write_config(path: Path, db_url: str, token_delay_s: float = 0.01) -> None:
    path.write_text(
        textwrap.dedent(
            f"""
            database_url = "{db_url}"
            [inference.backends.local]
            kind = "scripted"
            script = "tests.host.scripts:adder"
            token_delay_s = {token_delay_s}
            [inference.prices.local]
            input_per_mtok = 1.0
            output_per_mtok = 100.0
            [servers.test]
            command = "{sys.executable}"
            args = ["{TEST_SERVER}"]
            [servers.time]
            enabled = false
            [tools]
            offer = 64
            require_when = "never"
            [budgets.users.alice]
            max_steps = {STEPS}
            max_cost_usd = {DOLLARS}
            """
        )
    )


RUNNER = """
import anyio, sys
from agents.request import RunRequest
from core.principal import Principal
from host.host import Host
from settings import load_settings

async def main() -> None:
    async with Host(load_settings()) as host:
        async with anyio.create_task_group() as tg:
            for i in range(int(sys.argv[1])):
                request = RunRequest(f"count {i}", principal=Principal.of(user="alice"))
                tg.start_soon(host.run, request)

anyio.run(main)
"""


def processes(workdir: Path, home: Path, runs: int, count: int = 2) -> list[subprocess.Popen[str]]:
    env = os.environ | {"PYTHONPATH": str(REPO), "AGENTHOST_HOME": str(home)}
    env.pop("AGENTHOST_CONFIG", None)
    return [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(runs)], cwd=workdir, env=env, text=True,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_twenty_runs_in_two_processes_never_overspend_the_users_allowance(
    tmp_path: Path, isolated_home: Path, db_url: str
) -> None:
    write_config(tmp_path / "agenthost.toml", db_url)
    for proc in processes(tmp_path, isolated_home, runs=10):
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    store = SessionStore(db_url)
    try:
        rows = store.recent(limit=100)
        assert len(rows) == 20
        spent = store.spent_by(user="alice")
        assert spent.steps <= STEPS
        assert spent.cost_usd <= DOLLARS + 1e-9
        assert {r.status for r in rows} <= {"completed", "budget_exhausted"}
        assert any(r.status == "budget_exhausted" for r in rows)  # the allowance did bind
        with store.engine.connect() as conn:  # every hold was settled into a checkpoint
            assert conn.execute(RESERVATIONS.select()).all() == []
    finally:
        store.close()


def test_a_run_killed_mid_call_leaves_a_hold_that_resume_releases(
    tmp_path: Path, isolated_home: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'shared.db'}"
    write_config(tmp_path / "agenthost.toml", db_url, token_delay_s=0.5)
    (proc,) = processes(tmp_path, isolated_home, runs=1, count=1)
    store = SessionStore(db_url)
    try:
        deadline = time.monotonic() + 120
        held: list[object] = []
        while not held:  # a model call in flight holds its worst case
            assert time.monotonic() < deadline, "no reservation was ever made"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            with store.engine.connect() as conn:
                held = list(conn.execute(RESERVATIONS.select()).all())
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        with store.engine.connect() as conn:
            left = conn.execute(RESERVATIONS.select()).all()
        assert left  # the crash left its hold: other runs still count it
        session = left[0].session_id
        env = os.environ | {"PYTHONPATH": str(REPO), "AGENTHOST_HOME": str(isolated_home)}
        env.pop("AGENTHOST_CONFIG", None)
        subprocess.run(  # a larger budget for the run; the user's allowance still binds
            [sys.executable, "-m", "cli", "resume", session, "--quiet"],
            cwd=tmp_path, env=env, timeout=300, check=False, capture_output=True,
        )  # fmt: skip
        with store.engine.connect() as conn:
            assert conn.execute(RESERVATIONS.select()).all() == []
        assert store.spent_by(user="alice").steps <= STEPS
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()
