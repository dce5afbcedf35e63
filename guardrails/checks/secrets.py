"""Secrets: credentials in any text that enters or leaves a model.

Three sources of patterns, one check:

* detect-secrets' (Yelp) regex plugins — AWS, GitHub, GitLab, Slack, Stripe, OpenAI, npm,
  PyPI, JWTs, private keys, basic-auth URLs, and the rest: their ``denylist`` patterns run
  over the text directly (the plugins' file-scanning machinery is for repositories, not for
  a prompt); the public-IP plugin is left to the PII check;
* rules for what those miss in prose and logs: "my password is …", ``Authorization: Bearer
  …``, ``api_key = …`` assignments, connection strings with a password, and newer key
  formats (Anthropic, Hugging Face, Google);
* the values of this process's own secret-named environment variables (``*_KEY``,
  ``*_TOKEN``, ``*SECRET*``, ``*PASSWORD*``): a key in the environment is found in any text,
  whatever its format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from re import Pattern

from guardrails.lazy import Once
from guardrails.types import Finding, Source


@dataclass(frozen=True)
class Rule:
    """A pattern and what it finds. ``needs`` (exact) and ``needs_lower`` (in the lowercased
    text) are literals a match cannot be without: a text holding none of them skips the
    pattern (a substring test is a hundred times cheaper than a regex scan). ``whole``: the
    whole match is the secret, else its first non-empty group."""

    category: str
    score: float
    pattern: Pattern[str]
    needs: tuple[str, ...] = ()
    needs_lower: tuple[str, ...] = ()
    whole: bool = False


class _Prefilter:
    """Every rule's literals tested once per text: the literals are shared (many patterns of
    one plugin need the same few), so a text is searched for each distinct literal once and a
    rule applies when one of its own is among those found."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.exact = tuple(sorted({n for r in rules for n in r.needs}))
        self.lower = tuple(sorted({n for r in rules for n in r.needs_lower}))
        self.needs = [(frozenset(r.needs), frozenset(r.needs_lower)) for r in rules]

    def applicable(self, text: str, lower: str) -> list[Rule]:
        exact = {n for n in self.exact if n in text}
        low = {n for n in self.lower if n in lower}
        return [
            rule
            for rule, (needs, needs_lower) in zip(self.rules, self.needs, strict=True)
            if (not needs and not needs_lower)
            or not needs.isdisjoint(exact)
            or not needs_lower.isdisjoint(low)
        ]


# detect-secrets plugin (module, class) → our category, and the literals its patterns need
PLUGINS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "artifactory": ("ArtifactoryDetector", "artifactory_token", ("AKC", "AP"), ()),
    "aws": ("AWSKeyDetector", "aws_key", ("A3T", "ABIA", "ACCA", "AKIA", "ASIA"), ("aws",)),
    "azure_storage_key": ("AzureStorageKeyDetector", "azure_key", ("AccountKey=",), ()),
    "basic_auth": ("BasicAuthDetector", "basic_auth", ("://",), ()),
    "cloudant": ("CloudantDetector", "cloudant_key", (), ("cl",)),
    "discord": ("DiscordBotTokenDetector", "discord_token", (), ()),
    "github_token": (
        "GitHubTokenDetector",
        "github_token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        (),
    ),
    "gitlab_token": ("GitLabTokenDetector", "gitlab_token", ("gl", "GR1348941"), ()),
    "ibm_cloud_iam": ("IbmCloudIamDetector", "ibm_key", (), ("key", "pwd", "pass", "token")),
    "ibm_cos_hmac": ("IbmCosHmacDetector", "ibm_key", (), ("secret",)),
    "jwt": ("JwtTokenDetector", "jwt", ("eyJ",), ()),
    "mailchimp": ("MailchimpDetector", "mailchimp_key", ("-us",), ()),
    "npm": ("NpmDetector", "npm_token", ("_authToken",), ()),
    "openai": ("OpenAIDetector", "openai_key", ("T3BlbkFJ",), ()),
    "private_key": ("PrivateKeyDetector", "private_key", ("PRIVATE KEY", "PuTTY"), ()),
    "pypi_token": ("PypiTokenDetector", "pypi_token", ("pypi-",), ()),
    "sendgrid": ("SendGridDetector", "sendgrid_key", ("SG.",), ()),
    "slack": ("SlackDetector", "slack_token", ("xox", "hooks.slack.com"), ()),
    "softlayer": ("SoftlayerDetector", "softlayer_key", (), ("sl",)),
    "square_oauth": ("SquareOAuthDetector", "square_token", ("sq0csp-",), ()),
    "stripe": ("StripeDetector", "stripe_key", ("k_live_",), ()),
    "telegram_token": ("TelegramBotTokenDetector", "telegram_token", (":",), ()),
    "twilio": ("TwilioKeyDetector", "twilio_key", ("AC", "SK"), ()),
}

_VALUE = r"[^\s'\"`,;]{4,}"
RULES: tuple[Rule, ...] = (
    Rule(
        "secret.password",
        0.9,
        re.compile(
            r"(?i)(?:\b|_)(?:password|passwd|passphrase|passcode|pwd|pin code|contraseña|"
            r"mot de passe|passwort|senha|wachtwoord)\b"
            r"(?:\s+(?:for|of|on|to)\s+[^\n,;:.]{1,40}?)?"
            r"(?:\s+(?:is|was|es|est|ist|é|to|set to|now|:|=)|\s*[:=])\s*[\"'`]?(" + _VALUE + ")"
        ),
        needs_lower=("pass", "pwd", "contraseña", "senha", "wachtwoord"),
    ),
    Rule(  # "user audit2024, password Gr33nLeaf$Audit": no verb, so the value must look set
        "secret.password",
        0.85,
        re.compile(r"(?i)(?:\b|_)(?:password|passwd|pwd)\s+[\"'`]?(" + _VALUE + ")"),
        needs_lower=("pass", "pwd"),
    ),
    Rule(
        "secret.aws_secret",
        0.95,
        re.compile(r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})"),
        needs_lower=("aws",),
    ),
    Rule(
        "secret.bearer_token",
        0.95,
        re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{12,}=*)"),
        needs_lower=("bearer",),
    ),
    Rule(
        "secret.api_key",
        0.85,
        re.compile(
            r"(?i)(?:api[_-]?key|secret[_-]?key|access[_-]?token|auth[_-]?token|"
            r"client[_-]?secret|secret)\b[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9\-._~+/]{12,}=*)"
        ),
        needs_lower=("key", "token", "secret"),
    ),
    Rule(
        "secret.connection_string",
        0.95,
        re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@]{0,64}:([^\s@/]{3,128})@[^\s/]+"),
        needs=("://",),
    ),
    Rule(
        "secret.private_key",
        1.0,
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)"
        ),
        needs=("PRIVATE KEY",),
        whole=True,
    ),
    Rule(
        "secret.anthropic_key",
        0.95,
        re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
        needs=("sk-ant-",),
        whole=True,
    ),
    Rule(
        "secret.openai_key",
        0.95,
        re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}"),
        needs=("sk-",),
        whole=True,
    ),
    Rule(
        "secret.huggingface_token",
        0.95,
        re.compile(r"\bhf_[A-Za-z0-9]{30,}"),
        needs=("hf_",),
        whole=True,
    ),
    Rule(
        "secret.google_key",
        0.95,
        re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
        needs=("AIza",),
        whole=True,
    ),
    Rule(
        "secret.github_token",
        0.95,
        re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}"),
        needs=("github_pat_",),
        whole=True,
    ),
    Rule(
        "secret.agenthost_key",
        0.95,
        re.compile(r"\bah_[A-Za-z0-9_-]{20,}"),
        needs=("ah_",),
        whole=True,
    ),
)

# what follows "password is" in prose that is not a password
NOT_A_VALUE = frozenset(
    [
        "required",
        "incorrect",
        "invalid",
        "wrong",
        "correct",
        "too",
        "the",
        "a",
        "an",
        "not",
        "set",
        "empty",
        "missing",
        "expired",
        "reset",
        "changed",
        "strong",
        "weak",
        "secure",
        "stored",
        "hashed",
        "encrypted",
        "case",
        "sensitive",
        "different",
        "same",
        "mandatory",
        "optional",
        "protected",
        "shown",
        "hidden",
        "needed",
        "wrong.",
        "incorrect.",
        "required.",
        "visible",
        "saved",
        "managed",
        "rotated",
        "long",
        "short",
        "being",
        "still",
        "now",
        "also",
        "your",
        "my",
        "his",
        "her",
        "their",
        "our",
        "this",
        "that",
    ]
)


def _plausible(category: str, value: str) -> bool:
    """Whether a rule's captured value looks like a credential rather than a word or a
    placeholder for one (``${DB_PASSWORD}``, ``<redacted>``, ``{{ secret }}``, ``%s``)."""
    if value.startswith(("${", "$", "{{", "<", "%", "[", "*")) or value.lower().strip(
        "<>[]()'\".,"
    ) in ("redacted", "hidden", "secret", "password", "changeme", "xxxx", "none", "null"):
        return False
    if category == "secret.password":
        if value.lower().rstrip(".,!") in NOT_A_VALUE or set(value) <= {"*", "x", "X", "•"}:
            return False
        # a word ("password manager", "password reset") is not one: digits, symbols or
        # inner capitals are what a set password has
        return (
            any(c.isdigit() for c in value)
            or not value.isalpha()
            or any(c.isupper() for c in value[1:])
        )
    if category == "secret.api_key":
        return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    return True


SECRET_NAME = re.compile(r"(?i)(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)")
MIN_KNOWN_LENGTH = 8  # shorter values ("1", "true") would match everywhere


def _plugin_rules() -> list[Rule]:
    import importlib

    rules: list[Rule] = []
    for module_name, (cls_name, category, needs, needs_lower) in PLUGINS.items():
        module = importlib.import_module(f"detect_secrets.plugins.{module_name}")
        for pattern in getattr(module, cls_name).denylist:
            # the plugins' groups are not always the secret (GitHub's is its prefix)
            rules.append(Rule(f"secret.{category}", 0.9, pattern, needs, needs_lower, True))
    return rules


class SecretsCheck:
    """Credentials by pattern, and the literal values of ``environ``'s secret-named
    variables (pass ``os.environ`` where the process holds keys of its own)."""

    name = "secrets"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        # detect-secrets imports requests and its plugins: once, when first needed
        self._prefilter = Once(lambda: _Prefilter([*_plugin_rules(), *RULES]))
        self.known = sorted(
            {
                value
                for name, value in (environ or {}).items()
                if SECRET_NAME.search(name) and len(value) >= MIN_KNOWN_LENGTH
            },
            key=len,
            reverse=True,
        )

    def rules(self) -> list[Rule]:
        return self._prefilter().rules

    def scan(self, text: str, source: Source) -> list[Finding]:
        found: list[Finding] = []
        for value in self.known:
            start = text.find(value)
            while start != -1:
                found.append(
                    Finding(self.name, "secret.environment", 1.0, start, start + len(value))
                )
                start = text.find(value, start + len(value))
        lower = text.lower()
        for rule in self._prefilter().applicable(text, lower):
            for m in rule.pattern.finditer(text):
                group = 0
                if not rule.whole:
                    group = next((i for i in range(1, (m.lastindex or 0) + 1) if m.group(i)), 0)
                start, end = m.span(group)
                if end > start and _plausible(rule.category, m.group(group)):
                    found.append(Finding(self.name, rule.category, rule.score, start, end))
        return found
