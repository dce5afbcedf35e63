"""``agenthost chat / models / config`` and the root help, as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from core.errors import exit_codes_text
from tests.cli.conftest import SCRIPTED, agenthost, agenthost_argv, cli_env


def test_help_lists_the_commands(tmp_path: Path) -> None:
    out = agenthost("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("chat", "models", "config"):
        assert command in out.stdout
    chat_help = agenthost("chat", "--help", cwd=tmp_path).stdout
    assert "--tier" in chat_help
    assert "Example" in chat_help


def test_help_prints_the_one_exit_code_table(tmp_path: Path) -> None:
    table = " ".join(exit_codes_text().split())
    for args in (("--help",), ("run", "--help")):
        out = agenthost(*args, cwd=tmp_path)
        assert out.returncode == 0
        shown = " ".join(out.stdout.replace("│", " ").split())
        assert f"Exit codes: {table}" in shown, args


def test_chat_on_scripted_backend_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "agenthost.toml").write_text(SCRIPTED)
    out = agenthost("chat", "hello", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "scripted reply one"
    assert "tokens" in out.stderr
    piped = agenthost("chat", "--json", cwd=tmp_path, stdin="from stdin")
    data = json.loads(piped.stdout)
    assert data["text"] == "scripted reply one"
    assert data["route"][0]["backend"] == "script"


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "agenthost.toml").write_text("[inference.tiers]\nmain = ['ghost']\n")
    out = agenthost("chat", "hi", cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "unknown backend 'ghost'" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_unreachable_server_is_one_line_and_exit_3(tmp_path: Path) -> None:
    (tmp_path / "agenthost.toml").write_text("""
[inference.backends.remote]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "m"
[inference.tiers]
main = ["remote"]
""")
    out = agenthost("chat", "hi", cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert "Traceback" not in out.stderr
    assert "cannot connect to http://127.0.0.1:9/v1" in out.stderr
    models = agenthost("models", cwd=tmp_path)
    assert models.returncode == 3
    assert "down" in models.stdout


def test_missing_model_package_is_explained(tmp_path: Path) -> None:
    (tmp_path / "agenthost.toml").write_text(
        "[inference.backends.local]\nkind = 'embedded'\nmodel_package = 'not_installed_pkg'\n"
    )
    out = agenthost("chat", "hi", cwd=tmp_path)
    assert out.returncode == 2
    assert "pip install not-installed-pkg" in out.stderr
    assert "Traceback" not in out.stderr


def test_empty_prompt(tmp_path: Path) -> None:
    out = agenthost("chat", cwd=tmp_path, stdin="   ")
    assert out.returncode == 2
    assert "nothing to say" in out.stderr


def test_config_prints_the_effective_settings(tmp_path: Path) -> None:
    (tmp_path / "agenthost.toml").write_text(SCRIPTED)
    out = agenthost("config", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["inference"]["tiers"]["main"] == ["script"]
    assert "config file: agenthost.toml" in out.stderr


@pytest.mark.realmodel
def test_chat_streams_from_the_embedded_model(tmp_path: Path) -> None:
    """End to end: the default config, the real SmolLM2 weights, a real process."""
    out = agenthost("chat", "--max-tokens", "30", "What is the capital of France?", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
    assert "SmolLM2-135M-Instruct" in out.stderr
    assert "tok/s" in out.stderr


@pytest.mark.realmodel
def test_ctrl_c_stops_the_reply_promptly(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        agenthost_argv("chat", "--max-tokens", "400", "Write a long story about a dragon."),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert proc.stdout is not None
    assert proc.stdout.read(10)  # the reply has started streaming
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    # cut short: a few more tokens at most, nowhere near the 400 asked for (~1,600 characters;
    # counted, not timed, so a loaded machine cannot make this flaky)
    assert len(out) < 600
    assert b"interrupted" in err
    assert b"Traceback" not in err
