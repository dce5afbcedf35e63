"""The guardrails seam: what the loops ask of the layer that checks texts (the host's
``RunGuard`` implements it; agents know nothing of the checks themselves)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Screened:
    """A text after its checks: what goes on, and why it was blocked (None: it was not)."""

    text: str
    blocked: str | None = None


class Screen(Protocol):
    async def answer(self, text: str) -> Screened:
        """The run's final answer, checked before it is stored or returned."""
        ...
