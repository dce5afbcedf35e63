"""One memory server process, many users: each call is scoped by the principal it is for (the
request's ``_meta``, sent by the host), never by a tool argument, and over HTTP a caller can
only claim another principal with a key that has the host role."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from auth.keys import KeyStore
from core.principal import Principal
from memory.sessions import make_engine
from tests.host.test_host_edges import free_port
from tests.keys import until_listening
from tests.mcp_servers.test_approvals_server import REPO, payload

pytestmark = pytest.mark.anyio
ALICE = Principal("acme", "alice")
BOB = Principal("acme", "bob")
MEMORY = ["-m", "mcp_servers.memory", "--embedder", "none", "--no-model"]


async def notes(client: Client, who: Principal | None) -> list[str]:
    meta: Any = who.to_meta() if who else None
    return [n["text"] for n in payload(await client.call_tool("list_notes", {}, meta=meta))]


async def test_one_stdio_server_keeps_each_principals_notes_apart(isolated_home: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=MEMORY, cwd=str(REPO),
        env={"AGENTHOST_HOME": str(isolated_home)},
    )  # fmt: skip
    async with Client(params) as client:
        for who, text in ((ALICE, "alice's secret"), (BOB, "bob's plan")):
            meta: Any = who.to_meta()
            await client.call_tool("remember", {"text": text}, meta=meta)
        assert await notes(client, ALICE) == ["alice's secret"]
        assert await notes(client, BOB) == ["bob's plan"]
        assert await notes(client, None) == []  # the process's own scope: neither
        recalled = await client.call_tool(
            "recall",
            {"query": "secret plan", "mode": "keyword"},
            meta=BOB.to_meta(),  # type: ignore[arg-type]
        )
        assert [n["text"] for n in payload(recalled)] == ["bob's plan"]


async def test_over_http_only_a_host_key_may_act_for_another_principal(
    isolated_home: Path,
) -> None:
    keys = KeyStore(make_engine(f"sqlite:///{isolated_home / 'agenthost.db'}"))
    mallory = keys.create(tenant="acme", user="mallory").secret
    host = keys.create(tenant="acme", user="agenthost", roles=["host"]).secret
    port = free_port()
    process = await anyio.open_process(
        [sys.executable, *MEMORY, "--transport", "http", "--port", str(port)],
        cwd=str(REPO), env={**os.environ, "AGENTHOST_HOME": str(isolated_home)},
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        await until_listening(port, within_s=60)
        as_host = create_mcp_http_client(headers={"Authorization": f"Bearer {host}"})
        async with as_host, Client(streamable_http_client(url, http_client=as_host)) as c:
            await c.call_tool("remember", {"text": "alice's secret"}, meta=ALICE.to_meta())  # type: ignore[arg-type]
            assert await notes(c, ALICE) == ["alice's secret"]
        thief = create_mcp_http_client(headers={"Authorization": f"Bearer {mallory}"})
        async with thief, Client(streamable_http_client(url, http_client=thief)) as c:
            assert await notes(c, ALICE) == []  # the claim is ignored: mallory's own scope
            await c.call_tool("remember", {"text": "mallory was here"}, meta=ALICE.to_meta())  # type: ignore[arg-type]
            assert await notes(c, None) == ["mallory was here"]
    finally:
        process.terminate()
        await process.wait()


async def test_the_host_sends_each_runs_principal_with_its_tool_calls(isolated_home: Path) -> None:
    """Two users' runs through one memory server process: each note lands in its run's
    user's scope, though the server was started for nobody in particular."""
    from agents.request import RunRequest
    from host.host import Host
    from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
    from memory.notes import NotesStore, Scope
    from settings import ServerConfig, Settings

    def script(request: Any) -> Turn:
        if any(m.role == "tool" for m in request.messages):
            return Turn("noted")
        task = next(m.content for m in request.messages if m.role == "user")
        return Turn("", (ScriptedCall("memory__remember", {"text": task}),))

    servers = {"memory": ServerConfig(command=sys.executable, args=MEMORY, cwd=str(REPO))}
    async with Host(
        Settings(home=isolated_home, servers=servers), model=ScriptedBackend(script)
    ) as host:
        for who in (ALICE, BOB):
            await host.run(RunRequest(f"{who.user} likes tea", principal=who))
        store = NotesStore(host.store.engine)
        for who in (ALICE, BOB):
            texts = [n.text for n in store.list_notes(Scope(who.tenant, who.user))]
            assert texts == [f"{who.user} likes tea"]


async def test_sandbox_sessions_are_per_principal(isolated_home: Path) -> None:
    """Two users' "default" sessions on one sandbox process never share files; a call for
    nobody in particular keeps the process's own sessions."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_servers.sandbox"], cwd=str(REPO),
        env={"AGENTHOST_HOME": str(isolated_home), "PATH": os.environ.get("PATH", "")},
    )  # fmt: skip
    async with Client(params) as client:

        async def files(who: Principal | None) -> list[str]:
            meta: Any = who.to_meta() if who else None
            listed = await client.call_tool("list_files", {}, meta=meta)
            assert not listed.is_error, listed
            return [f["path"] for f in payload(listed)]

        upload = {"path": "plan.txt", "content": "alice's plan"}
        written = await client.call_tool("upload_file", upload, meta=ALICE.to_meta())  # type: ignore[arg-type]
        if written.is_error and "isolation" in str(written.content):
            pytest.skip("no sandbox isolation on this machine")
        assert not written.is_error, written
        assert await files(ALICE) == ["plan.txt"]
        assert await files(BOB) == []
        assert await files(None) == []
