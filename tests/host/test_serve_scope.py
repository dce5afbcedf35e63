"""`agenthost serve --mcp --transport http` with keys of two tenants (and an admin): each
caller lists, reads and resumes only the sessions it may see, and another principal's
session is answered exactly as an unknown one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import types
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from auth.keys import KeyStore
from core import ids
from core.principal import ADMIN_ROLE
from memory.sessions import make_engine
from tests.host.test_host_edges import free_port
from tests.host.test_resume import REPO
from tests.keys import until_listening

pytestmark = pytest.mark.anyio

UNKNOWN = "ses_0123456789abcdef"


def text(result: types.CallToolResult) -> str:
    return next(c.text for c in result.content if isinstance(c, types.TextContent))


async def data(result: types.CallToolResult) -> Any:
    assert not result.is_error, text(result)
    if result.structured_content is not None:
        content = result.structured_content
        return content["result"] if set(content) == {"result"} else content
    return json.loads(text(result))


async def refusal(client: Client, tool: str, session_id: str) -> str:
    """What ``tool`` says of ``session_id``, with the id itself blanked out (so two refusals
    of different ids compare equal exactly when they say the same)."""
    result = await client.call_tool(tool, {"session_id": session_id})
    assert result.is_error, result
    return text(result).replace(session_id, "<ID>")


async def resource_refusal(client: Client, session_id: str) -> str:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(f"agenthost://sessions/{session_id}")
    return f"{caught.value.error.code} {caught.value.error.message}".replace(session_id, "<ID>")


async def test_each_key_sees_and_resumes_only_what_it_may(
    tmp_path: Path, isolated_home: Path
) -> None:
    (tmp_path / "agenthost.toml").write_text(
        '[inference.backends.local]\nkind = "scripted"\nscript = "tests.host.scripts:echo"\n'
    )
    keys = KeyStore(make_engine(f"sqlite:///{isolated_home / 'agenthost.db'}"))
    secrets = {
        "alice": keys.create(tenant="acme", user="alice").secret,
        "bob": keys.create(tenant="acme", user="bob").secret,
        "carol": keys.create(tenant="globex", user="carol").secret,
        "admin": keys.create(tenant="acme", user="root", roles=[ADMIN_ROLE]).secret,
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = os.environ | {"PYTHONPATH": str(REPO), "AGENTHOST_HOME": str(isolated_home)}
    serve = [sys.executable, "-m", "cli", "serve", "--mcp", "--transport", "http"]
    proc = await anyio.open_process(
        [*serve, "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    @asynccontextmanager
    async def as_(name: str) -> AsyncIterator[Client]:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {secrets[name]}"})
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            yield client

    try:
        await until_listening(port, within_s=60)
        runs: dict[str, str] = {}
        for name in ("alice", "bob", "carol"):
            async with as_(name) as client:
                summary = await data(await client.call_tool("run_task", {"task": f"for {name}"}))
                assert summary["answer"] == f"Done: for {name}"
                runs[name] = summary["session_id"]
        everyone = set(runs.values())

        async def listed(client: Client) -> tuple[set[str], set[str]]:
            """The ids list_sessions and agenthost://sessions show."""
            tool = {r["session_id"] for r in await data(await client.call_tool("list_sessions"))}
            read = await client.read_resource("agenthost://sessions")
            body = json.loads(read.contents[0].text)  # type: ignore[union-attr]
            return tool, {r["id"] for r in body}

        visible = {
            "alice": {runs["alice"]},
            "bob": {runs["bob"]},
            "carol": {runs["carol"]},
            "admin": {runs["alice"], runs["bob"]},  # its tenant's, not globex's
        }
        for name, sees in visible.items():
            async with as_(name) as client:
                assert await listed(client) == (sees, sees), name
                for session_id in sees:
                    got = await data(
                        await client.call_tool("get_session", {"session_id": session_id})
                    )
                    assert got["session"]["id"] == session_id
                    read = await client.read_resource(f"agenthost://sessions/{session_id}")
                    assert json.loads(read.contents[0].text)["session"]["id"] == session_id  # type: ignore[union-attr]
                    # visible, so resume_task gets as far as the session's own state
                    said = await refusal(client, "resume_task", session_id)
                    assert said.endswith("session <ID> already completed; nothing to resume")

                # another's session, by its id or a prefix of it: as if there were none
                unknown = {
                    "get_session": await refusal(client, "get_session", UNKNOWN),
                    "resume_task": await refusal(client, "resume_task", UNKNOWN),
                    "resource": await resource_refusal(client, UNKNOWN),
                }
                assert unknown["get_session"].endswith("no session '<ID>'")
                for other in everyone - sees:
                    for ref in (other, ids.short(other)):
                        assert await refusal(client, "get_session", ref) == unknown["get_session"]
                        assert await refusal(client, "resume_task", ref) == unknown["resume_task"]
                        assert await resource_refusal(client, ref) == unknown["resource"]
    finally:
        proc.terminate()
        with anyio.fail_after(10):
            await proc.wait()
