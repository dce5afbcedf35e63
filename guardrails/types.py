"""The data a check and the guard exchange: where a text came from, what a check found in it,
and the one verdict the guard gives."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Source(StrEnum):
    """Where a text enters (or leaves) a prompt. Tool, retrieval and memory text is indirect:
    it was written by someone other than the run's user."""

    USER = "user"
    TOOL = "tool"
    RETRIEVAL = "retrieval"
    MEMORY = "memory"
    OUTPUT = "output"

    @property
    def indirect(self) -> bool:
        return self in (Source.TOOL, Source.RETRIEVAL, Source.MEMORY)


class Action(StrEnum):
    """What a finding asks for, weakest first: the strongest of a text's findings wins."""

    ALLOW = "allow"
    WARN = "warn"  # recorded, the text goes on unchanged
    REDACT = "redact"  # the matched spans are replaced by placeholders
    QUARANTINE = "quarantine"  # a tool result is withheld; the model is told it was
    BLOCK = "block"  # the text does not go on at all

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {a: i for i, a in enumerate(Action)}


@dataclass(frozen=True)
class Finding:
    """One thing a check found: a category (``pii.email``, ``secret.aws_key``,
    ``injection``, ``moderation.insult``), a score in [0, 1], and the span it covers (for
    redaction; ``None`` when the finding is about the whole text)."""

    check: str
    category: str
    score: float
    start: int | None = None
    end: int | None = None

    @property
    def spanned(self) -> bool:
        return self.start is not None and self.end is not None

    def kind(self) -> str:
        """The placeholder label: ``pii.email`` → ``EMAIL``."""
        return self.category.rsplit(".", 1)[-1].upper()


class Check(Protocol):
    """A plug-in: a name, and a function from a text (and where it came from) to findings.
    Checks are pure and thread-safe; thresholds and actions are the guard's policy."""

    name: str

    def scan(self, text: str, source: Source) -> list[Finding]: ...


@dataclass(frozen=True)
class Verdict:
    """The guard's answer for one text."""

    action: Action
    text: str  # what goes on: the input redacted, or a notice when quarantined or blocked
    findings: tuple[Finding, ...] = ()
    acted: tuple[Finding, ...] = ()  # the findings over their thresholds (the policy hits)
    source: Source = Source.USER
    elapsed_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return self.action is Action.BLOCK

    @property
    def withheld(self) -> bool:
        return self.action in (Action.BLOCK, Action.QUARANTINE)

    @property
    def categories(self) -> list[str]:
        return sorted({f.category for f in self.acted})

    @property
    def score(self) -> float:
        return max((f.score for f in self.acted), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """The line ``agenthost guard check`` writes (and a span's attributes draw from)."""
        return {
            "blocked": self.blocked,
            "action": self.action.value,
            "categories": self.categories,
            "score": round(self.score, 4),
            "redacted": self.text,
        }
