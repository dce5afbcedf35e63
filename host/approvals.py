"""The approval gate: risky tool calls wait for a decision before they run.

``ApprovalGate`` is the seam. Here: ``PolicyGate`` decides headless runs from allow/deny rules
(first match wins, default deny), and every decision is recorded. People (CLI, TUI) and MCP
clients (elicitation) decide through the same seam in later work.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import JSON, Column
from sqlalchemy.engine import Engine
from sqlmodel import Field as DBField
from sqlmodel import Session, SQLModel

from host.errors import ConfigFileError
from host.mcp_servers import RISK_ORDER, Risk


@dataclass(frozen=True)
class ApprovalRequest:
    session_id: str
    tool: str  # namespaced: server__tool
    arguments: dict[str, Any]
    risk: Risk
    role: str | None = None
    agent: str = ""
    summary: str = ""
    id: str = field(default_factory=lambda: f"apr_{uuid.uuid4().hex[:12]}")
    created_at: float = field(default_factory=time.time)
    deadline: float | None = None


@dataclass(frozen=True)
class Decision:
    action: Literal["approve", "deny", "edit"]
    by: str
    reason: str = ""
    arguments: dict[str, Any] | None = None  # for "edit": the arguments to run with instead

    @property
    def approved(self) -> bool:
        return self.action != "deny"


class ApprovalGate(Protocol):
    async def decide(self, request: ApprovalRequest) -> Decision: ...


class PolicyRule(BaseModel):
    """Matches a call when every given condition holds; ``action`` then decides it."""

    model_config = ConfigDict(extra="forbid")

    tool: str = Field("*", description="glob over namespaced tool names, e.g. 'sandbox__*'")
    args: str | None = Field(None, description="regex searched in the call's JSON arguments")
    max_risk: Risk | None = Field(None, description="only calls at or below this risk")
    role: str | None = None
    action: Literal["allow", "deny"]
    reason: str = ""

    @field_validator("args")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
        return pattern

    def matches(self, request: ApprovalRequest) -> bool:
        if not fnmatch.fnmatchcase(request.tool, self.tool):
            return False
        if self.role is not None and self.role != request.role:
            return False
        if self.max_risk is not None and RISK_ORDER[request.risk] > RISK_ORDER[self.max_risk]:
            return False
        if self.args is not None:
            text = json.dumps(request.arguments, sort_keys=True)
            if not re.search(self.args, text):
                return False
        return True


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: Literal["allow", "deny"] = "deny"
    rules: list[PolicyRule] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Policy:
        try:
            return cls.model_validate(tomllib.loads(path.read_text()))
        except FileNotFoundError:
            raise ConfigFileError(f"approval policy file {path} does not exist") from None
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ConfigFileError(f"approval policy {path}: {exc}") from exc

    def decide(self, request: ApprovalRequest) -> Decision:
        for number, rule in enumerate(self.rules, 1):
            if rule.matches(request):
                why = rule.reason or f"rule {number} ({rule.tool}) says {rule.action}"
                return Decision("approve" if rule.action == "allow" else "deny", "policy", why)
        return Decision(
            "approve" if self.default == "allow" else "deny",
            "policy",
            f"no rule matched {request.tool} (risk {request.risk}); the default is {self.default}",
        )


class ApprovalsConfig(BaseModel):
    """The ``[approvals]`` table."""

    model_config = ConfigDict(extra="forbid")

    threshold: Risk = Field("high", description="calls at or above this risk need approval")
    policy_file: Path | None = Field(None, description="TOML file with `default` and [[rules]]")
    default: Literal["allow", "deny"] = "deny"
    rules: list[PolicyRule] = Field(
        default_factory=list, description="inline rules, after the file's"
    )

    def policy(self) -> Policy:
        base = Policy.load(self.policy_file.expanduser()) if self.policy_file else Policy()
        default = base.default if self.policy_file else self.default
        return Policy(default=default, rules=base.rules + self.rules)

    def needs_approval(self, risk: Risk) -> bool:
        return RISK_ORDER[risk] >= RISK_ORDER[self.threshold]


class ApprovalRow(SQLModel, table=True):
    __tablename__ = "approvals"

    id: str = DBField(primary_key=True)
    session_id: str = DBField(index=True)
    tool: str
    arguments: dict[str, Any] = DBField(default_factory=dict, sa_column=Column(JSON))
    risk: str
    role: str | None = None
    summary: str = ""
    created_at: float
    decided_at: float
    action: str
    by: str
    reason: str = ""
    edited_arguments: dict[str, Any] | None = DBField(default=None, sa_column=Column(JSON))


class PolicyGate:
    """Decides by policy and records every decision (who asked, what, which rule, when)."""

    def __init__(self, policy: Policy, engine: Engine | None = None) -> None:
        self.policy = policy
        self.engine = engine
        self.decisions: list[tuple[ApprovalRequest, Decision]] = []
        if engine is not None:
            SQLModel.metadata.create_all(engine, tables=[ApprovalRow.__table__])  # type: ignore[attr-defined]

    async def decide(self, request: ApprovalRequest) -> Decision:
        decision = self.policy.decide(request)
        self.record(request, decision)
        return decision

    def record(self, request: ApprovalRequest, decision: Decision) -> None:
        self.decisions.append((request, decision))
        if self.engine is None:
            return
        with Session(self.engine) as db:
            db.add(
                ApprovalRow(
                    id=request.id,
                    session_id=request.session_id,
                    tool=request.tool,
                    arguments=request.arguments,
                    risk=request.risk,
                    role=request.role,
                    summary=request.summary,
                    created_at=request.created_at,
                    decided_at=time.time(),
                    action=decision.action,
                    by=decision.by,
                    reason=decision.reason,
                    edited_arguments=decision.arguments,
                )
            )
            db.commit()
