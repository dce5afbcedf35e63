"""The approvals MCP server over real stdio, on the same database the host writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import types
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from approvals import ApprovalRequest, ApprovalStore
from auth.keys import KeyStore
from memory.sessions import make_engine
from tests.host.test_host_edges import free_port
from tests.keys import until_listening

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


async def test_over_http_only_an_approver_key_decides(isolated_home: Path) -> None:
    """The high-risk call a local client once approved with no credentials: over HTTP the
    server wants a key (401 without), and a key without the approver role may list but not
    decide; an approver's decision records the key's principal."""
    url = f"sqlite:///{isolated_home / 'agenthost.db'}"
    store = ApprovalStore(make_engine(url))
    request = ApprovalRequest("ses_1", "files__delete", {"path": "/srv/b"}, "critical")
    store.submit(request)
    keys = KeyStore(make_engine(url))
    viewer = keys.create(tenant="acme", user="bob").secret
    approver = keys.create(tenant="acme", user="alice", roles=["approver"]).secret
    port = free_port()
    process = await anyio.open_process(
        [sys.executable, "-m", "mcp_servers.approvals", "--transport", "http", "--port", str(port)],
        cwd=str(REPO), env={**os.environ, "AGENTHOST_HOME": str(isolated_home)},
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}/mcp"
    try:
        await until_listening(port, within_s=60)
        async with httpx.AsyncClient() as anonymous:
            assert (await anonymous.post(endpoint, json={})).status_code == 401
        for secret, allowed in ((viewer, False), (approver, True)):
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {secret}"})
            async with http, Client(streamable_http_client(endpoint, http_client=http)) as c:
                assert payload(await c.call_tool("list_pending", {}))[0]["id"] == request.id
                result = await c.call_tool("approve", {"approval_id": request.id})
                if not allowed:
                    assert result.is_error
                    text = next(b.text for b in result.content if isinstance(b, types.TextContent))
                    assert "needs the 'approver' role" in text
                    assert store.get(request.id).status == "pending"  # type: ignore[union-attr]
                else:
                    assert payload(result)["decided_by"] == "mcp:acme/alice"
    finally:
        process.terminate()
        await process.wait()
    assert store.get(request.id).status == "approved"  # type: ignore[union-attr]
