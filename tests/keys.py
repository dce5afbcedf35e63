"""A bearer key for a test's HTTP listeners (every one needs one: auth/http.py)."""

from __future__ import annotations

from pathlib import Path

from auth.keys import KeyStore
from memory.sessions import make_engine


def bearer_headers(home: Path, **principal: str) -> dict[str, str]:
    """``Authorization`` for a new key in the database of ``home`` (what `agenthost keys
    create` makes), for ``tenant``/``user`` (default acme/alice)."""
    keys = KeyStore(make_engine(f"sqlite:///{home / 'agenthost.db'}"))
    made = keys.create(tenant=principal.get("tenant", "acme"), user=principal.get("user", "alice"))
    return {"Authorization": f"Bearer {made.secret}"}
