"""Server lists as Claude Desktop and VS Code write them: imported as TOML, or read at start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from host.host import Host
from inference.backends.scripted import ScriptedBackend
from settings import ServersFileError, load_settings, servers_from_json, to_toml

REPO = Path(__file__).resolve().parents[2]
CLAUDE = {
    "mcpServers": {
        "clock": {"command": sys.executable, "args": ["-m", "mcp_server_time"]},
        "files.local": {"command": "npx", "args": ["-y", "server-fs", "/tmp"], "env": {"A": "1"}},
        "remote": {"url": "https://example.invalid/mcp", "headers": {"Authorization": "Bearer x"}},
    }
}
VSCODE = {
    "servers": {
        "time": {"type": "stdio", "command": "uvx", "args": ["mcp-server-time"]},
        "api": {"type": "http", "url": "http://127.0.0.1:9/mcp"},
    }
}


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_claude_desktop_and_vscode_shapes(tmp_path: Path) -> None:
    claude = servers_from_json(write(tmp_path / "claude.json", CLAUDE))
    assert set(claude) == {"clock", "files_local", "remote"}  # names safe for <server>__<tool>
    assert claude["files_local"].env == {"A": "1"}
    assert claude["remote"].transport == "http"
    assert claude["remote"].headers == {"Authorization": "Bearer x"}
    vscode = servers_from_json(write(tmp_path / "mcp.json", VSCODE))
    assert (vscode["time"].command, vscode["api"].url) == ("uvx", "http://127.0.0.1:9/mcp")
    settings_json = servers_from_json(write(tmp_path / "settings.json", {"mcp": VSCODE}))
    assert set(settings_json) == {"time", "api"}


def test_the_toml_it_writes_loads_back_as_the_same_servers(tmp_path: Path) -> None:
    servers = servers_from_json(write(tmp_path / "claude.json", CLAUDE))
    cfg = tmp_path / "agenthost.toml"
    cfg.write_text(to_toml(servers))
    loaded = load_settings(cfg).servers
    for name, server in servers.items():
        assert loaded[name] == server


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "not JSON"),
        ('{"tools": {}}', "no 'mcpServers'"),
        ('{"mcpServers": {"x": {"args": []}}}', "server 'x'"),
    ],
)
def test_bad_files_are_one_line(tmp_path: Path, text: str, why: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(ServersFileError, match=why) as caught:
        servers_from_json(bad)
    assert "\n" not in str(caught.value)


@pytest.mark.anyio
async def test_a_host_starts_the_servers_of_a_claude_desktop_file(tmp_path: Path) -> None:
    desktop = write(tmp_path / "claude_desktop_config.json", {"mcpServers": CLAUDE["mcpServers"]})
    cfg = tmp_path / "agenthost.toml"
    cfg.write_text(
        f'servers_json = ["{desktop.name}"]\n'
        "[servers.files_local]\ncommand = 'true'\nenabled = false\n"  # named here: wins
        "[servers.remote]\nurl = 'http://127.0.0.1:9/mcp'\nenabled = false\n"
    )
    settings = load_settings(cfg)
    assert not settings.servers["files_local"].enabled
    async with Host(settings, model=ScriptedBackend([])) as host:
        assert "clock__get_current_time" in host.toolbox.entries()


def test_cli_import_prints_toml(tmp_path: Path) -> None:
    source = write(tmp_path / "mcp.json", VSCODE)
    done = subprocess.run(
        [sys.executable, "-m", "cli", "servers", "import", str(source)],
        capture_output=True, text=True, cwd=tmp_path, check=False,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "AGENTHOST_HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "[servers.time]" in done.stdout
    assert "2 server(s)" in done.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "cli", "servers", "import", str(tmp_path / "nope.json")],
        capture_output=True, text=True, cwd=tmp_path, check=False,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "AGENTHOST_HOME": str(tmp_path)},
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
