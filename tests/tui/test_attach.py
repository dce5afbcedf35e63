"""`agenthost tui --attach`: the console watches a run of another process and answers its
approval through the shared store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from textual.widgets import DataTable

from settings import load_settings
from tests.host.conftest import TEST_SERVER
from tests.tui.test_console import until
from tui.app import OperatorApp
from tui.run_screen import RunScreen

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[2]


async def test_attached_console_approves_another_process_run(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    home = tmp_path / "home"
    config = tmp_path / "agenthost.toml"
    config.write_text(
        f"""
home = "{home}"
[inference.backends.local]
kind = "scripted"
script = "tests.host.scripts:deleter"
[servers.test]
command = "{sys.executable}"
args = ["{TEST_SERVER}"]
[servers.test.tools.delete_file]
risk = "high"
[servers.time]
enabled = false
[approvals]
default = "ask"
timeout_s = 60
"""
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "AGENTHOST_CONFIG": str(config)}
    env.pop("AGENTHOST_HOME", None)
    run = await anyio.open_process(
        [sys.executable, "-m", "cli", "run", "--quiet", "--json", f"delete {victim}"],
        cwd=tmp_path,
        env=env,
    )
    try:
        app = OperatorApp(load_settings(config), attach=True)
        async with app.run_test(size=(120, 40)) as pilot:
            runs = app.screen.query_one("#runs-table", DataTable)
            await until(pilot, lambda: len(app.operator.pending()) == 1, within_s=60)
            await until(
                pilot, lambda: runs.row_count > 0 and "waiting" in str(runs.get_row_at(0)[1])
            )
            await pilot.press("enter")  # the run of the other process, read from the store
            await until(pilot, lambda: isinstance(app.screen, RunScreen))
            await pilot.press("escape", "2")
            table = app.screen.query_one("#approvals-table", DataTable)
            await until(pilot, lambda: table.row_count == 1)
            await pilot.press("a")
            with anyio.fail_after(60):
                await run.wait()
        assert run.stdout is not None
        out = b"".join([chunk async for chunk in run.stdout]).decode()
        assert run.returncode == 0
        assert '"kind": "completed"' in out
        assert not victim.exists()
    finally:
        if run.returncode is None:
            run.kill()
