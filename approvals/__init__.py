"""Approvals: risky tool calls wait for a decision (policy, a person, or the MCP client).

The names below are imported on first use (``core.lazy``): ``settings`` reads the policy's
configuration without loading the store (SQLModel)."""

from typing import TYPE_CHECKING

from core.lazy import exports

if TYPE_CHECKING:
    from approvals.anchor import AuditAnchor, AuditKeyError
    from approvals.gate import ApprovalGate, Asker, PolicyGate
    from approvals.policy import ApprovalsConfig, Policy, PolicyError, PolicyRule
    from approvals.store import ApprovalRow, ApprovalStore, AuditRow, Purged
    from approvals.types import (
        RISK_ORDER,
        ApprovalRequest,
        AuditTampered,
        Decision,
        NotPending,
        Risk,
    )
else:
    __getattr__, __dir__ = exports(
        __name__,
        {
            "approvals.gate": ["ApprovalGate", "Asker", "PolicyGate"],
            "approvals.policy": ["ApprovalsConfig", "Policy", "PolicyError", "PolicyRule"],
            "approvals.anchor": ["AuditAnchor", "AuditKeyError"],
            "approvals.store": ["ApprovalRow", "ApprovalStore", "AuditRow", "Purged"],
            "approvals.types": [
                "RISK_ORDER",
                "ApprovalRequest",
                "AuditTampered",
                "Decision",
                "NotPending",
                "Risk",
            ],
        },
    )

__all__ = [
    "RISK_ORDER",
    "ApprovalGate",
    "ApprovalRequest",
    "ApprovalRow",
    "ApprovalStore",
    "ApprovalsConfig",
    "Asker",
    "AuditAnchor",
    "AuditKeyError",
    "AuditRow",
    "AuditTampered",
    "Decision",
    "NotPending",
    "Policy",
    "PolicyError",
    "PolicyGate",
    "PolicyRule",
    "Purged",
    "Risk",
]
