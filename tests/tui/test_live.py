"""The console's view of a run, fed the events a run emits."""

from __future__ import annotations

from agents.events import ToolFinished, ToolProgress, ToolStarted
from agents.state import ToolRecord
from inference import ToolCall
from tui.live import RunView


def test_a_running_tools_progress_shows_until_it_finishes() -> None:
    view = RunView("ses_1", "work slowly")
    call = ToolCall("c1", "everything__trigger-long-running-operation", {})
    view.apply(ToolStarted(call))
    view.apply(ToolProgress(call, 1, 3))
    view.apply(ToolProgress(call, 2, 3, "halfway"))
    assert view.tool_progress == {call.name: "2/3 halfway"}
    view.apply(ToolFinished(ToolRecord("c1", call.name, {}, "done")))
    assert view.tools_running == []
    assert view.tool_progress == {}
