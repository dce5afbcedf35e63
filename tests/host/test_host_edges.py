"""The host at its edges: streamable HTTP servers, dead servers, cancellation. (The CLI's
errors: tests/cli.)"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from agents import OutcomeKind
from agents.events import RunEvent, ToolProgress
from agents.request import RunRequest
from core.errors import InvalidRequest
from host.host import Host
from host.mcp_servers import ServerState
from inference import ChatRequest
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from settings import ServerConfig, Settings
from tests.host.conftest import TEST_SERVER, stdio_test_server

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(TEST_SERVER), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


async def test_streamable_http_server(isolated_home: Path, http_server: str) -> None:
    model = ScriptedBackend([Turn("", (ScriptedCall("web__add", {"a": 20, "b": 22}),)), Turn("42")])
    servers = {"web": ServerConfig(url=http_server, headers={"Authorization": "Bearer test"})}
    async with Host(Settings(home=isolated_home, servers=servers), model=model) as host:
        assert host.servers["web"].state is ServerState.UP
        result = await host.run("add over http")
        assert result.outcome.kind is OutcomeKind.COMPLETED
        assert host.store.steps(result.session_id)[0].tools[0].result == "42"


async def test_a_server_that_cannot_start_does_not_stop_the_host(isolated_home: Path) -> None:
    servers = {
        "broken": ServerConfig(command="/nonexistent/mcp-server", start_timeout_s=2),
        "test": stdio_test_server(),
    }
    model = ScriptedBackend(
        [
            Turn("", (ScriptedCall("broken__anything", {}),)),
            Turn("", (ScriptedCall("test__add", {"a": 1, "b": 1}),)),
            Turn("2"),
        ]
    )
    async with Host(Settings(home=isolated_home, servers=servers), model=model) as host:
        broken = host.servers["broken"]
        assert broken.state is not ServerState.UP
        assert broken.last_error
        assert not any(n.startswith("broken__") for n in host.toolbox.entries())
        result = await host.run("use what works")
        assert result.outcome.kind is OutcomeKind.COMPLETED
        first = host.store.steps(result.session_id)[0].tools[0]
        assert first.error_kind == "unknown_tool"


async def test_cancelling_a_run_keeps_its_work(isolated_home: Path) -> None:
    def slow(request: ChatRequest) -> Turn:
        n = sum(1 for m in request.messages if m.role == "tool")
        return Turn("thinking " * 20, (ScriptedCall("test__add", {"a": n, "b": 1}),))

    model = ScriptedBackend(slow, token_delay_s=0.02)
    settings = Settings(home=isolated_home, servers={"test": stdio_test_server()})
    async with Host(settings, model=model) as host:
        with anyio.move_on_after(1.5):
            await host.run("go on forever")
        row = host.store.recent(limit=1)[0]
        assert row.status == "cancelled"
        assert row.steps >= 1
        assert host.store.steps(row.id)


EVERYTHING = (
    Path(__file__).resolve().parents[2] / ".cache/node/node_modules/.bin/mcp-server-everything"
)


@pytest.mark.skipif(not EVERYTHING.exists(), reason="make node-servers could not install it (npm)")
async def test_a_typescript_server_from_npm(isolated_home: Path) -> None:
    """The MCP project's reference server in TypeScript (an older protocol revision)."""
    model = ScriptedBackend(
        [
            Turn("", (ScriptedCall("everything__get-sum", {"a": 2, "b": 3}),)),
            Turn("", (ScriptedCall("everything__echo", {"message": "hello"}),)),
            Turn("done"),
        ]
    )
    servers = {"everything": ServerConfig(command=str(EVERYTHING), args=["stdio"])}
    async with Host(Settings(home=isolated_home, servers=servers), model=model) as host:
        result = await host.run("sum and echo")
        assert result.outcome.kind is OutcomeKind.COMPLETED
        tools = [t for s in host.store.steps(result.session_id) for t in s.tools]
        assert tools[0].result == "The sum of 2 and 3 is 5."
        assert tools[1].result == "Echo: hello"


@pytest.mark.skipif(not EVERYTHING.exists(), reason="make node-servers could not install it (npm)")
async def test_everything_progress_images_resources_and_prompts(isolated_home: Path) -> None:
    """The reference server's long-running tool reports progress into the run's events (and
    its span); its image comes back as an attachment the model sees a label of; its resources
    and prompts are listed, read, attached to a run and used as a run's template."""
    model = ScriptedBackend(
        [
            Turn("", (ScriptedCall(
                "everything__trigger-long-running-operation", {"duration": 0.3, "steps": 3}
            ),)),
            Turn("", (ScriptedCall("everything__get-tiny-image", {}),)),
            Turn("done"),
            Turn("the features"),
            Turn("hello Paris"),
        ]
    )  # fmt: skip
    servers = {"everything": ServerConfig(command=str(EVERYTHING), args=["stdio"])}
    events: list[RunEvent] = []

    async def keep(event: RunEvent) -> None:
        events.append(event)

    async with Host(Settings(home=isolated_home, servers=servers), model=model) as host:
        # it registers its long-running tool after the handshake (tools/list_changed)
        with anyio.fail_after(30):
            while "everything__trigger-long-running-operation" not in host.toolbox.entries():  # noqa: ASYNC110 - no event for a re-list
                await anyio.sleep(0.05)
        only = ("everything__trigger-long-running-operation", "everything__get-tiny-image")
        request = RunRequest("work slowly, then show the logo", tools=only)
        result = await host.run(request, on_event=keep)
        assert result.outcome.kind is OutcomeKind.COMPLETED
        progress = [e for e in events if isinstance(e, ToolProgress)]
        assert [p.progress for p in progress] == [1, 2, 3]
        assert {p.total for p in progress} == {3}
        assert progress[0].call.name == "everything__trigger-long-running-operation"
        long_run, image = [t for s in host.store.steps(result.session_id) for t in s.tools]
        assert not long_run.is_error
        assert not image.is_error
        assert len(image.attachments) == 1
        picture = image.attachments[0]
        assert (picture.kind, picture.mime_type) == ("image", "image/png")
        assert base64.b64decode(picture.data)[:4] == b"\x89PNG"  # kept whole, in the session
        assert "[image attachment 1: image/png" in image.result  # what the model read
        spans = [s for s in host.store.spans(result.trace_id) if s.kind == "tool"]
        assert spans[0].attributes["agenthost.tool.progress_reports"] == 3

        listed = await host.resources()
        refs = [r.ref for r in listed]
        features = "everything:demo://resource/static/document/features.md"
        assert features in refs
        text = await host.read_resource(features)
        assert text.strip()
        attached = await host.run(RunRequest("summarise it", resources=(features,)))
        task = host.store.load(attached.session_id).task
        assert task.startswith("summarise it\n\nAttached resource " + features)
        assert text.strip()[:200] in task

        prompts = {p.ref: p for p in await host.prompts()}
        assert ("city", True) in prompts["everything:args-prompt"].arguments
        templated = await host.run(
            RunRequest("", prompt="everything:args-prompt", prompt_args={"city": "Paris"})
        )
        assert "Paris" in host.store.load(templated.session_id).task
        with pytest.raises(InvalidRequest, match="unknown MCP server 'nope'"):
            await host.read_resource("nope:demo://x")
        with pytest.raises(InvalidRequest, match="prompt everything:missing"):
            await host.render_prompt("everything:missing")


@pytest.mark.parametrize("how", ["killed", "hung"])
async def test_a_server_that_fails_while_idle_is_restarted_before_the_next_call(
    isolated_home: Path, how: str
) -> None:
    """No call is in flight: a killed server's closed pipe, or a hung one's failed ping, gets
    it restarted, and the next call goes to the new process."""
    servers = {"test": stdio_test_server(ping_interval_s=0.2, call_timeout_s=2.0)}
    model = ScriptedBackend([Turn("unused")])
    async with Host(Settings(home=isolated_home, servers=servers), model=model) as host:
        server = host.servers["test"]
        first = int(_text(await server.call("pid", {})))
        os.kill(first, signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        try:
            with anyio.fail_after(60):
                while server.restarts < 1 or server.state is not ServerState.UP:  # noqa: ASYNC110 - watching the supervisor
                    await anyio.sleep(0.05)
            if how == "hung":
                assert "ping failed" in server.last_error
            second = int(_text(await server.call("pid", {})))
            assert second != first
        finally:
            with contextlib.suppress(ProcessLookupError):  # the restart may have ended it
                os.kill(first, signal.SIGKILL)


def _text(result: Any) -> str:
    return str(result.content[0].text)
