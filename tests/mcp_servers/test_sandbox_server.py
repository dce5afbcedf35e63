"""The sandbox MCP server over real stdio: a client session against ``python -m``. It reads
its home and ``[sandbox]`` the way the host does (``settings.load_settings``)."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.client import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.keys import bearer_headers, until_listening
from tests.sandbox.conftest import capabilities

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def connect(home: Path | None, *extra: str) -> AsyncIterator[ClientSession]:
    """A session with ``python -m mcp_servers.sandbox``; ``home`` is its AGENTHOST_HOME (None:
    none set, the configuration decides). The client passes only a minimal environment."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_servers.sandbox", *extra],
        cwd=REPO,
        env={"AGENTHOST_HOME": str(home)} if home is not None else {},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def call(client: ClientSession, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


async def call_error(client: ClientSession, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    return " ".join(getattr(block, "text", "") for block in result.content)


@pytest.fixture
def strong() -> None:
    if capabilities().strongest is None:
        pytest.skip("no strong isolation on this machine")


@pytest.mark.usefixtures("strong")
async def test_tools_over_stdio(isolated_home: Path) -> None:
    async with connect(isolated_home) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert names == {
            "run_python",
            "run_shell",
            "upload_file",
            "download_file",
            "list_files",
            "reset_session",
        }
        await call(session, "upload_file", path="in/nums.txt", content="1 2 3", session="a")
        code = (
            "n = open('in/nums.txt').read().split()\n"
            "open('sum.txt', 'w').write(str(sum(map(int, n))))\n"
            "print('ok')"
        )
        run = await call(session, "run_python", code=code, session="a")
        assert run["stdout"] == "ok\n"
        assert run["exit_code"] == 0
        assert run["files"] == [{"path": "sum.txt", "size": 1}]
        assert run["isolation"] in ("bwrap", "unshare")
        got = await call(session, "download_file", path="sum.txt", session="a")
        assert got["content"] == "6"
        shell = await call(session, "run_shell", command="cat sum.txt; ls", session="a")
        assert shell["stdout"] == "6in\nsum.txt\n"
        listed = await call(session, "list_files", session="a")
        assert [f["path"] for f in listed["result"]] == ["in/nums.txt", "sum.txt"]
        await call(session, "reset_session", session="a")
        assert (await call(session, "list_files", session="a"))["result"] == []


@pytest.mark.usefixtures("strong")
async def test_errors_and_limits_come_back_as_tool_results(isolated_home: Path) -> None:
    async with connect(isolated_home) as session:
        message = await call_error(session, "download_file", path="../../etc/passwd")
        assert "'..' is not allowed" in message
        message = await call_error(session, "run_python", code="print(1)", session="../x")
        assert "invalid session id" in message
        binary = base64.b64encode(b"\xff\x00").decode()
        await call(session, "upload_file", path="b.bin", content=binary, encoding="base64")
        message = await call_error(session, "download_file", path="b.bin")
        assert "base64" in message
        got = await call(session, "download_file", path="b.bin", encoding="base64")
        assert base64.b64decode(got["content"]) == b"\xff\x00"
        slow = await call(session, "run_python", code="import time\ntime.sleep(30)", timeout_s=1)
        assert slow["limit"] == "wall_time"
        assert slow["duration_s"] < 5


def test_refuses_to_start_without_isolation(tmp_path: Path) -> None:
    config = tmp_path / "agenthost.toml"
    config.write_text('[sandbox]\nbwrap_path = "/nonexistent"\nunshare_path = "/nonexistent"\n')
    done = subprocess.run(
        [sys.executable, "-m", "mcp_servers.sandbox", "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 3  # IsolationUnavailable: nothing can serve it here
    assert done.stderr.startswith("agenthost sandbox: ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "allow_weak_isolation" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "agenthost.toml"
    config.write_text("[sandbox]\nisolation = 'chroot'\n")
    argv = [sys.executable, "-m", "mcp_servers.sandbox", "--config", str(config)]
    done = subprocess.run(
        argv, cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.startswith("agenthost sandbox: ")
    assert "sandbox.isolation" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


@pytest.mark.usefixtures("strong")
async def test_config_file_sets_home_and_sandbox_table(tmp_path: Path) -> None:
    home = tmp_path / "h"
    config = tmp_path / "agenthost.toml"
    config.write_text(f'home = "{home}"\n[sandbox]\nmax_transfer_bytes = 1024\n')
    async with connect(None, "--config", str(config)) as session:
        await call(session, "upload_file", path="small.txt", content="x" * 1000)
        message = await call_error(session, "upload_file", path="big.txt", content="x" * 2000)
        assert "over the 1024-byte limit" in message
    assert [p.name for p in (home / "sandbox").rglob("*.txt")] == ["small.txt"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.usefixtures("strong")
async def test_streamable_http_transport(isolated_home: Path) -> None:
    port = _free_port()
    argv = [sys.executable, "-m", "mcp_servers.sandbox", "--transport", "http"]
    argv += ["--port", str(port)]  # AGENTHOST_HOME is the test's (tests/conftest.py)
    process = await anyio.open_process(argv, cwd=REPO, stdin=subprocess.DEVNULL)
    try:
        await until_listening(port, within_s=30)
        url = f"http://127.0.0.1:{port}/mcp"
        async with httpx.AsyncClient() as anonymous:  # no key: refused
            assert (await anonymous.post(url, json={})).status_code == 401
        http = create_mcp_http_client(headers=bearer_headers(isolated_home))
        async with (
            http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as s,
        ):
            await s.initialize()
            run = await call(s, "run_python", code="print(2 ** 10)")
            assert run["stdout"] == "1024\n"
    finally:
        process.terminate()
        await process.wait()
        await process.aclose()


def test_server_does_not_import_host() -> None:
    code = (
        "import sys, mcp_servers.sandbox\n"
        "print(sorted(m for m in sys.modules if m == 'host' or m.startswith('host.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
