"""Who is asking, and which trace a request belongs to: set once where a request enters
(CLI, console, MCP ``run_task``, Python) and carried down, never taken from a model's
tool arguments."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from core.errors import InvalidRequest

DEFAULT_TENANT = "default"
ADMIN_ROLE = "admin"  # a key with it sees every record of its tenant, never another tenant's


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

    def visible_scope(self) -> tuple[str, str | None]:
        """Whose records this principal may see, as ``(tenant, user)``: its own tenant's, and
        only its own user's unless it is an admin (``user`` is then None: the whole tenant).
        The one statement of the rule: ``sees`` and the session store's filters use it."""
        return self.tenant, None if ADMIN_ROLE in self.roles else self.user

    def sees(self, tenant: str | None, user: str | None) -> bool:
        """Whether a record of ``tenant`` and ``user`` (a session, a run) is visible to this
        principal (``visible_scope``). A caller answers an invisible one as it answers an
        unknown one, so ids of other principals' records cannot be probed."""
        own_tenant, own_user = self.visible_scope()
        if (tenant or DEFAULT_TENANT) != own_tenant:
            return False
        return own_user is None or (user or "") == own_user

    def describe(self) -> str:
        who = f"{self.tenant}/{self.user}" if self.user else self.tenant
        return f"{who} [{', '.join(sorted(self.roles))}]" if self.roles else who

    def to_meta(self) -> dict[str, dict[str, object]]:
        """As the host sends it with a tool call (the request's ``_meta``)."""
        return {META_KEY: {"tenant": self.tenant, "user": self.user, "roles": sorted(self.roles)}}

    @classmethod
    def from_meta(cls, meta: object) -> Principal | None:
        """The principal a request's ``_meta`` names, or None (absent or malformed). Whether
        to believe it is the receiver's call: only from a caller trusted to assert one."""
        value = meta.get(META_KEY) if isinstance(meta, dict) else None
        if not isinstance(value, dict):
            return None
        tenant, user, roles = value.get("tenant"), value.get("user", ""), value.get("roles", [])
        if not isinstance(tenant, str) or not tenant or not isinstance(user, str):
            return None
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            return None
        return cls(tenant, user, frozenset(roles))


META_KEY = "agenthost/principal"  # the _meta key a tool call carries its principal in


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
