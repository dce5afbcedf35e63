"""Supervise a local model-server process: start it, wait until healthy, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import anyio
import httpx

from inference.errors import BackendUnavailable


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A child process serving HTTP, with its output in ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        health_url: str,
        *,
        log_path: Path,
        startup_timeout_s: float = 120.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.health_url = health_url
        self.log_path = log_path
        self.startup_timeout_s = startup_timeout_s
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self._starting = anyio.Lock()  # concurrent first calls wait for one start-up

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def start(self) -> None:
        """Start the server unless it is running; return once it answers its health URL."""
        async with self._starting:
            if not self.running:
                await self._spawn()

    async def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            try:
                # Popen, not anyio.open_process: the server must outlive any one event loop
                # (a CLI call, a test) and start-up is a fork/exec, not a long block.
                self.proc = subprocess.Popen(  # noqa: ASYNC220
                    self.argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **(self.env or {})},
                    start_new_session=True,  # so stop() can end the whole process group
                )
            except OSError as exc:
                raise BackendUnavailable(self.name, f"cannot start {self.argv[0]}: {exc}") from exc
        await self._wait_healthy()

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        async with httpx.AsyncClient(timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise BackendUnavailable(
                        self.name,
                        f"server exited with status {self.proc.returncode} during startup; "
                        f"last output:\n{self.tail()}",
                    )
                try:
                    resp = await client.get(self.health_url)
                    if resp.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await anyio.sleep(0.25)
        await self.stop()
        raise BackendUnavailable(
            self.name,
            f"not healthy at {self.health_url} after {self.startup_timeout_s:g}s; "
            f"see {self.log_path}",
        )

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self, grace_s: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while proc.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await anyio.sleep(0.1)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
