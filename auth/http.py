"""``BearerAuth``: the ASGI middleware in front of every HTTP listener agenthost starts (the MCP
authorization spec's bearer scheme). A request without ``Authorization: Bearer <key>``, or
with a key that is unknown or revoked, gets 401 and ``WWW-Authenticate: Bearer``; a key
without the role the listener requires gets 403. A good key's principal goes into the ASGI
scope (``scope["state"]["principal"]``) for the app to scope the request by.

A client address that has failed ``[auth] max_failures`` times (30) within
``failure_window_s`` (60) gets 429
with ``Retry-After`` until its window ends, before any key is looked up: guessing keys, or
flooding the key store with lookups, is limited per address, also on listeners that have no
rate limits of their own. A key already verified (still in the verdict cache) is let through
even then, so a flood from a shared address does not lock out its known clients."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import anyio.to_thread

from auth.config import AuthConfig
from auth.keys import KeyRow, KeyStore

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CACHE_S = 5.0  # a key's verdict is kept this long (a revoke takes effect within it)


class BearerAuth:
    def __init__(
        self,
        app: ASGIApp,
        keys: KeyStore,
        *,
        role: str | None = None,
        open_paths: tuple[str, ...] = ("/healthz",),
        clock: Callable[[], float] = time.monotonic,
        config: AuthConfig | None = None,
    ) -> None:
        self.app = app
        self.keys = keys
        self.role = role
        self.open_paths = open_paths
        self.clock = clock
        config = config or AuthConfig()  # the failed-authentication limit: [auth]
        self.max_failures = config.max_failures
        self.failure_window_s = config.failure_window_s
        self._seen: dict[str, tuple[float, KeyRow | None]] = {}
        self._failed: dict[str, tuple[float, int]] = {}  # address -> (window start, failures)

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        secret = _bearer(scope)
        address = _address(scope)
        wait = self._locked_out(address)
        if wait is not None and not self._known_good(secret):
            await _refuse(
                send, 429, f"too many failed authentications from {address}; retry in {wait} s",
                retry_after=wait,
            )  # fmt: skip
            return
        if secret is None:
            self._failure(address)
            await _refuse(send, 401, "a bearer key is required (Authorization: Bearer <key>)")
            return
        row = await self._verify(secret)
        if row is None:
            self._failure(address)
            await _refuse(send, 401, "the key is unknown or revoked")
            return
        if self.role is not None and self.role not in row.roles:
            await _refuse(send, 403, f"this key's principal has no {self.role!r} role")
            return
        scope.setdefault("state", {})["principal"] = row.principal
        scope["state"]["key_id"] = row.id
        scope["state"]["key_rpm"] = row.rpm
        await self.app(scope, receive, send)

    def _locked_out(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, if it has used up its failures."""
        entry = self._failed.get(address)
        if entry is None:
            return None
        start, failures = entry
        left = start + self.failure_window_s - self.clock()
        if left <= 0:
            del self._failed[address]
            return None
        return max(1, math.ceil(left)) if failures >= self.max_failures else None

    def _failure(self, address: str) -> None:
        now = self.clock()
        start, failures = self._failed.get(address, (now, 0))
        if now - start >= self.failure_window_s:
            start, failures = now, 0
        if len(self._failed) > 10_000:
            self._failed.clear()  # a crude bound: a flood of addresses starts them all afresh
        self._failed[address] = (start, failures + 1)

    def _known_good(self, secret: str | None) -> bool:
        hit = self._seen.get(secret) if secret is not None else None
        return hit is not None and hit[1] is not None and self.clock() - hit[0] < CACHE_S

    async def _verify(self, secret: str) -> KeyRow | None:
        now = self.clock()
        hit = self._seen.get(secret)
        if hit is not None and now - hit[0] < CACHE_S:
            return hit[1]
        row = await anyio.to_thread.run_sync(self.keys.verify, secret)
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[secret] = (now, row)
        return row


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or ():
        if name.lower() == b"authorization":
            kind, _, token = bytes(value).decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return str(token.strip())
    return None


async def _refuse(send: Send, status: int, message: str, *, retry_after: int | None = None) -> None:
    body = json.dumps({"error": {"code": status, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="agenthost"'))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def guard(
    app: ASGIApp, db_url: str, config: AuthConfig | None = None, *, role: str | None = None
) -> BearerAuth:
    """``app`` behind the bearer check, with the keys of the database at ``db_url`` (made
    with ``agenthost keys create``) and the failure limits of ``config`` (``[auth]``)."""
    from memory.sessions import make_engine  # the store, with the listener that needs it

    return BearerAuth(app, KeyStore(make_engine(db_url)), role=role, config=config)


async def serve_http(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    on_stop: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run ``app`` on uvicorn at ``host:port`` (what the SDK's own HTTP runner does, with our
    middleware around the app) until cancelled, or until SIGTERM or SIGHUP: then ``on_stop``
    runs first (the gateway cancels its runs, so they are saved as cancelled and their event
    streams end), and uvicorn closes its connections. uvicorn's own signal handling is off:
    it re-raises SIGTERM once it is done, which would kill the process before the caller's
    clean-up ran."""
    import signal

    import anyio
    import uvicorn

    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on",
        timeout_graceful_shutdown=10,
    )  # fmt: skip
    server = Server(config)

    async def stop_on_signal() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP) as signals:
            async for _ in signals:
                if on_stop is not None:
                    await on_stop()
                server.should_exit = True
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(stop_on_signal)
        await server.serve()
        tg.cancel_scope.cancel()
