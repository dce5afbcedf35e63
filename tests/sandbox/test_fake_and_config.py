"""The fake sandbox, the configuration, and the seccomp program's shape."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from sandbox import FakeSandbox, FileAccessError, Reply, Sandbox, SandboxConfig
from sandbox import seccomp as sc
from sandbox.types import Language
from settings import load_settings

pytestmark = pytest.mark.anyio


async def test_fake_sandbox_keeps_files_and_reports_changes() -> None:
    def responder(code: str, language: Language, files: dict[str, bytes]) -> Reply:
        files["out.txt"] = code.encode()
        return Reply(stdout="done", exit_code=0)

    fake = FakeSandbox(responder)
    box: Sandbox = fake  # the fake satisfies the protocol (checked by mypy)
    await box.upload("s", "in.txt", b"x")
    result = await box.run("print(1)", session="s")
    assert result.stdout == "done"
    assert [f.path for f in result.files] == ["out.txt"]
    assert await box.download("s", "out.txt") == b"print(1)"
    assert [f.path for f in await box.list_files("s")] == ["in.txt", "out.txt"]
    with pytest.raises(FileAccessError):
        await box.download("s", "../in.txt")
    await box.reset("s")
    assert await box.list_files("s") == []
    assert fake.runs == [("print(1)", "python", "s")]


def test_settings_have_a_sandbox_section(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTHOST_SANDBOX__LIMITS__WALL_TIME_S", "5")
    settings = load_settings()
    assert settings.sandbox.limits.wall_time_s == 5
    assert settings.sandbox.allow_weak_isolation is False
    assert settings.sandbox_dir == isolated_home / "sandbox"


def test_unknown_sandbox_keys_are_errors() -> None:
    with pytest.raises(ValueError, match="extra"):
        SandboxConfig.model_validate({"limits": {"wall_time": 3}})


def test_seccomp_program_is_well_formed() -> None:
    program = sc.deny_filter()
    assert len(program) % 8 == 0
    insns = [struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    assert len(insns) < 256  # jump offsets are 8 bits
    for index, (code, jt, jf, _) in enumerate(insns):
        if code & 0x07 == 0x05:  # a jump: both targets inside the program
            assert index + 1 + max(jt, jf) < len(insns)
        else:
            assert jt == jf == 0
    assert insns[-1][0] == 0x06  # ends with a return
    denied = {k for code, _, _, k in insns if code == 0x15}
    assert set(sc.DENIED_X86_64.values()) <= denied
