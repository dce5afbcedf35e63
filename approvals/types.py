"""What an approval is about, and what was decided."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import AgentHostError, InvalidRequest

Risk = Literal["low", "medium", "high", "critical"]
RISK_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}
Action = Literal["approve", "deny", "edit"]


@dataclass(frozen=True)
class ApprovalRequest:
    """A tool call waiting for a decision: who asks, what, how risky, until when."""

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
    """approve, deny, or edit (approve with other arguments); by whom and why."""

    action: Action
    by: str
    reason: str = ""
    arguments: dict[str, Any] | None = None  # for "edit": the arguments to run with instead

    @property
    def approved(self) -> bool:
        return self.action != "deny"


class NotPending(InvalidRequest):
    """The request was already decided (or expired, or never existed)."""


class AuditTampered(AgentHostError):
    """The audit log fails verification, so what would erase the evidence (a purge) is
    refused."""
