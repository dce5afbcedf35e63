"""The one typed settings object: ``agenthost.toml`` overlaid with ``AGENTHOST_*`` variables.

Precedence, highest first: arguments in code, environment variables (nested keys joined with
``__``, e.g. ``AGENTHOST_INFERENCE__ROUTER__DEFAULT_TIER=fast``), the TOML file, defaults.

The TOML file is the first found of: an explicit path (``--config``), ``$AGENTHOST_CONFIG``,
``./agenthost.toml``, ``$AGENTHOST_HOME/agenthost.toml``. All state lives under ``home``.

The host and every MCP server load it the same way; a server the host starts is handed the
host's home, config file and ``AGENTHOST_*`` variables (``child_env``), so both read one
configuration and one data directory.
"""

from __future__ import annotations

import os
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from agents.config import AgentConfig
from approvals import ApprovalsConfig
from auth.config import AuthConfig
from core.errors import ConfigError, map_errors
from guardrails.config import GuardrailsConfig
from inference.config import InferenceConfig
from rag.config import RagConfig
from sandbox.config import SandboxConfig
from settings.gateway import GatewayConfig
from settings.host import BudgetsConfig, RoleConfig, ServerConfig, ToolPolicy, ToolsConfig
from settings.mcp_json import servers_from_json
from settings.retention import RetentionConfig

ENV_PREFIX = "AGENTHOST_"
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("agenthost_config_file", default=None)


class ConfigFileError(ConfigError):
    """The configuration file or environment is invalid."""


def default_home() -> Path:
    """``$AGENTHOST_HOME``, else ``$XDG_DATA_HOME/agenthost``, else ``~/.local/share/agenthost``."""
    env = os.environ.get("AGENTHOST_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "agenthost"


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
        env_prefix=ENV_PREFIX,
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
    servers_json: list[Path] = Field(
        default_factory=list,
        description="Claude Desktop (mcpServers) or VS Code (servers) JSON files whose servers "
        "are added; a server named in this file wins (relative paths: from this file's folder)",
    )
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    approvals: ApprovalsConfig = Field(default_factory=ApprovalsConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    rag: RagConfig = Field(default_factory=RagConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)

    _config_file: Path | None = PrivateAttr(default=None)

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
        return home.expanduser().absolute()

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

    @model_validator(mode="after")
    def _paths_from_the_config_file(self) -> Settings:
        """A server's relative ``command`` path (``../.venv/bin/python``, not a bare name
        looked up on PATH) and ``cwd`` are relative to the config file they are written in,
        so a config works from any directory."""
        source = _CONFIG_FILE.get()
        if source is None:
            return self
        base = source.absolute().parent
        for name, cfg in list(self.servers.items()):
            update: dict[str, str] = {}
            command = cfg.command
            if (
                command
                and ("/" in command or os.sep in command)
                and not Path(command).is_absolute()
            ):
                update["command"] = os.path.normpath(base / command)
            if cfg.cwd and not Path(cfg.cwd).expanduser().is_absolute():
                update["cwd"] = os.path.normpath(base / cfg.cwd)
            if update:
                self.servers[name] = cfg.model_copy(update=update)
        return self

    @model_validator(mode="after")
    def _add_servers_from_json(self) -> Settings:
        source = _CONFIG_FILE.get()
        base = source.parent if source is not None else Path.cwd()
        for file in self.servers_json:
            path = file.expanduser()
            path = path if path.is_absolute() else base / path
            for name, cfg in servers_from_json(path).items():
                self.servers.setdefault(name, cfg)
        return self

    @property
    def config_file(self) -> Path | None:
        """The TOML file these settings were read from (None: defaults and environment)."""
        return self._config_file

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

    def child_env(self) -> dict[str, str]:
        """What a process started by the host (an MCP server) needs to read these same
        settings: this process's ``AGENTHOST_*`` variables, the home and the config file."""
        env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
        env["AGENTHOST_HOME"] = str(self.home)
        if self._config_file is not None:
            env["AGENTHOST_CONFIG"] = str(self._config_file.absolute())
        else:
            env.pop("AGENTHOST_CONFIG", None)
        if self.database_url:
            env["AGENTHOST_DATABASE_URL"] = self.database_url
        return env


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
    candidate = default_home() / "agenthost.toml"
    return candidate if candidate.is_file() else None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Load settings, turning every problem into one ``ConfigFileError`` a user can act on."""
    path = find_config_file(config)
    token = _CONFIG_FILE.set(path)
    try:
        with map_errors(str(path) if path else "settings"):
            settings = Settings(**overrides)
    except ConfigError as exc:
        raise ConfigFileError(str(exc)) from exc
    except ValidationError as exc:
        where = str(path) if path else "settings"
        raise ConfigFileError(f"{where}: {_describe(exc)}") from exc
    finally:
        _CONFIG_FILE.reset(token)
    settings._config_file = path.absolute() if path else None
    return settings


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc or '(root)'}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
