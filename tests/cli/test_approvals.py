"""A person decides a running agent's risky call from another process: `agenthost approvals`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import anyio
import pytest

from agents import OutcomeKind, RunResult
from approvals import ApprovalsConfig
from host.host import Host
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from settings import Settings, ToolPolicy
from tests.cli.conftest import agenthost_argv, cli_env
from tests.host.conftest import stdio_test_server

pytestmark = pytest.mark.anyio


async def agenthost(*args: str) -> subprocess.CompletedProcess[bytes]:
    return await anyio.run_process(agenthost_argv(*args), check=False, env=cli_env())


async def test_edit_and_approve_from_the_cli_then_audit(
    isolated_home: Path, tmp_path: Path
) -> None:
    asked, edited = tmp_path / "asked.txt", tmp_path / "edited.txt"
    asked.write_text("the agent wants this gone")
    edited.write_text("the operator lets this one go")
    model = ScriptedBackend(
        [Turn("", (ScriptedCall("test__delete_file", {"path": str(asked)}),)), Turn("done")]
    )
    settings = Settings(
        home=isolated_home,
        servers={"test": stdio_test_server(tools={"delete_file": ToolPolicy(risk="critical")})},
        approvals=ApprovalsConfig(default="ask", timeout_s=60),
    )
    results: list[RunResult] = []
    async with Host(settings, model=model) as host, anyio.create_task_group() as tg:

        async def run() -> None:
            results.append(await host.run("clean up"))

        tg.start_soon(run)
        with anyio.fail_after(30):
            while True:
                listed = await agenthost("approvals", "list", "--json")
                pending = json.loads(listed.stdout)
                if pending:
                    break
                await anyio.sleep(0.1)
        assert pending[0]["tool"] == "test__delete_file"
        assert pending[0]["arguments"] == {"path": str(asked)}
        done = await agenthost(
            "approvals",
            "approve",
            pending[0]["id"],
            "--args",
            json.dumps({"path": str(edited)}),
            "--reason",
            "wrong file",
            "--by",
            "ops",
        )
        assert done.returncode == 0, done.stderr
    assert results[0].outcome.kind is OutcomeKind.COMPLETED
    assert asked.exists()
    assert not edited.exists()
    again = await agenthost("approvals", "deny", pending[0]["id"])
    assert again.returncode == 2
    assert b"already edited" in again.stderr
    audit = await agenthost("approvals", "audit")
    assert audit.returncode == 0
    assert b"chain intact" in audit.stderr
