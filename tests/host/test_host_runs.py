"""The host over real MCP servers on stdio: our test server and the third-party mcp-server-time."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from agents import AgentConfig, Budget, BudgetKind, OutcomeKind
from agents.request import RunRequest
from approvals import ApprovalsConfig, PolicyRule
from core.principal import Principal
from host.errors import RunRejected
from host.host import Host
from host.mcp_servers import ServerState
from inference import ChatRequest, ToolCall
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from memory.notes import Scope
from settings import BudgetsConfig, RoleConfig, Settings, ToolPolicy
from tests.host.conftest import ALL_TOOLS, stdio_test_server

pytestmark = pytest.mark.anyio


def settings(home: Path, **kw: object) -> Settings:
    kw.setdefault("servers", {"test": stdio_test_server()})
    kw.setdefault("tools", ALL_TOOLS)
    return Settings(home=home, **kw)  # type: ignore[arg-type]


async def eventually(condition: Callable[[], bool], within_s: float = 15.0) -> None:
    with anyio.fail_after(within_s):
        while not condition():  # noqa: ASYNC110 - polling state another task changes
            await anyio.sleep(0.05)


def call(name: str, **args: object) -> Turn:
    return Turn("", (ScriptedCall(name, dict(args)),))


async def test_tools_of_our_server_and_a_third_party_server(isolated_home: Path) -> None:
    model = ScriptedBackend(
        [
            call("test__add", a=2, b=3),
            call(
                "time__convert_time",
                source_timezone="UTC",
                time="12:00",
                target_timezone="Asia/Tokyo",
            ),
            Turn("5, and noon UTC is 21:00 in Tokyo."),
        ]
    )
    async with Host(settings(isolated_home), model=model) as host:
        assert host.servers["time"].state is ServerState.UP
        result = await host.run("add and convert")
        assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
        steps = host.store.steps(result.session_id)
        assert steps[0].tools[0].result == "5"
        assert '"21:00"' in steps[1].tools[0].result or "21:00" in steps[1].tools[0].result
        kinds = {s.kind for s in host.store.spans(result.trace_id)}
        assert kinds == {"run", "step", "model", "tool", "guardrail"}


async def test_killed_server_is_restarted_and_the_run_completes(isolated_home: Path) -> None:
    pids: list[int] = []

    def script(request: ChatRequest) -> Turn:
        results = [m.content for m in request.messages if m.role == "tool"]
        if not results:
            return call("test__pid")
        if len(results) == 1:
            pids.append(int(results[0]))
            os.kill(pids[0], signal.SIGKILL)  # the server dies between two tool calls
            return call("test__add", a=1, b=1)
        if results[-1] != "2" and len(results) < 6:  # the server was down: try again
            return call("test__add", a=1, b=1)
        return Turn("done")

    async with Host(settings(isolated_home), model=ScriptedBackend(script)) as host:
        result = await host.run("survive a crash")
        assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
        results = [t.result for s in host.store.steps(result.session_id) for t in s.tools]
        assert results[-1] == "2"
        server = host.servers["test"]
        assert server.restarts >= 1
        assert server.state is ServerState.UP
        pid_now = (await server.call("pid", {})).content[0].text  # type: ignore[union-attr]
        assert int(pid_now) != pids[0]


async def test_crash_during_a_call_is_a_tool_error_and_the_run_goes_on(isolated_home: Path) -> None:
    model = ScriptedBackend([call("test__crash"), call("test__add", a=2, b=2), Turn("4")])
    async with Host(settings(isolated_home), model=model) as host:
        result = await host.run("crash then add")
        assert result.outcome.kind is OutcomeKind.COMPLETED
        steps = host.store.steps(result.session_id)
        assert steps[0].tools[0].error_kind == "server_down"
        assert steps[1].tools[0].result == "4"


async def test_hung_call_times_out(isolated_home: Path) -> None:
    model = ScriptedBackend(
        [call("test__slow", seconds=30), call("test__add", a=1, b=2), Turn("3")]
    )
    cfg = settings(isolated_home, servers={"test": stdio_test_server(call_timeout_s=1.0)})
    async with Host(cfg, model=model) as host:
        with anyio.fail_after(25):
            result = await host.run("hang")
        assert result.outcome.kind is OutcomeKind.COMPLETED
        steps = host.store.steps(result.session_id)
        assert steps[0].tools[0].error_kind == "timeout"
        assert steps[1].tools[0].result == "3"


async def test_tools_loaded_at_run_time_appear(isolated_home: Path) -> None:
    async with Host(settings(isolated_home), model=ScriptedBackend([Turn("x")])) as host:
        assert "test__multiply" not in host.toolbox.entries()
        tools = host.toolbox.for_run("ses_x")
        loaded = await tools.call(ToolCall("c1", "test__load_extra", {}))
        assert loaded.content == "multiply loaded"
        toolbox = host.toolbox
        await eventually(lambda: "test__multiply" in toolbox.entries())
        product = await tools.call(ToolCall("c2", "test__multiply", {"a": 6, "b": 7}))
        assert product.content == "42"


async def test_roles_limit_the_tools(isolated_home: Path) -> None:
    model = ScriptedBackend([call("test__add", a=1, b=1), call("test__pid"), Turn("ok")])
    roles = {"adder": RoleConfig(tools=["test__add"])}
    async with Host(settings(isolated_home, roles=roles), model=model) as host:
        result = await host.run(RunRequest("add", role="adder"))
        assert [t.name for t in model.requests[0].tools] == ["test__add"]
        steps = host.store.steps(result.session_id)
        assert steps[1].tools[0].error_kind == "unknown_tool"
        with pytest.raises(RunRejected, match="unknown role"):
            await host.run(RunRequest("x", role="nobody"))


async def test_risky_tool_is_denied_by_default_and_allowed_by_rule(
    isolated_home: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    other = tmp_path / "scratch.txt"
    other.write_text("delete me")
    servers = {"test": stdio_test_server(tools={"delete_file": ToolPolicy(risk="high")})}
    approvals = ApprovalsConfig(
        threshold="high",
        rules=[PolicyRule(tool="test__delete_file", args="scratch", action="allow")],
    )
    cfg = settings(isolated_home, servers=servers, approvals=approvals)
    model = ScriptedBackend(
        [
            call("test__delete_file", path=str(victim)),
            call("test__delete_file", path=str(other)),
            Turn("done"),
        ]
    )
    async with Host(cfg, model=model) as host:
        denied = await host.run("delete the victim")
        assert denied.outcome.kind is OutcomeKind.DENIED
        assert victim.exists()
        allowed = await host.run("delete scratch")
        assert allowed.outcome.kind is OutcomeKind.COMPLETED
        assert not other.exists()
        recorded = [(r.tool, r.status, r.decided_by) for r in reversed(host.approvals.recent())]
        assert recorded == [
            ("test__delete_file", "denied", "policy"),
            ("test__delete_file", "approved", "policy"),
        ]
        assert host.approvals.verify()[0]


async def test_cacheable_tool_results_are_reused_until_restart(isolated_home: Path) -> None:
    servers = {"test": stdio_test_server(tools={"pid": ToolPolicy(cacheable=True, ttl_s=60)})}
    async with Host(settings(isolated_home, servers=servers), model=ScriptedBackend([])) as host:
        tools = host.toolbox.for_run("ses_x")
        first = await tools.call(ToolCall("a", "test__pid", {}))
        second = await tools.call(ToolCall("b", "test__pid", {}))
        assert (first.cached, second.cached) == (False, True)
        assert first.content == second.content
        await host.servers["test"].restart()
        await eventually(lambda: host.servers["test"].generation >= 2)
        third = await tools.call(ToolCall("c", "test__pid", {}))
        assert not third.cached
        assert third.content != first.content


async def test_user_budget_spans_runs(isolated_home: Path) -> None:
    def forever(request: ChatRequest) -> Turn:
        return call("test__add", a=1, b=1)

    budgets = BudgetsConfig(users={"alice": Budget(max_steps=5)})
    async with Host(
        settings(isolated_home, budgets=budgets), model=ScriptedBackend(forever)
    ) as host:
        first = await host.run(
            RunRequest("loop", budget=Budget(max_steps=3), principal=Principal.of(user="alice"))
        )
        assert first.outcome.exhaustion is not None
        assert first.outcome.exhaustion.scope == "run"
        second = await host.run(RunRequest("loop again", principal=Principal.of(user="alice")))
        exhaustion = second.outcome.exhaustion
        assert exhaustion is not None
        assert (exhaustion.kind, exhaustion.scope) == (BudgetKind.STEPS, "user:alice")
        assert second.steps == 2  # 5 allowed in the month, 3 used by the first run
        bob = await host.run(
            RunRequest("bob's loop", budget=Budget(max_steps=4), principal=Principal.of(user="bob"))
        )
        assert bob.steps == 4


async def test_compaction_summaries_are_kept_as_memory_notes(isolated_home: Path) -> None:
    def script(request: ChatRequest) -> Turn:
        if request.messages[0].content == "You write terse working notes.":
            return Turn("- fetched three blobs")
        done = sum(1 for m in request.messages if m.role == "tool")
        compacted = any("compacted" in m.content for m in request.messages)
        if compacted or done >= 4:
            return Turn("done")
        return call("test__blob", n=3000 + done)

    cfg = settings(
        isolated_home,
        agent=AgentConfig(context_tokens=2048, keep_recent_messages=2, max_tokens_per_call=64),
    )
    async with Host(cfg, model=ScriptedBackend(script)) as host:
        result = await host.run(
            RunRequest("fetch blobs", principal=Principal.of(tenant="acme", user="alice"))
        )
        assert result.outcome.kind is OutcomeKind.COMPLETED
        notes = host.notes.list_notes(Scope("acme", "alice"), tags=["compaction"])
        assert [n.key for n in notes] == [f"session:{result.session_id}:compaction:1"]
        assert "fetched three blobs" in notes[0].text
        assert notes[0].source_session == result.session_id
        assert host.notes.list_notes(Scope("acme", "bob")) == []
