"""The guard and its PII and secret checks: what is found, what is redacted, what is left
alone, and the policy (per source, per tenant) that decides."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardrails import Action, Finding, Guard, GuardrailsConfig, Source, Vault
from guardrails.checks.pii import PiiCheck
from guardrails.checks.secrets import SecretsCheck
from guardrails.guard import UnknownCheck

ONLY_DATA = {"injection": {"enabled": False}, "moderation": {"enabled": False}}


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard(GuardrailsConfig(checks=ONLY_DATA), environ={"MY_API_KEY": "zq-9f8e7d6c5b4a"})


def categories(text: str) -> set[str]:
    return {f.category for f in [*PiiCheck().scan(text, Source.USER)]}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("write to ann.lee@example.org today", "pii.email"),
        ("card 4111 1111 1111 1111 exp 12/29", "pii.card"),
        ("Amex 3782-822463-10005", "pii.card"),
        ("IBAN DE89 3704 0044 0532 0130 00", "pii.iban"),
        ("IBAN GB82WEST12345698765432 please", "pii.iban"),
        ("my SSN is 123-45-6789", "pii.ssn"),
        ("call me at +44 20 7946 0958", "pii.phone"),
        ("phone: (415) 555-2671", "pii.phone"),
        ("the client connected from 81.2.69.160", "pii.ip"),
    ],
)
def test_personal_data_is_found(text: str, category: str) -> None:
    assert category in categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "order 4111 1111 1111 1112 shipped",  # not Luhn-valid
        "ISBN 978-3-16-148410-0",
        "version 1.2.3.4 and 10.0.0.1 on the LAN",  # a version; a private address
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "commit 3f9a1c0d2b4e5f60718293a4b5c6d7e8f9012345",
        "SSN-like 000-12-3456 is never issued",
        "Order no. 4155550132 was delayed",
        "at 2026-12-02 13:45:10 the build 20261202 finished",
    ],
)
def test_look_alikes_are_not_personal_data(text: str) -> None:
    found = {f.category for f in PiiCheck().scan(text, Source.USER) if f.score >= 0.5}
    assert not found, found


@pytest.mark.parametrize(
    ("text", "category", "secret"),
    [
        ("key AKIAIOSFODNN7EXAMPLE in the log", "secret.aws_key", "AKIAIOSFODNN7EXAMPLE"),
        (
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 for CI",
            "secret.github_token",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        ("my password is hunter2, don't tell", "secret.password", "hunter2"),
        (
            "Authorization: Bearer abc.def-123_456789xyz",
            "secret.bearer_token",
            "abc.def-123_456789xyz",
        ),
        ("dsn postgres://app:s3cretpw@db:5432/app", "secret.connection_string", "s3cretpw"),
        (
            "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "secret.stripe_key",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        ),
        ("api_key = 'a1b2c3d4e5f6g7h8i9j0'", "secret.api_key", "a1b2c3d4e5f6g7h8i9j0"),
        ("the env key zq-9f8e7d6c5b4a leaked", "secret.environment", "zq-9f8e7d6c5b4a"),
    ],
)
def test_secrets_are_found_and_removed(guard: Guard, text: str, category: str, secret: str) -> None:
    verdict = guard.check(text, Source.TOOL)
    assert category in verdict.categories
    assert verdict.action is Action.REDACT
    assert secret not in verdict.text


def test_a_private_key_block_is_removed_whole(guard: Guard) -> None:
    pem = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAv1\nZm9vYmFy\n"
        "-----END RSA PRIVATE KEY-----"
    )
    verdict = guard.check(f"here:\n{pem}\nbye", Source.TOOL)
    assert "MIIEow" not in verdict.text
    assert "Zm9vYmFy" not in verdict.text
    assert verdict.text.startswith("here:\n[secret removed: private_key]")


@pytest.mark.parametrize(
    "text",
    [
        "The password is required and must be 12 characters long.",
        "Reset your password: open Settings, then Security.",
        "The API key is stored in the OS keychain.",
        "Use a bearer token in the Authorization header.",
    ],
)
def test_talk_about_secrets_is_not_a_secret(text: str) -> None:
    assert not SecretsCheck().scan(text, Source.USER)


def test_placeholders_are_reversible_in_tool_arguments(guard: Guard) -> None:
    vault = Vault()
    first = guard.check("mail ann@example.org and bob@example.net", Source.USER, vault=vault)
    assert first.text == "mail <EMAIL_1> and <EMAIL_2>"
    # the same value later gets the same placeholder (a tool result echoing it)
    again = guard.check("sent to ann@example.org", Source.TOOL, vault=vault)
    assert again.text == "sent to <EMAIL_1>"
    args = {"to": ["<EMAIL_2>"], "subject": "hi <EMAIL_1>", "n": 3, "other": "<EMAIL_9>"}
    assert vault.reveal(args) == {
        "to": ["bob@example.net"],
        "subject": "hi ann@example.org",
        "n": 3,
        "other": "<EMAIL_9>",
    }


def test_secrets_are_never_reversible(guard: Guard) -> None:
    vault = Vault()
    verdict = guard.check("my password is Tr0ub4dor&3", Source.USER, vault=vault)
    assert "Tr0ub4dor" not in verdict.text
    assert len(vault) == 0


class Planted:
    """A check that flags a fixed phrase (the guard's policy is what is tested here)."""

    name = "planted"

    def scan(self, text: str, source: Source) -> list[Finding]:
        at = text.find("EVIL")
        return [] if at < 0 else [Finding(self.name, "injection", 0.9)]


def planted_guard(**policy: object) -> Guard:
    checks = {**ONLY_DATA, "planted": {"threshold": 0.5, **policy}}
    return Guard(GuardrailsConfig(checks=checks), checks={"planted": Planted()})


def test_the_strongest_action_wins_and_the_notice_names_no_text() -> None:
    guard = planted_guard(action="quarantine")
    verdict = guard.check("EVIL plan, mail ann@example.org", Source.TOOL)
    assert verdict.withheld
    assert verdict.action is Action.QUARANTINE
    assert "ann@" not in verdict.text
    assert "EVIL" not in verdict.text
    assert verdict.categories == ["injection", "pii.email"]
    # a user's text cannot be withheld from the run it starts: it is blocked
    assert guard.check("EVIL", Source.USER).action is Action.BLOCK


def test_thresholds_sources_and_per_source_actions() -> None:
    assert not planted_guard(threshold=0.95).check("EVIL", Source.TOOL).acted
    assert not planted_guard(sources=["user"]).check("EVIL", Source.TOOL).findings
    warn_for_memory = planted_guard(action="block", actions={"memory": "warn"})
    verdict = warn_for_memory.check("EVIL note", Source.MEMORY)
    assert verdict.action is Action.WARN
    assert verdict.text == "EVIL note"
    # a whole-text finding cannot be redacted: it withholds the text instead
    assert planted_guard(action="redact").check("EVIL", Source.TOOL).withheld


def test_tenant_overrides_change_only_what_they_name() -> None:
    config = GuardrailsConfig(
        checks=ONLY_DATA,
        tenants={"acme": {"checks": {"pii": {"action": "warn"}}}, "off": {"enabled": False}},
    )
    guard = Guard(config)
    text = "mail ann@example.org, password is hunter2x"
    default = guard.check(text, Source.USER)
    acme = guard.check(text, Source.USER, tenant="acme")
    assert "ann@example.org" not in default.text
    assert "ann@example.org" in acme.text
    assert "hunter2x" not in acme.text
    assert guard.check(text, Source.USER, tenant="off").text == text


def test_a_bad_policy_fails_when_loaded() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        GuardrailsConfig(tenants={"acme": {"checks": {"nope": {"action": "warn"}}}})
    with pytest.raises(UnknownCheck, match="names no check"):
        Guard(GuardrailsConfig(checks={"nope": {}}))


def test_text_past_max_chars_is_cut_not_passed_unchecked() -> None:
    guard = Guard(GuardrailsConfig(checks=ONLY_DATA, max_chars=1000))
    verdict = guard.check("x" * 1000 + " ann@example.org", Source.TOOL)
    assert "ann@" not in verdict.text
    assert "not checked" in verdict.text


def test_scrub_masks_log_lines(guard: Guard) -> None:
    line = "retrying with ghp_abcdefghijklmnopqrstuvwxyz0123456789 for ann@example.org"
    assert guard.scrub(line) == "retrying with [secret removed: github_token] for <EMAIL>"


@given(st.text(max_size=300))
def test_redaction_never_grows_a_clean_text_or_loses_it(text: str) -> None:
    guard = Guard(GuardrailsConfig(checks=ONLY_DATA))
    verdict = guard.check(text, Source.TOOL)
    if not verdict.acted:
        assert verdict.text == text
    else:
        for f in verdict.acted:
            if f.category.startswith("secret."):
                assert text[f.start : f.end] not in verdict.text or len(text[f.start : f.end]) < 4
