"""The console's screens, driven by keys through Textual's pilot, over a real host."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Label, Static, TextArea

from agents.budget import Budget
from agents.request import RunRequest
from inference import ChatRequest
from inference.backends.scripted import ScriptedCall, Turn
from memory.notes import Scope
from memory.sessions import SessionStore
from settings import Settings
from tests.host.scripts import deleter
from tests.tui.seed import long_run
from tui.app import MainScreen, OperatorApp
from tui.dialogs import AskText, Confirm, EditArguments, Help
from tui.live import RunView
from tui.run_screen import RunScreen, TraceScreen
from tui.widgets import BudgetGauge, StepTree

pytestmark = pytest.mark.anyio


async def until(pilot: Pilot[Any], condition: Callable[[], bool], within_s: float = 20) -> None:
    with anyio.fail_after(within_s):
        while not condition():
            await pilot.pause(0.05)


def text_of(widget: Static | Label) -> str:
    """What a Static shows, as plain text."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


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


async def open_pending_approval(app: OperatorApp, pilot: Pilot[Any], victim: Path) -> RunView:
    await until(pilot, lambda: app.operator.host is not None)
    view = app.start_run(RunRequest(f"delete {victim}"), open_view=False)
    await until(pilot, lambda: len(app.operator.pending()) == 1)
    await pilot.press("2")
    table = app.screen.query_one("#approvals-table", DataTable)
    await until(pilot, lambda: table.row_count == 1)
    detail = text_of(app.screen.query_one("#approval-detail", Static))
    assert "test__delete_file" in detail
    assert str(victim) in detail
    return view


async def test_approve_a_risky_call_from_the_inbox(make_app: Any, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    app: OperatorApp = make_app(deleter)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_pending_approval(app, pilot, victim)
        assert view.status == "running"
        assert victim.exists()
        await pilot.press("a")
        await until(pilot, lambda: view.status == "completed")
        assert not victim.exists()
        assert view.answer == f"Result: deleted {victim}"
        row = app.operator.recent_approvals(1)[0]
        assert row.status == "approved"
        decision = row.decision()
        assert decision is not None
        assert decision.by.startswith("tui:")


async def test_deny_with_a_reason_stops_the_run(make_app: Any, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    app: OperatorApp = make_app(deleter)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_pending_approval(app, pilot, victim)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, AskText))
        await pilot.press(*"not on a friday", "enter")
        await until(pilot, lambda: view.status == "denied")
        assert victim.exists()
        assert view.outcome is not None
        assert "not on a friday" in view.outcome.detail


async def test_edit_the_arguments_then_approve(make_app: Any, tmp_path: Path) -> None:
    victim, other = tmp_path / "victim.txt", tmp_path / "other.txt"
    victim.write_text("x")
    other.write_text("y")
    app: OperatorApp = make_app(deleter)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_pending_approval(app, pilot, victim)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditArguments))
        editor = app.screen.query_one(TextArea)
        error = app.screen.query_one("#error", Label)
        editor.text = "{not json"
        await pilot.press("ctrl+s")
        assert "not JSON" in text_of(error)
        editor.text = '{"path": 5}'
        await pilot.press("ctrl+s")
        assert "5 is not of type 'string'" in text_of(error)
        editor.text = f'{{"path": "{other}"}}'
        await pilot.press("ctrl+s")
        await until(pilot, lambda: view.status == "completed")
        assert victim.exists()
        assert not other.exists()
        assert app.operator.recent_approvals(1)[0].status == "edited"


def chatty(request: ChatRequest) -> Turn:
    return Turn(" ".join(f"word{i}" for i in range(200)))


async def test_gauges_move_while_tokens_stream_and_turn_red(make_app: Any) -> None:
    app: OperatorApp = make_app(chatty, token_delay_s=0.03)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.operator.host is not None)
        view = app.start_run(RunRequest("talk", budget=Budget(max_output_tokens=60)))
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, RunScreen) and bool(app.screen.query("#gauge-output_tokens"))
            ),
        )
        gauge = app.screen.query_one("#gauge-output_tokens", BudgetGauge)
        seen: list[float] = []
        states: set[str] = set()
        with anyio.fail_after(30):
            while not view.finished:
                seen.append(gauge.used)
                states.add(gauge.state)
                await pilot.pause(0.02)
        await pilot.pause(0.2)
        assert view.status == "budget_exhausted"
        moving = sorted({u for u in seen if 0 < u < 60})
        assert len(moving) >= 3, seen  # the gauge moved during the stream, not only at the end
        assert gauge.limit == 60
        assert gauge.state == "danger"
        assert gauge.has_class("-danger")
        assert {"ok", "warn"} <= states | {gauge.state} or "warn" in states


async def test_cancel_keeps_the_partial_run(make_app: Any) -> None:
    app: OperatorApp = make_app(chatty, token_delay_s=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.operator.host is not None)
        view = app.start_run(RunRequest("talk for a long time"))
        await until(pilot, lambda: view.streaming_tokens >= 5)
        await pilot.press("x")
        await until(pilot, lambda: view.status == "cancelled")
        store = app.operator.store
        assert store is not None
        await until(pilot, lambda: store.get(view.session_id).status == "cancelled")
        steps = store.steps(view.session_id)
        assert steps
        assert steps[-1].partial
        assert app.live_runs() == []


async def test_trace_runs_list_filter_and_help(make_app: Any) -> None:
    app: OperatorApp = make_app(adder)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.operator.host is not None)
        view = app.start_run(RunRequest("count to three"))
        await until(pilot, lambda: view.status == "completed")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TraceScreen))
        kinds = [
            str(app.screen.query_one(DataTable).get_row_at(i)[5])
            for i in range(app.screen.query_one(DataTable).row_count)
        ]
        assert kinds.count("run") == 1
        assert kinds.count("step") == 4
        assert kinds.count("model") == 4
        assert kinds.count("tool") == 3
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        table = app.screen.query_one("#runs-table", DataTable)
        await until(pilot, lambda: table.row_count == 1)
        await pilot.press("slash", *"no such run")
        await until(pilot, lambda: table.row_count == 0)
        await pilot.press(*["backspace"] * 11, "enter")
        await until(pilot, lambda: table.row_count == 1)
        await pilot.press("f")  # live only: the finished run goes
        await until(pilot, lambda: table.row_count == 0)
        await pilot.press("f")  # waiting
        await pilot.press("f")  # completed
        await until(pilot, lambda: table.row_count == 1)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        assert app.screen.view.session_id == view.session_id  # type: ignore[attr-defined]
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, Help))
        await pilot.press("escape")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"New run", "Cancel this run", "Open trace", "Show approvals"} <= titles


async def test_servers_memory_and_quitting_with_a_live_run(make_app: Any) -> None:
    app: OperatorApp = make_app(chatty, token_delay_s=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.operator.host is not None)
        host = app.operator.host
        assert host is not None
        host.notes.remember(Scope("default"), "The product of 6 and 7 is 42.", key="product")
        await pilot.press("3")
        servers = app.screen.query_one("#servers-table", DataTable)
        await until(pilot, lambda: servers.row_count == 1)
        assert str(servers.get_row_at(0)[1]) == "up"
        await pilot.press("r")
        await until(pilot, lambda: host.servers["test"].restarts >= 1)
        await pilot.press("4")
        notes = app.screen.query_one("#memory-table", DataTable)
        await until(pilot, lambda: notes.row_count == 1)
        await pilot.press("slash", *"product", "enter")
        await until(pilot, lambda: notes.row_count == 1)
        view = app.start_run(RunRequest("talk"), open_view=False)
        await until(pilot, lambda: view.streaming_tokens >= 3)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
    store = SessionStore(app.operator.settings.db_url)
    assert store.get(view.session_id).status == "cancelled"
    store.close()


async def test_ten_thousand_steps_open_folded_and_unfold_on_demand(tmp_path: Path) -> None:
    state = long_run(10_000)
    view = RunView(session_id=state.session_id, task=state.task, steps=state.steps,
                   status="completed", answer=state.answer)  # fmt: skip
    app = OperatorApp(Settings(home=tmp_path / "home"), attach=True)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = RunScreen(app.operator, view)
        await app.push_screen(screen)
        await pilot.pause()
        tree = screen.query_one(StepTree)
        nodes = list(tree.root.children)
        assert len(nodes) == 10_000
        assert [bool(n.children) for n in nodes[-2:]] == [False, True]  # only the last is built
        await pilot.press("home", "space")
        await until(pilot, lambda: bool(nodes[0].children))
        assert nodes[0].is_expanded
        await pilot.press("end")
        assert tree.cursor_line > 10_000


def test_cli_says_plainly_when_there_is_no_terminal(tmp_path: Path) -> None:
    agenthost = Path(sys.executable).with_name("agenthost")
    env = {**os.environ, "AGENTHOST_HOME": str(tmp_path / "home")}
    env.pop("AGENTHOST_TUI_FORCE", None)
    out = subprocess.run(
        [str(agenthost), "tui"], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 2
    assert "needs a terminal" in out.stderr
    assert "Traceback" not in out.stderr


async def test_knowledge_search_shows_ranked_chunks_with_sources(
    make_app: Any, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tokyo.md").write_text("# Tokyo\n\nTokyo keeps Japan Standard Time, UTC+9, all year.\n")
    (docs / "paris.md").write_text(
        "# Paris\n\nParis uses Central European Time, UTC+1 in winter.\n"
    )
    app: OperatorApp = make_app(adder)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.operator.host is not None)
        report = await app.operator.rag().ingest([docs], "cities")
        assert report.chunks == 2
        await pilot.press("5", "slash", *"which timezone does tokyo use", "enter")
        table = app.screen.query_one("#rag-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, within_s=120)
        assert "tokyo.md" in str(table.get_row_at(0)[2])
        await pilot.pause(0.2)
        assert "UTC+9" in text_of(app.screen.query_one("#rag-detail", Static))


async def test_two_quick_tab_keys_end_on_the_second_tab(make_app: Any) -> None:
    """Each tab focuses its table once drawn; a focus landing in a pane that is no longer
    shown used to switch back to it, and the two tabs then swapped for ever."""
    from textual.widgets import TabbedContent

    app = make_app([Turn("x")])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tabs = app.screen.query_one("#tabs", TabbedContent)
        await pilot.press("2", "3")
        seen = []
        for _ in range(20):  # each pause lets every deferred focus run
            await pilot.pause()
            seen.append(tabs.active)
        assert set(seen) == {"servers"}, seen
