"""The real sandbox: code runs under bubblewrap or unshare (or, only if allowed, rlimits alone)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

import anyio
from anyio.abc import ByteReceiveStream, Process

from sandbox import processes, seccomp
from sandbox.commands import (
    Layout,
    bwrap_argv,
    drop_argv,
    prlimit_argv,
    sandbox_env,
    unshare_argv,
)
from sandbox.config import Limits, SandboxConfig
from sandbox.errors import IsolationUnavailable, SandboxError
from sandbox.probe import ProbeReport, probe
from sandbox.types import ExecResult, FileInfo, Isolation, Language, LimitHit
from sandbox.workspace import Workspaces, changed_files, snapshot

logger = logging.getLogger(__name__)

_PROGRAM = {"python": "main.py", "shell": "main.sh"}
# After the code's main process is gone, how long its output pipes may stay open.
_DRAIN_S = 1.0


class WeakIsolationWarning(RuntimeWarning):
    """Code runs with rlimits only: it can read the user's files and reach the network."""


class LocalSandbox:
    """Runs code on this machine under the strongest isolation the probe found."""

    def __init__(
        self, config: SandboxConfig, scratch: Path, capabilities: ProbeReport, mode: Isolation
    ) -> None:
        self.config = config
        self.capabilities = capabilities
        self.isolation: Isolation = mode
        self._uid = config.sandbox_uid if capabilities.as_root else None
        owner = (self._uid, self._uid) if self._uid is not None else None
        self.workspaces = Workspaces(
            scratch, owner=owner, max_transfer_bytes=config.max_transfer_bytes
        )
        strong = mode in ("bwrap", "unshare")
        self._filter = seccomp.deny_filter() if strong and capabilities.seccomp else None

    @property
    def seccomp(self) -> bool:
        return self._filter is not None

    # -- the Sandbox protocol -------------------------------------------------------------

    async def run(
        self,
        code: str,
        *,
        language: Language = "python",
        session: str | None = None,
        limits: Limits | None = None,
    ) -> ExecResult:
        """Run ``code`` in a fresh sandbox; ``session`` keeps its working directory."""
        limits = limits or self.config.limits
        if language not in _PROGRAM:
            raise SandboxError(f"unknown language {language!r}: use 'python' or 'shell'")
        with ExitStack() as stack:
            if session is None:
                workdir = stack.enter_context(self.workspaces.ephemeral())
            else:
                workdir = self.workspaces.session_dir(session)
            program = stack.enter_context(self.workspaces.meta(_PROGRAM[language], code))
            before = await anyio.to_thread.run_sync(snapshot, workdir)
            argv, fds, env, cwd = self._command(language, workdir, program, limits, stack)
            result = await _execute(argv, fds, env, cwd, limits, self.isolation)
            after = await anyio.to_thread.run_sync(snapshot, workdir)
        return replace(result, files=changed_files(before, after))

    async def upload(self, session: str, path: str, data: bytes) -> FileInfo:
        return await anyio.to_thread.run_sync(self.workspaces.upload, session, path, data)

    async def download(self, session: str, path: str) -> bytes:
        return await anyio.to_thread.run_sync(self.workspaces.download, session, path)

    async def list_files(self, session: str) -> list[FileInfo]:
        return await anyio.to_thread.run_sync(self.workspaces.list_files, session)

    async def reset(self, session: str) -> None:
        await anyio.to_thread.run_sync(self.workspaces.reset, session)

    # -- command lines --------------------------------------------------------------------

    def _command(
        self, language: Language, workdir: Path, program: Path, limits: Limits, stack: ExitStack
    ) -> tuple[list[str], tuple[int, ...], dict[str, str], Path]:
        caps = self.capabilities
        assert caps.prlimit
        assert caps.setpriv
        assert caps.python
        uid = self._uid
        in_use = processes.tasks_of(uid if uid is not None else os.getuid())
        head = prlimit_argv(caps.prlimit, limits, in_use)
        drop = drop_argv(caps.setpriv, uid)
        layout = Layout(workdir, program, tuple(self.config.ro_paths))
        interpreter = [caps.python, "-I"] if language == "python" else ["/bin/sh"]
        if self.isolation == "weak":
            # The program is handed over as an open fd: after dropping to sandbox_uid the code
            # may not be able to traverse the (root-only) folders above the scratch root.
            fd = stack.enter_context(_opened(program))
            inner = [*interpreter, f"/dev/fd/{fd}"]
            weak_drop = drop if uid is not None else []
            return [*head, *weak_drop, *inner], (fd,), sandbox_env(str(workdir)), workdir
        inner = [*interpreter, layout.inner_program]
        env = sandbox_env("/work")
        if self.isolation == "bwrap":
            assert caps.bwrap
            filter_fd = stack.enter_context(_memfd(self._filter)) if self._filter else None
            argv = bwrap_argv(
                caps.bwrap, layout, inner, drop=drop, as_root=caps.as_root, seccomp_fd=filter_fd
            )
            fds = (filter_fd,) if filter_fd is not None else ()
            return [*head, *argv], fds, env, workdir
        assert caps.unshare
        root = program.parent.parent / "root"
        root.mkdir()
        if self._filter:
            inner = [*seccomp.launcher_argv(caps.python, self._filter), *inner]
        argv = unshare_argv(
            caps.unshare, layout, inner, drop=drop, as_root=caps.as_root, root_mount=root
        )
        return [*head, *argv], (), env, workdir


def open_sandbox(config: SandboxConfig, home: Path) -> LocalSandbox:
    """Probe the machine and return a sandbox, or refuse with what is missing and what to do."""
    scratch = config.scratch_dir(home)
    caps = probe(config, Workspaces(scratch, owner=None, max_transfer_bytes=1))
    wanted = config.isolation
    if wanted == "weak":
        if not config.allow_weak_isolation:
            raise IsolationUnavailable(
                "isolation = 'weak' needs allow_weak_isolation = true: code would run with "
                "rlimits only, able to read your files and reach the network"
            )
        return _weak(config, scratch, caps)
    if wanted in ("bwrap", "unshare"):
        error = caps.bwrap_error if wanted == "bwrap" else caps.unshare_error
        if error is None:
            return LocalSandbox(config, scratch, caps, wanted)
        raise IsolationUnavailable(f"sandbox isolation '{wanted}' does not work here: {error}")
    strongest = caps.strongest
    if strongest is not None:
        return LocalSandbox(config, scratch, caps, strongest)
    if config.allow_weak_isolation:
        return _weak(config, scratch, caps)
    raise IsolationUnavailable(
        "no sandbox isolation works on this machine ("
        + caps.summary()
        + "). Install bubblewrap (apt-get install bubblewrap) or allow unprivileged user "
        "namespaces; or, knowing that code could then read your files and use the network, "
        "set sandbox.allow_weak_isolation = true"
    )


def _weak(config: SandboxConfig, scratch: Path, caps: ProbeReport) -> LocalSandbox:
    if not (caps.prlimit and caps.setpriv and caps.python):
        raise IsolationUnavailable(f"even weak isolation needs prlimit and setpriv: {caps}")
    message = (
        "SANDBOX IS NOT ISOLATED: code runs with rlimits only and can read your files and "
        "reach the network (sandbox.allow_weak_isolation is on)"
    )
    logger.warning(message)
    warnings.warn(message, WeakIsolationWarning, stacklevel=3)
    return LocalSandbox(config, scratch, caps, "weak")


@contextmanager
def _memfd(data: bytes | None) -> Iterator[int]:
    fd = os.memfd_create("agenthost-seccomp")  # close-on-exec; pass_fds hands it to bwrap
    try:
        os.write(fd, data or b"")
        os.lseek(fd, 0, os.SEEK_SET)
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _opened(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDONLY)
    try:
        yield fd
    finally:
        os.close(fd)


class _Capture:
    """Keeps the first ``cap`` bytes of a stream and notes whether more came."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buffer = bytearray()
        self.overflow = False

    async def pump(self, stream: ByteReceiveStream, on_overflow: anyio.Event) -> None:
        async for chunk in stream:
            room = self.cap - len(self.buffer)
            self.buffer += chunk[:room]
            if len(chunk) > room:
                self.overflow = True
                on_overflow.set()
                return

    def text(self) -> str:
        return self.buffer.decode("utf-8", errors="replace")


async def _execute(
    argv: list[str],
    fds: tuple[int, ...],
    env: dict[str, str],
    cwd: Path,
    limits: Limits,
    isolation: Isolation,
) -> ExecResult:
    out, err = _Capture(limits.output_bytes), _Capture(limits.output_bytes)
    overflow = anyio.Event()
    killed_for: LimitHit | None = None
    start = time.monotonic()
    process = await anyio.open_process(
        argv,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        start_new_session=True,
        pass_fds=fds,
    )
    try:
        async with anyio.create_task_group() as tg:
            assert process.stdout
            assert process.stderr
            tg.start_soon(out.pump, process.stdout, overflow)
            tg.start_soon(err.pump, process.stderr, overflow)
            with anyio.move_on_after(limits.wall_time_s) as deadline:
                async with anyio.create_task_group() as waiters:
                    waiters.start_soon(_wait_then_cancel, process, waiters.cancel_scope)
                    waiters.start_soon(_event_then_cancel, overflow, waiters.cancel_scope)
            if overflow.is_set():
                killed_for = LimitHit.OUTPUT
            elif deadline.cancelled_caught:
                killed_for = LimitHit.WALL_TIME
            await _stop(process, isolation)
            # Everything in the namespace is gone, so the pipes close; in weak mode a
            # daemon may still hold them, so stop reading after a moment.
            tg.cancel_scope.deadline = anyio.current_time() + _DRAIN_S
    finally:
        with anyio.CancelScope(shield=True):
            await _stop(process, isolation)
            await process.aclose()
    duration = time.monotonic() - start
    code = process.returncode
    exit_code, sig = _decode(code, killed=killed_for is not None)
    stderr = err.text()
    return ExecResult(
        stdout=out.text(),
        stderr=stderr,
        exit_code=exit_code,
        signal=sig,
        duration_s=round(duration, 3),
        limit=killed_for or _kernel_limit(exit_code, sig, stderr),
        truncated=out.overflow or err.overflow,
        isolation=isolation,
    )


async def _wait_then_cancel(process: Process, scope: anyio.CancelScope) -> None:
    await process.wait()
    scope.cancel()


async def _event_then_cancel(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


async def _stop(process: Process, isolation: Isolation) -> None:
    """Kill the run: its namespace's init (which takes the namespace with it) and its group."""
    if process.returncode is None:
        inits = await anyio.to_thread.run_sync(processes.children_of, process.pid)
        for pid in inits:
            processes.kill(pid)
        processes.kill_group(process.pid)
        await process.wait()
        if not await anyio.to_thread.run_sync(processes.wait_gone, inits):
            logger.error("sandbox processes %s outlived their run", inits)
    elif isolation == "weak":
        # No PID namespace took the code's children with it: kill what is left of its group
        # (a child that called setsid() escapes this; see docs/sandbox.md).
        processes.kill_group(process.pid)


def _decode(code: int | None, *, killed: bool) -> tuple[int | None, int | None]:
    """(exit code, signal): bwrap and shells report a signal as 128 + its number."""
    if killed:
        return None, int(signal.SIGKILL)
    if code is None:
        return None, None
    if code < 0:
        return None, -code
    if 128 < code < 128 + 65:
        return None, code - 128
    return code, None


_MEMORY_MARKS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_PROCESS_MARKS = ("Resource temporarily unavailable", "fork: retry", "can't fork", "[Errno 11]")


def _kernel_limit(exit_code: int | None, sig: int | None, stderr: str) -> LimitHit | None:
    """Which rlimit ended the run, from how it ended (see LimitHit for how exact this is)."""
    if sig == signal.SIGXCPU:
        return LimitHit.CPU_TIME
    if sig == signal.SIGXFSZ:
        return LimitHit.FILE_SIZE
    if exit_code == 0 and sig is None:
        return None
    tail = stderr[-4000:]
    if any(mark in tail for mark in _MEMORY_MARKS):
        return LimitHit.MEMORY
    if any(mark in tail for mark in _PROCESS_MARKS):
        return LimitHit.PROCESSES
    if "File too large" in tail:
        return LimitHit.FILE_SIZE
    return None
