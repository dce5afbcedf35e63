"""The tool registry: every MCP server's tools, namespaced, filtered per role, gated by risk,
cached when read-only. A run sees its role's tools through ``RunTools`` (an agents ``Toolset``).

Tool names are ``<server>__<tool>``: unique across servers and valid as OpenAI function names.
The registry is read live, so tools loaded or unloaded while the host runs (MCP
``notifications/tools/list_changed``) show up in the next model call.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
from mcp import types
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ConfigDict, Field

from agents.tools import ToolResult
from approvals import ApprovalGate, ApprovalRequest, ApprovalsConfig, Asker, Risk
from host.cache import ToolResultCache
from host.mcp_servers import (
    ManagedServer,
    RemoteTool,
    ServerUnavailable,
    ToolPolicy,
    ToolTimeout,
)
from inference.types import ToolCall, ToolSpec

SEPARATOR = "__"


class RoleConfig(BaseModel):
    """Which tools a role may use: globs over namespaced names (``time__*``), minus ``deny``."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    servers: list[str] | None = Field(None, description="servers the role may use (None: all)")
    tools: list[str] = Field(default_factory=lambda: ["*"])
    deny: list[str] = Field(default_factory=list)

    def allows(self, server: str, name: str) -> bool:
        if self.servers is not None and server not in self.servers:
            return False
        if any(fnmatch.fnmatchcase(name, p) for p in self.deny):
            return False
        return any(fnmatch.fnmatchcase(name, p) for p in self.tools)


class UnknownRole(KeyError):
    def __str__(self) -> str:
        return f"unknown role {self.args[0]!r} (known: {self.args[1]})"


def namespaced(server: str, tool: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{server}{SEPARATOR}{tool}")[:64]


@dataclass(frozen=True)
class Entry:
    name: str
    server: ManagedServer
    tool: RemoteTool
    risk: Risk
    policy: ToolPolicy

    @property
    def spec(self) -> ToolSpec:
        schema = self.tool.input_schema or {"type": "object", "properties": {}}
        return ToolSpec(self.name, self.tool.description, schema)


class Toolbox:
    def __init__(
        self,
        servers: dict[str, ManagedServer],
        roles: dict[str, RoleConfig],
        gate: ApprovalGate,
        approvals: ApprovalsConfig,
        cache: ToolResultCache | None = None,
    ) -> None:
        self.servers = servers
        self.roles = roles
        self.gate = gate
        self.approvals = approvals
        self.cache = cache or ToolResultCache()
        self._entries: dict[str | None, tuple[tuple[int, ...], dict[str, Entry]]] = {}
        self._config_hash = {
            name: hashlib.sha256(s.config.model_dump_json().encode()).hexdigest()[:16]
            for name, s in servers.items()
        }

    def entries(self, role: str | None = None) -> dict[str, Entry]:
        """The tools ``role`` may use now (only servers that are up list any). Cached until a
        server's tool list changes (a reconnect or list_changed replaces the list)."""
        version = tuple(id(s.tools) for s in self.servers.values())
        cached = self._entries.get(role)
        if cached is not None and cached[0] == version:
            return cached[1]
        entries = self._build_entries(role)
        self._entries[role] = (version, entries)
        return entries

    def _build_entries(self, role: str | None) -> dict[str, Entry]:
        rule = self._role(role)
        out: dict[str, Entry] = {}
        for server in self.servers.values():
            for tool in server.tools:
                name = namespaced(server.name, tool.name)
                if rule is not None and not rule.allows(server.name, name):
                    continue
                risk, policy = server.config.policy(tool.name)
                out[name] = Entry(name, server, tool, risk, policy)
        return out

    def _role(self, role: str | None) -> RoleConfig | None:
        if role is None:
            return None
        try:
            return self.roles[role]
        except KeyError:
            raise UnknownRole(role, ", ".join(sorted(self.roles)) or "none configured") from None

    def for_run(
        self,
        session_id: str,
        *,
        role: str | None = None,
        agent: str = "",
        only: Sequence[str] | None = None,
        asker: Asker | None = None,
    ) -> RunTools:
        """The tools of one run: the role's, narrowed to the ``only`` globs when given.
        ``asker`` is whom the approval gate may ask directly (the run's MCP client)."""
        self._role(role)  # fail early on an unknown role
        return RunTools(self, session_id, role, agent, only, asker)

    async def call(
        self,
        entry: Entry,
        call: ToolCall,
        *,
        session_id: str,
        role: str | None,
        agent: str,
        asker: Asker | None = None,
    ) -> ToolResult:
        arguments = call.arguments
        edited: dict[str, Any] | None = None
        if self.approvals.needs_approval(entry.risk):
            request = ApprovalRequest(
                session_id=session_id,
                tool=entry.name,
                arguments=arguments,
                risk=entry.risk,
                role=role,
                agent=agent,
                summary=f"{entry.name}({json.dumps(arguments)[:200]})",
            )
            decision = await self.gate.decide(request, asker)
            if not decision.approved:
                return ToolResult.error(
                    "denied", f"approval denied by {decision.by}: {decision.reason}"
                )
            if decision.arguments is not None:
                try:
                    jsonschema.validate(decision.arguments, entry.spec.parameters)
                except jsonschema.ValidationError as exc:
                    return ToolResult.error(
                        "invalid_arguments", f"the approver's edited arguments: {exc.message}"
                    )
                arguments = edited = decision.arguments

        key = None
        if entry.policy.cacheable:
            key = self.cache.key(
                entry.server.name,
                entry.server.generation,
                self._config_hash[entry.server.name],
                entry.tool.name,
                arguments,
            )
            hit = self.cache.get(key)
            if hit is not None:
                return ToolResult(hit, cached=True, arguments=edited)

        try:
            result = await entry.server.call(entry.tool.name, arguments)
        except ServerUnavailable as exc:
            return ToolResult.error(
                "server_down", f"{exc}. Try again shortly, or use another tool."
            )
        except ToolTimeout as exc:
            return ToolResult.error("timeout", str(exc))
        except MCPError as exc:
            return ToolResult.error("tool_error", exc.error.message)
        text = render(result)
        if result.is_error:
            return ToolResult.error(
                "tool_error",
                text,
            )
        if key is not None:
            self.cache.put(key, text, entry.policy.ttl_s)
        return ToolResult(text, arguments=edited)


class RunTools:
    """The tools of one run: its role's view of the toolbox (an agents ``Toolset``)."""

    def __init__(
        self,
        toolbox: Toolbox,
        session_id: str,
        role: str | None,
        agent: str,
        only: Sequence[str] | None = None,
        asker: Asker | None = None,
    ) -> None:
        self.toolbox = toolbox
        self.asker = asker
        self.session_id = session_id
        self.role = role
        self.agent = agent
        self.only = list(only) if only else None

    def entries(self) -> dict[str, Entry]:
        entries = self.toolbox.entries(self.role)
        if self.only is None:
            return entries
        return {
            name: e
            for name, e in entries.items()
            if any(fnmatch.fnmatchcase(name, p) for p in self.only)
        }

    def specs(self) -> Sequence[ToolSpec]:
        return [e.spec for e in self.entries().values()]

    async def call(self, call: ToolCall) -> ToolResult:
        entries = self.entries()
        entry = entries.get(call.name)
        if entry is None:
            known = ", ".join(sorted(entries)) or "none"
            return ToolResult.error(
                "unknown_tool",
                f"tool {call.name!r} is not available to this run now (available: {known})",
            )
        return await self.toolbox.call(
            entry,
            call,
            session_id=self.session_id,
            role=self.role,
            agent=self.agent,
            asker=self.asker,
        )


def render(result: types.CallToolResult) -> str:
    """A tool result as text for the model: structured content as one JSON document when the
    tool gave it (a list stays one list, not one text block per item), else the text parts."""
    structured = result.structured_content
    if structured is not None and not result.is_error:
        if set(structured) == {"result"}:  # how MCP servers wrap a non-object return value
            structured = structured["result"]
        if isinstance(structured, str):
            return structured
        return json.dumps(structured, indent=2, ensure_ascii=False)
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            parts.append(getattr(resource, "text", None) or f"[resource {resource.uri}]")
        else:
            parts.append(f"[{block.type} content]")
    return "\n".join(parts)
