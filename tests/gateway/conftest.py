"""A real Redis for the gateway's shared rate limits: a ``redis-server`` of its own per test,
on a free loopback port, with persistence off."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """Stop the server the way a crash does (SIGKILL), and reap it."""
        self.process.kill()
        self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if not Path(REDIS_SERVER).is_file():
        pytest.skip("redis-server is not installed (`make setup` installs it as root with apt)")
    port = _free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)]
    no_persistence = ["--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [REDIS_SERVER, *options, *no_persistence],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = RedisServer(f"redis://127.0.0.1:{port}/0", process)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 15
        while True:  # wait until it accepts commands, not for a fixed time
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"redis-server exited with {process.returncode}: {error}")
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not answer PING within 15 s")
                time.sleep(0.02)
        client.close()
        yield server
    finally:
        if process.poll() is None:
            server.kill()
        if process.stderr:
            process.stderr.close()
