"""Modal dialogs: start a run, a reason, edited arguments, a yes/no, and the key help."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import jsonschema
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from agents.budget import Budget
from agents.request import RunRequest


class Dialog(ModalScreen[Any]):
    """Escape cancels any dialog; ctrl+s submits it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Submit"),
    ]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        raise NotImplementedError

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    def buttons(self, ok: str) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield Button(ok, variant="primary", id="ok")
            yield Button("Cancel", id="cancel")

    def error(self, text: str) -> None:
        self.query_one("#error", Label).update(Text(text, style="bold red"))


class NewRun(Dialog):
    """The task and how to run it: agent loop, role, model tier, tool globs and budgets."""

    def __init__(self, roles: list[str], tiers: list[str], default_agent: str) -> None:
        super().__init__()
        self.roles = roles
        self.tiers = tiers
        self.default_agent = default_agent

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="new-run"):
            yield Label("Start a run", classes="title")
            yield Input(placeholder="task: what should the agent do?", id="task")
            with Grid(classes="form"):
                yield Label("agent")
                yield Select(
                    [("react", "react"), ("plan", "plan")],
                    value=self.default_agent,
                    allow_blank=False,
                    id="agent",
                )
                yield Label("role")
                yield Select([(r, r) for r in self.roles], prompt="(default)", id="role")
                yield Label("model tier")
                yield Select([(t, t) for t in self.tiers], prompt="(router)", id="tier")
                yield Label("tools")
                yield Input(placeholder="globs, e.g. time__* rag__search", id="tools")
                yield Label("max steps")
                yield Input(placeholder="config", id="max-steps", type="integer")
                yield Label("max out tokens")
                yield Input(placeholder="config", id="max-output-tokens", type="integer")
                yield Label("max cost $")
                yield Input(placeholder="config", id="max-cost", type="number")
                yield Label("max seconds")
                yield Input(placeholder="config", id="max-seconds", type="number")
            yield Label("", id="error")
            yield from self.buttons("Start (ctrl+s)")

    def on_mount(self) -> None:
        self.query_one("#task").focus()

    @on(Input.Submitted, "#task")
    def _task_entered(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        task = self.query_one("#task", Input).value.strip()
        if not task:
            self.error("the task is empty")
            self.query_one("#task").focus()
            return
        try:
            budget = Budget(
                max_steps=self._number("#max-steps", int),
                max_output_tokens=self._number("#max-output-tokens", int),
                max_cost_usd=self._number("#max-cost", float),
                max_seconds=self._number("#max-seconds", float),
            )
        except ValueError as exc:
            self.error(str(exc))
            return
        role = self.query_one("#role", Select).value
        tier = self.query_one("#tier", Select).value
        self.dismiss(
            RunRequest(
                task=task,
                agent=str(self.query_one("#agent", Select).value),
                role=role if isinstance(role, str) else None,
                tier=tier if isinstance(tier, str) else None,
                tools=tuple(self.query_one("#tools", Input).value.split()),
                budget=budget,
            )
        )

    def _number(self, selector: str, kind: type[int] | type[float]) -> Any:
        field = self.query_one(selector, Input)
        text = field.value.strip()
        if not text:
            return None
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{field.id}: {text!r} is not a number") from None
        if value <= 0:
            raise ValueError(f"{field.id}: must be more than 0")
        return value


class AskText(Dialog):
    """One line of text (a denial's reason)."""

    def __init__(self, title: str, placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, classes="title")
            yield Input(placeholder=self.placeholder, id="text")
            yield Label("", id="error")
            yield from self.buttons("OK")

    def on_mount(self) -> None:
        self.query_one("#text").focus()

    @on(Input.Submitted, "#text")
    def _entered(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        self.dismiss(self.query_one("#text", Input).value.strip())


class EditArguments(Dialog):
    """A tool call's arguments as JSON, checked against the tool's schema before approving."""

    def __init__(self, tool: str, arguments: dict[str, Any], schema: dict[str, Any] | None) -> None:
        super().__init__()
        self.tool = tool
        self.arguments = arguments
        self.schema = schema

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="edit"):
            yield Label(f"Edit the arguments of {self.tool}, then approve", classes="title")
            yield TextArea(
                json.dumps(self.arguments, indent=2, ensure_ascii=False),
                language="json",
                id="arguments",
            )
            yield Label("", id="error")
            yield from self.buttons("Approve edited (ctrl+s)")

    def on_mount(self) -> None:
        self.query_one("#arguments").focus()

    def action_submit(self) -> None:
        text = self.query_one("#arguments", TextArea).text
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            self.error(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
            return
        if not isinstance(value, dict):
            self.error("the arguments must be a JSON object")
            return
        if self.schema is not None:
            try:
                jsonschema.validate(value, self.schema)
            except jsonschema.ValidationError as exc:
                where = "/".join(str(p) for p in exc.absolute_path) or "arguments"
                self.error(f"{where}: {exc.message}")
                return
        self.dismiss(value)


class Confirm(Dialog):
    """A yes/no question; y or enter says yes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "submit", "Yes"),
        Binding("n", "cancel", "No"),
    ]

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, classes="title")
            yield Label("", id="error")
            yield from self.buttons(self.yes)

    def on_mount(self) -> None:
        self.query_one("#ok").focus()

    def action_submit(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class Help(Dialog):
    """Every key binding, by where it works."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("question_mark,f1,q", "cancel", "Close")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table(show_header=False, box=None, padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for title, keys in self.sections:
            table.add_row(Text(title, style="bold underline"), "")
            for key, description in keys:
                table.add_row(key, description)
            table.add_row("", "")
        with Vertical(id="dialog", classes="help"):
            yield Label("Keys (ctrl+p: every action by name)", classes="title")
            with VerticalScroll():
                yield Static(table)
            with Horizontal(classes="buttons"):
                yield Button("Close", id="cancel")

    def action_submit(self) -> None:
        self.dismiss(None)
