"""The real sandbox's behaviour: results, sessions, files, probing, refusing weak isolation."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from sandbox import (
    FileAccessError,
    FileTooLarge,
    IsolationUnavailable,
    LocalSandbox,
    SandboxConfig,
    SessionError,
    WeakIsolationWarning,
    open_sandbox,
)
from tests.sandbox.conftest import capabilities, make_sandbox

pytestmark = pytest.mark.anyio


async def test_result_carries_output_exit_status_and_duration(box: LocalSandbox) -> None:
    result = await box.run("import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)")
    assert (result.stdout, result.stderr, result.exit_code) == ("out\n", "err\n", 3)
    assert result.signal is None
    assert result.limit is None
    assert not result.ok
    assert 0 < result.duration_s < 5
    assert result.isolation == box.isolation


async def test_shell_and_python_see_the_same_workspace(box: LocalSandbox) -> None:
    await box.run("echo from-shell > a.txt", language="shell", session="s1")
    result = await box.run("print(open('a.txt').read().strip())", session="s1")
    assert result.stdout == "from-shell\n"


async def test_files_produced_are_reported(box: LocalSandbox) -> None:
    await box.upload("s1", "keep.txt", b"unchanged")
    code = "import os\nos.makedirs('out/deep')\nopen('out/deep/r.csv', 'w').write('a,b\\n')"
    result = await box.run(code, session="s1")
    assert [(f.path, f.size) for f in result.files] == [("out/deep/r.csv", 4)]


async def test_session_persists_and_one_off_runs_do_not(box: LocalSandbox) -> None:
    await box.run("open('state', 'w').write('1')", session="agent-7")
    again = await box.run("print(open('state').read())", session="agent-7")
    assert again.stdout == "1\n"
    await box.run("open('state', 'w').write('1')")
    fresh = await box.run("import os\nprint(os.listdir('.'))")
    assert fresh.stdout == "[]\n"
    assert list((box.workspaces.root / "runs").iterdir()) == []


async def test_reset_empties_a_session(box: LocalSandbox) -> None:
    await box.upload("s1", "a/b.txt", b"x")
    await box.reset("s1")
    assert await box.list_files("s1") == []
    result = await box.run("open('new', 'w').write('ok')", session="s1")
    assert result.ok


async def test_upload_run_download_round_trip(box: LocalSandbox) -> None:
    info = await box.upload("s1", "data/in.txt", b"3 4\n")
    assert (info.path, info.size) == ("data/in.txt", 4)
    code = (
        "a, b = map(int, open('data/in.txt').read().split())\nopen('out.txt','w').write(str(a*b))"
    )
    result = await box.run(code, session="s1")
    assert result.ok, result
    assert await box.download("s1", "out.txt") == b"12"
    assert [f.path for f in await box.list_files("s1")] == ["data/in.txt", "out.txt"]


@pytest.mark.parametrize(
    "path", ["../escape", "/etc/passwd", "a/../../b", "..", "", "./", "a/\x00b"]
)
async def test_traversal_is_rejected(bwrap_box: LocalSandbox, path: str) -> None:
    with pytest.raises(FileAccessError):
        await bwrap_box.upload("s1", path, b"x")
    with pytest.raises(FileAccessError):
        await bwrap_box.download("s1", path)


async def test_symlinks_planted_by_code_are_not_followed(
    bwrap_box: LocalSandbox, tmp_path: Path
) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text("SECRET")
    outside = tmp_path / "outside"
    outside.mkdir()
    code = f"ln -s {secret} leak; ln -s {outside} dir; mkfifo pipe; echo hi > ok"
    result = await bwrap_box.run(code, language="shell", session="s1")
    assert result.ok, result
    with pytest.raises(FileAccessError):
        await bwrap_box.download("s1", "leak")
    with pytest.raises(FileAccessError):
        await bwrap_box.upload("s1", "leak", b"overwrite")
    with pytest.raises(FileAccessError):
        await bwrap_box.upload("s1", "dir/planted", b"x")
    with pytest.raises(FileAccessError):  # a FIFO: refused, and it does not hang us
        await bwrap_box.download("s1", "pipe")
    assert secret.read_text() == "SECRET"
    assert list(outside.iterdir()) == []
    assert [f.path for f in await bwrap_box.list_files("s1")] == ["ok"]


async def test_transfers_are_size_limited(isolated_home: Path) -> None:
    box = make_sandbox("bwrap", isolated_home, max_transfer_bytes=1000)
    with pytest.raises(FileTooLarge):
        await box.upload("s1", "big", b"x" * 1001)
    await box.run("open('big', 'wb').write(b'x' * 5000)", session="s1")
    with pytest.raises(FileTooLarge):
        await box.download("s1", "big")


@pytest.mark.parametrize("session", ["../x", "a/b", "", ".hidden", "x" * 65])
async def test_bad_session_ids_are_rejected(bwrap_box: LocalSandbox, session: str) -> None:
    with pytest.raises(SessionError):
        await bwrap_box.run("print(1)", session=session)


async def test_seccomp_denies_new_namespaces_and_ptrace(box: LocalSandbox) -> None:
    assert box.seccomp
    code = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for name, nr, args in [("unshare", 272, (0x10000000,)), ("ptrace", 101, (16, 1, 0, 0)),
                       ("keyctl", 250, (0, 0)), ("mount", 165, (0, 0, 0, 0, 0))]:
    rc = libc.syscall(nr, *args)
    print(name, rc, os.strerror(ctypes.get_errno()))
"""
    result = await box.run(code)
    lines = result.stdout.splitlines()
    assert len(lines) == 4, result
    assert all(line.endswith("-1 Operation not permitted") for line in lines), lines


async def test_code_runs_unprivileged(box: LocalSandbox) -> None:
    code = "grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs)' /proc/self/status; hostname"
    result = await box.run(code, language="shell")
    fields = dict(line.split(":\t") for line in result.stdout.splitlines() if ":" in line)
    assert fields["CapEff"] == fields["CapBnd"] == "0000000000000000"
    assert fields["NoNewPrivs"] == "1"
    if box.capabilities.as_root:
        assert fields["Uid"].split()[0] == str(box.config.sandbox_uid)
    assert result.stdout.strip().endswith("sandbox")


def test_weak_isolation_is_refused_by_default(isolated_home: Path) -> None:
    with pytest.raises(IsolationUnavailable, match="allow_weak_isolation"):
        open_sandbox(SandboxConfig(isolation="weak"), isolated_home)


def test_no_isolation_available_refuses_with_a_clear_message(isolated_home: Path) -> None:
    config = SandboxConfig(bwrap_path="/nonexistent/bwrap", unshare_path="/nonexistent/unshare")
    with pytest.raises(IsolationUnavailable) as info:
        open_sandbox(config, isolated_home)
    message = str(info.value)
    assert "/nonexistent/bwrap not found" in message
    assert "apt-get install bubblewrap" in message
    assert "allow_weak_isolation" in message


def test_asking_for_a_mode_that_does_not_work_refuses(isolated_home: Path) -> None:
    config = SandboxConfig(isolation="bwrap", bwrap_path="/nonexistent/bwrap")
    with pytest.raises(IsolationUnavailable, match="'bwrap' does not work here"):
        open_sandbox(config, isolated_home)


async def test_weak_isolation_when_allowed_warns_loudly(
    isolated_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = SandboxConfig(
        bwrap_path="/nonexistent/bwrap",
        unshare_path="/nonexistent/unshare",
        allow_weak_isolation=True,
    )
    with pytest.warns(WeakIsolationWarning, match="NOT ISOLATED"):
        box = open_sandbox(config, isolated_home)
    assert "NOT ISOLATED" in caplog.text
    assert box.isolation == "weak"
    result = await box.run("print(6 * 7)")
    assert result.stdout == "42\n"
    assert result.isolation == "weak"


def test_auto_picks_the_strongest_mode(isolated_home: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        box = open_sandbox(SandboxConfig(), isolated_home)
    assert box.isolation == box.capabilities.strongest
    assert box.workspaces.root == isolated_home / "sandbox"


def test_auto_falls_back_to_unshare_without_bubblewrap(isolated_home: Path) -> None:
    if capabilities().unshare_error is not None:
        pytest.skip(f"unshare unavailable: {capabilities().unshare_error}")
    box = open_sandbox(SandboxConfig(bwrap_path="/nonexistent/bwrap"), isolated_home)
    assert box.isolation == "unshare"
    assert box.seccomp
