"""The agent host: configuration in, supervised MCP servers, sessions and runs out.

    async with Host.from_config("agenthost.toml") as host:
        result = await host.run(RunRequest("What time is it in Tokyo?", role="researcher"))

One ``Host`` serves many concurrent runs. Each run starts from a ``RunRequest`` (task, agent,
role, tools, tier, budget, principal, trace context) and gets a trace id, its role's view of the
tools, a budget (the run's limits stacked under its user's and tenant's allowances), and a
session in the store that is checkpointed after every step, so ``resume`` can finish a run
whose process was killed. Everything a run needs exists once the host's context is entered.
"""

from __future__ import annotations

import logging
import os
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio

from agents.budget import Allowance, Budget, BudgetMeter, period_start
from agents.config import AgentConfig
from agents.events import Compacted, Emit, RunEvent, RunFinished, RunStarted, ignore
from agents.request import RunRequest
from agents.runner import run_agent
from agents.state import Outcome, OutcomeKind, RunResult, RunState, Span
from agents.turn import AgentContext
from approvals import ApprovalGate, ApprovalStore, Asker, PolicyGate
from core.logctx import request_scope
from core.principal import Principal
from guardrails import Guard, Source, Verdict
from host.errors import RunRejected
from host.guarding import RunGuard
from host.mcp_servers import ManagedServer
from host.resources import (
    PromptInfo,
    ResourceInfo,
    compose_task,
    list_prompts,
    list_resources,
    read_resource,
    render_prompt,
)
from host.selection import Encoder, ToolRanker
from host.toolbox import Toolbox
from inference import ChatModel
from inference.accounting import FREE, Price
from inference.registry import build_router
from inference.router import Router
from memory.notes import NotesStore, Scope
from memory.sessions import SessionStore, StoreRecorder, StoreReserver
from settings import Settings, audit_anchor, load_settings

log = logging.getLogger("agenthost.host")


class HostNotOpen(RuntimeError):
    """The host is used outside ``async with`` (a programming error, not a user's)."""

    def __init__(self) -> None:
        super().__init__("use the host inside `async with Host(...)`")


@dataclass
class _Open:
    """What exists while the host's context is entered."""

    store: SessionStore
    approvals: ApprovalStore
    notes: NotesStore
    model: ChatModel
    router: Router | None
    servers: dict[str, ManagedServer]
    toolbox: Toolbox
    guard: Guard
    stack: AsyncExitStack


class Host:
    def __init__(
        self,
        settings: Settings,
        *,
        model: ChatModel | None = None,
        gate: ApprovalGate | None = None,
    ) -> None:
        self.settings = settings
        self._model_override = model
        self._gate_override = gate
        self._open: _Open | None = None

    @classmethod
    def from_config(cls, path: str | Path | None = None, **overrides: Any) -> Host:
        """Load settings (``agenthost.toml``, ``AGENTHOST_*``) and build a host from them."""
        model = overrides.pop("model", None)
        gate = overrides.pop("gate", None)
        settings = load_settings(Path(path) if path is not None else None, **overrides)
        return cls(settings, model=model, gate=gate)

    # ---- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        s = self.settings
        s.ensure_home()
        policy = s.approvals.policy()
        store = SessionStore(s.db_url)
        stack = AsyncExitStack()
        tg: anyio.abc.TaskGroup | None = None
        try:
            approvals = ApprovalStore(store.engine, audit_anchor(s))
            gate = self._gate_override or PolicyGate(
                policy, approvals, timeout_s=s.approvals.timeout_s
            )
            router = build_router(s.inference, s.logs_dir) if self._model_override is None else None
            model: ChatModel = self._model_override or router  # type: ignore[assignment]
            tg = await stack.enter_async_context(anyio.create_task_group())
            env = s.child_env()
            servers = {
                name: ManagedServer(name, cfg, log_dir=s.logs_dir, env=env)
                for name, cfg in s.servers.items()
                if cfg.enabled
            }
            # start every server concurrently; a broken one is reported, not fatal
            async with anyio.create_task_group() as starting:
                for server in servers.values():
                    starting.start_soon(tg.start, server.supervise)
            for server in servers.values():
                if not server.tools and server.last_error:
                    log.warning("MCP server %s failed to start: %s", server.name, server.last_error)
            # the guardrails know this process's own keys (secret-named variables) by value
            guard = Guard(s.guardrails, environ=os.environ)
            if s.guardrails.enabled:  # models and pattern tables load off the first run's path
                tg.start_soon(partial(anyio.to_thread.run_sync, abandon_on_cancel=True), guard.warm)
            ranker = self._ranker()
            toolbox = Toolbox(servers, s.roles, gate, s.approvals, ranker=ranker, config=s.tools)
            if ranker.needs_embeddings(len(toolbox.entries())):
                # in the background: runs start at once, ranked by keywords until it is loaded
                tg.start_soon(
                    partial(anyio.to_thread.run_sync, abandon_on_cancel=True), ranker.load
                )
        except BaseException:
            # a start cut short (cancelled: a client gone while servers start) leaves the
            # servers' task group it entered, or anyio's cancel scopes end up crossed; not
            # in a shielded scope of its own: the group's scope must be the innermost to exit
            if tg is not None:
                tg.cancel_scope.cancel()
            await stack.aclose()
            store.close()
            raise
        self._open = _Open(
            store=store,
            approvals=approvals,
            notes=NotesStore(store.engine),
            model=model,
            router=router,
            servers=servers,
            toolbox=toolbox,
            guard=guard,
            stack=stack,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        parts, self._open = self._live(), None
        for server in parts.servers.values():
            server.stop()
        try:
            # the caller's exception (if any) goes on by itself; handing it to the task group
            # would only wrap it in an ExceptionGroup
            await parts.stack.__aexit__(None, None, None)
        finally:
            with anyio.CancelScope(shield=True):
                if parts.router is not None:
                    await parts.router.aclose()
                parts.store.close()

    def _ranker(self) -> ToolRanker:
        embedding = self.settings.rag.embedding

        def encoder() -> Encoder:
            from rag.embedding import SentenceTransformerEmbedder  # torch: only when needed

            return SentenceTransformerEmbedder(embedding)

        keyword_only = self.settings.tools.ranking == "keyword"
        return ToolRanker(self.settings.tools, None if keyword_only else encoder)

    def _live(self) -> _Open:
        if self._open is None:
            raise HostNotOpen
        return self._open

    @property
    def store(self) -> SessionStore:
        return self._live().store

    @property
    def approvals(self) -> ApprovalStore:
        return self._live().approvals

    @property
    def notes(self) -> NotesStore:
        return self._live().notes

    @property
    def model(self) -> ChatModel:
        return self._live().model

    @property
    def router(self) -> Router | None:
        """The model router (None when a model was given directly, as tests do)."""
        return self._live().router

    @property
    def servers(self) -> dict[str, ManagedServer]:
        return self._live().servers

    @property
    def toolbox(self) -> Toolbox:
        return self._live().toolbox

    @property
    def guard(self) -> Guard:
        """The guardrails every run's task, tool results and answer pass (``[guardrails]``)."""
        return self._live().guard

    def _price_of(self, backend: str) -> Price:
        router = self.router
        return FREE if router is None else router.price_of(backend)

    def _worst_price(self, tier: str | None) -> Price:
        router = self.router
        return FREE if router is None else router.worst_price(tier)

    # ---- connected servers' resources and prompts ---------------------------------------

    async def resources(self) -> list[ResourceInfo]:
        return await list_resources(self.servers)

    async def read_resource(self, ref: str) -> str:
        """``SERVER:URI``'s text."""
        return await read_resource(self.servers, ref)

    async def prompts(self) -> list[PromptInfo]:
        return await list_prompts(self.servers)

    async def render_prompt(self, ref: str, arguments: dict[str, str] | None = None) -> str:
        """``SERVER:NAME``'s messages as a task text."""
        return await render_prompt(self.servers, ref, arguments or {})

    # ---- runs -------------------------------------------------------------------------

    async def run(
        self,
        request: RunRequest | str,
        *,
        on_event: Emit | None = None,
        asker: Asker | None = None,
    ) -> RunResult:
        """Run a request (or a bare task with the defaults) to an outcome. ``asker`` is whom
        the approval gate may ask directly (the run's MCP client). Every log line of the run
        carries its ``request_id`` (``core.logctx``)."""
        if isinstance(request, str):
            request = RunRequest(request)
        with request_scope(request.request_id):
            self._check_tier(request.tier)
            trace = request.trace
            task = request.task
            if request.prompt is not None or request.resources:
                task = await compose_task(self.servers, request)
            state = RunState.new(
                task,
                agent=request.agent or self.settings.agent.kind,
                role=request.role,
                principal=request.principal,
                budget=self.settings.budgets.run.overridden_by(request.budget),
                tools=request.tools,
                tier=request.tier,
                require_tool=request.require_tool,
                request_id=request.request_id,
            )
            if trace is not None:
                state.trace_id = trace.trace_id
                state.trace_parent = trace.parent_span_id
            emit = on_event or ignore
            state.run_span_id = uuid.uuid4().hex[
                :16
            ]  # the run's root: the task's check is its child
            guard = self._run_guard(state, emit)
            # the task is checked before anything keeps it: the session holds what passed
            verdict = await guard.check(task, Source.USER, "task")
            state.task = verdict.text
            if verdict.blocked:
                return await self._blocked(state, verdict, emit)
            return await self._run(state, emit, resumed=False, asker=asker, guard=guard)

    async def resume(
        self,
        session_id: str,
        *,
        budget: Budget | None = None,
        on_event: Emit | None = None,
        visible_to: Principal | None = None,
    ) -> RunResult:
        """Continue a run from its last completed step (after a crash, or with a new budget).
        With ``visible_to``, only a session that principal may see (``Principal.sees``);
        another's is ``SessionNotFound``, as an unknown one is."""
        state = self.store.load(session_id, visible_to=visible_to)
        if state.outcome is not None and state.outcome.kind is OutcomeKind.COMPLETED:
            raise RunRejected(f"session {session_id} already completed; nothing to resume")
        state.budget = state.budget.overridden_by(budget)
        state.answer = ""
        return await self._run(state, on_event or ignore, resumed=True)

    def _run_guard(self, state: RunState, emit: Emit) -> RunGuard:
        return RunGuard(
            self.guard, state, emit=emit, record=StoreRecorder(self.store, state.session_id).span
        )

    async def _blocked(self, state: RunState, verdict: Verdict, emit: Emit) -> RunResult:
        """A run whose task the guardrails blocked: saved (the task as a notice) with its
        outcome, so the operator sees it; the model never saw it."""
        outcome = Outcome(OutcomeKind.BLOCKED, f"the task was blocked: {verdict.text}")
        state.outcome = outcome
        recorder = StoreRecorder(self.store, state.session_id)
        await recorder.checkpoint(state, None)
        run_span = Span(state.trace_id, "run", f"agent {state.agent}", parent_id=state.trace_parent)
        run_span.span_id = state.run_span_id or run_span.span_id
        await recorder.span(run_span.finish("error", outcome=outcome.kind.value, steps=0))
        await emit(RunStarted(state.session_id, state.trace_id, state.task, state.agent))
        await emit(RunFinished(outcome, "", state.spent))
        return RunResult(state.session_id, state.trace_id, "", outcome, 0, state.spent)

    async def _run(
        self,
        state: RunState,
        emit: Emit,
        *,
        resumed: bool,
        asker: Asker | None = None,
        guard: RunGuard | None = None,
    ) -> RunResult:
        # a resumed run's lines carry the request that started it
        with request_scope(state.request_id):
            if guard is None:
                guard = self._run_guard(state, emit)
            tools = self.toolbox.for_run(state, asker=asker, guard=guard)
            if not resumed and not state.require_tool and tools.tool_required():
                state.require_tool = True  # the task names a tool: small models must not skip it
            ctx = AgentContext(
                model=self.model,
                tools=tools,
                meter=self._meter_limits(state, resumed=resumed),
                recorder=StoreRecorder(self.store, state.session_id),
                emit=self._keep_compactions(state, emit),
                config=self._agent_config(state),
                price_of=self._price_of,
                worst_price=self._worst_price,
                screen=guard,
            )
            return await run_agent(ctx, state, resumed=resumed)

    def _check_tier(self, tier: str | None) -> None:
        router = self.router
        if tier is not None and router is not None and tier not in router.tiers:
            raise RunRejected(
                f"unknown model tier {tier!r}; choose one of {', '.join(router.tiers)}"
            )

    def _agent_config(self, state: RunState) -> AgentConfig:
        update: dict[str, Any] = {}
        if state.tier is not None:
            update["tier"] = state.tier
        if state.require_tool:
            update["require_tool_first"] = True
        return self.settings.agent.model_copy(update=update) if update else self.settings.agent

    def _keep_compactions(self, state: RunState, emit: Emit) -> Emit:
        """Compaction summaries also become notes in the run's memory scope, so what a long
        run learned outlives its context window (and its session)."""

        async def forward(event: RunEvent) -> None:
            if isinstance(event, Compacted):
                state.compactions += 1
                self.notes.remember(
                    Scope(state.principal.tenant, state.principal.user),
                    event.summary,
                    key=f"session:{state.session_id}:compaction:{state.compactions}",
                    tags=("compaction",),
                    source_session=state.session_id,
                )
            await emit(event)

        return forward

    def meter_for(self, state: RunState) -> BudgetMeter:
        """A meter for one model call made outside an agent run (a gateway chat completion):
        its budget under the principal's user and tenant allowances, as a run's would be."""
        return self._meter_limits(state)

    def _meter_limits(self, state: RunState, *, resumed: bool = False) -> BudgetMeter:
        """The run's budget under its user's and tenant's allowances (what other runs of the
        period already used of them counted), as one tree for the meter. With an allowance,
        every step and model call is reserved in the store first (``StoreReserver``), so
        runs in any process never together spend more than it; a resumed run first drops
        the holds its crashed attempt left."""
        cfg = self.settings.budgets
        since = period_start(cfg.period)
        who = state.principal
        parent: Allowance | None = None
        tenant_limit = cfg.tenants.get(who.tenant)
        if tenant_limit is not None:
            used = self.store.spent_by(tenant=who.tenant, since=since, exclude=state.session_id)
            parent = Allowance(f"tenant:{who.tenant}", tenant_limit, used)
        user_limit = cfg.for_user(who.user) if who.user else None
        if user_limit is not None:
            used = self.store.spent_by(user=who.user, since=since, exclude=state.session_id)
            parent = Allowance(f"user:{who.user}", user_limit, used, parent)
        reserver = None
        if parent is not None:
            reserver = StoreReserver(
                self.store,
                state.session_id,
                user=who.user if user_limit is not None else None,
                tenant=who.tenant if tenant_limit is not None else None,
                since=since,
            )
            if resumed:
                reserver.release()
        limits = Allowance("run", state.budget, parent=parent)
        return BudgetMeter(limits, state.spent, reserver=reserver)
