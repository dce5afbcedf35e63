"""One settings model and loader for the host and every MCP server (``agenthost.toml`` and
``AGENTHOST_*``); the only ``BaseSettings`` in agenthost."""

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

__all__ = [
    "BudgetsConfig",
    "ConfigFileError",
    "RoleConfig",
    "ServerConfig",
    "ServersFileError",
    "Settings",
    "ToolPolicy",
    "ToolsConfig",
    "default_home",
    "default_servers",
    "find_config_file",
    "load_settings",
    "servers_from_json",
    "to_toml",
]
