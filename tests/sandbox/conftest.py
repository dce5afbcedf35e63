from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from sandbox import Limits, LocalSandbox, ProbeReport, SandboxConfig, probe
from sandbox.types import Isolation
from sandbox.workspace import Workspaces

# Small limits keep the bomb tests quick; each test that needs more says so.
FAST = Limits(wall_time_s=10, cpu_time_s=2, memory_bytes=256 * 1024 * 1024, max_processes=32)


@functools.cache
def capabilities() -> ProbeReport:
    """Probed once per test session: every strong mode this machine supports is tested."""
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"agenthost-probe-{os.getpid()}"
    return probe(SandboxConfig(), Workspaces(scratch, owner=None, max_transfer_bytes=1))


def make_sandbox(mode: Isolation, root: Path, **config: object) -> LocalSandbox:
    caps = capabilities()
    error = {"bwrap": caps.bwrap_error, "unshare": caps.unshare_error, "weak": None}[mode]
    if error is not None:
        pytest.skip(f"{mode} unavailable here: {error}")
    cfg = SandboxConfig.model_validate({"isolation": mode, "limits": FAST, **config})
    return LocalSandbox(cfg, cfg.scratch_dir(root), caps, mode)


# AGENTHOST_SANDBOX_TEST_MODES=weak runs the escape tests against rlimits alone, to see them
# catch the escapes that namespaces prevent (docs/sandbox.md has the result).
MODES = os.environ.get("AGENTHOST_SANDBOX_TEST_MODES", "bwrap,unshare").split(",")


@pytest.fixture(params=MODES)
def box(request: pytest.FixtureRequest, isolated_home: Path) -> LocalSandbox:
    """A real sandbox, once per strong isolation mode."""
    mode: Isolation = request.param
    return make_sandbox(mode, isolated_home)


@pytest.fixture
def bwrap_box(isolated_home: Path) -> LocalSandbox:
    return make_sandbox("bwrap", isolated_home)
