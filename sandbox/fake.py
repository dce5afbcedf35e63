"""A real fake of the Sandbox protocol for tests of code that uses a sandbox: no processes.

Files live in memory per session, with the same path rules as the real workspaces; ``run``
hands the code and the session's files to a responder function, which may change the files
(what a real run would write) and returns what the run printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.config import Limits
from sandbox.errors import FileAccessError, FileTooLarge
from sandbox.types import ExecResult, FileInfo, Isolation, Language
from sandbox.workspace import _split


@dataclass(frozen=True, slots=True)
class Reply:
    """What a responder says a run printed and how it ended."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


Responder = Callable[[str, Language, dict[str, bytes]], Reply]


def echo(code: str, language: Language, files: dict[str, bytes]) -> Reply:
    """The default responder: prints the code back."""
    return Reply(stdout=code)


class FakeSandbox:
    """In-memory sessions and a scripted ``run``; records every call in ``runs``."""

    isolation: Isolation = "bwrap"

    def __init__(self, responder: Responder = echo, *, max_transfer_bytes: int = 1 << 20) -> None:
        self.responder = responder
        self.max_transfer_bytes = max_transfer_bytes
        self.sessions: dict[str, dict[str, bytes]] = {}
        self.runs: list[tuple[str, Language, str | None]] = []

    async def run(
        self,
        code: str,
        *,
        language: Language = "python",
        session: str | None = None,
        limits: Limits | None = None,
    ) -> ExecResult:
        self.runs.append((code, language, session))
        files = self.sessions.setdefault(session, {}) if session is not None else {}
        before = dict(files)
        start = time.monotonic()
        reply = self.responder(code, language, files)
        changed = tuple(
            FileInfo(path, len(data))
            for path, data in sorted(files.items())
            if before.get(path) != data
        )
        return ExecResult(
            stdout=reply.stdout,
            stderr=reply.stderr,
            exit_code=reply.exit_code,
            signal=None,
            duration_s=time.monotonic() - start,
            files=changed,
            isolation=self.isolation,
        )

    async def upload(self, session: str, path: str, data: bytes) -> FileInfo:
        key = "/".join(_split(path))
        if len(data) > self.max_transfer_bytes:
            raise FileTooLarge(f"{path}: over the {self.max_transfer_bytes}-byte limit")
        self.sessions.setdefault(session, {})[key] = data
        return FileInfo(key, len(data))

    async def download(self, session: str, path: str) -> bytes:
        key = "/".join(_split(path))
        try:
            return self.sessions.get(session, {})[key]
        except KeyError:
            raise FileAccessError(f"{path}: no such file") from None

    async def list_files(self, session: str) -> list[FileInfo]:
        files = self.sessions.get(session, {})
        return [FileInfo(path, len(data)) for path, data in sorted(files.items())]

    async def reset(self, session: str) -> None:
        self.sessions.pop(session, None)
