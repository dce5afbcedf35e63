"""SVG snapshots of the main screens at 80x24 and 160x48 (pytest-textual-snapshot).

The console is attached to a store seeded with fixed runs, so every render is the same.
After an intended change of look: `pytest tests/tui/test_snapshots.py --snapshot-update`,
then look at the new SVGs (docs/tui.md shows some of them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import DataTable, TabbedContent

from approvals import ApprovalStore
from memory.notes import NotesStore
from memory.sessions import SessionStore
from settings import Settings
from tests.tui.seed import seed
from tui.app import OperatorApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def seeded_console(home: Path) -> OperatorApp:
    settings = Settings(home=home)
    settings.ensure_home()
    store = SessionStore(settings.db_url)
    seed(store, ApprovalStore(store.engine), NotesStore(store.engine))
    store.close()
    return OperatorApp(settings, attach=True)


async def loaded(pilot: Pilot[Any]) -> None:
    """Wait until the runs table and the approvals count are on screen."""
    app = pilot.app
    for _ in range(200):
        try:
            rows = app.screen.query_one("#runs-table", DataTable).row_count
            tabs = app.screen.query_one("#tabs", TabbedContent)
            label = str(tabs.get_tab("approvals").label)
        except NoMatches:  # not composed yet
            rows, label = 0, ""
        if rows == 5 and "(1)" in label:
            break
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_runs(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(seeded_console(tmp_path), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES)
def test_run_view(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def open_run(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("down", "down", "down", "enter")  # the plan run that ran out of budget
        await pilot.pause(0.3)

    assert snap_compare(seeded_console(tmp_path), terminal_size=size, run_before=open_run)


@pytest.mark.parametrize("size", SIZES)
def test_trace(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def open_trace(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("down", "down", "down", "down", "enter")  # the completed time run
        await pilot.pause(0.3)
        await pilot.press("t")
        await pilot.pause(0.3)

    assert snap_compare(seeded_console(tmp_path), terminal_size=size, run_before=open_trace)


@pytest.mark.parametrize("size", SIZES)
def test_approvals(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def open_approvals(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("2")
        await pilot.pause(0.6)

    assert snap_compare(seeded_console(tmp_path), terminal_size=size, run_before=open_approvals)
