"""The host as an MCP server, so IDEs and desktop assistants can hand it tasks.

Tools: ``run_task`` (runs an agent; streams progress notifications; returns the answer, the
outcome and the usage) and ``get_session``. Resources: ``agenthost://sessions`` (recent runs)
and ``agenthost://sessions/{session_id}`` (one run: steps, tool calls, outcome).

    agenthost serve --mcp                      # stdio, for Claude Desktop / VS Code
    agenthost serve --mcp --transport http     # streamable HTTP on 127.0.0.1:8765/mcp
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field, ValidationError

from agents.budget import Budget
from agents.events import RunEvent, StepFinished
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
        agent: Literal["react", "plan"] = "react",
        role: str | None = None,
        max_steps: int | None = None,
        max_cost_usd: float | None = None,
        max_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Run an agent on a task with agenthost's tools. Returns the answer, the outcome
        (completed, budget_exhausted, denied, error), steps, tokens, cost and the session id.
        Progress is reported after each step."""
        host = ctx.request_context.lifespan_context
        total = float(max_steps or settings.budgets.run.max_steps or 0) or None

        async def progress(event: RunEvent) -> None:
            if isinstance(event, StepFinished):
                tools = ", ".join(t.name for t in event.step.tools) or "thinking"
                await ctx.report_progress(
                    event.spent.steps, total, f"step {event.step.index}: {tools}"
                )

        try:
            request = RunRequest(
                task,
                agent=agent,
                role=role,
                budget=Budget(
                    max_steps=max_steps, max_cost_usd=max_cost_usd, max_seconds=max_seconds
                ),
            )
            result = await host.run(request, on_event=progress, asker=ElicitingAsker(ctx))
        except (AgentHostError, ValidationError) as exc:
            raise ToolError(str(exc)) from None
        return result.to_dict()

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
