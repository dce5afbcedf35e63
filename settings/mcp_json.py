"""MCP server lists as desktop apps and IDEs write them, read into ``[servers.*]``.

- Claude Desktop (``claude_desktop_config.json``), Cursor, and most clients:
  ``{"mcpServers": {"name": {"command": ..., "args": [...], "env": {...}}}}``, or
  ``{"url": ..., "headers": {...}}`` for a remote server;
- VS Code (``.vscode/mcp.json``): ``{"servers": {"name": {"type": "stdio", "command": ...}}}``
  or ``{"type": "http", "url": ...}``, and the same under ``"mcp"`` in ``settings.json``.

``agenthost servers import FILE`` prints the TOML for them; ``servers_json = [FILE, ...]`` in
agenthost.toml reads them at every start (servers named in the TOML itself win).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import ConfigError, map_errors
from settings.host import ServerConfig


class ServersFileError(ConfigError):
    """The JSON file is not a server list agenthost knows."""


def servers_from_json(path: Path) -> dict[str, ServerConfig]:
    """The servers a Claude Desktop or VS Code JSON file lists, as agenthost configs."""
    with map_errors(str(path)):
        text = path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ServersFileError(f"{path}: not JSON: {exc}") from exc
    block = _block(data)
    if block is None:
        raise ServersFileError(
            f"{path}: no 'mcpServers' (Claude Desktop) or 'servers' (VS Code) object"
        )
    out: dict[str, ServerConfig] = {}
    for name, entry in block.items():
        if not isinstance(entry, dict):
            raise ServersFileError(f"{path}: server {name!r} is not an object")
        try:
            out[_name(name)] = ServerConfig.model_validate(_fields(entry, path.parent))
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise ServersFileError(f"{path}: server {name!r}: {problem}") from exc
    return out


def _block(data: Any) -> Mapping[str, Any] | None:
    if not isinstance(data, dict):
        return None
    for key in ("mcpServers", "servers"):
        if isinstance(data.get(key), dict):
            return data[key]  # type: ignore[no-any-return]
    mcp = data.get("mcp")
    if isinstance(mcp, dict) and isinstance(mcp.get("servers"), dict):
        return mcp["servers"]  # type: ignore[no-any-return]
    return None


def _name(name: str) -> str:
    # tool names are <server>__<tool>: keep server names to what survives that
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return cleaned.replace("__", "_") or "server"


def _fields(entry: dict[str, Any], base: Path) -> dict[str, Any]:
    kind = entry.get("type")
    fields: dict[str, Any] = {}
    if kind in ("http", "sse", "streamable-http") or "url" in entry:
        fields["url"] = entry.get("url")
        if entry.get("headers"):
            fields["headers"] = {k: str(v) for k, v in entry["headers"].items()}
    else:
        fields["command"] = entry.get("command")
        fields["args"] = [str(a) for a in entry.get("args", [])]
        if entry.get("env"):
            fields["env"] = {k: str(v) for k, v in entry["env"].items()}
        if entry.get("cwd"):
            fields["cwd"] = str((base / str(entry["cwd"])).resolve())
    if entry.get("disabled") is True:
        fields["enabled"] = False
    return fields


def to_toml(servers: Mapping[str, ServerConfig]) -> str:
    """``[servers.<name>]`` tables for ``servers`` (only what differs from the defaults)."""
    lines: list[str] = []
    for name, cfg in servers.items():
        lines.append(f"[servers.{name}]")
        data = cfg.model_dump(exclude_defaults=True, exclude_none=True)
        tables = {k: v for k, v in data.items() if isinstance(v, dict)}
        for key, value in data.items():
            if key not in tables:
                lines.append(f"{key} = {_value(value)}")
        for key, table in tables.items():
            lines.append(f"[servers.{name}.{key}]")
            lines += [f"{json.dumps(k)} = {_value(v)}" for k, v in table.items()]
        lines.append("")
    return "\n".join(lines)


def _value(value: Any) -> str:
    # JSON strings, numbers, booleans and lists of them are valid TOML as written
    return json.dumps(value, ensure_ascii=False)
