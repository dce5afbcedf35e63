"""Command lines that start code under each isolation mode. Pure functions: no side effects.

Every mode runs ``prlimit`` first, so the rlimits are set before anything else starts and are
inherited by everything the code spawns. Inside, the code sees:

- ``/usr`` and the ``/bin``, ``/lib*``, ``/sbin`` entries of the host (symlinks stay symlinks),
  plus ``ro_paths``, all read-only: the system runtime and nothing else of the host;
- ``/work``: the workspace (read-write), its working directory and ``$HOME``;
- ``/tmp``: a fresh, size-limited tmpfs; ``/proc`` of its own PID namespace; a minimal ``/dev``;
- ``/run/sandbox/``: the code to run (read-only);
- no ``/etc``, ``/home``, ``/root``, ``/var``: host configuration, homes and keys are absent;
- a network namespace with only a loopback interface.

When we are root, namespaces are set up as root (so a workspace under a 0700 home can be
mounted) and the code then runs as the unprivileged ``sandbox_uid`` with no capabilities:
RLIMIT_NPROC counts per host uid and does not apply to root at all, so code must never run as
host root. When we are not root, an unprivileged user namespace does the same job.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.config import Limits

RUNTIME_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
INNER_WORKDIR = "/work"
INNER_PROGRAM_DIR = "/run/sandbox"
TMPFS_BYTES = 64 * 1024 * 1024
# The sandbox machinery's own processes (bwrap's monitor and init, the unshare shell) count
# against RLIMIT_NPROC too.
_MACHINERY_TASKS = 4


@dataclass(frozen=True, slots=True)
class Layout:
    """What a run mounts: the workspace, the program file, extra read-only host paths."""

    workdir: Path
    program: Path
    ro_paths: tuple[Path, ...] = ()

    @property
    def inner_program(self) -> str:
        return f"{INNER_PROGRAM_DIR}/{self.program.name}"


def sandbox_env(home: str) -> dict[str, str]:
    """The whole environment of sandboxed code: nothing of ours leaks in."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def prlimit_argv(prlimit: str, limits: Limits, nproc_in_use: int) -> list[str]:
    """Set every rlimit, then exec the rest of the command line."""
    cpu = limits.cpu_time_s
    nproc = nproc_in_use + limits.max_processes + _MACHINERY_TASKS
    return [
        prlimit,
        # soft CPU limit sends SIGXCPU (reported as cpu_time); the hard one a second later kills
        f"--cpu={cpu}:{cpu + 1}",
        f"--as={limits.memory_bytes}",
        f"--nproc={nproc}",
        f"--fsize={limits.file_size_bytes}",
        "--core=0",
        "--",
    ]


def drop_argv(setpriv: str, uid: int | None) -> list[str]:
    """Become ``uid`` (when root) with no capabilities, ever again, then exec the code."""
    ids = [f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if uid is not None else []
    return [setpriv, *ids, "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def _runtime_binds() -> list[tuple[str, str | None]]:
    """(name, symlink target or None for a directory) for each runtime entry the host has."""
    found: list[tuple[str, str | None]] = []
    for name in RUNTIME_DIRS:
        path = Path("/") / name
        if path.is_symlink():
            found.append((name, os.readlink(path)))
        elif path.is_dir():
            found.append((name, None))
    return found


def bwrap_argv(
    bwrap: str,
    layout: Layout,
    inner: Sequence[str],
    *,
    drop: Sequence[str],
    as_root: bool,
    seccomp_fd: int | None,
) -> list[str]:
    """bubblewrap: every namespace, the mounts above, seccomp, then ``drop`` + ``inner``."""
    argv = [
        bwrap,
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
    ]
    if as_root:
        # setpriv needs these two to become sandbox_uid; it then drops them and all others.
        argv += ["--cap-add", "CAP_SETUID,CAP_SETGID"]
    else:
        argv += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    for name, target in _runtime_binds():
        if target is None:
            argv += ["--ro-bind", f"/{name}", f"/{name}"]
        else:
            argv += ["--symlink", target, f"/{name}"]
    for path in layout.ro_paths:
        argv += ["--ro-bind", str(path), str(path)]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp"]
    argv += ["--bind", str(layout.workdir), INNER_WORKDIR]
    # bwrap makes missing parents 0700 when run as root: create /run readable first.
    argv += ["--perms", "0755", "--dir", "/run"]
    argv += ["--ro-bind", str(layout.program.parent), INNER_PROGRAM_DIR]
    argv += ["--chdir", INNER_WORKDIR, "--remount-ro", "/"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    return [*argv, "--", *drop, *inner]


# Runs inside fresh mount/PID/net/IPC/UTS namespaces as (namespace) root: build a tmpfs root
# holding only the runtime, the workspace and the program, pivot into it, detach the old root,
# then start the code without privileges. The shell stays as PID 1, so the code is not an
# init (which would ignore default-action signals like SIGXCPU); when the code exits, the
# shell exits and the kernel kills everything else in the namespace.
UNSHARE_SETUP = r"""
set -eu
R="$1"; W="$2"; P="$3"; shift 3
CODE_PATH="$PATH"
PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t tmpfs -o size=1m,mode=755 sandbox-root "$R"
for d in __RUNTIME__; do
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$R/$d"
  elif [ -d "/$d" ]; then
    mkdir "$R/$d"; mount --rbind "/$d" "$R/$d"; mount -o remount,bind,ro "$R/$d"
  fi
done
for p in __RO_PATHS__; do
  mkdir -p "$R$p"; mount --rbind "$p" "$R$p"; mount -o remount,bind,ro "$R$p"
done
mkdir -p "$R/work" "$R/tmp" "$R/proc" "$R/dev" "$R/run/sandbox" "$R/.old"
mount --bind "$W" "$R/work"
mount -t tmpfs -o size=__TMPFS__,mode=1777 sandbox-tmp "$R/tmp"
mount -t proc proc "$R/proc"
for n in null zero full random urandom; do
  touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"
done
mount --bind "$P" "$R/run/sandbox"
mount -o remount,bind,ro "$R/run/sandbox"
cd "$R"
pivot_root . .old
umount -l /.old
rmdir /.old
mount -o remount,bind,ro /
hostname sandbox 2>/dev/null || true
cd /work
PATH="$CODE_PATH"
"$@" &
wait $!
"""


def unshare_argv(
    unshare: str,
    layout: Layout,
    inner: Sequence[str],
    *,
    drop: Sequence[str],
    as_root: bool,
    root_mount: Path,
) -> list[str]:
    """util-linux unshare + a setup script doing what bubblewrap does."""
    quoted = " ".join(_sh_quote(str(p)) for p in layout.ro_paths)
    runtime = " ".join(name for name, _ in _runtime_binds())
    script = (
        UNSHARE_SETUP.replace("__RUNTIME__", runtime)
        .replace("__RO_PATHS__", quoted)
        .replace("__TMPFS__", str(TMPFS_BYTES))
    )
    argv = [unshare, "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child"]
    if not as_root:
        argv += ["--user", "--map-root-user"]
    argv += ["--", "/bin/sh", "-c", script, "sandbox-setup"]
    argv += [str(root_mount), str(layout.workdir), str(layout.program.parent)]
    return [*argv, *drop, *inner]


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
