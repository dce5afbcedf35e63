"""Policy: rules that decide approval requests without a person (headless runs).

Rules are tried in order and the first that matches decides (allow or deny); when none
matches, ``default`` decides: ``deny``, ``allow``, or ``ask`` (wait for a person or an MCP
client to decide, and deny when the deadline passes).
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from approvals.types import RISK_ORDER, ApprovalRequest, Decision, Risk
from core.errors import ConfigError, map_errors


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


class PolicyError(ConfigError):
    """The policy file is missing or invalid."""


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: Literal["allow", "deny", "ask"] = "deny"
    rules: list[PolicyRule] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Policy:
        if not path.is_file():
            raise PolicyError(f"approval policy file {path} does not exist")
        try:
            with map_errors(f"approval policy {path}"):
                return cls.model_validate(tomllib.loads(path.read_text()))
        except ConfigError as exc:
            raise PolicyError(str(exc)) from exc
        except ValidationError as exc:
            raise PolicyError(f"approval policy {path}: {exc}") from exc

    def decide(self, request: ApprovalRequest) -> Decision | None:
        """The decision of the first matching rule or the default; None means ask."""
        for number, rule in enumerate(self.rules, 1):
            if rule.matches(request):
                why = rule.reason or f"rule {number} ({rule.tool}) says {rule.action}"
                return Decision("approve" if rule.action == "allow" else "deny", "policy", why)
        if self.default == "ask":
            return None
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
    default: Literal["allow", "deny", "ask"] = Field(
        "deny", description="when no rule matches; ask: wait for a person or the MCP client"
    )
    timeout_s: float = Field(300.0, gt=0, description="an unanswered request is denied after")
    rules: list[PolicyRule] = Field(
        default_factory=list, description="inline rules, after the file's"
    )

    def policy(self) -> Policy:
        base = Policy.load(self.policy_file.expanduser()) if self.policy_file else Policy()
        default = base.default if self.policy_file else self.default
        return Policy(default=default, rules=base.rules + self.rules)

    def needs_approval(self, risk: Risk) -> bool:
        return RISK_ORDER[risk] >= RISK_ORDER[self.threshold]
