"""The agent host: configuration in, supervised MCP servers, sessions and runs out.

    async with Host.from_config("agenthost.toml") as host:
        result = await host.run("What time is it in Tokyo?", role="researcher")

One ``Host`` serves many concurrent runs. Each run gets a trace id, a role's view of the tools,
a budget (the run's limits, tightened by what is left of its user's and tenant's allowances),
and a session in the store that is checkpointed after every step, so ``resume`` can finish a
run whose process was killed.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
from anyio.abc import TaskGroup

from agents.budget import Budget, BudgetKind, BudgetMeter, remaining
from agents.config import AgentConfig
from agents.events import Compacted, Emit, RunEvent, ignore
from agents.runner import AGENT_KINDS, run_agent
from agents.state import OutcomeKind, RunResult, RunState
from agents.turn import AgentContext, ChatModel
from approvals import ApprovalGate, ApprovalStore, Asker, PolicyError, PolicyGate
from host.config import Limits, Settings, load_settings
from host.errors import AgentHostError, ConfigFileError
from host.mcp_servers import ManagedServer
from host.toolbox import Toolbox, UnknownRole
from inference.accounting import FREE, Price, PriceTable
from inference.registry import build_router
from inference.router import Router
from memory.notes import NotesStore, Scope
from memory.sessions import SessionNotFound, SessionStore, StoreRecorder

log = logging.getLogger("agenthost.host")


class RunRejected(AgentHostError):
    """The run cannot start as asked (unknown role or agent, finished session, ...)."""

    exit_code = 2


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
        self.store: SessionStore | None = None
        self.router: Router | None = None
        self.servers: dict[str, ManagedServer] = {}
        self.toolbox: Toolbox | None = None
        self.approvals: ApprovalStore | None = None
        self.notes: NotesStore | None = None
        self._tg: TaskGroup | None = None
        self._stack = AsyncExitStack()
        self._prices = PriceTable(models=settings.inference.prices)

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
        self.store = SessionStore(s.db_url)
        try:
            policy = s.approvals.policy()
        except PolicyError as exc:
            raise ConfigFileError(str(exc)) from None
        self.approvals = ApprovalStore(self.store.engine)
        self.notes = NotesStore(self.store.engine)
        gate = self._gate_override or PolicyGate(
            policy, self.approvals, timeout_s=s.approvals.timeout_s
        )
        if self._model_override is None:
            self.router = build_router(s.inference, s.logs_dir)
        self._stack = AsyncExitStack()
        self._tg = await self._stack.enter_async_context(anyio.create_task_group())
        self.servers = {
            name: ManagedServer(name, cfg, log_dir=s.logs_dir)
            for name, cfg in s.servers.items()
            if cfg.enabled
        }
        # start every server concurrently; a broken one is reported, not fatal
        async with anyio.create_task_group() as starting:
            for server in self.servers.values():
                starting.start_soon(self._tg.start, server.supervise)
        for server in self.servers.values():
            if not server.tools and server.last_error:
                log.warning("MCP server %s failed to start: %s", server.name, server.last_error)
        self.toolbox = Toolbox(self.servers, s.roles, gate, s.approvals)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in self.servers.values():
            server.stop()
        try:
            # the caller's exception (if any) goes on by itself; handing it to the task group
            # would only wrap it in an ExceptionGroup
            await self._stack.__aexit__(None, None, None)
        finally:
            with anyio.CancelScope(shield=True):
                if self.router is not None:
                    await self.router.aclose()
                if self.store is not None:
                    self.store.close()

    @property
    def model(self) -> ChatModel:
        model = self._model_override or self.router
        if model is None:
            raise RuntimeError("use the host inside `async with`")
        return model

    def _price_of(self, backend: str) -> Price:
        if self.router is None or backend not in self.router.backends:
            return FREE
        return self._prices.for_call(backend, self.router.backends[backend].model)

    # ---- runs -------------------------------------------------------------------------

    async def run(
        self,
        task: str,
        *,
        agent: str | None = None,
        role: str | None = None,
        budget: Budget | None = None,
        user: str | None = None,
        tenant: str | None = None,
        tools: list[str] | None = None,
        tier: str | None = None,
        on_event: Emit | None = None,
        asker: Asker | None = None,
    ) -> RunResult:
        """Run ``task`` to an outcome. ``budget`` overrides the configured per-run limits;
        ``tools`` (globs over namespaced names) narrows the role's tools for this run; ``tier``
        picks the model tier for its calls (default: ``[agent] tier``, else the router)."""
        if not task.strip():
            raise RunRejected("the task is empty")
        kind = agent or self.settings.agent.kind
        if kind not in AGENT_KINDS:
            raise RunRejected(f"unknown agent {kind!r}; choose one of {', '.join(AGENT_KINDS)}")
        state = RunState.new(
            task.strip(),
            agent=kind,
            role=role,
            user=user,
            tenant=tenant,
            budget=_merge(self.settings.budgets.run, budget),
        )
        if tools:
            state.options["tools"] = list(tools)
        if tier:
            state.options["tier"] = tier
        return await self._run(state, on_event or ignore, resumed=False, asker=asker)

    async def resume(
        self, session_id: str, *, budget: Budget | None = None, on_event: Emit | None = None
    ) -> RunResult:
        """Continue a run from its last completed step (after a crash, or with a new budget)."""
        store = self._store()
        try:
            state = store.load(session_id)
        except SessionNotFound as exc:
            raise RunRejected(str(exc)) from None
        if state.outcome is not None and state.outcome.kind is OutcomeKind.COMPLETED:
            raise RunRejected(f"session {session_id} already completed; nothing to resume")
        if budget is not None:
            state.budget = _merge(Limits(**state.budget.to_dict()), budget)
        state.answer = ""
        return await self._run(state, on_event or ignore, resumed=True)

    async def _run(
        self, state: RunState, emit: Emit, *, resumed: bool, asker: Asker | None = None
    ) -> RunResult:
        store = self._store()
        assert self.toolbox is not None
        try:
            tools = self.toolbox.for_run(
                state.session_id,
                role=state.role,
                agent=state.agent,
                only=state.options.get("tools"),
                asker=asker,
            )
        except UnknownRole as exc:
            raise RunRejected(str(exc)) from None
        effective, scopes = self._allowance(state)
        ctx = AgentContext(
            model=self.model,
            tools=tools,
            meter=BudgetMeter(effective, state.spent, scopes=scopes),
            recorder=StoreRecorder(store, state.session_id),
            emit=self._keep_compactions(state, emit),
            config=self._agent_config(state),
            price_of=self._price_of,
        )
        return await run_agent(ctx, state, resumed=resumed)

    def _agent_config(self, state: RunState) -> AgentConfig:
        tier = state.options.get("tier")
        if tier is None:
            return self.settings.agent
        if self.router is not None and tier not in self.router.tiers:
            raise RunRejected(
                f"unknown model tier {tier!r}; choose one of {', '.join(self.router.tiers)}"
            )
        return self.settings.agent.model_copy(update={"tier": tier})

    def _keep_compactions(self, state: RunState, emit: Emit) -> Emit:
        """Compaction summaries also become notes in the run's memory scope, so what a long
        run learned outlives its context window (and its session)."""

        async def forward(event: RunEvent) -> None:
            if isinstance(event, Compacted) and self.notes is not None:
                count = state.options.get("compactions", 0) + 1
                state.options["compactions"] = count
                self.notes.remember(
                    Scope(state.tenant or "default", state.user or ""),
                    event.summary,
                    key=f"session:{state.session_id}:compaction:{count}",
                    tags=("compaction",),
                    source_session=state.session_id,
                )
            await emit(event)

        return forward

    def _allowance(self, state: RunState) -> tuple[Budget, dict[BudgetKind, str]]:
        """The run's budget tightened by its user's and tenant's remaining allowances."""
        cfg = self.settings.budgets
        effective = state.budget
        scopes: dict[BudgetKind, str] = {}
        since = _period_start(cfg.period)
        checks: list[tuple[str, Limits | None, dict[str, str]]] = [
            (
                f"user:{state.user}",
                cfg.users.get(state.user or "") or cfg.user_default,
                {"user": state.user} if state.user else {},
            ),
            (
                f"tenant:{state.tenant}",
                cfg.tenants.get(state.tenant or ""),
                {"tenant": state.tenant} if state.tenant else {},
            ),
        ]
        for scope, limits, who in checks:
            if limits is None or not who:
                continue
            used = self._store().spent_by(**who, since=since, exclude=state.session_id)
            # the allowance left, plus what this run itself already used (a resumed run)
            left = remaining(limits.budget(), used)
            left = _shift(left, state)
            for kind in BudgetKind:
                mine, theirs = effective.limit(kind), left.limit(kind)
                if theirs is not None and (mine is None or theirs < mine):
                    scopes[kind] = scope
            effective = effective.tightened(left)
        return effective, scopes

    # ---- reading ----------------------------------------------------------------------

    def _store(self) -> SessionStore:
        if self.store is None:
            raise RuntimeError("use the host inside `async with`")
        return self.store


def _merge(limits: Limits, override: Budget | None) -> Budget:
    """Configured limits with any explicitly given ones replacing them."""
    base = limits.budget()
    if override is None:
        return base
    given = {
        f.name: getattr(override, f.name)
        for f in fields(override)
        if getattr(override, f.name) is not None
    }
    return replace(base, **given)


def _shift(left: Budget, state: RunState) -> Budget:
    """Allowances are totals over runs; the meter counts this run from its own start, so the
    run may use what is left plus what it already spent."""
    spent = state.spent

    def add(value: Any, used: Any) -> Any:
        return None if value is None else value + used

    return Budget(
        max_steps=add(left.max_steps, spent.steps),
        max_input_tokens=add(left.max_input_tokens, spent.input_tokens),
        max_output_tokens=add(left.max_output_tokens, spent.output_tokens),
        max_cost_usd=add(left.max_cost_usd, spent.cost_usd),
        max_seconds=add(left.max_seconds, spent.seconds),
    )


def _period_start(period: str) -> datetime | None:
    now = datetime.now(UTC)
    if period == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return None
