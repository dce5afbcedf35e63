"""The audit key's anchor for a configuration (``approvals.anchor``).

The key is read here, from ``AGENTHOST_AUDIT_KEY`` or the home's ``audit.key``, and never
becomes a field of ``Settings``: nothing that prints the settings can print it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from approvals.anchor import AuditAnchor, parse_key

if TYPE_CHECKING:
    from settings.model import Settings

AUDIT_KEY_ENV = "AGENTHOST_AUDIT_KEY"


def audit_anchor(settings: Settings, environ: Mapping[str, str] = os.environ) -> AuditAnchor:
    """The anchor for ``settings.home``: ``$AGENTHOST_AUDIT_KEY`` when set (hosts sharing one
    database share it; it reaches the MCP servers the host starts with the other
    ``AGENTHOST_*`` variables), else ``audit.key`` there, made on first use. A malformed
    variable is an ``AuditKeyError`` now, not at the first approval."""
    value = environ.get(AUDIT_KEY_ENV)
    key = parse_key(value, AUDIT_KEY_ENV) if value else None
    return AuditAnchor(settings.home, key)
