"""Guardrails: checks on every text that enters or leaves a model (PII, secrets, prompt
injection, moderation), under a per-tenant policy. A library: the host applies it around
its model calls and tool results; ``agenthost guard check`` runs the same code on JSON Lines.

    Guard(config).check(text, source, tenant=..., vault=...) -> Verdict
"""

from guardrails.config import CheckPolicy, GuardrailsConfig, TenantPolicy
from guardrails.guard import Guard, UnknownCheck
from guardrails.types import Action, Check, Finding, Source, Verdict
from guardrails.vault import Vault

__all__ = [
    "Action",
    "Check",
    "CheckPolicy",
    "Finding",
    "Guard",
    "GuardrailsConfig",
    "Source",
    "TenantPolicy",
    "UnknownCheck",
    "Vault",
    "Verdict",
]
