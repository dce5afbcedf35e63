"""Who is asking, and which trace a request belongs to: set once where a request enters
(CLI, console, MCP ``run_task``, Python) and carried down, never taken from a model's
tool arguments."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from core.errors import InvalidRequest

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class Principal:
    """A tenant, a user in it, and the user's roles."""

    tenant: str = DEFAULT_TENANT
    user: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls, tenant: str | None = None, user: str | None = None, roles: tuple[str, ...] = ()
    ) -> Principal:
        return cls(tenant or DEFAULT_TENANT, user or "", frozenset(roles))

    def describe(self) -> str:
        who = f"{self.tenant}/{self.user}" if self.user else self.tenant
        return f"{who} [{', '.join(sorted(self.roles))}]" if self.roles else who


_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class TraceContext:
    """A W3C trace context: the trace a request joins and the span it was called from."""

    trace_id: str
    parent_span_id: str | None = None

    @classmethod
    def new(cls) -> TraceContext:
        return cls(secrets.token_hex(16))

    @classmethod
    def parse(cls, traceparent: str) -> TraceContext:
        """From a ``traceparent`` header value (``00-<trace id>-<span id>-<flags>``)."""
        match = _TRACEPARENT.match(traceparent.strip().lower())
        if match is None or set(match.group(1)) == {"0"}:
            raise InvalidRequest(f"not a W3C traceparent: {traceparent!r}")
        return cls(match.group(1), match.group(2))

    def traceparent(self, span_id: str) -> str:
        return f"00-{self.trace_id}-{span_id}-01"
