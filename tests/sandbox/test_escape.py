"""Escape attempts, each run under every strong isolation mode; each must fail to escape.

The table in docs/sandbox.md lists these tests and their results.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import LimitHit, Limits, LocalSandbox
from sandbox.processes import tasks_of

pytestmark = pytest.mark.anyio


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on the host's loopback, which sandboxed code must not reach."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def _nobody_accepted(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


async def test_network_host_loopback_listener_is_unreachable(
    box: LocalSandbox, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    code = f"""
import socket
s = socket.socket()
s.settimeout(3)
try:
    s.connect(("127.0.0.1", {port}))
    print("CONNECTED")
except OSError as exc:
    print("refused", exc.errno)
"""
    result = await box.run(code)
    assert "refused" in result.stdout, result
    assert "CONNECTED" not in result.stdout
    assert _nobody_accepted(listener)


async def test_network_only_a_loopback_interface(box: LocalSandbox) -> None:
    code = """
import socket
print(sorted(name for _, name in socket.if_nameindex()))
print(open("/proc/net/route").read().strip().count("\\n"))
"""
    result = await box.run(code)
    names, routes = result.stdout.splitlines()
    assert names == "['lo']", result
    assert routes == "0", "no route at all: nothing but loopback could be reached"


async def test_network_host_abstract_unix_socket_is_unreachable(box: LocalSandbox) -> None:
    # Abstract unix sockets (X11, D-Bus) belong to the network namespace, not the filesystem.
    name = f"\0agenthost-escape-{uuid.uuid4().hex}"
    host = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    host.bind(name)
    host.listen(1)
    host.setblocking(False)
    try:
        code = f"""
import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect({name!r})
    print("CONNECTED")
except OSError as exc:
    print("refused", exc.errno)
"""
        result = await box.run(code)
        assert "refused" in result.stdout, result
        assert _nobody_accepted(host)
    finally:
        host.close()


@pytest.fixture
def secrets(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Secret files in the host's home and temp dir, and a secret in our environment."""
    token = uuid.uuid4().hex
    in_home = Path.home() / f".agenthost-escape-test-{token}"
    in_tmp = tmp_path / "secret.txt"
    for path in (in_home, in_tmp):
        path.write_text(f"SECRET-{token}")
    os.environ["AGENTHOST_ESCAPE_SECRET"] = f"SECRET-{token}"
    try:
        yield {"token": token, "home": str(in_home), "tmp": str(in_tmp)}
    finally:
        del os.environ["AGENTHOST_ESCAPE_SECRET"]
        in_home.unlink()


async def test_read_host_files_outside_scratch(box: LocalSandbox, secrets: dict[str, str]) -> None:
    targets = [secrets["home"], secrets["tmp"], "/root/.ssh", "/etc/passwd", "/etc/shadow"]
    targets += [str(Path.home() / ".ssh"), str(box.workspaces.root)]
    code = f"""
import os
for path in {targets!r}:
    try:
        if os.path.isdir(path):
            print("LISTED", path, os.listdir(path))
        else:
            print("READ", path, open(path).read()[:100])
    except OSError as exc:
        print("denied", path, exc.strerror)
print("env", sorted(os.environ))
print("/work/..", sorted(os.listdir("/work/..")))
"""
    result = await box.run(code)
    assert result.exit_code == 0, result
    assert f"SECRET-{secrets['token']}" not in result.stdout + result.stderr
    assert "READ" not in result.stdout, result.stdout
    assert "LISTED" not in result.stdout, result.stdout
    assert _denials(result.stdout) == len(targets)
    assert "AGENTHOST_ESCAPE_SECRET" not in result.stdout
    assert "'etc'" not in result.stdout
    assert "'root'" not in result.stdout


async def test_write_outside_scratch(box: LocalSandbox, tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    targets = [
        f"/usr/{token}",
        f"/{token}",
        f"/run/sandbox/{token}",
        "/run/sandbox/main.py",
        f"/work/../{token}",
        str(tmp_path / token),
        str(Path.home() / token),
    ]
    code = f"""
for path in {targets!r}:
    try:
        with open(path, "a") as f:
            f.write("x")
        print("WROTE", path)
    except OSError as exc:
        print("denied", path, exc.strerror)
open("/tmp/{token}", "w").write("private tmpfs")
"""
    result = await box.run(code, session="s")
    assert "WROTE" not in result.stdout, result.stdout
    assert _denials(result.stdout) == len(targets)
    host_paths = [Path("/usr") / token, Path("/") / token, tmp_path / token, Path.home() / token]
    host_paths += [Path("/tmp") / token, box.workspaces.root / "sessions" / token]
    assert not any(p.exists() for p in host_paths)


async def test_fork_bomb_is_capped_and_cleaned_up(box: LocalSandbox) -> None:
    limits = box.config.limits
    before = _sandbox_tasks(box)
    code = """
import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError as exc:
    print("forks", n, exc.errno)
"""
    result = await box.run(code)
    _forks, count, errno = result.stdout.split()
    assert errno == "11", result  # EAGAIN: RLIMIT_NPROC
    assert int(count) <= limits.max_processes + 4
    assert result.duration_s < limits.wall_time_s
    assert _sandbox_tasks(box) <= before


async def test_shell_fork_bomb_ends_with_the_run(box: LocalSandbox) -> None:
    before = _sandbox_tasks(box)
    result = await box.run("f() { f | f & }; f; sleep 2", language="shell")
    assert result.duration_s < box.config.limits.wall_time_s
    assert _sandbox_tasks(box) <= before


async def test_memory_bomb(box: LocalSandbox) -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024 * 1024))\n"
    result = await box.run(code)
    assert "MemoryError" in result.stderr
    assert result.limit is LimitHit.MEMORY
    assert result.exit_code == 1


async def test_infinite_loop_hits_the_cpu_limit(box: LocalSandbox) -> None:
    limits = Limits(cpu_time_s=1, wall_time_s=10)
    result = await box.run("while True:\n    pass\n", limits=limits)
    assert result.limit is LimitHit.CPU_TIME
    assert result.signal == 24  # SIGXCPU
    assert result.duration_s < 5


async def test_infinite_sleep_hits_the_wall_clock(box: LocalSandbox) -> None:
    result = await box.run("import time\ntime.sleep(1000)\n", limits=Limits(wall_time_s=1))
    assert result.limit is LimitHit.WALL_TIME
    assert result.exit_code is None
    assert 1 <= result.duration_s < 4


async def test_huge_output_is_truncated_and_stopped(box: LocalSandbox) -> None:
    limits = Limits(output_bytes=4096, wall_time_s=20)
    result = await box.run("while True:\n    print('x' * 1000)\n", limits=limits)
    assert result.limit is LimitHit.OUTPUT
    assert result.truncated
    assert len(result.stdout) == 4096
    assert result.duration_s < 5


async def test_big_file_hits_the_file_size_limit(box: LocalSandbox) -> None:
    limits = Limits(file_size_bytes=1024 * 1024)
    code = "head -c 5000000 /dev/zero > big"
    result = await box.run(code, language="shell", session="s", limits=limits)
    assert result.limit is LimitHit.FILE_SIZE, result
    files = {f.path: f.size for f in await box.list_files("s")}
    assert files == {"big": 1024 * 1024}


def _denials(stdout: str) -> int:
    return sum(line.startswith("denied ") for line in stdout.splitlines())


def _marked_processes(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _sandbox_tasks(box: LocalSandbox) -> int:
    """Tasks of the uid that code runs as, when we are root and so it has its own uid."""
    return tasks_of(box._uid) if box._uid is not None else 0


@pytest.mark.parametrize("hang", [False, True], ids=["returns", "times-out"])
async def test_no_process_survives_the_run(box: LocalSandbox, hang: bool) -> None:
    token = uuid.uuid4().hex
    before = _sandbox_tasks(box)
    code = f"""
import os, subprocess, sys, time
# a plain background child
subprocess.Popen(["/bin/sh", "-c", "sleep 1000; true", "bg-{token}"])
# a double-forked, setsid daemon that ignores SIGHUP and SIGTERM
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        import signal
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 1000; true", "daemon-{token}"])
    os._exit(0)
time.sleep(0.3)
print("started", flush=True)
if {hang}:
    time.sleep(1000)
"""
    result = await box.run(code, limits=Limits(wall_time_s=2))
    assert "started" in result.stdout
    assert (result.limit is LimitHit.WALL_TIME) == hang
    assert _marked_processes(token) == []
    assert _sandbox_tasks(box) <= before
