"""Reversible placeholders: a redacted value becomes ``<EMAIL_1>`` in every prompt, and a
tool call the model writes with ``<EMAIL_1>`` gets the value back just before it runs.

One vault per run, in memory only: the values never reach the session store, a span or a
log. A run resumed in another process has a new, empty vault (its placeholders stay as
they are)."""

from __future__ import annotations

import re
import threading
from typing import Any

PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9]*)_(\d+)>")


class Vault:
    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_placeholder)

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder of ``value`` (the same value always gets the same one)."""
        with self._lock:
            found = self._by_value.get((kind, value))
            if found is None:
                n = self._counts[kind] = self._counts.get(kind, 0) + 1
                found = f"<{kind}_{n}>"
                self._by_value[(kind, value)] = found
                self._by_placeholder[found] = value
            return found

    def reveal_text(self, text: str) -> str:
        if "<" not in text or not self._by_placeholder:
            return text
        return PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)

    def reveal(self, value: Any) -> Any:
        """``value`` (tool-call arguments: JSON) with every known placeholder replaced."""
        if isinstance(value, str):
            return self.reveal_text(value)
        if isinstance(value, dict):
            return {k: self.reveal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.reveal(v) for v in value]
        return value

    def known(self) -> list[str]:
        """The values held, longest first (a tool result echoing one is re-redacted)."""
        with self._lock:
            return sorted(self._by_placeholder.values(), key=len, reverse=True)
