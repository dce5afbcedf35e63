"""The host as an MCP server, so IDEs and desktop assistants can hand it tasks.

Tools: ``run_task`` (runs an agent from the same ``RunRequest`` fields the CLI takes: task,
agent, role, tools, tier, budgets; reports progress at once with the session id, as tokens
stream and after each step; a cancelled request saves the run as cancelled), ``resume_task``,
``list_sessions`` and ``get_session``. A request that cannot run is a tool error with its
reason. Resources: ``agenthost://sessions`` (recent runs) and
``agenthost://sessions/{session_id}`` (one run: steps, tool calls, outcome).

    agenthost serve --mcp                      # stdio, for Claude Desktop / VS Code
    agenthost serve --mcp --transport http     # streamable HTTP on 127.0.0.1:8765/mcp
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field, ValidationError

from agents.budget import Budget
from agents.events import RunEvent, RunStarted, StepFinished, StepStarted, TokenDelta
from agents.request import RunRequest
from approvals import ApprovalRequest, Decision
from core.errors import AgentHostError
from host.host import Host
from memory.sessions import SessionNotFound
from settings import Settings

log = logging.getLogger("agenthost.serve")

INSTRUCTIONS = (
    "agenthost runs agents with tools from its own MCP servers, under budgets. Use run_task "
    "for a task that needs several tool calls; read agenthost://sessions/{id} for the details "
    "of a run."
)


class ApprovalAnswer(BaseModel):
    approve: bool = Field(description="Let the agent make this call?")
    reason: str = Field("", description="Why (kept in the audit log)")


class ElicitingAsker:
    """Asks the MCP client that started the run (its user) to approve a risky call."""

    def __init__(self, ctx: Context[Host]) -> None:
        self.ctx = ctx

    async def ask(self, request: ApprovalRequest) -> Decision | None:
        message = (
            f"The agent wants to call {request.tool} (risk: {request.risk}) with "
            f"{json.dumps(request.arguments)[:500]}. Approve?"
        )
        try:
            answer = await self.ctx.elicit(message, ApprovalAnswer)
        except Exception as exc:  # no elicitation here: leave it to the other approvers
            log.warning("elicitation unavailable (%s); waiting for another approver", exc)
            return None
        if answer.action == "accept":
            data = answer.data
            return Decision("approve" if data.approve else "deny", "mcp-client", data.reason)
        return Decision("deny", "mcp-client", f"the user chose {answer.action}")


TOKENS_PER_REPORT = 16


class Progress:
    """A run's events as MCP progress: at once (with the session id), every few streamed
    tokens, and after each step. Progress counts steps, so it only grows: a step in flight is
    its index minus one plus the share of its token allowance used so far."""

    def __init__(self, ctx: Context[Host], max_steps: int | None) -> None:
        self.ctx = ctx
        self.total = float(max_steps) if max_steps else None
        self.session = ""
        self.done = 0.0
        self.step = 0
        self.tokens = 0
        self.per_call = ctx.request_context.lifespan_context.settings.agent.max_tokens_per_call

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
            case StepFinished():
                tools = ", ".join(t.name for t in event.step.tools) or "thinking"
                self.done = float(event.spent.steps)
                await self._report(f"step {event.step.index}: {tools}")
            case _:
                pass

    async def _report(self, message: str) -> None:
        await self.ctx.report_progress(self.done, self.total, message)


@contextmanager
def _tool_errors() -> Iterator[None]:
    """A request that cannot run (a bad budget, an unknown role, tier or session) is a tool
    error with its reason, not a bare failure."""
    try:
        yield
    except (AgentHostError, ValidationError) as exc:
        raise ToolError(str(exc)) from None


def build_server(settings: Settings) -> MCPServer[Host]:
    running: dict[str, Host] = {}  # the host of the running server, for resource reads

    @asynccontextmanager
    async def lifespan(_: MCPServer[Host]) -> AsyncIterator[Host]:
        async with Host(settings) as host:
            running["host"] = host
            yield host

    server: MCPServer[Host] = MCPServer("agenthost", instructions=INSTRUCTIONS, lifespan=lifespan)

    @server.tool()
    async def run_task(
        task: str,
        ctx: Context[Host],
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
    ) -> dict[str, Any]:
        """Run an agent on a task with agenthost's tools. Returns the answer, the outcome
        (completed, budget_exhausted, denied, error, cancelled), steps, tokens, cost and the
        session id. Progress is reported at once (with the session id), as tokens stream and
        after each step; cancelling the request saves the run as cancelled (resume_task
        continues it)."""
        budget = Budget(
            max_steps=max_steps,
            max_input_tokens=max_input_tokens,
            max_output_tokens=max_output_tokens,
            max_cost_usd=max_cost_usd,
            max_seconds=max_seconds,
        )
        with _tool_errors():
            request = RunRequest(
                task, agent=agent, role=role, tools=tuple(tools or ()), tier=tier, budget=budget
            )
            host = ctx.request_context.lifespan_context
            limit = host.settings.budgets.run.overridden_by(budget).max_steps
            result = await host.run(
                request, on_event=Progress(ctx, limit), asker=ElicitingAsker(ctx)
            )
        return result.to_dict()

    @server.tool()
    async def resume_task(
        session_id: str,
        ctx: Context[Host],
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
            host = ctx.request_context.lifespan_context
            result = await host.resume(
                session_id, budget=budget, on_event=Progress(ctx, budget.max_steps)
            )
        return result.to_dict()

    @server.tool()
    def list_sessions(
        ctx: Context[Host],
        limit: Annotated[int, Field(ge=1, le=500)] = 20,
        status: Annotated[
            str | None, Field(description="running, completed, budget_exhausted, ...")
        ] = None,
    ) -> list[dict[str, Any]]:
        """Recent runs, newest first: id, status, task, steps, tokens, cost."""
        rows = ctx.request_context.lifespan_context.store.recent(limit=limit, status=status)
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
    def get_session(session_id: str, ctx: Context[Host]) -> dict[str, Any]:
        """A run's steps, tool calls and outcome."""
        return _session(ctx.request_context.lifespan_context, session_id)

    @server.resource("agenthost://sessions", mime_type="application/json")
    def sessions() -> str:
        """Recent sessions, newest first."""
        rows = running["host"].store.recent(limit=50)
        return json.dumps([r.model_dump(mode="json") for r in rows])

    @server.resource("agenthost://sessions/{session_id}", mime_type="application/json")
    def session(session_id: str) -> str:
        """One session: steps, tool calls, outcome."""
        return json.dumps(_session(running["host"], session_id))

    return server


def _session(host: Host, session_id: str) -> dict[str, Any]:
    try:
        row = host.store.get(session_id)
    except SessionNotFound as exc:
        raise ToolError(str(exc)) from None
    return {
        "session": row.model_dump(mode="json"),
        "steps": [asdict(s) for s in host.store.steps(session_id)],
    }


async def serve(
    settings: Settings,
    transport: Literal["stdio", "http"] = "stdio",
    *,
    bind: str = "127.0.0.1",
    port: int = 8765,
) -> None:
    server = build_server(settings)
    if transport == "stdio":
        await server.run_stdio_async()
    else:
        await server.run_streamable_http_async(host=bind, port=port)
