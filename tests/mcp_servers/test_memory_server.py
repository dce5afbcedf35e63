"""The memory MCP server over real stdio, with the real embedded model for summaries."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from agents import RunState
from core.principal import Principal
from inference import Message
from memory.sessions import SessionStore
from tests.mcp_servers.test_approvals_server import REPO, payload

pytestmark = [pytest.mark.anyio, pytest.mark.realmodel]


def server(url: str, tenant: str, user: str) -> StdioServerParameters:
    home = Path(url.removeprefix("sqlite:///")).parent / "home"  # its logs
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_servers.memory", "--db", url, "--tenant", tenant, "--user", user],
        cwd=str(REPO),
        env={"AGENTHOST_HOME": str(home)},
    )


async def test_remember_recall_forget_and_summarize(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agenthost.db'}"
    owner = Principal.of(tenant="acme", user="alice")
    state = RunState.new("what port does staging use", principal=owner)
    state.messages = [
        Message.system("sys"),
        Message.user("what port does staging use"),
        Message.tool("call_1", "staging listens on port 5433", "infra__lookup"),
        Message.assistant("Staging uses port 5433."),
        Message.user("thanks"),
    ]
    SessionStore(url).save(state)

    async with Client(server(url, "acme", "alice")) as alice:
        tools = {t.name: t for t in (await alice.list_tools()).tools}
        assert set(tools) >= {"remember", "recall", "forget", "list_notes", "summarize_session"}
        for tool in tools.values():  # whose memory it is never comes from the model
            assert not {"tenant", "user"} & set(tool.input_schema.get("properties", {}))
        note = payload(
            await alice.call_tool(
                "remember",
                {"text": "Staging runs on port 5433.", "key": "staging", "tags": ["infra"]},
            )
        )
        assert note["key"] == "staging"
        hits = payload(await alice.call_tool("recall", {"query": "staging port"}))
        assert hits[0]["key"] == "staging"
        summary = payload(
            await alice.call_tool("summarize_session", {"session_id": state.session_id})
        )
        assert summary["key"] == f"session:{state.session_id}:summary"
        assert summary["text"].strip()
        assert "compacted:" in summary["text"]

    async with Client(server(url, "acme", "bob")) as bob:
        assert payload(await bob.call_tool("recall", {"query": "staging port"})) == []
        assert payload(await bob.call_tool("forget", {"key": "staging"}))["forgotten"] is False
        denied = await bob.call_tool("summarize_session", {"session_id": state.session_id})
        assert denied.is_error

    async with Client(server(url, "acme", "alice")) as alice:
        assert payload(await alice.call_tool("forget", {"key": "staging"}))["forgotten"] is True
