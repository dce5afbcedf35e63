"""The one typed settings object: ``agenthost.toml`` overlaid with ``AGENTHOST_*`` variables.

Precedence, highest first: arguments in code, environment variables (nested keys joined with
``__``, e.g. ``AGENTHOST_INFERENCE__ROUTER__DEFAULT_TIER=fast``), the TOML file, defaults.

The TOML file is the first found of: an explicit path (``--config``), ``$AGENTHOST_CONFIG``,
``./agenthost.toml``, ``$AGENTHOST_HOME/agenthost.toml``. All state lives under ``home``.
"""

from __future__ import annotations

import os
import sys
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from agents.budget import Budget
from agents.config import AgentConfig
from approvals import ApprovalsConfig
from host.errors import ConfigFileError
from host.mcp_servers import ServerConfig, ToolPolicy
from host.toolbox import RoleConfig
from inference.config import InferenceConfig
from memory.sessions import default_home
from rag.config import RagConfig
from sandbox.config import SandboxConfig

_CONFIG_FILE: ContextVar[Path | None] = ContextVar("agenthost_config_file", default=None)


class Limits(BaseModel):
    """Budget limits; unset means unlimited."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int | None = Field(None, ge=1)
    max_input_tokens: int | None = Field(None, ge=1)
    max_output_tokens: int | None = Field(None, ge=1)
    max_cost_usd: float | None = Field(None, ge=0)
    max_seconds: float | None = Field(None, gt=0)

    def budget(self) -> Budget:
        return Budget(**self.model_dump())


class BudgetsConfig(BaseModel):
    """Per-run defaults, and allowances per user and per tenant that span runs."""

    model_config = ConfigDict(extra="forbid")

    run: Limits = Field(default_factory=lambda: Limits(max_steps=12, max_seconds=600))
    user_default: Limits | None = Field(None, description="for users without their own entry")
    users: dict[str, Limits] = Field(default_factory=dict)
    tenants: dict[str, Limits] = Field(default_factory=dict)
    period: Literal["total", "day", "month"] = Field(
        "month", description="user and tenant allowances reset each period"
    )


def default_servers() -> dict[str, ServerConfig]:
    """MCP servers every install has. ``time`` is the reference server from the MCP project
    (PyPI: mcp-server-time): a third-party server, run exactly as any other would be."""
    return {
        "time": ServerConfig(
            command=sys.executable,
            args=["-m", "mcp_server_time", "--local-timezone", "UTC"],
            tools={"get_current_time": ToolPolicy(cacheable=True, ttl_s=1.0)},
        ),
    }


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
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the session store (default: SQLite under home)"
    )
    servers: dict[str, ServerConfig] = Field(
        default_factory=default_servers,
        description="MCP servers by name; the defaults stay unless overridden or disabled",
    )
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    approvals: ApprovalsConfig = Field(default_factory=ApprovalsConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
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

    @field_validator("servers", mode="before")
    @classmethod
    def _keep_default_servers(cls, servers: Any) -> Any:
        if isinstance(servers, dict):
            defaults: dict[str, Any] = {
                name: cfg.model_dump(exclude_defaults=True)
                for name, cfg in default_servers().items()
            }
            merged = dict(defaults)
            for name, cfg in servers.items():
                base = defaults.get(name)
                both = isinstance(base, dict) and isinstance(cfg, dict)
                merged[name] = base | cfg if both else cfg
            return merged
        return servers

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'agenthost.db'}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def sandbox_dir(self) -> Path:
        """Scratch directories of the code sandbox."""
        return self.sandbox.scratch_dir(self.home)

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
