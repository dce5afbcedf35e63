"""``agenthost run / resume / sessions / show / tools`` as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import agenthost, agenthost_argv, cli_env
from tests.host.conftest import TEST_SERVER

NO_BACKEND = """
[inference.backends.remote]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "m"
[inference.tiers]
main = ["remote"]
[servers.time]
enabled = false
"""


def test_ctrl_c_saves_the_run_as_cancelled(tmp_path: Path) -> None:
    words = " ".join(["word"] * 300)
    (tmp_path / "agenthost.toml").write_text(
        f'[inference.backends.local]\nkind = "scripted"\nreplies = ["{words}"]\n'
        "token_delay_s = 0.02\n"
    )
    proc = subprocess.Popen(
        agenthost_argv("run", "talk for a while"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the run is streaming
        if b"step 1" in line:
            break
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"interrupted" in err
    sessions = agenthost("sessions", "--json", cwd=tmp_path)
    (row,) = json.loads(sessions.stdout)
    assert row["status"] == "cancelled"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "x", "--role", "nobody"], "unknown role 'nobody'"),
        (["run", "x", "--agent", "swarm"], "unknown agent 'swarm'"),
        (["run", "   "], "nothing to do"),
        (["resume", "ses_missing"], "no session 'ses_missing'"),
        (["show", "ses_missing"], "no session 'ses_missing'"),
        (["tools", "--role", "nobody"], "unknown role 'nobody'"),
        (["serve"], "--mcp"),
        (["serve", "--mcp", "--transport", "carrier-pigeon"], "unknown transport"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "agenthost.toml").write_text(
        '[inference.backends.local]\nkind = "scripted"\n[servers.time]\nenabled = false\n'
    )
    done = agenthost(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_server_with_both_command_and_url_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "agenthost.toml").write_text(
        '[servers.bad]\ncommand = "x"\nurl = "http://127.0.0.1:1/mcp"\n'
    )
    done = agenthost("run", "x", cwd=tmp_path)
    assert done.returncode == 2
    assert "servers.bad" in done.stderr
    assert "exactly one of 'command'" in done.stderr


def test_no_backend_exits_3_and_quiet_still_says_why(tmp_path: Path) -> None:
    (tmp_path / "agenthost.toml").write_text(NO_BACKEND)
    for quiet in ([], ["-q"]):
        done = agenthost("run", "hello", *quiet, cwd=tmp_path)
        assert done.returncode == 3, done.stderr
        assert "Traceback" not in done.stderr
        (cause,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert "NoBackendAvailable" in cause
        assert "cannot connect to http://127.0.0.1:9/v1" in cause
    # the code is the outcome's, in the JSON summary and in the stored session
    done = agenthost("run", "hello", "-q", "--json", cwd=tmp_path)
    assert done.returncode == 3
    summary = json.loads(done.stdout)
    assert summary["outcome"]["kind"] == "error"
    assert summary["outcome"]["code"] == 3
    shown = agenthost("show", summary["session_id"], "--json", cwd=tmp_path)
    assert json.loads(shown.stdout)["session"]["outcome"]["code"] == 3


def test_run_and_show_and_tools(tmp_path: Path) -> None:
    (tmp_path / "agenthost.toml").write_text(
        f"""
[inference.backends.local]
kind = "scripted"
script = "tests.host.scripts:adder"
[servers.test]
command = "{sys.executable}"
args = ["{TEST_SERVER}"]
[servers.time]
enabled = false
"""
    )
    done = agenthost("run", "count to five", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "The total is 5."
    assert "completed" in done.stderr
    assert "step 1" not in done.stderr  # quiet: only the start and the outcome
    (row,) = json.loads(agenthost("sessions", "--json", cwd=tmp_path).stdout)
    assert row["status"] == "completed"
    shown = agenthost("show", row["id"], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "test__add" in shown.stdout
    listed = agenthost("tools", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "test__add" in {t["tool"] for t in json.loads(listed.stdout)}
