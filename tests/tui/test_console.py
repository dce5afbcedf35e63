"""The console's screens, driven by keys through Textual's pilot, over a real host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from textual.pilot import Pilot

from inference import ChatRequest
from inference.backends.scripted import ScriptedCall, Turn
from tui.app import OperatorApp
from tui.run_screen import RunScreen
from tui.widgets import BudgetGauge

pytestmark = pytest.mark.anyio


async def until(pilot: Pilot[Any], condition: Callable[[], bool], within_s: float = 20) -> None:
    with anyio.fail_after(within_s):
        while not condition():
            await pilot.pause(0.05)


def adder(request: ChatRequest) -> Turn:
    results = [m.content for m in request.messages if m.role == "tool"]
    if len(results) >= 3:
        return Turn(f"The total is {results[-1]}.")
    total = int(results[-1]) if results else 0
    return Turn("Adding one.", (ScriptedCall("test__add", {"a": total, "b": 1}),))


async def test_start_a_run_from_the_dialog_and_watch_it_finish(make_app: Any) -> None:
    app: OperatorApp = make_app(adder)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.operator.host is not None)
        await pilot.press("n")
        await pilot.press(*"count to three")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await until(pilot, lambda: screen.view.status == "completed")
        assert screen.view.answer == "The total is 3."
        assert [t.result for t in screen.view.tool_records()] == ["1", "2", "3"]
        await pilot.pause(0.2)
        steps = screen.query_one("#gauge-steps", BudgetGauge)
        assert steps.used == 4
