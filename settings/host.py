"""The host's own tables of agenthost.toml: ``[servers.*]``, ``[roles.*]`` and ``[budgets]``.

Plain data: the host reads them to start servers, filter tools and stack allowances; MCP
servers read the same file without importing the host."""

from __future__ import annotations

import fnmatch
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.budget import Budget, Period
from approvals.types import Risk


class ToolPolicy(BaseModel):
    """Per-tool settings: how risky it is, and whether its results may be cached."""

    model_config = ConfigDict(extra="forbid")

    risk: Risk | None = Field(
        None,
        description="overrides the server's default_risk (default: high for a tool the server "
        "annotates destructiveHint, else the server's default_risk)",
    )
    cacheable: bool | None = Field(
        None,
        description="identical calls may reuse a result (default: when the server annotates the "
        "tool readOnlyHint and idempotentHint)",
    )
    ttl_s: float = Field(300.0, gt=0, description="how long a cached result stays valid")


class ServerConfig(BaseModel):
    """One MCP server: ``command`` (+ ``args``, ``env``, ``cwd``) for stdio, or ``url``."""

    model_config = ConfigDict(extra="forbid")

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = Field(None, description="streamable HTTP endpoint, e.g. http://host/mcp")
    headers: dict[str, str] = Field(default_factory=dict, description="e.g. Authorization")
    enabled: bool = True
    default_risk: Risk = "low"
    tools: dict[str, ToolPolicy] = Field(default_factory=dict, description="by tool name")
    call_timeout_s: float = Field(30.0, gt=0)
    start_timeout_s: float = Field(20.0, gt=0)
    ping_interval_s: float = Field(15.0, gt=0, description="health check while idle")
    backoff_initial_s: float = Field(0.25, gt=0)
    backoff_max_s: float = Field(30.0, gt=0)
    content: Literal["tool", "retrieval", "memory"] | None = Field(
        None,
        description="what its results are to the guardrails: retrieved documents, recalled "
        "memory, or tool output (default: from our rag and memory servers' module names)",
    )

    def content_source(self, name: str) -> str:
        """What this server's results are, for the guardrails' policy by source."""
        if self.content is not None:
            return self.content
        said = " ".join([name, *self.args])
        if "mcp_servers.rag" in said or name == "rag":
            return "retrieval"
        if "mcp_servers.memory" in said or name == "memory":
            return "memory"
        return "tool"

    @model_validator(mode="after")
    def _one_transport(self) -> ServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("set exactly one of 'command' (stdio) or 'url' (streamable HTTP)")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command else "http"

    def policy(
        self, tool: str, *, destructive: bool = False, cacheable: bool = False
    ) -> tuple[Risk, ToolPolicy]:
        """The tool's risk and policy: what this config says, else what the server's tool
        annotations say (``destructive``: destructiveHint; ``cacheable``: readOnlyHint and
        idempotentHint), else the server's defaults."""
        policy = self.tools.get(tool) or ToolPolicy()
        risk = policy.risk or ("high" if destructive else self.default_risk)
        if policy.cacheable is None:
            policy = policy.model_copy(update={"cacheable": cacheable})
        return risk, policy


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


class BudgetsConfig(BaseModel):
    """Per-run defaults, and allowances per user and per tenant that span runs."""

    model_config = ConfigDict(extra="forbid")

    run: Budget = Field(default_factory=lambda: Budget(max_steps=12, max_seconds=600))
    user_default: Budget | None = Field(None, description="for users without their own entry")
    users: dict[str, Budget] = Field(default_factory=dict)
    tenants: dict[str, Budget] = Field(default_factory=dict)
    period: Period = Field("month", description="user and tenant allowances reset each period")

    def for_user(self, user: str) -> Budget | None:
        return self.users.get(user) or self.user_default


class ToolsConfig(BaseModel):
    """``[tools]``: which tools a turn is offered when a run can reach many."""

    model_config = ConfigDict(extra="forbid")

    offer: int = Field(
        6,
        ge=1,
        description="tools offered per turn, ranked by relevance to the task and recent turns; "
        "the rest are one search_tools call away",
    )
    ranking: Literal["auto", "keyword", "embedding"] = Field(
        "auto",
        description="auto: keywords and embeddings together when a run has more tools than "
        "`offer` (the embedding model loads once), keywords alone otherwise",
    )
    always: list[str] = Field(
        default_factory=list, description="globs of tools offered on every turn"
    )
    require_when: float | Literal["never"] = Field(
        0.6,
        description="the first turn must call a tool when a tool's name matches the task this "
        "well (the share of its name's words in the task, 0..1); never: the model decides",
    )

    @field_validator("require_when")
    @classmethod
    def _share(cls, value: float | str) -> float | str:
        if isinstance(value, float | int) and not 0 <= value <= 1:
            raise ValueError("require_when is a share between 0 and 1, or 'never'")
        return value
