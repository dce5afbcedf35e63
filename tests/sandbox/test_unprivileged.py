"""The sandbox started by an ordinary user (a laptop), not root: user namespaces do the work.

CI runs as root, so this test drops to an unprivileged uid and runs the library there with the
system Python (which must be the same minor version as ours, to load our compiled packages).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
UID = 65534

SCRIPT = """
import sys
sys.path[:0] = [{repo!r}, {site!r}]
import anyio
from pathlib import Path
from sandbox import Limits, SandboxConfig, open_sandbox

async def main() -> None:
    for mode in ("bwrap", "unshare"):
        box = open_sandbox(SandboxConfig(isolation=mode), Path({home!r}))
        r = await box.run(
            "import os, socket\\n"
            "print(sorted(n for _, n in socket.if_nameindex()), sorted(os.listdir('/')))\\n"
            "open('made', 'w').write('x')",
            session="s",
        )
        print(mode, r.exit_code, r.stdout.strip(), [f.path for f in r.files])
        bomb = "import os, time\\nn = 0\\ntry:\\n    while True:\\n        if os.fork() == 0:\\n"
        bomb += "            time.sleep(20)\\n            os._exit(0)\\n        n += 1\\n"
        bomb += "except OSError as e:\\n    print(e.errno)"
        r = await box.run(bomb, limits=Limits(max_processes=16))
        print(mode, "fork", r.stdout.strip())

anyio.run(main)
"""


@pytest.fixture
def unprivileged_home() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("already unprivileged: the other tests cover this path")
    version = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip(f"{SYSTEM_PYTHON} is {version}, not {sys.version_info[:2]}")
    folder = Path(tempfile.mkdtemp(prefix="agenthost-unprivileged-", dir="/tmp"))
    os.chown(folder, UID, UID)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_sandbox_works_for_an_unprivileged_user(unprivileged_home: Path) -> None:
    script = unprivileged_home / "run.py"
    site = sysconfig.get_paths()["purelib"]
    script.write_text(SCRIPT.format(repo=str(REPO), site=site, home=str(unprivileged_home)))
    done = subprocess.run(
        ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", SYSTEM_PYTHON, script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=unprivileged_home,
        env={"PATH": os.environ["PATH"], "HOME": str(unprivileged_home)},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for mode, line in zip(["bwrap", "unshare"], lines[::2], strict=True):
        assert line.startswith(f"{mode} 0 "), line
        assert line.endswith("['made']"), line
        assert "['lo']" in line, line  # only a loopback interface
        assert "'work'" in line, line
        assert "'etc'" not in line, line
        assert "'root'" not in line, line
        assert "'home'" not in line, line
    for mode, line in zip(["bwrap", "unshare"], lines[1::2], strict=True):
        assert line == f"{mode} fork 11", line  # EAGAIN: RLIMIT_NPROC held
