"""One run, live: streamed tokens, steps as collapsible blocks, the plan, budget gauges; and
its trace (the run/step/model/tool spans as a timeline)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from memory.sessions import SpanRow
from tui.format import clock, count, money, one_line, seconds, status
from tui.live import RunView
from tui.operator import Operator
from tui.widgets import BudgetPanel, PlanPanel, StepTree


class RunScreen(Screen[None]):
    """A run: live when it streams in this console, else refreshed from the session store."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("x", "cancel_run", "Cancel run"),
        Binding("t", "trace", "Trace"),
        Binding("plus", "expand_all", "Expand all"),
        Binding("minus", "collapse_all", "Collapse all"),
        Binding("g", "follow", "Follow"),
    ]

    def __init__(self, operator: Operator, view: RunView) -> None:
        super().__init__()
        self.operator = operator
        self.view = view
        self._version = -1
        self._polled = 0.0
        self.follow = True

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="run-head")
        with Horizontal(id="run-body"):
            with Vertical(id="run-main"):
                yield StepTree(id="steps")
                yield Static(id="streaming")
            with Vertical(id="run-side"):
                yield Label("budget", classes="section")
                yield BudgetPanel(id="budget")
                yield Label("plan", classes="section")
                yield PlanPanel(id="plan")
                yield Label("answer", classes="section")
                with VerticalScroll(id="answer-box"):
                    yield Static(id="answer")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"run {self.view.session_id}"
        self.set_interval(0.1, self._tick)
        self._tick()
        self.query_one(StepTree).focus()

    def _tick(self) -> None:
        view = self.view
        now = time.time()
        if not view.live and not view.finished and now - self._polled > 1.0:
            self._polled = now
            if self.operator.store is not None and view.session_id:
                view.refresh(self.operator.store)  # a run of another process
        self.query_one(BudgetPanel).show(view, now)
        if view.version == self._version:
            return
        self._version = view.version
        self._draw(view)

    def _draw(self, view: RunView) -> None:
        head = Text()
        head.append_text(status(view.status))
        head.append(f"  {view.agent}", "cyan")
        if view.role:
            head.append(f"  role {view.role}")
        head.append(f"  {view.session_id or '…'}  trace {view.trace_id[:8] or '…'}", "dim")
        if view.compactions:
            head.append(f"  compacted ×{view.compactions}", "magenta")
        head.append(f"\n{one_line(view.task, 200)}", "bold")
        for hit in view.guardrails[-5:]:  # blocked and withheld texts: the operator must see
            style = "bold red" if hit.action in ("block", "quarantine") else "yellow"
            head.append(f"\n🛡 {hit.text()}", style)
        self.query_one("#run-head", Static).update(head)
        tree = self.query_one(StepTree)
        tree.show_steps(view.steps)
        if self.follow and view.steps:
            tree.scroll_end(animate=False)
        stream = Text()
        if view.current_step is not None:
            stream.append(f"step {view.current_step} ▸ ", "bold cyan")
            stream.append(view.streaming or "…")
            if view.tools_running:
                running = [
                    f"{name} ({view.tool_progress[name]})" if name in view.tool_progress else name
                    for name in view.tools_running
                ]
                stream.append(f"\n🔧 running {', '.join(running)}", "green")
        elif not view.finished:
            stream.append("waiting…", "dim")
        elif not view.steps:
            stream.append("no steps were recorded", "dim")
        self.query_one("#streaming", Static).update(stream)
        self.query_one("#streaming").display = bool(stream.plain)
        self.query_one(PlanPanel).show(view)
        answer = Text()
        if view.outcome is not None:
            answer.append_text(status(view.outcome.kind.value))
            if view.outcome.detail:
                answer.append(f": {view.outcome.detail}", "dim")
            answer.append("\n")
        answer.append(view.answer)
        if not answer.plain:
            answer.append("(not yet)", "dim")
        self.query_one("#answer", Static).update(answer)

    def action_cancel_run(self) -> None:
        app: Any = self.app
        if not app.cancel_run(self.view):
            self.notify("this run is not running in this console", severity="warning")

    def action_trace(self) -> None:
        if self.operator.store is None or not self.view.trace_id:
            self.notify("no trace yet", severity="warning")
            return
        self.app.push_screen(TraceScreen(self.operator, self.view))

    def action_expand_all(self) -> None:
        self.query_one(StepTree).set_all(True)

    def action_collapse_all(self) -> None:
        self.query_one(StepTree).set_all(False)

    def action_follow(self) -> None:
        self.follow = not self.follow
        self.notify("following new steps" if self.follow else "not following")


class TraceScreen(Screen[None]):
    """The run's spans, nested, as a timeline: start, duration, tokens, cost, status."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, operator: Operator, view: RunView) -> None:
        super().__init__()
        self.operator = operator
        self.view = view

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="trace-head")
        table: DataTable[Any] = DataTable(id="trace-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("span", "took", "timeline", "tokens", "cost", "kind", "start", "status")
        yield table
        yield Static(id="trace-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"trace {self.view.trace_id}"
        self.action_reload()
        self.query_one("#trace-table").focus()

    def action_reload(self) -> None:
        assert self.operator.store is not None
        spans = self.operator.store.spans(self.view.trace_id)
        self._spans = {s.span_id: s for s in spans}
        table = self.query_one("#trace-table", DataTable)
        table.clear()
        if not spans:
            self.query_one("#trace-head", Static).update(Text("no spans recorded", style="dim"))
            return
        t0 = min(s.start for s in spans)
        t1 = max((s.end or time.time()) for s in spans)
        total = max(t1 - t0, 1e-6)
        width = 20
        tokens_in = tokens_out = 0
        cost = 0.0
        for depth, span in _tree_order(spans):
            attrs = span.attributes or {}
            tin = int(attrs.get("gen_ai.usage.input_tokens", 0) or 0)
            tout = int(attrs.get("gen_ai.usage.output_tokens", 0) or 0)
            usd = float(attrs.get("agenthost.cost_usd", 0) or 0)
            if span.kind == "model":
                tokens_in, tokens_out, cost = tokens_in + tin, tokens_out + tout, cost + usd
            took = (span.end or time.time()) - span.start
            lead = round((span.start - t0) / total * width)
            bar = max(round(took / total * width), 1)
            style = _KIND_STYLE.get(span.kind, "")
            timeline = Text(" " * lead) + Text("█" * max(min(bar, width - lead), 1), style)
            table.add_row(
                Text("  " * depth + one_line(span.name, 28), style="bold" if depth == 0 else ""),
                seconds(took),
                timeline,
                f"{count(tin)}+{count(tout)}" if tin or tout else "",
                money(usd) if usd else "",
                Text(span.kind, style=_KIND_STYLE.get(span.kind, "")),
                f"+{seconds(span.start - t0)}",
                Text(span.status, style="green" if span.status == "ok" else "bold red"),
                key=span.span_id,
            )
        head = Text(f"trace {self.view.trace_id[:12]}  ", style="bold")
        head.append(
            f"{len(spans)} spans · {seconds(total)} · {count(tokens_in)}+{count(tokens_out)} "
            f"tokens · {money(cost)} · started {clock(t0)}",
            "dim",
        )
        self.query_one("#trace-head", Static).update(head)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        span = self._spans.get(str(event.row_key.value))
        if span is None:
            return
        attrs = ", ".join(f"{k}={v}" for k, v in (span.attributes or {}).items())
        self.query_one("#trace-detail", Static).update(
            Text(f"{span.kind} {span.name} [{span.status}]  {one_line(attrs, 300)}")
        )


_KIND_STYLE = {
    "run": "bold white",
    "step": "cyan",
    "model": "magenta",
    "tool": "green",
    "approval": "yellow",
    "compact": "blue",
    "plan": "bright_blue",
}


def _tree_order(spans: list[SpanRow]) -> list[tuple[int, SpanRow]]:
    """Spans depth-first by start time, each with its depth; orphans become roots."""
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[SpanRow]] = {}
    for s in spans:
        parent = s.parent_id if s.parent_id in ids else None
        children.setdefault(parent, []).append(s)
    out: list[tuple[int, SpanRow]] = []

    def walk(parent: str | None, depth: int) -> None:
        for s in sorted(children.get(parent, []), key=lambda x: x.start):
            out.append((depth, s))
            walk(s.span_id, depth + 1)

    walk(None, 0)
    return out
