"""The host served over MCP (stdio), driven by a real MCP client as an IDE would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import types
from mcp.client import Client, ClientRequestContext
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from auth.keys import KeyStore
from memory.sessions import SessionStore, make_engine
from tests.host.conftest import TEST_SERVER
from tests.host.test_host_edges import free_port
from tests.host.test_resume import REPO, write_config

pytestmark = pytest.mark.anyio


def serve_stdio(workdir: Path, home: Path) -> StdioServerParameters:
    """`agenthost serve --mcp` in ``workdir`` (where its agenthost.toml is)."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "cli", "serve", "--mcp"],
        env={
            "PYTHONPATH": str(REPO),
            "AGENTHOST_HOME": str(home),
            "PATH": os.environ.get("PATH", ""),
        },
        cwd=workdir,
    )


async def test_run_task_over_mcp_streams_progress_and_keeps_a_session_resource(
    tmp_path: Path, isolated_home: Path
) -> None:
    write_config(tmp_path / "agenthost.toml")
    params = serve_stdio(tmp_path, isolated_home)
    reports: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, message))

    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"run_task", "get_session"} <= tools
        result = await client.call_tool(
            "run_task", {"task": "count to five"}, progress_callback=on_progress
        )
        assert not result.is_error, result
        summary = result.structured_content or json.loads(
            next(c.text for c in result.content if isinstance(c, types.TextContent))
        )
        assert summary["outcome"]["kind"] == "completed"
        assert summary["answer"] == "The total is 5."
        assert summary["steps"] == 6
        # at once, with the session id: a client's first-progress timeout never fires
        assert reports[0] == (0, f"session {summary['session_id']} started")
        steps = [p for p in reports if p[1] and p[1].startswith("step") and "tokens" not in p[1]]
        assert [p[0] for p in steps] == [1, 2, 3, 4, 5, 6]
        assert steps[0][1] == "step 1: test__add"
        assert [p[0] for p in reports] == sorted(p[0] for p in reports)  # only ever grows

        resource = await client.read_resource(f"agenthost://sessions/{summary['session_id']}")
        body = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
        assert body["session"]["status"] == "completed"
        assert len(body["steps"]) == 6
        listing = await client.read_resource("agenthost://sessions")
        assert summary["session_id"] in listing.contents[0].text  # type: ignore[union-attr]


async def test_run_task_over_streamable_http(tmp_path: Path, isolated_home: Path) -> None:
    """Over HTTP every client needs a key: 401 without one or with a wrong one, and the run
    works with one (made as `agenthost keys create` makes it)."""
    write_config(tmp_path / "agenthost.toml")
    keys = KeyStore(make_engine(f"sqlite:///{isolated_home / 'agenthost.db'}"))
    key = keys.create(tenant="acme", user="alice").secret
    port = free_port()
    env = os.environ | {"PYTHONPATH": str(REPO), "AGENTHOST_HOME": str(isolated_home)}
    proc = await anyio.open_process(
        [
            sys.executable,
            "-m",
            "cli",
            "serve",
            "--mcp",
            "--transport",
            "http",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        with anyio.fail_after(30):
            while True:
                try:
                    async with httpx.AsyncClient() as http:
                        await http.get(url, timeout=0.5)
                    break
                except httpx.HTTPError:
                    await anyio.sleep(0.1)
        async with httpx.AsyncClient() as http:
            for headers in ({}, {"Authorization": "Bearer ahk_not-a-key"}):
                refused = await http.post(url, json={}, headers=headers)
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"].startswith("Bearer")
        authorized = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
        async with (
            authorized,
            Client(streamable_http_client(url, http_client=authorized)) as client,
        ):
            result = await client.call_tool("run_task", {"task": "count to five"})
            assert not result.is_error, result
            text = next(c.text for c in result.content if isinstance(c, types.TextContent))
            assert json.loads(text)["answer"] == "The total is 5."
        # the run is the key's principal's: its budgets, its scope in every tool call
        row = SessionStore(f"sqlite:///{isolated_home / 'agenthost.db'}").get(
            json.loads(text)["session_id"]
        )
        assert (row.tenant, row.user) == ("acme", "alice")
    finally:
        proc.terminate()
        with anyio.fail_after(10):
            await proc.wait()


@pytest.mark.parametrize(
    ("mode", "approve"), [("legacy", True), ("legacy", False), ("auto", True), ("auto", False)]
)
async def test_risky_calls_are_confirmed_by_the_mcp_client(
    tmp_path: Path, isolated_home: Path, mode: str, approve: bool
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    (tmp_path / "agenthost.toml").write_text(
        f"""
[inference.backends.local]
kind = "scripted"
script = "tests.host.scripts:deleter"

[servers.test]
command = "{sys.executable}"
args = ["{TEST_SERVER}"]
[servers.test.tools.delete_file]
risk = "critical"

[approvals]
default = "ask"
timeout_s = 30
"""
    )
    params = serve_stdio(tmp_path, isolated_home)
    questions: list[str] = []

    async def confirm(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(
            action="accept", content={"approve": approve, "reason": "checked by hand"}
        )

    # handshake-era sessions (what desktop apps and IDEs speak today) are asked mid-call over
    # the back-channel; 2026-07-28 ones get InputRequiredResult and retry with the answer
    async with Client(params, mode=mode, elicitation_callback=confirm) as client:
        result = await client.call_tool("run_task", {"task": f"delete {victim}"})
        if mode != "legacy":
            assert client.protocol_version >= "2026-07-28"
        text = next(c.text for c in result.content if isinstance(c, types.TextContent))
        summary = json.loads(text)
    assert "test__delete_file" in questions[0]
    assert str(victim) in questions[0]
    if approve:
        assert summary["outcome"]["kind"] == "completed"
        assert not victim.exists()
    else:
        assert summary["outcome"]["kind"] == "denied"
        assert "mcp-client" in summary["outcome"]["detail"]
        assert victim.exists()


async def test_run_task_takes_the_request_fields_and_says_why_it_refuses(
    tmp_path: Path, isolated_home: Path
) -> None:
    write_config(tmp_path / "agenthost.toml")
    async with Client(serve_stdio(tmp_path, isolated_home)) as client:
        bad = await client.call_tool("run_task", {"task": "count", "max_steps": -1})
        assert bad.is_error
        assert "max_steps" in str(bad.content)
        unknown = await client.call_tool("run_task", {"task": "count", "role": "nobody"})
        assert unknown.is_error
        assert "unknown role 'nobody'" in str(unknown.content)
        cut = await client.call_tool(
            "run_task", {"task": "count to five", "tools": ["test__*"], "max_steps": 2}
        )
        summary = json.loads(next(c.text for c in cut.content if isinstance(c, types.TextContent)))
        assert summary["outcome"]["kind"] == "budget_exhausted"
        listed = await client.call_tool("list_sessions", {"limit": 5})
        assert listed.structured_content is not None
        rows = listed.structured_content["result"]
        assert rows[0]["session_id"] == summary["session_id"]
        assert rows[0]["status"] == "budget_exhausted"


async def test_a_cancelled_run_task_is_saved_and_resumes(
    tmp_path: Path, isolated_home: Path
) -> None:
    write_config(tmp_path / "agenthost.toml")
    store = SessionStore(f"sqlite:///{isolated_home / 'agenthost.db'}")
    started: list[str] = []
    async with Client(serve_stdio(tmp_path, isolated_home)) as client:
        async with anyio.create_task_group() as tg:

            async def on_progress(
                progress: float, total: float | None, message: str | None
            ) -> None:
                if message and message.startswith("session "):
                    started.append(message.split()[1])
                if progress >= 2:  # two steps done: the client gives up (notifications/cancelled)
                    tg.cancel_scope.cancel()

            await client.call_tool(
                "run_task", {"task": "count to five"}, progress_callback=on_progress
            )
        session = started[0]
        with anyio.fail_after(30):
            while store.get(session).status != "cancelled":  # noqa: ASYNC110 - another process
                await anyio.sleep(0.1)
        assert 2 <= store.get(session).steps < 6
        resumed = await client.call_tool("resume_task", {"session_id": session})
        text = next(c.text for c in resumed.content if isinstance(c, types.TextContent))
        assert json.loads(text)["answer"] == "The total is 5."
    store.close()
