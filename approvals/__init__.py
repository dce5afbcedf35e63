"""Approvals: risky tool calls wait for a decision (policy, a person, or the MCP client)."""

from approvals.gate import ApprovalGate, Asker, PolicyGate
from approvals.policy import ApprovalsConfig, Policy, PolicyError, PolicyRule
from approvals.store import ApprovalRow, ApprovalStore, AuditRow, NotPending
from approvals.types import RISK_ORDER, ApprovalRequest, Decision, Risk

__all__ = [
    "RISK_ORDER",
    "ApprovalGate",
    "ApprovalRequest",
    "ApprovalRow",
    "ApprovalStore",
    "ApprovalsConfig",
    "Asker",
    "AuditRow",
    "Decision",
    "NotPending",
    "Policy",
    "PolicyError",
    "PolicyGate",
    "PolicyRule",
    "Risk",
]
