"""What isolation this machine supports, found by trying it, once, at start."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from sandbox import seccomp
from sandbox.commands import (
    Layout,
    bwrap_argv,
    drop_argv,
    prlimit_argv,
    sandbox_env,
    unshare_argv,
)
from sandbox.config import Limits, SandboxConfig
from sandbox.processes import tasks_of
from sandbox.types import Isolation
from sandbox.workspace import Workspaces

_TRIAL_CODE = "print('ok')\n"


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """The tools found and whether a trial run under each isolation mode worked."""

    as_root: bool
    prlimit: str | None
    setpriv: str | None
    python: str | None
    bwrap: str | None
    bwrap_error: str | None
    unshare: str | None
    unshare_error: str | None
    seccomp: bool

    @property
    def strongest(self) -> Isolation | None:
        """bwrap, else unshare, else None (weak isolation is never chosen by the probe)."""
        if self.bwrap_error is None and self.bwrap:
            return "bwrap"
        if self.unshare_error is None and self.unshare:
            return "unshare"
        return None

    def summary(self) -> str:
        """One line per mechanism, for error messages and ``agenthost config``."""
        return "; ".join(
            [
                f"bwrap: {'works' if self.bwrap and not self.bwrap_error else self.bwrap_error}",
                "unshare: "
                + ("works" if self.unshare and not self.unshare_error else str(self.unshare_error)),
                f"seccomp: {'yes' if self.seccomp else 'no'}",
                f"running as root: {'yes' if self.as_root else 'no'}",
            ]
        )


def probe(config: SandboxConfig, workspaces: Workspaces) -> ProbeReport:
    """Find the tools, then run a tiny program under bwrap and under unshare to see what works."""
    as_root = os.geteuid() == 0
    prlimit = shutil.which("prlimit")
    setpriv = shutil.which("setpriv")
    python = config.python if os.access(config.python, os.X_OK) else None
    bwrap = shutil.which(config.bwrap_path)
    unshare = shutil.which(config.unshare_path)
    missing = [
        name
        for name, found in (("prlimit", prlimit), ("setpriv", setpriv), (config.python, python))
        if found is None
    ]
    base_error = f"missing {', '.join(missing)} (util-linux, python3)" if missing else None
    bwrap_error = base_error or (None if bwrap else f"{config.bwrap_path} not found")
    unshare_error = base_error or (None if unshare else f"{config.unshare_path} not found")
    if bwrap_error is None and bwrap and prlimit and setpriv and python:
        bwrap_error = _trial("bwrap", bwrap, prlimit, setpriv, python, as_root, config, workspaces)
    if unshare_error is None and unshare and prlimit and setpriv and python:
        unshare_error = _trial(
            "unshare", unshare, prlimit, setpriv, python, as_root, config, workspaces
        )
    return ProbeReport(
        as_root=as_root,
        prlimit=prlimit,
        setpriv=setpriv,
        python=python,
        bwrap=bwrap,
        bwrap_error=bwrap_error,
        unshare=unshare,
        unshare_error=unshare_error,
        seccomp=config.seccomp and seccomp.supported(),
    )


def _trial(
    mode: Isolation,
    tool: str,
    prlimit: str,
    setpriv: str,
    python: str,
    as_root: bool,
    config: SandboxConfig,
    workspaces: Workspaces,
) -> str | None:
    """None if ``print('ok')`` runs under ``mode``, else what went wrong."""
    uid = config.sandbox_uid if as_root else None
    drop = drop_argv(setpriv, uid)
    with workspaces.ephemeral() as workdir, workspaces.meta("main.py", _TRIAL_CODE) as program:
        layout = Layout(workdir, program, tuple(config.ro_paths))
        inner = [python, "-I", layout.inner_program]
        if mode == "bwrap":
            argv = bwrap_argv(tool, layout, inner, drop=drop, as_root=as_root, seccomp_fd=None)
        else:
            root = program.parent.parent / "root"
            root.mkdir()
            argv = unshare_argv(tool, layout, inner, drop=drop, as_root=as_root, root_mount=root)
        in_use = tasks_of(uid if uid is not None else os.getuid())
        argv = prlimit_argv(prlimit, Limits(), in_use) + argv
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=30,
                stdin=subprocess.DEVNULL,
                env=sandbox_env("/work"),
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"trial run failed: {exc}"
    if done.returncode != 0 or done.stdout.strip() != "ok":
        detail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return f"trial run failed: {detail}"
    return None
