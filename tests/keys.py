"""For tests of HTTP listeners: a bearer key (every listener needs one: auth/http.py), and
waiting until a started server listens."""

from __future__ import annotations

from pathlib import Path

import anyio

from auth.keys import KeyStore
from memory.sessions import make_engine


def bearer_headers(home: Path, **principal: str) -> dict[str, str]:
    """``Authorization`` for a new key in the database of ``home`` (what `agenthost keys
    create` makes), for ``tenant``/``user`` (default acme/alice)."""
    keys = KeyStore(make_engine(f"sqlite:///{home / 'agenthost.db'}"))
    made = keys.create(tenant=principal.get("tenant", "acme"), user=principal.get("user", "alice"))
    return {"Authorization": f"Bearer {made.secret}"}


async def until_listening(port: int, within_s: float = 60) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port`` (a server process the
    test started), at most ``within_s``."""
    with anyio.fail_after(within_s):
        while True:
            try:
                await (await anyio.connect_tcp("127.0.0.1", port)).aclose()
                return
            except OSError:
                await anyio.sleep(0.1)
