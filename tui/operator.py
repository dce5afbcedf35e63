"""The console's link to agenthost: the same ``Host`` the CLI uses, held open in this process,
or (``attach``) only the shared stores, to watch the runs and answer the approvals of other
processes (``agenthost run``, ``agenthost serve``) without starting servers or models.

Nothing here draws; the screens call it and read what it returns.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from typing import Any

import anyio
from sqlalchemy import func
from sqlmodel import Session, col, select

from agents.events import RunEvent
from agents.request import RunRequest
from agents.state import RunResult
from approvals import ApprovalStore, Decision
from approvals.store import ApprovalRow
from host.host import Host
from host.mcp_servers import ManagedServer
from memory.notes import NotesStore
from memory.sessions import SessionRow, SessionStore, StepRow
from rag.service import RagService
from settings import Settings
from settings.audit import audit_anchor
from tui.live import RunView


class NotReady(RuntimeError):
    """The host is still starting (or this console only watches: ``--attach``)."""


class Operator:
    def __init__(self, settings: Settings, *, attach: bool = False, model: Any = None) -> None:
        self.settings = settings
        self.attach = attach
        self._model = model
        self.host: Host | None = None
        self.store: SessionStore | None = None
        self.approvals: ApprovalStore | None = None
        self.notes: NotesStore | None = None
        self.live: dict[str, RunView] = {}  # runs started from this console, by session id
        self.ready = anyio.Event()
        self.error = ""
        self.who = f"tui:{_user()}"
        self._rag: RagService | None = None

    # ---- lifecycle --------------------------------------------------------------------

    async def hold(self, stop: anyio.Event) -> None:
        """Open the host (or the stores) and keep them open until ``stop`` is set."""
        self.settings.ensure_home()
        try:
            if self.attach:
                self.store = SessionStore(self.settings.db_url)
                self.approvals = ApprovalStore(self.store.engine, audit_anchor(self.settings))
                self.notes = NotesStore(self.store.engine)
                self.ready.set()
                await stop.wait()
                return
            async with Host(self.settings, model=self._model) as host:
                self.host = host
                self.store, self.approvals, self.notes = host.store, host.approvals, host.notes
                self.ready.set()
                await stop.wait()
        except Exception as exc:  # shown in the console, which keeps running
            self.error = f"{type(exc).__name__}: {exc}"
            self.ready.set()
            raise
        finally:
            if self.attach and self.store is not None:
                self.store.close()
            if self._rag is not None:
                with anyio.CancelScope(shield=True):
                    await self._rag.aclose()

    @property
    def servers(self) -> dict[str, ManagedServer]:
        return self.host.servers if self.host is not None else {}

    @property
    def tiers(self) -> list[str]:
        return list(self.settings.inference.tiers)

    @property
    def roles(self) -> list[str]:
        return list(self.settings.roles)

    def _host(self) -> Host:
        if self.attach:
            raise NotReady("this console is attached read-only (--attach): start runs elsewhere")
        if self.host is None:
            raise NotReady(self.error or "the host is still starting")
        return self.host

    def _store(self) -> SessionStore:
        if self.store is None:
            raise NotReady(self.error or "the host is still starting")
        return self.store

    # ---- runs -------------------------------------------------------------------------

    async def run(self, request: RunRequest, view: RunView) -> RunResult:
        """Run ``request`` to its outcome, folding every event into ``view`` (the screens
        redraw from it on their own clock, so a fast model cannot flood the terminal)."""
        host = self._host()
        view.live = True

        async def on_event(event: RunEvent) -> None:
            view.apply(event)
            if view.session_id and view.session_id not in self.live:
                self.live[view.session_id] = view

        return await host.run(request, on_event=on_event)

    def sessions(self, limit: int = 500) -> list[SessionRow]:
        return list(self._store().recent(limit=limit))

    def models_of(self, session_ids: Sequence[str]) -> dict[str, str]:
        """The model each session's latest step ran on."""
        if not session_ids:
            return {}
        store = self._store()
        newest = (
            select(StepRow.session_id, func.max(StepRow.index).label("last"))
            .where(col(StepRow.session_id).in_(list(session_ids)))
            .group_by(col(StepRow.session_id))
            .subquery()
        )
        query = select(StepRow.session_id, StepRow.model).join(
            newest,
            (col(StepRow.session_id) == newest.c.session_id)
            & (col(StepRow.index) == newest.c.last),
        )
        with Session(store.engine) as db:
            return {sid: model for sid, model in db.exec(query).all()}

    def view_of(self, session_id: str) -> RunView:
        if session_id in self.live:
            return self.live[session_id]
        return RunView.from_store(self._store(), session_id)

    # ---- approvals --------------------------------------------------------------------

    def pending(self) -> list[ApprovalRow]:
        if self.approvals is None:
            return []
        return list(self.approvals.pending())

    def recent_approvals(self, limit: int = 100) -> list[ApprovalRow]:
        if self.approvals is None:
            return []
        return list(self.approvals.recent(limit))

    def decide(
        self, approval_id: str, action: str, *, reason: str = "", arguments: Any = None
    ) -> None:
        if self.approvals is None:
            raise NotReady("the host is still starting")
        decision = Decision(action, self.who, reason, arguments)  # type: ignore[arg-type]
        self.approvals.decide(approval_id, decision)

    def schema_of(self, tool: str) -> dict[str, Any] | None:
        """The JSON schema of a namespaced tool's arguments, when this host has the tool."""
        if self.host is None or self.host.toolbox is None:
            return None
        entry = self.host.toolbox.entries().get(tool)
        return dict(entry.spec.parameters) if entry is not None else None

    # ---- memory and knowledge ---------------------------------------------------------

    def rag(self) -> RagService:
        if self._rag is None:
            s = self.settings
            self._rag = RagService(s.rag_dir, s.rag, s.inference, s.logs_dir)
        return self._rag


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"
