"""``agenthost tui``: the operator console.

    agenthost tui             # the host in this process: start runs, approve, watch, trace
    agenthost tui --attach    # only the stores: watch other processes' runs, answer approvals

Keyboard first: every action has a key (``?`` lists them) and a command palette entry
(``ctrl+p``). Runs started here stream into the console; quitting while runs are live saves
them as cancelled (``agenthost resume`` continues them), so no work is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from typing import Any, ClassVar

import anyio
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane
from textual.worker import Worker, WorkerError, WorkerState

from agents.budget import Budget
from agents.request import RunRequest
from settings import Settings
from tui.dialogs import Confirm, Help, NewRun
from tui.live import RunView
from tui.operator import NotReady, Operator
from tui.panes import ApprovalsPane, KnowledgePane, MemoryPane, RunsPane, ServersPane
from tui.run_screen import RunScreen, TraceScreen

TABS = (
    ("runs", "Runs", RunsPane),
    ("approvals", "Approvals", ApprovalsPane),
    ("servers", "Servers", ServersPane),
    ("memory", "Memory", MemoryPane),
    ("knowledge", "Knowledge", KnowledgePane),
)


class MainScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="runs", id="tabs"):
            for i, (tab_id, title, pane) in enumerate(TABS, start=1):
                with TabPane(f"{i} {title}", id=tab_id):
                    yield pane(id=f"{tab_id}-pane")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#runs-table").focus()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        tabs, tab_id = event.tabbed_content, event.pane.id
        pane = event.pane.query_one(f"#{tab_id}-pane")
        pane.call_after_refresh(lambda: _focus_first(pane, tabs, tab_id))


def _focus_first(pane: Any, tabs: TabbedContent, tab_id: str | None) -> None:
    """Focus the pane's table, unless another tab was chosen meanwhile: focusing a widget in a
    hidden pane activates its tab again, and two quick tab keys would then switch back and
    forth for ever."""
    from textual.widgets import DataTable

    if tabs.active != tab_id:
        return
    tables = pane.query(DataTable)
    if tables:
        tables.first().focus()


class OperatorApp(App[None]):
    """The console. ``model`` replaces the configured models (tests use a scripted one)."""

    TITLE = "agenthost"
    CSS_PATH = "app.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_run", "New run"),
        Binding("1", "tab('runs')", "Runs", show=False),
        Binding("2", "tab('approvals')", "Approvals", show=False),
        Binding("3", "tab('servers')", "Servers", show=False),
        Binding("4", "tab('memory')", "Memory", show=False),
        Binding("5", "tab('knowledge')", "Knowledge", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit_safely", "Quit"),
        Binding("ctrl+c", "quit_safely", "Quit", show=False, priority=True),
    ]

    def __init__(self, settings: Settings, *, attach: bool = False, model: Any = None) -> None:
        super().__init__()
        self.operator = Operator(settings, attach=attach, model=model)
        self._stop = anyio.Event()
        self._runs: dict[int, tuple[Worker[Any], RunView]] = {}
        self._seen_approvals: set[str] = set()
        self._approvals_polled = False
        self._approvals_label = ""

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    def on_mount(self) -> None:
        self.sub_title = "attached: watch and approve" if self.operator.attach else "host"
        self._host_worker = self.run_worker(
            self._hold(), name="host", group="host", exit_on_error=False
        )
        self.set_interval(0.5, self._watch_approvals)

    async def on_unmount(self) -> None:
        """Close the host (its MCP servers, model, stores) before the event loop goes;
        runs still going are cancelled first, which saves them as cancelled."""
        for worker, _view in self._runs.values():
            worker.cancel()
        for worker, _view in self._runs.values():
            with suppress(WorkerError):
                await worker.wait()
        self._stop.set()
        with suppress(WorkerError):
            await self._host_worker.wait()

    async def _hold(self) -> None:
        try:
            await self.operator.hold(self._stop)
        except Exception as exc:
            self.notify(f"the host did not start: {exc}", severity="error", timeout=30)

    # ---- runs -------------------------------------------------------------------------

    def action_new_run(self) -> None:
        if self.operator.attach:
            self.notify("attached read-only: start runs with `agenthost run`", severity="warning")
            return
        dialog = NewRun(self.operator.roles, self.operator.tiers, self.operator.settings.agent.kind)
        self.push_screen(dialog, self._start)

    def _start(self, request: RunRequest | None) -> None:
        if request is not None:
            self.start_run(request)

    def start_run(self, request: RunRequest, *, open_view: bool = True) -> RunView:
        """Start ``request`` in the background and (by default) show it."""
        agent = request.agent or self.operator.settings.agent.kind
        view = RunView(session_id="", task=request.task, agent=agent, role=request.role)
        view.budget = request.budget or Budget()
        worker = self.run_worker(
            self._run(request, view), name=f"run:{request.task[:40]}", group="runs",
            exit_on_error=False,
        )  # fmt: skip
        self._runs[id(view)] = (worker, view)
        if open_view:
            self.push_screen(RunScreen(self.operator, view))
        return view

    async def _run(self, request: RunRequest, view: RunView) -> None:
        with anyio.fail_after(120):  # the host starts its servers and model first
            await self.operator.ready.wait()
        try:
            result = await self.operator.run(request, view)
        except NotReady as exc:
            view.status = "error"
            view.answer = str(exc)
            view.version += 1
            self.notify(str(exc), severity="error")
            return
        except Exception as exc:  # a rejected run (unknown role, tier...): say so, keep going
            view.status = "error"
            view.answer = f"{type(exc).__name__}: {exc}"
            view.version += 1
            self.notify(view.answer, severity="error", title="run failed")
            return
        kind = result.outcome.kind.value
        self.notify(
            f"{kind}: {request.task[:50]}",
            title="run finished",
            severity="information" if result.outcome.ok else "warning",
        )

    def cancel_run(self, view: RunView) -> bool:
        """Cancel a run of this console; it is saved as cancelled with its partial work."""
        entry = self._runs.get(id(view))
        if entry is None or entry[0].state not in (WorkerState.PENDING, WorkerState.RUNNING):
            return False
        entry[0].cancel()
        self.notify("cancelling: the partial run is kept (`agenthost resume` continues it)")
        return True

    def live_runs(self) -> list[RunView]:
        return [
            view
            for worker, view in self._runs.values()
            if worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
        ]

    @on(RunsPane.Open)
    def _open(self, event: RunsPane.Open) -> None:
        try:
            view = self.operator.view_of(event.session_id)
        except (NotReady, KeyError) as exc:
            self.notify(str(exc), severity="error")
            return
        self.push_screen(RunScreen(self.operator, view))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "runs" and event.state is WorkerState.CANCELLED:
            for worker, view in self._runs.values():
                if worker is event.worker and view.status == "running":
                    view.status = "cancelled"
                    view.version += 1

    # ---- approvals --------------------------------------------------------------------

    def _watch_approvals(self) -> None:
        """Keep the tab's pending count current and notify about each request that arrives
        while the console is open (those already waiting at start are counted, not toasted)."""
        if not self.operator.ready.is_set():
            return
        pending = self.operator.pending()
        fresh = [row for row in pending if row.id not in self._seen_approvals]
        self._seen_approvals.update(row.id for row in fresh)
        if self._approvals_polled:
            for row in fresh:
                self.notify(
                    f"{row.tool} ({row.risk} risk) waits for you: press 2",
                    title="approval needed",
                    severity="warning",
                    timeout=8,
                )
                self.bell()
        self._approvals_polled = True
        label = f"2 Approvals ({len(pending)})" if pending else "2 Approvals"
        main = self.screen_stack[0] if self.screen_stack else None
        if isinstance(main, MainScreen) and label != self._approvals_label:
            with suppress(NoMatches):  # the tabs are not composed yet: next time
                main.query_one("#tabs", TabbedContent).get_tab("approvals").label = label
                self._approvals_label = label

    # ---- navigation -------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, MainScreen):
            self.pop_screen()
        self.screen.query_one("#tabs", TabbedContent).active = tab

    def action_help(self) -> None:
        self.push_screen(Help(help_sections()))

    def action_quit_safely(self) -> None:
        live = self.live_runs()
        if not live:
            self._quit_now()
            return
        question = (
            f"{len(live)} run(s) still going. Quit? They are saved as cancelled; "
            "`agenthost resume SESSION` continues them."
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self._quit_now()

        self.push_screen(Confirm(question, "Quit"), answer)

    def _quit_now(self) -> None:
        for worker, _view in self._runs.values():
            worker.cancel()
        self._stop.set()
        self.exit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("New run", "Start an agent run (n)", self.action_new_run)
        for i, (tab_id, title, _pane) in enumerate(TABS, start=1):
            yield SystemCommand(
                f"Show {title.lower()}", f"Switch to the {title} tab ({i})",
                lambda t=tab_id: self.action_tab(t),
            )  # fmt: skip
        yield SystemCommand("Help: keys", "Every key binding (?)", self.action_help)
        yield SystemCommand("Quit console", "Live runs are saved as cancelled (q)",
                            self.action_quit_safely)  # fmt: skip
        if isinstance(screen, RunScreen):
            yield SystemCommand("Cancel this run", "Partial work is kept (x)",
                                screen.action_cancel_run)  # fmt: skip
            yield SystemCommand("Open trace", "This run's spans as a timeline (t)",
                                screen.action_trace)  # fmt: skip
            yield SystemCommand("Expand all steps", "(+)", screen.action_expand_all)
            yield SystemCommand("Collapse all steps", "(-)", screen.action_collapse_all)
        main = self.screen_stack[0] if self.screen_stack else None
        if isinstance(screen, MainScreen) or main is screen:
            pane_actions = [
                (ApprovalsPane, "approvals-pane", "Approve selected approval", "approve"),
                (ApprovalsPane, "approvals-pane", "Deny selected approval", "deny"),
                (ApprovalsPane, "approvals-pane", "Edit and approve selected approval", "edit"),
                (ServersPane, "servers-pane", "Restart selected MCP server", "restart"),
                (RunsPane, "runs-pane", "Filter runs", "filter"),
                (RunsPane, "runs-pane", "Cycle run status filter", "cycle_status"),
                (MemoryPane, "memory-pane", "Search memory notes", "search"),
                (KnowledgePane, "knowledge-pane", "Search the knowledge base", "search"),
            ]
            for kind, pane_id, title, action in pane_actions:
                yield SystemCommand(title, kind.__doc__.splitlines()[0] if kind.__doc__ else "",
                                    self._pane_action(pane_id, action))  # fmt: skip

    def _pane_action(self, pane_id: str, action: str) -> Any:
        async def go() -> None:
            tab = pane_id.removesuffix("-pane")
            self.action_tab(tab)
            pane = self.screen.query_one(f"#{pane_id}")
            await pane.run_action(action)

        return go


def help_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every binding, grouped by where it works (the help screen and the docs use it)."""

    def keys(bindings: Iterable[Any]) -> list[tuple[str, str]]:
        out = []
        for b in bindings:
            if isinstance(b, Binding) and b.description:
                out.append((", ".join(_key_name(k) for k in b.key.split(",")), b.description))
        return out

    return [
        ("Everywhere", [*keys(OperatorApp.BINDINGS), ("ctrl+p", "Command palette")]),
        ("Runs tab", keys(RunsPane.BINDINGS)),
        ("Approvals tab", keys(ApprovalsPane.BINDINGS)),
        ("Servers tab", keys(ServersPane.BINDINGS)),
        ("Memory tab", keys(MemoryPane.BINDINGS)),
        ("Knowledge tab", keys(KnowledgePane.BINDINGS)),
        ("Run view", [*keys(RunScreen.BINDINGS), ("space, enter", "Fold or unfold a step")]),
        ("Trace view", keys(TraceScreen.BINDINGS)),
        ("Dialogs", [("ctrl+s", "Submit"), ("escape", "Cancel"), ("tab", "Next field")]),
    ]


def _key_name(key: str) -> str:
    return {
        "question_mark": "?",
        "slash": "/",
        "plus": "+",
        "minus": "-",
        "escape": "esc",
    }.get(key.strip(), key.strip())


def run_console(settings: Settings, *, attach: bool = False) -> None:
    OperatorApp(settings, attach=attach).run()


__all__ = ["OperatorApp", "help_sections", "run_console"]
