"""The one typed settings object: ``agenthost.toml`` overlaid with ``AGENTHOST_*`` variables.

Precedence, highest first: arguments in code, environment variables (nested keys joined with
``__``, e.g. ``AGENTHOST_INFERENCE__ROUTER__DEFAULT_TIER=fast``), the TOML file, defaults.

The TOML file is the first found of: an explicit path (``--config``), ``$AGENTHOST_CONFIG``,
``./agenthost.toml``, ``$AGENTHOST_HOME/agenthost.toml``. All state lives under ``home``.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from host.errors import ConfigFileError
from inference.config import InferenceConfig
from rag.config import RagConfig

_CONFIG_FILE: ContextVar[Path | None] = ContextVar("agenthost_config_file", default=None)


def default_home() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "agenthost"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AGENTHOST_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    home: Path = Field(
        default_factory=default_home,
        description="data directory for every database, index, trace, cache and log",
    )
    log_level: str = Field("warning", description="debug, info, warning or error")
    inference: InferenceConfig = Field(default_factory=InferenceConfig)
    rag: RagConfig = Field(default_factory=RagConfig)

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
        path = _CONFIG_FILE.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("home")
    @classmethod
    def _expand(cls, home: Path) -> Path:
        return home.expanduser()

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def rag_dir(self) -> Path:
        return (self.rag.dir or self.home / "rag").expanduser()

    def ensure_home(self) -> Path:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        return self.home


def find_config_file(explicit: Path | None = None) -> Path | None:
    """The TOML file to read, or None when there is none (defaults apply)."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigFileError(f"config file {explicit} does not exist")
        return explicit
    env = os.environ.get("AGENTHOST_CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigFileError(f"AGENTHOST_CONFIG points to {path}, which does not exist")
        return path
    local = Path("agenthost.toml")
    if local.is_file():
        return local
    home = Path(os.environ.get("AGENTHOST_HOME") or default_home()).expanduser()
    candidate = home / "agenthost.toml"
    return candidate if candidate.is_file() else None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Load settings, turning every problem into one ``ConfigFileError`` a user can act on."""
    path = find_config_file(config)
    token = _CONFIG_FILE.set(path)
    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: invalid TOML: {exc}") from exc
    except ValidationError as exc:
        where = str(path) if path else "settings"
        raise ConfigFileError(f"{where}: {_describe(exc)}") from exc
    finally:
        _CONFIG_FILE.reset(token)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc or '(root)'}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
