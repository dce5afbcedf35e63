"""The guard: every check a policy enables for a text's source, one verdict.

    guard = Guard(GuardrailsConfig())
    verdict = guard.check("mail me at ann@example.org", Source.USER, vault=run_vault)
    verdict.text  # 'mail me at <EMAIL_1>'

A finding acts when its score reaches its check's threshold; the strongest action of the
acting findings wins (allow < warn < redact < quarantine < block). Redaction replaces the
findings' spans; quarantine and block replace the whole text by a notice that names the
categories, never the text. A text with nothing to withhold but itself (a user's task, a
model's answer) is blocked where a tool result would be quarantined. Checks are pure, so
the guard is safe to share between runs and threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from guardrails.config import GuardrailsConfig
from guardrails.types import Action, Check, Finding, Source, Verdict
from guardrails.vault import Vault

log = logging.getLogger("agenthost.guardrails")

CheckFactory = Callable[[Mapping[str, str]], Check]


def _pii(environ: Mapping[str, str]) -> Check:
    from guardrails.checks.pii import PiiCheck

    return PiiCheck()


def _secrets(environ: Mapping[str, str]) -> Check:
    from guardrails.checks.secrets import SecretsCheck

    return SecretsCheck(environ)


def _injection(environ: Mapping[str, str]) -> Check:
    from guardrails.checks.injection import InjectionCheck

    return InjectionCheck()


def _moderation(environ: Mapping[str, str]) -> Check:
    from guardrails.checks.moderation import ModerationCheck

    return ModerationCheck()


# the checks a config may name; code can pass others to ``Guard(checks=...)``
REGISTRY: dict[str, CheckFactory] = {
    "secrets": _secrets,
    "pii": _pii,
    "injection": _injection,
    "moderation": _moderation,
}

WHOLE = (Source.USER, Source.OUTPUT)  # texts that are withheld only by blocking them


class UnknownCheck(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"[guardrails.checks.{name}] names no check; known: {', '.join(sorted(REGISTRY))}"
        )


class Guard:
    """Checks texts under a config's policy (per tenant)."""

    def __init__(
        self,
        config: GuardrailsConfig | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        checks: Mapping[str, Check] | None = None,
    ) -> None:
        self.config = config or GuardrailsConfig()
        self._environ = dict(environ or {})
        self._checks: dict[str, Check] = dict(checks or {})
        self._policies: dict[str | None, GuardrailsConfig] = {}
        self._failed: set[str] = set()
        for name in self.config.checks:
            if name not in REGISTRY and name not in self._checks:
                raise UnknownCheck(name)

    def _check(self, name: str) -> Check:
        check = self._checks.get(name)
        if check is None:
            check = self._checks[name] = REGISTRY[name](self._environ)
        return check

    def _scan(self, name: str, text: str, source: Source) -> list[Finding]:
        """A check's findings; a check that fails is a finding too (fail closed: a text no
        check could look at does not go on), logged once per check."""
        try:
            return self._check(name).scan(text, source)
        except Exception:
            if name not in self._failed:
                self._failed.add(name)
                log.exception("guardrails check %s failed; its texts are withheld", name)
            return [Finding(name, f"error.{name}", 1.0)]

    def policy(self, tenant: str | None = None) -> GuardrailsConfig:
        found = self._policies.get(tenant)
        if found is None:
            found = self._policies[tenant] = self.config.for_tenant(tenant)
        return found

    def warm(self) -> None:
        """Load every enabled check now (models, pattern tables), not in the first call."""
        for name, policy in self.config.checks.items():
            if policy.enabled:
                self._scan(name, "warm up", Source.TOOL)  # a failure is logged, not raised

    def check(
        self,
        text: str,
        source: Source | str,
        *,
        tenant: str | None = None,
        vault: Vault | None = None,
    ) -> Verdict:
        """The verdict on ``text`` from ``source`` under ``tenant``'s policy; ``vault`` keeps
        reversible placeholders (one per run)."""
        started = time.perf_counter()
        source = Source(source)
        policy = self.policy(tenant)
        if not policy.enabled or not text:
            return Verdict(Action.ALLOW, text, source=source)
        head, cut = text[: policy.max_chars], max(0, len(text) - policy.max_chars)
        findings: list[Finding] = []
        acting: list[tuple[Finding, Action, bool]] = []
        action = Action.ALLOW
        for name, rule in policy.checks.items():
            if not rule.enabled or source not in rule.sources:
                continue
            for finding in self._scan(name, head, source):
                findings.append(finding)
                if finding.score < rule.threshold:
                    continue
                act = rule.action_for(source)
                if act is Action.REDACT and not finding.spanned:
                    act = Action.QUARANTINE  # a finding about the whole text: withhold it
                if act is Action.QUARANTINE and source in WHOLE:
                    act = Action.BLOCK
                if finding.category.startswith("error."):
                    act = Action.BLOCK if source in WHOLE else Action.QUARANTINE
                acting.append((finding, act, rule.reversible))
                if act.rank > action.rank:
                    action = act
        acted = tuple(f for f, _, _ in acting)
        if action.rank >= Action.QUARANTINE.rank:
            out = notice(action, acted)
        else:
            spans = [(f, rev) for f, act, rev in acting if act is Action.REDACT]
            out = redact(head, spans, vault) if spans else head
            if cut:
                out += f"\n[{cut} more characters not checked, so not shown]"
        return Verdict(
            action,
            out,
            tuple(findings),
            acted,
            source,
            (time.perf_counter() - started) * 1000,
        )

    def scrub(self, text: str) -> str:
        """``text`` with its secrets and personal data masked whatever the policy's actions
        (for log lines and span attributes)."""
        if not text:
            return text
        spans: list[tuple[Finding, bool]] = []
        for name in ("secrets", "pii"):
            rule = self.config.checks.get(name)
            threshold = rule.threshold if rule is not None else 0.5
            for finding in self._check(name).scan(text, Source.TOOL):
                if finding.spanned and finding.score >= threshold:
                    spans.append((finding, False))
        return redact(text, spans, None) if spans else text


def notice(action: Action, acted: tuple[Finding, ...]) -> str:
    categories = ", ".join(sorted({f.category for f in acted}))
    score = max((f.score for f in acted), default=0.0)
    what = "blocked" if action is Action.BLOCK else "withheld"
    return f"[{what} by guardrails: {categories} (score {score:.2f})]"


def mark(finding: Finding) -> str:
    """The fixed mark of a redacted span that is not reversible."""
    if finding.category.startswith("secret."):
        return f"[secret removed: {finding.category.split('.', 1)[1]}]"
    if finding.category.startswith("moderation."):
        return f"[removed: {finding.category.split('.', 1)[1]}]"
    return f"<{finding.kind()}>"


def _priority(finding: Finding) -> tuple[bool, float, int]:
    # a secret's mark wins over PII's (a password in a URL is not an email address), then
    # the surer finding, then the longer
    length = (finding.end or 0) - (finding.start or 0)
    return (finding.category.startswith("secret."), finding.score, length)


def redact(text: str, spans: list[tuple[Finding, bool]], vault: Vault | None) -> str:
    """``text`` with each finding's span replaced; overlapping spans merge and take the mark
    of the finding that matters most (``_priority``)."""
    ordered = sorted(spans, key=lambda s: (s[0].start or 0, -(s[0].end or 0)))
    merged: list[list[Any]] = []  # [start, end, finding, reversible]
    for finding, reversible in ordered:
        start, end = finding.start or 0, finding.end or 0
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if _priority(finding) > _priority(last[2]):
                last[2], last[3] = finding, reversible
            continue
        merged.append([start, end, finding, reversible])
    out: list[str] = []
    at = 0
    for start, end, finding, reversible in merged:
        out.append(text[at:start])
        value = text[start:end]
        if reversible and vault is not None:
            out.append(vault.placeholder(finding.kind(), value))
        else:
            out.append(mark(finding))
        at = end
    out.append(text[at:])
    return "".join(out)
