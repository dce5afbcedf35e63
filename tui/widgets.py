"""Small widgets the screens share: budget gauges, the step tree, the plan panel, and a helper
that keeps a ``DataTable`` in step with fresh rows without losing the cursor."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static, Tree
from textual.widgets.tree import TreeNode

from agents.budget import BudgetKind
from agents.state import Step, ToolRecord
from tui.format import GAUGE_LABEL, amount, count, one_line, seconds
from tui.live import GAUGES, RunView, level

Row = tuple[str, Sequence[Any]]  # (row key, cells)


def sync_table(table: DataTable[Any], rows: Sequence[Row]) -> None:
    """Show ``rows`` in ``table``. Same keys in the same order: only changed cells are
    rewritten; otherwise the table is rebuilt and the cursor stays on the row it was on."""
    keys = [key for key, _ in rows]
    current = [str(k.value) for k in table.rows]
    if keys == current:
        columns = list(table.columns)
        for key, cells in rows:
            old = table.get_row(key)
            for col, (before, after) in enumerate(zip(old, cells, strict=False)):
                if str(before) != str(after):
                    table.update_cell(key, columns[col], after)
        return
    selected: str | None = None
    if table.row_count and 0 <= table.cursor_row < table.row_count:
        selected = current[table.cursor_row]
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if selected in keys:
        table.move_cursor(row=keys.index(selected))


def selected_key(table: DataTable[Any]) -> str | None:
    if not table.row_count or not 0 <= table.cursor_row < table.row_count:
        return None
    row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    return str(row_key.value)


class BudgetGauge(Widget):
    """One budget as a labelled bar: used / limit; amber near the limit, red at it."""

    DEFAULT_CSS = """
    BudgetGauge { height: 1; }
    """

    def __init__(self, kind: BudgetKind, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.used = 0.0
        self.limit: float | None = None

    def show(self, used: float, limit: float | None) -> None:
        if (used, limit) == (self.used, self.limit):
            return
        self.used, self.limit = used, limit
        state = level(used, limit)
        for name in ("ok", "warn", "danger"):
            self.set_class(state == name, f"-{name}")
        self.refresh()

    @property
    def state(self) -> str:
        return level(self.used, self.limit)

    def render(self) -> Text:
        label = f"{GAUGE_LABEL[self.kind]:<8}"
        value = amount(self.kind, self.used)
        right = f" {value}/{amount(self.kind, self.limit)}" if self.limit else f" {value}"
        width = max(self.content_size.width - len(label) - len(right) - 1, 4)
        if self.limit:
            share = min(self.used / self.limit, 1.0)
            filled = round(share * width)
            bar = Text("█" * filled) + Text("░" * (width - filled), "dim")
        else:
            bar = Text("·" * width, style="dim")
        style = {"ok": "green", "warn": "yellow", "danger": "bold red"}[self.state]
        bar.stylize(style, 0, len(bar.plain) if self.limit else 0)
        return Text(label, style="bold") + bar + Text(right)


class BudgetPanel(Vertical):
    """All five budgets of a run."""

    def compose(self) -> ComposeResult:
        for kind in GAUGES:
            yield BudgetGauge(kind, id=f"gauge-{kind.value}")

    def show(self, view: RunView, now: float | None = None) -> None:
        for gauge in self.query(BudgetGauge):
            gauge.show(view.used(gauge.kind, now), view.budget.limit(gauge.kind))


class PlanPanel(Static):
    """A plan-and-execute run's plan: each step with its status; replans are highlighted."""

    def show(self, view: RunView) -> None:
        plan = view.plan
        if plan is None:
            self.update(Text("no plan (ReAct run)", style="dim"))
            return
        lines = Text()
        if view.replanned or plan.replans:
            lines.append(f"replanned ×{max(view.replanned, plan.replans)}\n", "bold yellow")
        for i, step in enumerate(plan.steps):
            if i in plan.failed:
                mark, style = "✗", "red"
            elif i in plan.results:
                mark, style = "✓", "green"
            else:
                mark, style = "·", "dim" if view.finished else "cyan"
            lines.append(f"{mark} {i + 1}. ", style)
            lines.append(one_line(step.goal, 60) + "\n")
        self.update(lines)


class StepTree(Tree[Step]):
    """Each step of a run as a collapsible block: the model's text, each tool call with its
    arguments and result, errors. Virtualised (a ``Tree`` renders only the visible lines), so
    runs with thousands of steps scroll smoothly. Space or enter folds a step."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("steps", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self._shown: list[tuple[int, int]] = []  # (index, version) of each step node

    def show_steps(self, steps: Sequence[Step], *, expand_last: bool = True) -> None:
        """Add steps not shown yet and redraw ones that changed (a replaced partial step)."""
        for pos, step in enumerate(steps):
            stamp = (step.index, _stamp(step))
            if pos < len(self._shown) and self._shown[pos] == stamp:
                continue
            if pos < len(self._shown):  # changed: rebuild from here
                for node in list(self.root.children)[pos:]:
                    node.remove()
                del self._shown[pos:]
            self._add_step(step, expand=expand_last and pos == len(steps) - 1)
            self._shown.append(stamp)
        if len(steps) < len(self._shown):
            for node in list(self.root.children)[len(steps) :]:
                node.remove()
            del self._shown[len(steps) :]

    def _add_step(self, step: Step, *, expand: bool) -> None:
        node = self.root.add(_step_label(step), data=step, allow_expand=True)
        if expand:
            self._fill(node)
            node.expand()

    def _fill(self, node: TreeNode[Step]) -> None:
        """A step's block is built when it is first unfolded: ten thousand folded steps
        cost one line each."""
        step = node.data
        if step is None or node.children:
            return
        if step.text.strip():
            _add_text(node, "💭 ", step.text, "italic")
        for record in step.tools:
            _add_tool(node, record)
        if step.partial:
            node.add_leaf(Text("cut short (budget, error or cancel)", style="yellow"))
        if not node.children:
            node.add_leaf(Text("(no text, no tools)", style="dim"))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Step]) -> None:
        if event.node.parent is self.root:
            self._fill(event.node)

    def set_all(self, expanded: bool) -> None:
        for node in self.root.children:
            if expanded:
                self._fill(node)
                node.expand()
            else:
                node.collapse()


def _stamp(step: Step) -> int:
    return hash((step.text, len(step.tools), step.partial, step.output_tokens, step.ended))


def _step_label(step: Step) -> Text:
    took = (step.ended - step.started) if step.ended else None
    label = Text(f"step {step.index} ", style="bold")
    label.append(step.kind, "cyan")
    if step.plan_step is not None:
        label.append(f" · plan {step.plan_step + 1}", "magenta")
    label.append(f" · {count(step.input_tokens)}+{count(step.output_tokens)} tok · ", "dim")
    label.append(seconds(took), "dim")
    if step.tools:
        names = ", ".join(t.name for t in step.tools)
        label.append(f" · {one_line(names, 40)}", "green")
    if any(t.is_error for t in step.tools):
        label.append(" · error", "bold red")
    if step.partial:
        label.append(" · partial", "yellow")
    return label


def _add_text(node: TreeNode[Step], prefix: str, text: str, style: str) -> None:
    lines = text.strip().splitlines() or [""]
    for i, line in enumerate(lines[:40]):
        node.add_leaf(Text((prefix if i == 0 else "   ") + line, style=style))
    if len(lines) > 40:
        node.add_leaf(Text(f"   … {len(lines) - 40} more lines", style="dim"))


def _add_tool(node: TreeNode[Step], record: ToolRecord) -> None:
    args = json.dumps(record.arguments, ensure_ascii=False)
    call = Text("🔧 ", style="bold")
    call.append(record.name, "bold green")
    call.append(f"({one_line(args, 200)})")
    call.append(f" {seconds(record.duration_s)}", "dim")
    if record.cached:
        call.append(" cached", "dim")
    tool = node.add(call, expand=True)
    if record.is_error:
        kind = record.error_kind or "error"
        _add_text(tool, f"✗ {kind}: ", record.result, "red")
    else:
        _add_text(tool, "→ ", record.result, "")
