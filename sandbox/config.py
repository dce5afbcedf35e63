"""Typed configuration of the sandbox: limits, isolation mode, where scratch directories live."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

IsolationMode = Literal["auto", "bwrap", "unshare", "weak"]


class Limits(BaseModel):
    """Resource limits for one run. Every run gets all of them; none can be switched off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_time_s: float = Field(30.0, gt=0, le=3600, description="wall clock; kills everything")
    cpu_time_s: int = Field(10, ge=1, le=3600, description="CPU seconds per process (RLIMIT_CPU)")
    memory_bytes: int = Field(
        512 * 1024 * 1024, ge=32 * 1024 * 1024, description="address space per process (RLIMIT_AS)"
    )
    max_processes: int = Field(
        64, ge=1, le=4096, description="processes and threads at once (RLIMIT_NPROC)"
    )
    file_size_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="largest file a run may write (RLIMIT_FSIZE)"
    )
    output_bytes: int = Field(
        64 * 1024, ge=1024, description="stdout and stderr each; past it the run is stopped"
    )


class SandboxConfig(BaseModel):
    """The ``[sandbox]`` table of agenthost.toml."""

    model_config = ConfigDict(extra="forbid")

    isolation: IsolationMode = Field(
        "auto",
        description="auto: bubblewrap, else unshare; naming one insists on it; "
        "weak: rlimits only (needs allow_weak_isolation)",
    )
    allow_weak_isolation: bool = Field(
        False,
        description="when no namespace isolation works, run with rlimits only (code can then "
        "read your files and reach the network); off by default",
    )
    limits: Limits = Field(default_factory=Limits)
    scratch_root: Path | None = Field(
        None, description="per-run and per-session directories; default: <home>/sandbox"
    )
    python: str = Field("/usr/bin/python3", description="interpreter used inside the sandbox")
    ro_paths: list[Path] = Field(
        default_factory=list,
        description="extra host paths shown read-only at the same place (e.g. a Python prefix "
        "outside /usr)",
    )
    seccomp: bool = Field(True, description="add a seccomp deny-list (x86-64 only)")
    sandbox_uid: int = Field(
        65534, ge=1, description="when agenthost runs as root, code runs as this host uid"
    )
    max_transfer_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="largest file upload_file/download_file move"
    )
    bwrap_path: str = Field("bwrap", description="bubblewrap executable (name or path)")
    unshare_path: str = Field("unshare", description="util-linux unshare executable")

    def scratch_dir(self, home: Path) -> Path:
        """Where scratch directories live: ``scratch_root`` or ``<home>/sandbox``."""
        return (self.scratch_root or home / "sandbox").expanduser()
