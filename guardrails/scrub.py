"""Log lines without secrets or personal data: a ``logging.Filter`` that masks what the
guard's secret and PII checks find in each record's message before any handler writes it.

    install(guard)   # on every handler of the root logger
"""

from __future__ import annotations

import logging

from guardrails.guard import Guard


class ScrubFilter(logging.Filter):
    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self.guard = guard

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: logging reports it itself
            return True
        scrubbed = self.guard.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def install(guard: Guard, logger: logging.Logger | None = None) -> None:
    """Put a ``ScrubFilter`` on every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter(guard))
