"""The host as an MCP server, so IDEs and desktop assistants can hand it tasks.

Tools: ``run_task`` (runs an agent from the same ``RunRequest`` fields the CLI takes: task,
agent, role, tools, tier, budgets, a connected server's prompt as template, attached
resources; reports progress at once with the session id, as tokens stream, as long-running
tools report and after each step; a cancelled request saves the run as cancelled),
``resume_task``, ``list_sessions`` and ``get_session``. A request that cannot run is a tool
error with its reason. Resources: ``agenthost://sessions{?limit,status}`` (recent runs) and
``agenthost://sessions/{session_id}`` (one run: steps, tool calls with their attachments,
outcome). Prompt: ``delegate`` (hand a task to run_task).

Over HTTP a caller is its bearer key's principal: ``run_task`` runs as it, and the session
tools and resources show and resume only the sessions it may see (``Principal.sees``: its
own; with the ``admin`` role, its tenant's; never another tenant's). Another principal's
session is answered exactly as an unknown one. On stdio the caller is the process that
started the server, and sees every session of the store.

    agenthost serve --mcp                      # stdio, for Claude Desktop / VS Code
    agenthost serve --mcp --transport http     # streamable HTTP on 127.0.0.1:8765/mcp
"""

from __future__ import annotations

import importlib
import json
import logging
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from anyio.abc import TaskGroup, TaskStatus
from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp_types import (
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequests,
    InputRequiredResult,
)
from pydantic import BaseModel, Field, ValidationError

from agents.budget import Budget
from agents.events import (
    RunEvent,
    RunStarted,
    StepFinished,
    StepStarted,
    TokenDelta,
    ToolProgress,
)
from agents.request import RunRequest
from agents.state import RunResult
from approvals import ApprovalRequest, Decision, NotPending
from core.errors import AgentHostError
from core.principal import Principal
from mcp_servers.serving import caller
from settings import Settings

if TYPE_CHECKING:
    from host.host import Host

log = logging.getLogger("agenthost.serve")

INSTRUCTIONS = (
    "agenthost runs agents with tools from its own MCP servers, under budgets. Use run_task "
    "for a task that needs several tool calls; read agenthost://sessions/{id} for the details "
    "of a run."
)


class HostStart:
    """The host, entered once the server runs: ``initialize`` is answered at once, and the
    first call that needs the host waits while its MCP servers and model start. A host that
    cannot start ends the server with its error (one line and an exit code). It also holds
    the task group of the runs that outlive one request (``BackgroundRun``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._host: Host | None = None
        self._ready = anyio.Event()
        self.runs: TaskGroup | None = None

    async def run(self, *, task_status: TaskStatus[None]) -> None:
        async with anyio.create_task_group() as self.runs:
            task_status.started()
            # the engine (SQLModel, the MCP client, the backends) is imported off the event
            # loop, which meanwhile answers initialize
            engine = await anyio.to_thread.run_sync(importlib.import_module, "host.host")
            async with engine.Host(self.settings) as host:
                self._host = host
                self._ready.set()
                await anyio.sleep_forever()

    async def host(self) -> Host:
        await self._ready.wait()
        assert self._host is not None
        return self._host


class ApprovalAnswer(BaseModel):
    approve: bool = Field(description="Let the agent make this call?")
    reason: str = Field("", description="Why (kept in the audit log)")


class ElicitingAsker:
    """Asks the MCP client that started the run (its user) to approve a risky call."""

    def __init__(self, ctx: Context[HostStart]) -> None:
        self.ctx = ctx

    async def ask(self, request: ApprovalRequest) -> Decision | None:
        try:
            answer = await self.ctx.elicit(_question(request), ApprovalAnswer)
        except Exception as exc:  # no elicitation here: leave it to the other approvers
            log.warning("elicitation unavailable (%s); waiting for another approver", exc)
            return None
        if answer.action == "accept":
            data = answer.data
            return Decision("approve" if data.approve else "deny", "mcp-client", data.reason)
        return Decision("deny", "mcp-client", f"the user chose {answer.action}")


def _question(request: ApprovalRequest) -> str:
    return (
        f"The agent wants to call {request.tool} (risk: {request.risk}) with "
        f"{json.dumps(request.arguments)[:500]}. Approve?"
    )


def _decision(answer: ElicitResult) -> Decision:
    if answer.action != "accept":
        return Decision("deny", "mcp-client", f"the user chose {answer.action}")
    data = ApprovalAnswer.model_validate(answer.content or {})
    return Decision("approve" if data.approve else "deny", "mcp-client", data.reason)


# The first protocol revision without server-initiated requests: a tool that needs the user
# returns InputRequiredResult, and the client retries the call with the answers.
INPUT_REQUIRED_VERSION = "2026-07-28"


class BackgroundRun:
    """A run_task run on a 2026-07-28 session. It runs in the server's task group, not in the
    request: an approval question ends the request with ``InputRequiredResult``, and the
    client's retry (carrying the answer and our ``request_state``) picks the same run up.
    As the run's asker it only posts questions; answers reach the gate through the approval
    store, so the console or `agenthost approvals` may answer first."""

    def __init__(self, key: str, progress: Progress, owner: Principal) -> None:
        self.key = key
        self.progress = progress
        self.owner = owner  # only its caller's retries pick it up
        self.result: RunResult | None = None
        self.error: Exception | None = None
        self.done = anyio.Event()
        self.asked: list[ApprovalRequest] = []
        self._changed = anyio.Event()
        self.scope = anyio.CancelScope()

    async def main(self, host: Host, request: RunRequest) -> None:
        with self.scope:
            try:
                self.result = await host.run(request, on_event=self.progress, asker=self)
            except Exception as exc:  # handed to the request that waits for it
                self.error = exc
            finally:
                self.done.set()
                self._changed.set()

    async def ask(self, request: ApprovalRequest) -> Decision | None:
        self.asked.append(request)
        self._changed.set()
        return None  # the gate waits on the store; the client's answer is stored there

    async def wait(self, host: Host) -> list[ApprovalRequest]:
        """Until the run ends ([]) or has questions nobody has answered yet."""
        while True:
            self.asked = [q for q in self.asked if _pending(host, q.id)]
            if self.done.is_set():
                return []
            if self.asked:
                return list(self.asked)
            await self._changed.wait()
            self._changed = anyio.Event()


def _pending(host: Host, approval_id: str) -> bool:
    row = host.approvals.get(approval_id)
    return row is not None and row.status == "pending"


TOKENS_PER_REPORT = 16


class Progress:
    """A run's events as MCP progress: at once (with the session id), every few streamed
    tokens, and after each step. Progress counts steps, so it only grows: a step in flight is
    its index minus one plus the share of its token allowance used so far."""

    def __init__(
        self, ctx: Context[HostStart] | None, max_steps: int | None, per_call: int
    ) -> None:
        self.ctx = ctx  # None between the rounds of a 2026-07-28 call: nobody to report to
        self.total = float(max_steps) if max_steps else None
        self.session = ""
        self.done = 0.0
        self.step = 0
        self.tokens = 0
        self.per_call = per_call

    async def __call__(self, event: RunEvent) -> None:
        match event:
            case RunStarted():
                self.session = event.session_id
                verb = "resumed" if event.resumed else "started"
                await self._report(f"session {event.session_id} {verb}")
            case StepStarted():
                self.step, self.tokens = event.index, 0
            case TokenDelta():
                self.tokens += 1
                if self.tokens % TOKENS_PER_REPORT == 0:
                    share = min(self.tokens / self.per_call, 0.95)
                    self.done = max(self.done, self.step - 1 + share)
                    await self._report(f"step {self.step}: {self.tokens} tokens")
            case ToolProgress():
                await self._report(f"step {self.step}: {event.call.name} {event.text()}")
            case StepFinished():
                tools = ", ".join(t.name for t in event.step.tools) or "thinking"
                self.done = float(event.spent.steps)
                await self._report(f"step {event.step.index}: {tools}")
            case _:
                pass

    async def _report(self, message: str) -> None:
        if self.ctx is not None:
            await self.ctx.report_progress(self.done, self.total, message)


@contextmanager
def _tool_errors() -> Iterator[None]:
    """A request that cannot run (a bad budget, an unknown role, tier or session) is a tool
    error with its reason, not a bare failure."""
    try:
        yield
    except (AgentHostError, ValidationError) as exc:
        raise ToolError(str(exc)) from None


def build_server(settings: Settings) -> MCPServer[HostStart]:
    start = HostStart(settings)
    background: dict[str, BackgroundRun] = {}  # 2026-07-28 runs between their rounds

    @asynccontextmanager
    async def lifespan(_: MCPServer[HostStart]) -> AsyncIterator[HostStart]:
        async with anyio.create_task_group() as tg:
            await tg.start(start.run)
            try:
                yield start
            finally:
                tg.cancel_scope.cancel()  # runs still in flight are saved as cancelled

    async def in_rounds(
        ctx: Context[HostStart], host: Host, request: RunRequest, progress: Progress
    ) -> RunResult | InputRequiredResult:
        """One round of a run on a 2026-07-28 session (see ``BackgroundRun``)."""
        if ctx.request_state:
            key = json.loads(ctx.request_state).get("run", "")
            run = background.get(key)
            if run is None or run.owner != request.principal:  # another's: as if none
                raise ToolError(
                    "that run is no longer waiting for an answer (it ended, or the server "
                    "restarted); list_sessions shows it, resume_task continues it"
                )
            for name, answer in (ctx.input_responses or {}).items():
                if name.startswith("approval:") and isinstance(answer, ElicitResult):
                    with suppress(NotPending):  # someone else answered first
                        host.approvals.decide(name.removeprefix("approval:"), _decision(answer))
        else:
            key = uuid.uuid4().hex
            run = background[key] = BackgroundRun(key, progress, request.principal)
            assert start.runs is not None
            start.runs.start_soon(run.main, host, request)
        run.progress.ctx = ctx
        try:
            questions = await run.wait(host)
        except anyio.get_cancelled_exc_class():
            run.scope.cancel()  # the client cancelled: so is the run (saved as cancelled)
            background.pop(key, None)
            raise
        finally:
            run.progress.ctx = None
        if questions:
            schema = render_elicitation_schema(ApprovalAnswer)
            asks: InputRequests = {
                f"approval:{q.id}": ElicitRequest(
                    params=ElicitRequestFormParams(message=_question(q), requested_schema=schema)
                )
                for q in questions
            }
            return InputRequiredResult(input_requests=asks, request_state=json.dumps({"run": key}))
        background.pop(key, None)
        if run.error is not None:
            raise run.error
        assert run.result is not None
        return run.result

    server: MCPServer[HostStart] = MCPServer(
        "agenthost", instructions=INSTRUCTIONS, lifespan=lifespan
    )

    @server.tool()
    async def run_task(
        ctx: Context[HostStart],
        task: Annotated[str, Field(description="what to do (may be empty with a prompt)")] = "",
        agent: Literal["react", "plan"] | None = None,
        role: str | None = None,
        tools: Annotated[
            list[str] | None,
            Field(description="only tools matching these globs, e.g. ['time__*']"),
        ] = None,
        tier: Annotated[str | None, Field(description="model tier (default: config)")] = None,
        max_steps: Annotated[int | None, Field(ge=1)] = None,
        max_input_tokens: Annotated[int | None, Field(ge=1)] = None,
        max_output_tokens: Annotated[int | None, Field(ge=1)] = None,
        max_cost_usd: Annotated[float | None, Field(ge=0)] = None,
        max_seconds: Annotated[float | None, Field(gt=0)] = None,
        prompt: Annotated[
            str | None,
            Field(description="a connected server's prompt as the task's template: SERVER:NAME"),
        ] = None,
        prompt_args: Annotated[
            dict[str, str] | None, Field(description="the prompt's arguments")
        ] = None,
        resources: Annotated[
            list[str] | None,
            Field(description="connected servers' resources to attach: SERVER:URI"),
        ] = None,
    ) -> dict[str, Any] | InputRequiredResult:
        """Run an agent on a task with agenthost's tools. Returns the answer, the outcome
        (completed, budget_exhausted, denied, error, cancelled), steps, tokens, cost, the
        session id and the tools' non-text attachments (their data is in the session
        resource). Progress is reported at once (with the session id), as tokens stream, as
        long-running tools report, and after each step; cancelling the request saves the run
        as cancelled (resume_task continues it). A risky call asks the client's user: mid-call
        on handshake-era sessions, by InputRequiredResult rounds on 2026-07-28 ones."""
        budget = Budget(
            max_steps=max_steps,
            max_input_tokens=max_input_tokens,
            max_output_tokens=max_output_tokens,
            max_cost_usd=max_cost_usd,
            max_seconds=max_seconds,
        )
        with _tool_errors():
            request = RunRequest(
                task,
                agent=agent,
                role=role,
                tools=tuple(tools or ()),
                tier=tier,
                budget=budget,
                prompt=prompt,
                prompt_args=prompt_args or {},
                resources=tuple(resources or ()),
                # over HTTP the caller's key says whom the run is for (its budgets, its scope
                # in every tool call); on stdio the process's own principal, as before
                principal=caller(ctx) or Principal(),
            )
            host = await ctx.request_context.lifespan_context.host()
            limit = host.settings.budgets.run.overridden_by(budget).max_steps
            progress = Progress(ctx, limit, host.settings.agent.max_tokens_per_call)
            if (ctx.protocol_version or "") >= INPUT_REQUIRED_VERSION:
                outcome = await in_rounds(ctx, host, request, progress)
                if isinstance(outcome, InputRequiredResult):
                    return outcome
                result = outcome
            else:  # a handshake-era session: the back-channel asks the user mid-call
                result = await host.run(request, on_event=progress, asker=ElicitingAsker(ctx))
        return result.to_dict() | {"attachments": _attachments(host, result.session_id)}

    @server.tool()
    async def resume_task(
        session_id: str,
        ctx: Context[HostStart],
        max_steps: Annotated[int | None, Field(ge=1)] = None,
        max_output_tokens: Annotated[int | None, Field(ge=1)] = None,
        max_cost_usd: Annotated[float | None, Field(ge=0)] = None,
        max_seconds: Annotated[float | None, Field(gt=0)] = None,
    ) -> dict[str, Any]:
        """Continue a run that was cancelled, cut by its budget or killed, from its last
        completed step (optionally with a larger budget). Completed runs are not run again."""
        budget = Budget(
            max_steps=max_steps,
            max_output_tokens=max_output_tokens,
            max_cost_usd=max_cost_usd,
            max_seconds=max_seconds,
        )
        with _tool_errors():
            host = await ctx.request_context.lifespan_context.host()
            result = await host.resume(
                session_id,
                budget=budget,
                on_event=Progress(ctx, budget.max_steps, host.settings.agent.max_tokens_per_call),
                visible_to=caller(ctx),  # over HTTP: only a session the key may see
            )
        return result.to_dict()

    @server.tool()
    async def list_sessions(
        ctx: Context[HostStart],
        limit: Annotated[int, Field(ge=1, le=500)] = 20,
        status: Annotated[
            str | None, Field(description="running, completed, budget_exhausted, ...")
        ] = None,
    ) -> list[dict[str, Any]]:
        """Recent runs, newest first: id, status, task, steps, tokens, cost."""
        host = await ctx.request_context.lifespan_context.host()
        rows = host.store.recent(limit=limit, status=status, visible_to=caller(ctx))
        return [
            {
                "session_id": r.id,
                "status": r.status,
                "task": r.task,
                "agent": r.agent,
                "steps": r.steps,
                "tokens": {"input": r.input_tokens, "output": r.output_tokens},
                "cost_usd": r.cost_usd,
                "created_at": r.created_at.isoformat(),
            }
            for r in rows
        ]

    @server.tool()
    async def get_session(session_id: str, ctx: Context[HostStart]) -> dict[str, Any]:
        """A run's steps, tool calls and outcome."""
        host = await ctx.request_context.lifespan_context.host()
        with _tool_errors():
            return _session(host, session_id, caller(ctx))

    # a template, not a static resource, only because the SDK hands the request's Context
    # (and so its caller) to templates alone; agenthost://sessions itself matches it
    @server.resource("agenthost://sessions{?limit,status}", mime_type="application/json")
    async def sessions(ctx: Context[HostStart], limit: int = 50, status: str | None = None) -> str:
        """Recent sessions, newest first (``?limit=N``, at most 500; ``?status=...``)."""
        rows = (await start.host()).store.recent(
            limit=min(max(limit, 1), 500), status=status, visible_to=caller(ctx)
        )
        return json.dumps([r.model_dump(mode="json") for r in rows])

    @server.resource("agenthost://sessions/{session_id}", mime_type="application/json")
    async def session(session_id: str, ctx: Context[HostStart]) -> str:
        """One session: steps, tool calls, outcome."""
        host = await start.host()
        try:
            return json.dumps(_session(host, session_id, caller(ctx)))
        except AgentHostError as exc:  # unknown, not the caller's (the same), ambiguous
            raise ResourceNotFoundError(str(exc)) from None

    @server.prompt()
    def delegate(task: str) -> str:
        """Hand a task to agenthost: the assistant calls run_task with it and reports back."""
        return (
            f"Use agenthost's run_task tool to do this task: {task}\n"
            "When it finishes, give me its answer, its outcome and its session id."
        )

    return server


def _attachments(host: Host, session_id: str) -> list[dict[str, Any]]:
    """What the run's tools returned that is not text, without the data itself."""
    return [
        {"step": s.index, "tool": t.name, "kind": a.kind, "mime_type": a.mime_type,
         "size": a.size, "uri": a.uri}
        for s in host.store.steps(session_id)
        for t in s.tools
        for a in t.attachments
    ]  # fmt: skip


def _session(host: Host, session_id: str, who: Principal | None) -> dict[str, Any]:
    """One session, if ``who`` may see it (None: stdio's caller, who sees every one); else
    ``SessionNotFound``, as for an unknown id."""
    row = host.store.get(session_id, visible_to=who)
    return {
        "session": row.model_dump(mode="json"),
        "steps": [asdict(s) for s in host.store.steps(row.id)],  # get() took a prefix too
    }


async def serve(
    settings: Settings,
    transport: Literal["stdio", "http"] = "stdio",
    *,
    bind: str = "127.0.0.1",
    port: int = 8765,
) -> None:
    """Serve until the client goes away or a SIGTERM/SIGHUP comes (a client closing its
    stdio server sends one): runs in flight are cancelled and saved as cancelled, so a
    session never stays ``running`` after its server is gone (resume_task continues it)."""
    server = build_server(settings)
    async with anyio.create_task_group() as tg:

        async def stop_on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP) as signals:
                async for signum in signals:
                    log.info("%s: stopping, cancelling runs in flight", signal.Signals(signum).name)
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(stop_on_signal)
        if transport == "stdio":
            await server.run_stdio_async()
        else:
            # every request needs a bearer key of the configuration's database (401 without)
            from auth.http import guard, serve_http

            app = guard(server.streamable_http_app(host=bind), settings.db_url, settings.auth)
            await serve_http(app, bind, port)
        tg.cancel_scope.cancel()
