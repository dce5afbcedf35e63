"""The whole stack, end to end (issue 6's acceptance run): an agent writes code and runs it in
the sandbox after a person approves it, remembers the result, and a later session recalls it.
Real MCP servers over stdio (sandbox, memory), the real approval store, a scripted model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from agents import OutcomeKind, RunResult
from agents.request import RunRequest
from approvals import ApprovalsConfig, Decision
from core.principal import Principal
from host.host import Host
from inference import ChatRequest
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from settings import ServerConfig, Settings, ToolPolicy
from tests.sandbox.conftest import capabilities

pytestmark = pytest.mark.anyio


def script(request: ChatRequest) -> Turn:
    task = next(m.content for m in request.messages if m.role == "user")
    results = [m.content for m in request.messages if m.role == "tool"]
    if task.startswith("compute"):
        if not results:
            code = "open('answer.txt', 'w').write(str(6 * 7)); print(6 * 7)"
            return Turn("", (ScriptedCall("sandbox__run_python", {"code": code}),))
        if len(results) == 1:
            stdout = json.loads(results[0])["stdout"].strip()
            fact = f"The product of 6 and 7 is {stdout}."
            return Turn("", (ScriptedCall("memory__remember", {"text": fact, "key": "product"}),))
        return Turn("Computed and remembered.")
    if not results:
        return Turn("", (ScriptedCall("memory__recall", {"query": "product of 6 and 7"}),))
    return Turn(json.loads(results[0])[0]["text"])  # recall returns the notes, best first


async def test_sandbox_approval_memory_across_sessions(isolated_home: Path) -> None:
    capabilities()  # skips where this machine cannot isolate code
    python = sys.executable
    settings = Settings(
        home=isolated_home,
        servers={
            "sandbox": ServerConfig(
                command=python,
                args=["-m", "mcp_servers.sandbox", "--home", str(isolated_home)],
                tools={"run_python": ToolPolicy(risk="high")},
                call_timeout_s=60,
            ),
            "memory": ServerConfig(
                command=python,
                args=[
                    "-m",
                    "mcp_servers.memory",
                    "--tenant",
                    "acme",
                    "--user",
                    "alice",
                    "--embedder",
                    "none",
                    "--no-model",
                    "--db",
                    f"sqlite:///{isolated_home / 'agenthost.db'}",
                ],
            ),
        },
        approvals=ApprovalsConfig(default="ask", timeout_s=60),
    )
    results: list[RunResult] = []
    async with Host(settings, model=ScriptedBackend(script)) as host:
        approvals = host.approvals
        async with anyio.create_task_group() as tg:

            async def first() -> None:
                results.append(
                    await host.run(
                        RunRequest(
                            "compute 6*7 in the sandbox",
                            principal=Principal.of(tenant="acme", user="alice"),
                        )
                    )
                )

            tg.start_soon(first)
            with anyio.fail_after(60):
                while not approvals.pending():  # noqa: ASYNC110 - the run submits it
                    await anyio.sleep(0.05)
            pending = approvals.pending()[0]
            assert pending.tool == "sandbox__run_python"
            assert "6 * 7" in pending.arguments["code"]
            approvals.decide(pending.id, Decision("approve", "alice", "harmless arithmetic"))
        first_run = results[0]
        assert first_run.outcome.kind is OutcomeKind.COMPLETED, first_run.outcome
        tools = [t for s in host.store.steps(first_run.session_id) for t in s.tools]
        assert json.loads(tools[0].result)["stdout"].strip() == "42"
        assert json.loads(tools[0].result)["exit_code"] == 0

        later = await host.run(
            RunRequest(
                "what did we compute earlier?", principal=Principal.of(tenant="acme", user="alice")
            )
        )
        assert later.outcome.kind is OutcomeKind.COMPLETED, later.outcome
        assert later.session_id != first_run.session_id
        assert later.answer == "The product of 6 and 7 is 42."
        assert approvals.verify()[0]
