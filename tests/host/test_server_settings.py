"""The MCP servers read the host's configuration (issue 13): a server the host starts over
stdio is handed the host's home, config file and ``AGENTHOST_*`` (``Settings.child_env``), and
loads them with ``settings.load_settings`` exactly as the host does. Real servers, a real
``Host``; nothing mocked. The host's model is scripted and never called."""

from __future__ import annotations

import json
import pydoc_data.topics
import subprocess
import sys
from pathlib import Path

import pytest

from host.host import Host
from inference.backends.scripted import ScriptedBackend
from inference.types import ToolCall
from memory.notes import NotesStore, Scope
from memory.sessions import make_engine
from rag.knowledge import Knowledge
from settings import ServerConfig, Settings, load_settings
from tests.sandbox.conftest import capabilities

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[2]
NO_TIME = ServerConfig(command="true", enabled=False)  # the default time server: not needed


def server(module: str, *args: str, **changes: object) -> ServerConfig:
    base: dict[str, object] = {
        "command": sys.executable,
        "args": ["-m", f"mcp_servers.{module}", *args],
        "start_timeout_s": 60,
        "call_timeout_s": 60,
    }
    return ServerConfig.model_validate(base | changes)


@pytest.fixture
def host_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The host's home, named only by its settings: no AGENTHOST_HOME in this process, so a
    server can learn it only from the host."""
    monkeypatch.delenv("AGENTHOST_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return tmp_path / "host-home"


async def test_memory_server_writes_to_the_hosts_database_not_home(
    host_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_home = tmp_path / "fake-home"  # $HOME: where a server with a home of its own would go
    fake_home.mkdir()
    monkeypatch.setenv("HOME", str(fake_home))
    args = ("--tenant", "acme", "--user", "alice", "--embedder", "none", "--no-model")
    settings = Settings(
        home=host_home, servers={"memory": server("memory", *args), "time": NO_TIME}
    )
    async with Host(settings, model=ScriptedBackend([])) as host:
        assert host.toolbox is not None
        tools = host.toolbox.for_run("ses_x")
        remembered = await tools.call(
            ToolCall("c1", "memory__remember", {"text": "Staging uses port 5433.", "key": "port"})
        )
        assert not remembered.is_error, remembered.content
        assert json.loads(remembered.content)["key"] == "port"
    notes = NotesStore(make_engine(settings.db_url)).list_notes(Scope("acme", "alice"))
    assert [(n.key, n.text) for n in notes] == [("port", "Staging uses port 5433.")]
    assert sorted(p.name for p in fake_home.rglob("*")) == []


def ingest_docs(tmp_path: Path, settings: Settings, tenant: str) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("nonlocal", "pass"):
        (docs / f"{name}.txt").write_text(pydoc_data.topics.topics[name])
    kn = Knowledge(settings.rag_dir, settings.rag)
    try:
        assert kn.ingest([docs], "pyref", tenant=tenant).added == 2
    finally:
        kn.close()


async def test_rag_server_reads_the_hosts_config_and_index(host_home: Path, tmp_path: Path) -> None:
    # the host's config file is not where the server would look by itself (./agenthost.toml,
    # $AGENTHOST_HOME/agenthost.toml): it finds it through AGENTHOST_CONFIG from the host
    config = tmp_path / "conf" / "host.toml"
    config.parent.mkdir()
    config.write_text(
        f'home = "{host_home}"\n'
        '[rag]\ntenant = "acme"\n'
        "[servers.time]\nenabled = false\n"
        f'[servers.rag]\ncommand = "{sys.executable}"\nargs = ["-m", "mcp_servers.rag"]\n'
        'env = { HF_HUB_OFFLINE = "1" }\nstart_timeout_s = 60\ncall_timeout_s = 120\n'
    )
    settings = load_settings(config)
    assert settings.rag_dir == host_home / "rag"
    ingest_docs(tmp_path, settings, tenant="acme")  # the index the host would use, as acme
    async with Host(settings, model=ScriptedBackend([])) as host:
        assert host.toolbox is not None
        tools = host.toolbox.for_run("ses_x")
        listed = await tools.call(ToolCall("c1", "rag__list_collections", {}))
        assert not listed.is_error, listed.content
    collections = json.loads(listed.content)
    assert [(c["name"], c["sources"]) for c in collections] == [("pyref", 2)]


async def test_sandbox_server_honours_agenthost_sandbox_variables(
    host_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caps = capabilities()
    if caps.bwrap_error is None and caps.unshare_error is None:
        mode = "unshare"  # `auto` would pick bubblewrap: only the variable makes it unshare
    elif caps.prlimit and caps.setpriv and caps.python:
        mode = "weak"  # `auto` refuses weak isolation unless allowed
        monkeypatch.setenv("AGENTHOST_SANDBOX__ALLOW_WEAK_ISOLATION", "true")
    else:
        pytest.skip(f"neither unshare nor weak isolation works here: {caps.summary()}")
    monkeypatch.setenv("AGENTHOST_SANDBOX__ISOLATION", mode)
    monkeypatch.setenv("AGENTHOST_SANDBOX__MAX_TRANSFER_BYTES", "1024")
    settings = Settings(home=host_home, servers={"sandbox": server("sandbox"), "time": NO_TIME})
    async with Host(settings, model=ScriptedBackend([])) as host:
        assert host.toolbox is not None
        tools = host.toolbox.for_run("ses_x")
        ran = await tools.call(
            ToolCall("c1", "sandbox__run_python", {"code": "print(6 * 7)", "session": "s"})
        )
        assert not ran.is_error, ran.content
        result = json.loads(ran.content)
        assert (result["stdout"], result["isolation"]) == ("42\n", mode)
        big = {"path": "big.txt", "content": "x" * 2000, "session": "s"}
        refused = await tools.call(ToolCall("c2", "sandbox__upload_file", big))
        assert refused.is_error
        assert "over the 1024-byte limit" in refused.content
    assert (host_home / "sandbox").is_dir()  # its scratch directories are under the host's home


@pytest.mark.parametrize("name", ["approvals", "memory", "rag", "sandbox"])
def test_a_config_that_is_not_utf8_is_one_line_and_exit_2(tmp_path: Path, name: str) -> None:
    config = tmp_path / "agenthost.toml"
    config.write_bytes(b"\xff\xfe")
    done = subprocess.run(
        [sys.executable, "-m", f"mcp_servers.{name}", "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"agenthost {name}: {config}: not UTF-8 text")
    assert "Traceback" not in done.stderr
