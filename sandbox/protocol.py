"""The seam between agents and code execution."""

from __future__ import annotations

from typing import Protocol

from sandbox.config import Limits
from sandbox.types import ExecResult, FileInfo, Isolation, Language


class Sandbox(Protocol):
    """Runs untrusted code; a session is a working directory that outlives single runs."""

    @property
    def isolation(self) -> Isolation: ...

    async def run(
        self,
        code: str,
        *,
        language: Language = "python",
        session: str | None = None,
        limits: Limits | None = None,
    ) -> ExecResult:
        """Run ``code``; without a session it runs in a fresh directory that is then removed."""
        ...

    async def upload(self, session: str, path: str, data: bytes) -> FileInfo: ...

    async def download(self, session: str, path: str) -> bytes: ...

    async def list_files(self, session: str) -> list[FileInfo]: ...

    async def reset(self, session: str) -> None:
        """Delete every file of the session."""
        ...
