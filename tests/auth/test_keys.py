"""API keys and the bearer check in front of every HTTP listener, with a real store (SQLite)
and real HTTP requests (httpx against the ASGI app, and the CLI)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from auth.config import AuthConfig
from auth.http import BearerAuth, guard
from auth.keys import KeyRow, KeyStore, UnknownKey, digest
from core.errors import ConfigError, InvalidRequest
from memory.sessions import make_engine
from settings import load_settings

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(make_engine(f"sqlite:///{tmp_path / 'keys.db'}"))


def test_a_key_is_shown_once_and_stored_hashed(keys: KeyStore) -> None:
    made = keys.create(tenant="acme", user="alice", roles=["approver"], rpm=60)
    assert made.secret.startswith("ahk_")
    assert made.row.digest == digest(made.secret) != made.secret
    with keys.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT * FROM api_keys").all()
    assert made.secret not in repr(stored)  # only the hash is kept
    found = keys.verify(made.secret)
    assert found is not None
    assert (found.principal.tenant, found.principal.user) == ("acme", "alice")
    assert found.principal.roles == frozenset({"approver"})
    assert keys.verify(made.secret + "x") is None
    keys.revoke(made.row.id[:8])  # a unique prefix, like every id
    assert keys.verify(made.secret) is None
    assert keys.list() == []
    assert [r.id for r in keys.list(include_revoked=True)] == [made.row.id]
    with pytest.raises(UnknownKey):
        keys.revoke("key_ffffffff")
    with pytest.raises(InvalidRequest, match="tenant and a user"):
        keys.create(tenant="", user="bob")


async def echo(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    """An app that says whom the request was scoped to."""
    principal = scope.get("state", {}).get("principal")
    body = (principal.describe() if principal else "nobody").encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_every_request_needs_a_live_key_and_the_role(keys: KeyStore) -> None:
    now = [0.0]
    guarded = BearerAuth(echo, keys, role="approver", clock=lambda: now[0])
    approver = keys.create(tenant="acme", user="alice", roles=["approver"])
    viewer = keys.create(tenant="acme", user="bob")
    transport = httpx.ASGITransport(app=guarded)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        missing = await http.post("/mcp")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="agenthost"'
        wrong = await http.post("/mcp", headers={"Authorization": "Bearer ahk_guess"})
        assert wrong.status_code == 401
        basic = await http.post("/mcp", headers={"Authorization": f"Basic {approver.secret}"})
        assert basic.status_code == 401
        denied = await http.post("/mcp", headers={"Authorization": f"Bearer {viewer.secret}"})
        assert denied.status_code == 403
        ok = await http.post("/mcp", headers={"Authorization": f"Bearer {approver.secret}"})
        assert ok.status_code == 200
        assert ok.text == "acme/alice [approver]"  # the key's principal, for the app
        assert (await http.get("/healthz")).status_code == 200  # the one open path
        keys.revoke(approver.row.id)
        now[0] += 10  # past the verdict cache: a revoked key is refused
        again = await http.post("/mcp", headers={"Authorization": f"Bearer {approver.secret}"})
        assert again.status_code == 401


def test_the_cli_makes_lists_and_revokes_keys(tmp_path: Path) -> None:
    env = {"AGENTHOST_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO), "PATH": ""}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", "keys", *args], env=env, capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip

    made = cli("create", "--tenant", "acme", "--user", "alice", "--role", "approver")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("ahk_")
    assert "shown once" in made.stderr
    listed = cli("list", "--json")
    assert secret not in listed.stdout  # never shown again
    assert '"user": "alice"' in listed.stdout
    assert cli("revoke", "nope").returncode == 2
    bad = cli("create", "--tenant", "acme", "--user", "alice", "--rpm", "0")
    assert bad.returncode == 2


async def test_an_address_that_keeps_failing_is_held_off(keys: KeyStore) -> None:
    now = [0.0]
    limit = AuthConfig(max_failures=3, failure_window_s=60)
    guarded = BearerAuth(echo, keys, clock=lambda: now[0], config=limit)
    good = keys.create(tenant="acme", user="alice")
    looked_up: list[str] = []
    verify = keys.verify

    def counted(secret: str) -> KeyRow | None:
        looked_up.append(secret)
        return verify(secret)

    keys.verify = counted  # type: ignore[method-assign]

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=guarded, client=(address, 4000))
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    async with client("203.0.113.7") as http, client("198.51.100.2") as other:
        ok = await http.post("/mcp", headers={"Authorization": f"Bearer {good.secret}"})
        assert ok.status_code == 200  # verified, now in the verdict cache
        for guess in ("ahk_a", "ahk_b"):
            assert (
                await http.post("/mcp", headers={"Authorization": f"Bearer {guess}"})
            ).status_code == 401
        assert (await http.post("/mcp")).status_code == 401  # no key at all is a failure too
        looked_up.clear()
        now[0] += 2
        held = await http.post("/mcp", headers={"Authorization": "Bearer ahk_c"})
        assert held.status_code == 429
        assert held.headers["retry-after"] == "58"  # the window's rest
        assert "too many failed authentications" in held.json()["error"]["message"]
        assert looked_up == []  # refused before the store was asked
        # a key this listener verified moments ago (in its verdict cache) still works there
        now[0] += 1
        known = await http.post("/mcp", headers={"Authorization": f"Bearer {good.secret}"})
        assert known.status_code == 200
        # another address is not affected
        assert (
            await other.post("/mcp", headers={"Authorization": "Bearer ahk_d"})
        ).status_code == 401
        now[0] += 2  # past its verdict cache the good key is held off like any other
        assert (
            await http.post("/mcp", headers={"Authorization": f"Bearer {good.secret}"})
        ).status_code == 429
        now[0] += 55  # the window is over: the address may try again
        again = await http.post("/mcp", headers={"Authorization": "Bearer ahk_e"})
        assert again.status_code == 401


async def test_the_failure_limit_is_the_auth_sections(tmp_path: Path) -> None:
    config = tmp_path / "agenthost.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "keys.db"}"\n'
        "[auth]\nmax_failures = 2\nfailure_window_s = 600\n"
    )
    settings = load_settings(config)
    guarded = guard(echo, settings.db_url, settings.auth)  # what every HTTP listener runs
    transport = httpx.ASGITransport(app=guarded, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        codes = [(await http.post("/mcp")).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    config.write_text("[auth]\nmax_failures = 0\n")
    with pytest.raises(ConfigError, match="max_failures"):
        load_settings(config)
