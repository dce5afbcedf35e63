"""The main screen's tabs: runs, approvals, MCP servers, memory, knowledge.

Each pane polls what it shows (the stores are shared with other processes, so polling sees
their runs too) and does its I/O in workers, so the console never blocks on a slow call.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Static

from agents.budget import BudgetKind
from approvals.store import ApprovalRow
from approvals.types import NotPending
from core.ids import short
from memory.notes import Scope
from rag.errors import RagError
from tui.format import arguments_view, clock, count, money, one_line, seconds, status, tail
from tui.operator import NotReady, Operator
from tui.widgets import Row, selected_key, sync_table

STATUS_FILTERS = ("all", "live", "waiting", "completed", "failed")
FAILED = {"error", "budget_exhausted", "denied", "cancelled"}


class Pane(Vertical):
    """A tab's content; ``operator`` is the app's. Panes with ``poll_s`` reload on that
    period while they are on screen (the stores are shared with other processes)."""

    poll_s: ClassVar[float | None] = None

    @property
    def operator(self) -> Operator:
        return self.app.operator  # type: ignore[attr-defined,no-any-return]

    def on_mount(self) -> None:
        # Textual calls every class's on_mount along the MRO: subclasses need not call this
        if self.poll_s is not None:
            self.set_interval(self.poll_s, self._tick)

    def _tick(self) -> None:
        if self.display and self.is_on_screen:
            self.reload()

    def on_show(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Fetch and show fresh data."""


# ---- runs -------------------------------------------------------------------------------


class RunsPane(Pane):
    """Every session, newest first: live, waiting for approval, finished, failed."""

    poll_s = 1.0

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open run", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("f", "cycle_status", "Status filter"),
    ]

    class Open(Message):
        def __init__(self, session_id: str) -> None:
            super().__init__()
            self.session_id = session_id

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.status_filter = "all"

    def compose(self) -> ComposeResult:
        with Horizontal(classes="bar"):
            yield Input(placeholder="filter runs (task, id, agent, role, model)", id="runs-filter")
            yield Label("status: all", id="runs-status")
        table: DataTable[Any] = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        # the session's short id first: a narrow terminal must not hide what users type
        table.add_columns(
            "session", "status", "task", "steps", "tokens", "cost", "time", "agent", "role",
            "model", "started",
        )  # fmt: skip
        yield table

    def reload(self) -> None:
        try:
            sessions = self.operator.sessions()
        except NotReady:
            return
        waiting = {row.session_id for row in self.operator.pending()}
        models = self.operator.models_of([s.id for s in sessions[:200]])
        needle = self.query_one("#runs-filter", Input).value.strip().lower()
        rows: list[Row] = []
        for s in sessions:
            live = self.operator.live.get(s.id)
            state = "waiting" if s.id in waiting and s.status == "running" else s.status
            model = models.get(s.id, "")
            running_here = live is not None and not live.finished
            fields = (s.id, s.task, s.agent, s.role or "", model)
            if not self._wanted(state, running_here, needle, *fields):
                continue
            steps, tin, tout, cost, secs = (
                s.steps,
                s.input_tokens,
                s.output_tokens,
                s.cost_usd,
                s.seconds,
            )
            if live is not None:
                spent = live.spent
                steps, tin, tout, cost = (
                    spent.steps,
                    spent.input_tokens,
                    spent.output_tokens,
                    spent.cost_usd,
                )
                tout += live.streaming_tokens
                secs = live.used(BudgetKind.SECONDS)
            elif s.status == "running":  # another process's run: as of its last checkpoint
                secs = max(secs, (s.updated_at - s.created_at).total_seconds())
            rows.append(
                (
                    s.id,
                    [
                        short(s.id),
                        status(state),
                        one_line(s.task, 36),
                        str(steps),
                        f"{count(tin)}+{count(tout)}",
                        money(cost),
                        seconds(secs),
                        s.agent,
                        s.role or "-",
                        one_line(model, 18) or "-",
                        clock(s.created_at.timestamp()),
                    ],
                )
            )
        sync_table(self.query_one("#runs-table", DataTable), rows)

    def _wanted(self, state: str, live: bool, needle: str, *fields: str) -> bool:
        f = self.status_filter
        if f == "live" and not (live or state in ("running", "waiting")):
            return False
        if f == "waiting" and state != "waiting":
            return False
        if f == "completed" and state != "completed":
            return False
        if f == "failed" and state not in FAILED:
            return False
        return not needle or any(needle in x.lower() for x in fields)

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self) -> None:
        self.query_one("#runs-table").focus()

    @on(DataTable.RowSelected, "#runs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.post_message(self.Open(str(event.row_key.value)))

    def action_open(self) -> None:
        key = selected_key(self.query_one("#runs-table", DataTable))
        if key:
            self.post_message(self.Open(key))

    def action_filter(self) -> None:
        self.query_one("#runs-filter").focus()

    def action_cycle_status(self) -> None:
        i = STATUS_FILTERS.index(self.status_filter)
        self.status_filter = STATUS_FILTERS[(i + 1) % len(STATUS_FILTERS)]
        self.query_one("#runs-status", Label).update(f"status: {self.status_filter}")
        self.reload()


# ---- approvals --------------------------------------------------------------------------


class ApprovalsPane(Pane):
    """Pending approvals first (oldest first), then recent decisions; the selected request's
    arguments are shown readably. a approves, d denies with a reason, e edits then approves."""

    poll_s = 0.5

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve"),
        Binding("d", "deny", "Deny"),
        Binding("e", "edit", "Edit + approve"),
    ]

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(
            id="approvals-table", cursor_type="row", zebra_stripes=True
        )
        table.add_columns("status", "id", "tool", "risk", "session", "asked", "left", "by")
        yield table
        with VerticalScroll(id="approval-detail-box"):
            yield Static(Text("no approval selected", style="dim"), id="approval-detail")

    def on_mount(self) -> None:
        self._rows: dict[str, ApprovalRow] = {}
        self._shown: str | None = None

    def reload(self) -> None:
        pending = sorted(self.operator.pending(), key=lambda r: r.created_at)
        ids = {r.id for r in pending}
        recent = [r for r in self.operator.recent_approvals(50) if r.id not in ids]
        self._rows = {r.id: r for r in [*pending, *recent]}
        now = time.time()
        rows: list[Row] = []
        for r in [*pending, *recent]:
            left = seconds(max(r.deadline - now, 0)) if r.deadline and r.status == "pending" else ""
            decision = r.decision()
            rows.append(
                (
                    r.id,
                    [
                        status(r.status),
                        short(r.id),
                        r.tool,
                        _risk(r.risk),
                        short(r.session_id),
                        clock(r.created_at),
                        left,
                        decision.by if decision else "",
                    ],
                )
            )
        table = self.query_one("#approvals-table", DataTable)
        sync_table(table, rows)
        self._show_selected()

    @on(DataTable.RowHighlighted, "#approvals-table")
    def _highlighted(self) -> None:
        self._show_selected(force=True)

    def _show_selected(self, force: bool = False) -> None:
        key = selected_key(self.query_one("#approvals-table", DataTable))
        row = self._rows.get(key or "")
        stamp = f"{key}:{row.status if row else ''}"
        if not force and stamp == self._shown:
            return
        self._shown = stamp
        detail = self.query_one("#approval-detail", Static)
        if row is None:
            detail.update(Text("no approvals yet", style="dim"))
            return
        head = Text()
        head.append(f"{row.id}   ", "bold")
        head.append_text(status(row.status))
        head.append(f"  risk {row.risk}  session {row.session_id}  role {row.role or '-'}\n")
        if row.summary:
            head.append(one_line(row.summary, 200) + "\n", "dim")
        decision = row.decision()
        if decision is not None:
            head.append(f"decided: {decision.action} by {decision.by}", "bold")
            head.append(f" — {decision.reason}\n" if decision.reason else "\n")
        detail.update(Group(head, arguments_view(row.tool, row.arguments)))

    def _selected_pending(self) -> ApprovalRow | None:
        key = selected_key(self.query_one("#approvals-table", DataTable))
        row = self._rows.get(key or "")
        if row is None or row.status != "pending":
            self.app.notify("select a pending approval first", severity="warning")
            return None
        return row

    def action_approve(self) -> None:
        row = self._selected_pending()
        if row is not None:
            self._decide(row, "approve")

    def action_deny(self) -> None:
        from tui.dialogs import AskText

        row = self._selected_pending()
        if row is None:
            return

        def done(reason: str | None) -> None:
            if reason is not None:
                self._decide(row, "deny", reason=reason or "denied in the console")

        self.app.push_screen(AskText(f"Deny {row.tool}: why?", "reason"), done)

    def action_edit(self) -> None:
        from tui.dialogs import EditArguments

        row = self._selected_pending()
        if row is None:
            return
        schema = self.operator.schema_of(row.tool)

        def done(arguments: dict[str, Any] | None) -> None:
            if arguments is not None:
                self._decide(row, "edit", reason="edited in the console", arguments=arguments)

        self.app.push_screen(EditArguments(row.tool, row.arguments, schema), done)

    def _decide(self, row: ApprovalRow, action: str, **how: Any) -> None:
        try:
            self.operator.decide(row.id, action, **how)
        except NotPending as exc:
            self.app.notify(str(exc), severity="warning")
        except NotReady as exc:
            self.app.notify(str(exc), severity="error")
        else:
            verb = {"approve": "approved", "deny": "denied", "edit": "approved (edited)"}[action]
            self.app.notify(f"{row.tool}: {verb}")
        self.reload()


def _risk(risk: str) -> Text:
    style = {"low": "green", "medium": "yellow", "high": "bold red", "critical": "bold magenta"}
    return Text(risk, style=style.get(risk, ""))


# ---- MCP servers ------------------------------------------------------------------------


class ServersPane(Pane):
    """Each MCP server: state, transport, tools, restarts, recent errors. r restarts one."""

    poll_s = 1.0

    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "restart", "Restart server")]

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="servers-table", cursor_type="row")
        table.add_columns("server", "state", "transport", "tools", "restarts", "last error")
        yield table
        with VerticalScroll(id="server-detail-box"):
            yield Static(id="server-detail")

    def reload(self) -> None:
        op = self.operator
        rows: list[Row] = []
        if op.host is None:
            for name, cfg in op.settings.servers.items():
                note = "not started here (--attach)" if op.attach else "starting"
                state = "disabled" if not cfg.enabled else note
                rows.append((name, [name, state, cfg.transport, "-", "-", ""]))
        for name, server in op.servers.items():
            shown = Text(
                server.state.value,
                style={"up": "green", "restarting": "yellow", "starting": "cyan"}.get(
                    server.state.value, "red"
                ),
            )
            rows.append(
                (
                    name,
                    [
                        name,
                        shown,
                        server.config.transport,
                        str(len(server.tools)),
                        str(server.restarts),
                        one_line(server.last_error, 50),
                    ],
                )
            )
        sync_table(self.query_one("#servers-table", DataTable), rows)
        self._detail()

    @on(DataTable.RowHighlighted, "#servers-table")
    def _detail(self) -> None:
        key = selected_key(self.query_one("#servers-table", DataTable))
        server = self.operator.servers.get(key or "")
        out = Text()
        if server is None:
            out.append("select a server", "dim")
        else:
            out.append(f"{server.name}: {len(server.tools)} tools\n", "bold")
            for tool in server.tools:
                out.append(f"  {tool.name}", "green")
                out.append(f"  {one_line(tool.description, 70)}\n", "dim")
            if server.errors:
                out.append("recent errors:\n", "bold red")
                for ts, text in server.errors[-8:]:
                    out.append(f"  {clock(ts)} {one_line(text, 100)}\n", "red")
        self.query_one("#server-detail", Static).update(out)

    async def action_restart(self) -> None:
        key = selected_key(self.query_one("#servers-table", DataTable))
        server = self.operator.servers.get(key or "")
        if server is None:
            self.app.notify("no running server selected", severity="warning")
            return
        await server.restart()
        self.app.notify(f"restarting {server.name}")
        self.reload()


# ---- memory -----------------------------------------------------------------------------


class MemoryPane(Pane):
    """Durable notes of one scope (tenant/user): newest first, or the best matches of a query."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("slash", "search", "Search")]

    def compose(self) -> ComposeResult:
        with Horizontal(classes="bar"):
            yield Input("default", placeholder="tenant[/user]", id="memory-scope")
            yield Input(placeholder="search notes (empty: newest)", id="memory-query")
        table: DataTable[Any] = DataTable(id="memory-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("key", "note", "tags", "updated", "score")
        yield table

    def action_search(self) -> None:
        self.query_one("#memory-query").focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.reload()
        self.query_one("#memory-table").focus()

    def reload(self) -> None:
        notes_store = self.operator.notes
        if notes_store is None:
            return
        scope_text = self.query_one("#memory-scope", Input).value.strip() or "default"
        tenant, _, user = scope_text.partition("/")
        try:
            scope = Scope(tenant, user)
        except ValueError as exc:
            self.app.notify(str(exc), severity="error")
            return
        query = self.query_one("#memory-query", Input).value.strip()
        if query:
            mode = "hybrid" if notes_store.embedder is not None else "keyword"
            notes = notes_store.recall(scope, query, k=50, mode=mode)  # type: ignore[arg-type]
        else:
            notes = notes_store.list_notes(scope, limit=500)
        rows: list[Row] = [
            (
                n.id,
                [
                    one_line(n.key, 24),
                    one_line(n.text, 70),
                    ", ".join(n.tags),
                    clock(n.updated_at),
                    f"{n.score:.3f}" if n.score is not None else "",
                ],
            )
            for n in notes
        ]
        sync_table(self.query_one("#memory-table", DataTable), rows)


# ---- knowledge --------------------------------------------------------------------------


class KnowledgePane(Pane):
    """A RAG search: ranked chunks with scores and sources; the selected chunk in full."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("slash", "search", "Search")]

    def compose(self) -> ComposeResult:
        with Horizontal(classes="bar"):
            yield Input(placeholder="collection (empty: all)", id="rag-collection")
            yield Input(placeholder="search the knowledge base, then enter", id="rag-query")
        table: DataTable[Any] = DataTable(id="rag-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("#", "score", "source", "where", "text")
        yield table
        with VerticalScroll(id="rag-detail-box"):
            yield Static(Text("ingest with `agenthost ingest PATH --collection C`", "dim"),
                         id="rag-detail")  # fmt: skip

    def on_mount(self) -> None:
        self._hits: dict[str, Any] = {}

    def action_search(self) -> None:
        self.query_one("#rag-query").focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        query = self.query_one("#rag-query", Input).value.strip()
        if query:
            collection = self.query_one("#rag-collection", Input).value.strip()
            self.search(query, [collection] if collection else None)

    @work(exclusive=True, group="rag")
    async def search(self, query: str, collections: list[str] | None) -> None:
        table = self.query_one("#rag-table", DataTable)
        table.loading = True
        try:
            hits = (await self.operator.rag().search(query, collections, k=20)).hits
        except RagError as exc:
            self.app.notify(str(exc), severity="error", title="knowledge")
            return
        finally:
            table.loading = False
        self._hits = {h.chunk_id: h for h in hits}
        rows: list[Row] = []
        for rank, h in enumerate(hits, start=1):
            where = _where(h.span.page, h.span.line_start, h.span.line_end)
            rows.append(
                (
                    h.chunk_id,
                    [
                        str(rank),
                        f"{h.score:.3f}",
                        tail(h.source, 30),
                        where,
                        one_line(h.text, 70),
                    ],
                )
            )
        sync_table(table, rows)
        if not hits:
            self.query_one("#rag-detail", Static).update(Text("no matches", style="dim"))
        table.focus()

    @on(DataTable.RowHighlighted, "#rag-table")
    def _detail(self) -> None:
        key = selected_key(self.query_one("#rag-table", DataTable))
        hit = self._hits.get(key or "")
        if hit is None:
            return
        head = Text(f"{hit.chunk_id}  {hit.source}  score {hit.score:.4f}\n", style="bold")
        trail = " › ".join([hit.title, *hit.headings]) if hit.title else " › ".join(hit.headings)
        if trail:
            head.append(f"{trail}\n", "italic")
        self.query_one("#rag-detail", Static).update(Group(head, Text(hit.text)))


def _where(page: int | None, start: int | None, end: int | None) -> str:
    if page is not None:
        return f"p.{page}"
    if start is not None:
        return f"l.{start}-{end}" if end not in (None, start) else f"l.{start}"
    return ""
