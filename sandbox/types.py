"""What a sandbox run returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Language = Literal["python", "shell"]
Isolation = Literal["bwrap", "unshare", "weak"]


class LimitHit(StrEnum):
    """The limit that ended a run.

    ``wall_time`` and ``output`` are enforced by us and always exact. The others are enforced
    by the kernel inside the sandbox and read from how the code died: a signal (``cpu_time``:
    SIGXCPU, ``file_size``: SIGXFSZ) is exact; ``memory`` and ``processes`` are inferred from
    the error the code printed (MemoryError, EAGAIN on fork), so code that hides its errors
    can hit them unreported.
    """

    WALL_TIME = "wall_time"
    CPU_TIME = "cpu_time"
    MEMORY = "memory"
    PROCESSES = "processes"
    FILE_SIZE = "file_size"
    OUTPUT = "output"


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A regular file in a workspace, by its path relative to the workspace root."""

    path: str
    size: int


@dataclass(frozen=True, slots=True)
class ExecResult:
    """The outcome of one run. ``exit_code`` is None when we killed the run."""

    stdout: str
    stderr: str
    exit_code: int | None
    signal: int | None
    duration_s: float
    limit: LimitHit | None = None
    truncated: bool = False
    files: tuple[FileInfo, ...] = field(default_factory=tuple)
    isolation: Isolation = "bwrap"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None
