"""``[guardrails]`` of agenthost.toml: which checks run on which texts, their thresholds and
actions, and per-tenant overrides. Plain data; the guard reads it.

    [guardrails.checks.injection]
    threshold = 0.6

    [guardrails.tenants.acme.checks.pii]     # acme's runs keep PII in prompts, flagged
    action = "warn"
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guardrails.types import Action, Source

ALL_SOURCES = tuple(Source)
INPUTS = (Source.USER, Source.TOOL, Source.RETRIEVAL, Source.MEMORY)


class CheckPolicy(BaseModel):
    """One check's policy: where it runs, from which score it acts, and how."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    sources: tuple[Source, ...] = Field(ALL_SOURCES, description="the texts it checks")
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="findings at or above act")
    action: Action = Field(Action.REDACT, description="what a finding over threshold does")
    actions: dict[Source, Action] = Field(
        default_factory=dict, description="per-source actions that replace `action`"
    )
    reversible: bool = Field(
        False,
        description="redact to numbered placeholders (<EMAIL_1>) that the run's tool calls "
        "get the value back for; else to a fixed mark",
    )

    def action_for(self, source: Source) -> Action:
        return self.actions.get(source, self.action)


def _default_checks() -> dict[str, CheckPolicy]:
    return {
        # secrets and PII never reach a model: redacted wherever they appear
        "secrets": CheckPolicy(threshold=0.5, action=Action.REDACT),
        "pii": CheckPolicy(threshold=0.5, action=Action.REDACT, reversible=True),
        # a user's own injection ends the run; one planted in a tool result, a retrieved
        # chunk or a memory note is withheld and the model told so
        "injection": CheckPolicy(
            sources=INPUTS,
            threshold=0.5,
            action=Action.QUARANTINE,
            actions={Source.USER: Action.BLOCK},
        ),
        "moderation": CheckPolicy(sources=(Source.OUTPUT,), threshold=0.7, action=Action.BLOCK),
    }


class TenantPolicy(BaseModel):
    """A tenant's changes: whole-layer switch and per-check fields (unset fields inherit)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    checks: dict[str, dict[str, Any]] = Field(default_factory=dict)


class GuardrailsConfig(BaseModel):
    """``[guardrails]``: on by default; every check a plug-in named in ``checks``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="check every text entering or leaving a model")
    checks: dict[str, CheckPolicy] = Field(default_factory=_default_checks)
    tenants: dict[str, TenantPolicy] = Field(default_factory=dict)
    max_chars: int = Field(
        200_000, ge=1000, description="longer texts are checked on their first max_chars only"
    )

    @field_validator("checks", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        # a table for one check changes that check; the others keep their defaults
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {k: v.model_dump() for k, v in _default_checks().items()}
        for name, fields in value.items():
            if isinstance(fields, CheckPolicy):
                fields = fields.model_dump(exclude_unset=True)
            merged[name] = {**merged.get(name, {}), **fields}
        return merged

    @model_validator(mode="after")
    def _check_tenants(self) -> GuardrailsConfig:
        for tenant in self.tenants:
            self.for_tenant(tenant)  # an invalid override fails at load, not in a run
        return self

    def for_tenant(self, tenant: str | None) -> GuardrailsConfig:
        """The policy ``tenant``'s texts are checked under."""
        override = self.tenants.get(tenant or "")
        if override is None:
            return self
        checks = {name: policy.model_dump() for name, policy in self.checks.items()}
        for name, fields in override.checks.items():
            if name not in checks:
                raise ValueError(f"tenant {tenant!r} overrides unknown check {name!r}")
            checks[name] = {**checks[name], **fields}
        return GuardrailsConfig(
            enabled=self.enabled if override.enabled is None else override.enabled,
            checks={name: CheckPolicy(**fields) for name, fields in checks.items()},
            max_chars=self.max_chars,
        )
