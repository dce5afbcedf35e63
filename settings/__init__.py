"""One settings model and loader for the host and every MCP server (``agenthost.toml`` and
``AGENTHOST_*``); the only ``BaseSettings`` in agenthost."""

from settings.audit import AUDIT_KEY_ENV, audit_anchor
from settings.host import BudgetsConfig, RoleConfig, ServerConfig, ToolPolicy, ToolsConfig
from settings.mcp_json import ServersFileError, servers_from_json, to_toml
from settings.model import (
    ConfigFileError,
    Settings,
    default_home,
    default_servers,
    find_config_file,
    load_settings,
)
from settings.retention import RetentionConfig
from settings.secrets import mask_url, masked

__all__ = [
    "AUDIT_KEY_ENV",
    "BudgetsConfig",
    "ConfigFileError",
    "RetentionConfig",
    "RoleConfig",
    "ServerConfig",
    "ServersFileError",
    "Settings",
    "ToolPolicy",
    "ToolsConfig",
    "audit_anchor",
    "default_home",
    "default_servers",
    "find_config_file",
    "load_settings",
    "mask_url",
    "masked",
    "servers_from_json",
    "to_toml",
]
