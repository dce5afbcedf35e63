"""The server's settings: the ``[rag]`` and ``[inference]`` sections of agenthost.toml and the
same ``AGENTHOST_*`` variables the host reads. (MCP servers do not import ``host``.)

The tenant and ACL groups come from here — the process's own context, set by whoever
launches the server — and never from a tool argument."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from inference import InferenceConfig
from rag.config import RagConfig

_config_path: Path | None = None


def _default_home() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "agenthost"


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AGENTHOST_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(default_factory=_default_home)
    rag: RagConfig = Field(default_factory=RagConfig)
    inference: InferenceConfig = Field(default_factory=InferenceConfig)
    ingest_roots: list[Path] = Field(
        default_factory=list,
        description="folders the ingest tool may read (default: the working directory)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if _config_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=_config_path))
        return tuple(sources)

    @property
    def rag_dir(self) -> Path:
        return (self.rag.dir or self.home.expanduser() / "rag").expanduser()

    @property
    def logs_dir(self) -> Path:
        return self.home.expanduser() / "logs"


def load_server_settings(config: Path | None = None) -> ServerSettings:
    """Settings from ``config`` (else $AGENTHOST_CONFIG, else ./agenthost.toml) and the env."""
    global _config_path
    env = os.environ.get("AGENTHOST_CONFIG")
    candidates = [config, Path(env) if env else None, Path("agenthost.toml")]
    _config_path = next((p for p in candidates if p is not None and p.is_file()), None)
    try:
        return ServerSettings()
    finally:
        _config_path = None
