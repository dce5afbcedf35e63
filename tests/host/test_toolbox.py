"""Each toolbox layer alone (cache, gate, filter, the MCP registry's memo), over a fake inner
layer that counts calls. The layers together, over real MCP servers: test_host_runs.py."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from agents.tools import ToolResult
from approvals import ApprovalRequest, ApprovalsConfig, Asker, Decision
from host.host import Host
from host.mcp_servers import ManagedServer, RemoteTool
from host.toolbox import (
    NO_CONTEXT,
    CachedTools,
    CallContext,
    Entry,
    FilteredTools,
    GatedTools,
    McpTools,
    RunTools,
    Toolbox,
)
from inference.backends.scripted import ScriptedBackend
from inference.types import ToolCall
from settings import RoleConfig, ServerConfig, Settings, ToolPolicy

pytestmark = pytest.mark.anyio

ANNOTATED = Path(__file__).with_name("annotated_server.py")
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def server(name: str = "s", **policies: ToolPolicy) -> ManagedServer:
    """A server object that is never started: the layers read only its name, generation,
    config and tool list."""
    config = ServerConfig(command=sys.executable, tools=dict(policies))
    return ManagedServer(name, config)


def entry(srv: ManagedServer, tool: str, *, risk: str = "low", cacheable: bool = False) -> Entry:
    policy = ToolPolicy(cacheable=cacheable, ttl_s=60)
    return Entry(f"{srv.name}__{tool}", srv, RemoteTool(srv.name, tool, "", SCHEMA), risk, policy)  # type: ignore[arg-type]


class Counting:
    """The innermost layer of these tests: answers with the call count and the arguments."""

    def __init__(self, *entries: Entry, fail: bool = False) -> None:
        self._entries = {e.name: e for e in entries}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def entries(self) -> Mapping[str, Entry]:
        return self._entries

    async def call(
        self, entry: Entry, arguments: dict[str, Any], context: CallContext = NO_CONTEXT
    ) -> ToolResult:
        self.calls.append((entry.name, arguments))
        if self.fail:
            return ToolResult.error("tool_error", "boom")
        return ToolResult(f"call {len(self.calls)}: {arguments}")


class Answering:
    """An approval gate that gives one decision and remembers what it was asked."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.asked: list[ApprovalRequest] = []

    async def decide(self, request: ApprovalRequest, asker: Asker | None = None) -> Decision:
        self.asked.append(request)
        return self.decision


async def test_cache_reuses_results_until_the_server_reconnects() -> None:
    srv = server()
    cached, plain = entry(srv, "read", cacheable=True), entry(srv, "write")
    inner = Counting(cached, plain)
    layer = CachedTools(inner)
    first = await layer.call(cached, {"n": 1})
    again = await layer.call(cached, {"n": 1})
    assert (first.cached, again.cached) == (False, True)
    assert again.content == first.content
    assert not (await layer.call(cached, {"n": 2})).cached  # other arguments, other entry
    await layer.call(plain, {"n": 1})
    await layer.call(plain, {"n": 1})
    assert len(inner.calls) == 4  # the uncacheable tool ran both times
    srv.generation += 1  # a reconnect
    assert not (await layer.call(cached, {"n": 1})).cached


async def test_cache_keeps_no_errors() -> None:
    srv = server()
    cached = entry(srv, "read", cacheable=True)
    inner = Counting(cached, fail=True)
    layer = CachedTools(inner)
    await layer.call(cached, {"n": 1})
    await layer.call(cached, {"n": 1})
    assert len(inner.calls) == 2


async def test_gate_asks_only_for_gated_risks_and_a_denial_never_runs() -> None:
    srv = server()
    low, high = entry(srv, "look"), entry(srv, "delete", risk="high")
    inner = Counting(low, high)
    gate = Answering(Decision("deny", "alice", "not today"))
    layer = GatedTools(inner, gate, ApprovalsConfig(), session_id="ses_1", role=None, agent="x")
    assert not (await layer.call(low, {"n": 1})).is_error
    denied = await layer.call(high, {"n": 2})
    assert (denied.error_kind, denied.content) == ("denied", "approval denied by alice: not today")
    assert inner.calls == [("s__look", {"n": 1})]
    assert [(r.tool, r.session_id, r.arguments) for r in gate.asked] == [
        ("s__delete", "ses_1", {"n": 2})
    ]


async def test_gate_runs_an_approvers_edit_and_checks_it_against_the_schema() -> None:
    srv = server()
    high = entry(srv, "delete", risk="high")
    inner = Counting(high)
    edit = GatedTools(
        inner,
        Answering(Decision("edit", "bob", "smaller", {"n": 3})),
        ApprovalsConfig(),
        session_id="ses_1",
        role=None,
        agent="x",
    )
    result = await edit.call(high, {"n": 99})
    assert result.arguments == {"n": 3}
    assert inner.calls == [("s__delete", {"n": 3})]
    bad = GatedTools(
        inner,
        Answering(Decision("edit", "bob", "", {"n": "three"})),
        ApprovalsConfig(),
        session_id="ses_1",
        role=None,
        agent="x",
    )
    refused = await bad.call(high, {"n": 99})
    assert refused.error_kind == "invalid_arguments"
    assert len(inner.calls) == 1


async def test_filter_hides_tools_and_the_run_cannot_call_them() -> None:
    srv = server()
    add, rm = entry(srv, "add"), entry(srv, "rm")
    inner = Counting(add, rm)
    run = RunTools(FilteredTools(inner, RoleConfig(tools=["s__*"], deny=["s__rm"]).allows))
    assert [s.name for s in run.specs()] == ["s__add"]
    hidden = await run.call(ToolCall("c1", "s__rm", {"n": 1}))
    assert hidden.error_kind == "unknown_tool"
    assert "available: s__add" in hidden.content
    assert not (await run.call(ToolCall("c2", "s__add", {"n": 1}))).is_error
    assert inner.calls == [("s__add", {"n": 1})]


async def test_registry_rebuilds_only_when_a_tool_list_changes() -> None:
    srv = server()
    srv.tools = [RemoteTool("s", "one", "", SCHEMA)]
    registry = McpTools({"s": srv})
    first = registry.entries()
    assert list(first) == ["s__one"]
    assert registry.entries() is first  # memoised
    srv.tools = [*srv.tools, RemoteTool("s", "two", "", SCHEMA)]
    srv.tools_version += 1  # what a re-list does
    assert list(registry.entries()) == ["s__one", "s__two"]


async def test_toolbox_stacks_role_and_run_globs() -> None:
    srv = server()
    srv.tools = [RemoteTool("s", name, "", SCHEMA) for name in ("add", "sub", "rm")]
    box = Toolbox(
        {"s": srv},
        {"maths": RoleConfig(tools=["s__add", "s__sub"])},
        Answering(Decision("approve", "policy", "")),
        ApprovalsConfig(),
    )
    assert set(box.entries()) == {"s__add", "s__sub", "s__rm"}
    assert set(box.entries("maths")) == {"s__add", "s__sub"}
    run = box.for_run("ses_1", role="maths", only=["*sub"])
    assert [s.name for s in run.specs()] == ["s__sub"]


async def test_annotations_set_risk_and_caching_unless_the_config_says(
    isolated_home: Path,
) -> None:
    """A real server's annotations, with no word about its tools in the config: destructive
    → approval (denied by the default policy), read-only + idempotent → cached."""
    annotated = ServerConfig(command=sys.executable, args=[str(ANNOTATED)])
    overridden = annotated.model_copy(
        update={"tools": {"erase": ToolPolicy(risk="low"), "lookup": ToolPolicy(cacheable=False)}}
    )
    async with Host(
        Settings(home=isolated_home, servers={"a": annotated, "b": overridden}),
        model=ScriptedBackend([]),
    ) as host:
        entries = host.toolbox.entries()
        assert (entries["a__erase"].risk, entries["a__lookup"].policy.cacheable) == ("high", True)
        assert not entries["a__now"].policy.cacheable
        assert (entries["b__erase"].risk, entries["b__lookup"].policy.cacheable) == ("low", False)
        run = host.toolbox.for_run("ses_1")
        denied = await run.call(ToolCall("c1", "a__erase", {"name": "x"}))
        assert denied.error_kind == "denied"
        assert not (await run.call(ToolCall("c2", "b__erase", {"name": "x"}))).is_error
        first = await run.call(ToolCall("c3", "a__lookup", {"key": "k"}))
        again = await run.call(ToolCall("c4", "a__lookup", {"key": "k"}))
        assert (first.cached, again.cached, again.content) == (False, True, first.content)
