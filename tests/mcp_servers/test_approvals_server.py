"""The approvals MCP server over real stdio, on the same database the host writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import types
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from approvals import ApprovalRequest, ApprovalStore
from memory.sessions import make_engine

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.anyio


def payload(result: types.CallToolResult) -> Any:
    if result.structured_content is not None:
        content = result.structured_content
        return content.get("result", content)
    return json.loads(next(c.text for c in result.content if isinstance(c, types.TextContent)))


async def test_list_edit_approve_deny_and_verify(isolated_home: Path) -> None:
    # no --db: the server finds the database where the host keeps it, under AGENTHOST_HOME
    url = f"sqlite:///{isolated_home / 'agenthost.db'}"
    store = ApprovalStore(make_engine(url))
    first = ApprovalRequest("ses_1", "files__write", {"path": "/srv/a"}, "high")
    second = ApprovalRequest("ses_1", "files__delete", {"path": "/srv/b"}, "critical")
    store.submit(first)
    store.submit(second)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_servers.approvals", "--decider", "ide:alice"],
        cwd=str(REPO),
        env={"AGENTHOST_HOME": str(isolated_home)},
    )
    async with Client(params) as client:
        pending = payload(await client.call_tool("list_pending", {}))
        assert [p["id"] for p in pending] == [first.id, second.id]
        edited = payload(
            await client.call_tool(
                "approve",
                {
                    "approval_id": first.id,
                    "reason": "drafts only",
                    "arguments": {"path": "/srv/drafts/a"},
                },
            )
        )
        assert edited["status"] == "edited"
        assert edited["decided_by"] == "ide:alice"
        denied = payload(await client.call_tool("deny", {"approval_id": second.id}))
        assert denied["status"] == "denied"
        again = await client.call_tool("deny", {"approval_id": second.id})
        assert again.is_error
        assert "already denied" in again.content[0].text  # type: ignore[union-attr]
        assert payload(await client.call_tool("list_pending", {})) == []
        audit = payload(await client.call_tool("verify_audit", {}))
        assert audit == {"ok": True, "detail": "4 entries, chain intact"}
    row = store.get(first.id)
    assert row is not None
    assert row.decision() is not None
    assert row.edited_arguments == {"path": "/srv/drafts/a"}
