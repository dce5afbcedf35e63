"""Request- and token-rate limits per API key, per tenant and per client address, counted by
the `limits` library in this process (``memory://``) or in Redis (``redis://host:port/db``),
where every gateway replica sees the same counts.

Each scope has a limit on requests a minute, counted when a request is admitted, and one on
model tokens a minute, charged after the model call (only then is its size known). A request
over a limit gets a ``Refusal``, which the gateway answers with 429 and ``Retry-After``.

Strategy: the sliding-window counter. It keeps two counters per limit (this fixed minute and
the last) and weighs the last one by how much of it still lies in the past 60 s, so a check
is one small Redis script and the storage does not grow with the limit. The moving window
is exact but stores one entry per unit counted: per token, for the token limits (a
100 000-token-a-minute tenant would hold 100 000 entries), and it cannot charge more than
the limit in one go. The price is an approximation: the last minute is taken as evenly
spread.

The limits' in-memory storage is built on asyncio (its locks and expiry timer), so this
module needs the asyncio event loop, which is what the gateway runs on.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, SlidingWindowCounterSupport
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from core.errors import ConfigError
from settings.gateway import LimitsConfig

log = logging.getLogger("agenthost.gateway")

Scope = Literal["key", "tenant", "ip"]
Kind = Literal["requests", "tokens"]

# The ceiling given to the storage when charging tokens: a charge is counted whole, so a
# request that overshoots leaves the scope in debt and it waits longer (see charge()).
_UNBOUNDED = 2**31 - 1
_KEY_PREFIX = "agenthost"
_REMEMBERED = 4096  # callers whose applicable limits are kept (a request's hot path builds none)


@dataclass(frozen=True)
class Caller:
    """Who a request counts against: its API key, the key's tenant and the client address."""

    key_id: str
    tenant: str
    ip: str
    key_rpm: int | None = None  # the key's own rpm (auth.keys.KeyRow.rpm), over config.key.rpm


@dataclass(frozen=True)
class Refusal:
    """A limit a request is over, and when a retry can be admitted."""

    scope: Scope
    kind: Kind
    limit: int  # per minute
    retry_after_s: int  # whole seconds >= 1, for the Retry-After header
    subject: str = ""  # the key id, tenant or address named in message(); never a secret

    def message(self) -> str:
        """One line for the 429 body, e.g. "tenant acme is over its 60 requests a minute;
        retry in 12 s"."""
        noun = {"key": "key", "tenant": "tenant", "ip": "client"}[self.scope]
        who = f"{noun} {self.subject}" if self.subject else f"this {noun}"
        return (
            f"{who} is over its {self.limit} {self.kind} a minute; retry in {self.retry_after_s} s"
        )


@dataclass(frozen=True)
class _Limit:
    scope: Scope
    kind: Kind
    subject: str
    item: RateLimitItem

    @property
    def ids(self) -> tuple[str, str, str]:
        return (self.kind, self.scope, self.subject)

    @cached_property
    def key(self) -> str:
        return self.item.key_for(*self.ids)


class RateLimiter:
    """The gateway's rate limits, over the storage ``config.storage`` names.

    A request is tested against every limit before it is counted against any, so a refused
    request does not use up the key's allowance because the tenant's ran out. The test and
    the count are separate storage calls: two replicas racing for the last unit may both
    pass the test, and the one whose count then fails is refused, having been counted by the
    scopes before it (an overcount of one request, bounded by the number of racers).

    When the storage cannot be reached (Redis down or slower than ``storage_timeout_s``),
    requests are admitted uncounted: an outage of the limiter should not take the gateway
    down with it. ``storage_errors`` counts the calls that failed open, and one warning is
    logged per outage (at its first failure; the next once the storage has answered again),
    not one per request. There is no circuit breaker: while Redis is down, each request
    tries it once, which costs at most one ``storage_timeout_s``.
    """

    def __init__(self, config: LimitsConfig) -> None:
        self.config = config
        self.storage_errors = 0
        self._outage = False
        self._pool: redis.asyncio.ConnectionPool | None = None
        storage: MemoryStorage | RedisStorage
        scheme = urlsplit(config.storage).scheme
        if scheme == "memory":
            storage = MemoryStorage()
        elif scheme in ("redis", "rediss"):
            # Our own pool, so aclose() can close it, and without redis-py's default of ten
            # retries with backoff: a dead Redis must fail a request's check at once.
            pool_options: dict[str, Any] = {
                "socket_timeout": config.storage_timeout_s,
                "socket_connect_timeout": config.storage_timeout_s,
                "retry": Retry(NoBackoff(), 0),
            }
            self._pool = redis.asyncio.ConnectionPool.from_url(config.storage, **pool_options)
            storage_options: dict[str, Any] = {"connection_pool": self._pool}
            storage = RedisStorage(
                f"async+{config.storage}",
                wrap_exceptions=True,
                implementation="redispy",  # redis-py, not limits' default coredis
                key_prefix=_KEY_PREFIX,
                **storage_options,
            )
        else:
            raise ConfigError(
                f"gateway.limits.storage {_redacted(config.storage)!r}: use memory:// or "
                "redis://host:port/db"
            )
        self._storage = storage
        self._counters: SlidingWindowCounterSupport = storage
        self._window = SlidingWindowCounterRateLimiter(storage)
        self._limits: dict[tuple[Caller, Kind], list[_Limit]] = {}

    async def admit(self, caller: Caller) -> Refusal | None:
        """Count one request against each request-rate limit that applies, and refuse when one
        is over, or when a token-rate limit is already used up this minute."""
        try:
            refusal = await self._admit(caller)
        except StorageError as exc:
            self._failed(exc)
            return None
        self._answered()
        return refusal

    async def charge(self, caller: Caller, tokens: int) -> None:
        """Count model tokens a request used against the token-rate limits (after the fact).

        The whole charge is counted even past the limit (the strategy's ``hit`` would refuse
        it and count nothing), so a scope that overshoots stays refused until its weighted
        count is back under the limit, not merely until the next unit frees."""
        if tokens <= 0:
            return
        try:
            for limit in self._applicable(caller, "tokens"):
                await self._counters.acquire_sliding_window_entry(
                    limit.key, _UNBOUNDED, limit.item.get_expiry(), tokens
                )
        except StorageError as exc:
            self._failed(exc)
            return
        self._answered()

    async def aclose(self) -> None:
        """Close the Redis connections, or stop the in-memory storage's expiry timer."""
        if self._pool is not None:
            await self._pool.aclose()
        elif isinstance(self._storage, MemoryStorage) and self._storage.timer is not None:
            self._storage.timer.cancel()

    async def _admit(self, caller: Caller) -> Refusal | None:
        tokens = self._applicable(caller, "tokens")
        requests = self._applicable(caller, "requests")
        over = [
            limit
            for limit in tokens + requests
            if not await self._window.test(limit.item, *limit.ids)
        ]
        if over:
            refusals = [await self._refusal(limit) for limit in over]
            # The longest wait: a retry any sooner would be refused by that limit.
            return max(refusals, key=lambda refusal: refusal.retry_after_s)
        for limit in requests:
            if not await self._window.hit(limit.item, *limit.ids):
                return await self._refusal(limit)  # another request took the last unit
        return None

    def _applicable(self, caller: Caller, kind: Kind) -> list[_Limit]:
        """The limits ``kind`` that apply to ``caller`` (the same every request: kept)."""
        found = self._limits.get((caller, kind))
        if found is None:
            if len(self._limits) >= _REMEMBERED:
                self._limits.clear()
            found = self._limits[caller, kind] = self._limits_for(caller, kind)
        return found

    def _limits_for(self, caller: Caller, kind: Kind) -> list[_Limit]:
        config = self.config
        tenant = config.tenants.get(caller.tenant, config.tenant)
        key_rpm = caller.key_rpm if caller.key_rpm is not None else config.key.rpm
        per_minute: list[tuple[Scope, str, int | None]]
        if kind == "requests":
            per_minute = [
                ("key", caller.key_id, key_rpm),
                ("tenant", caller.tenant, tenant.rpm),
                ("ip", caller.ip, config.ip.rpm),
            ]
        else:
            per_minute = [
                ("key", caller.key_id, config.key.tpm),
                ("tenant", caller.tenant, tenant.tpm),
                ("ip", caller.ip, config.ip.tpm),
            ]
        # A scope with no subject (a request without a client address) is not limited:
        # counting every such request under "" would make them one shared client.
        return [
            _Limit(scope, kind, subject, RateLimitItemPerMinute(amount))
            for scope, subject, amount in per_minute
            if amount is not None and subject
        ]

    async def _refusal(self, limit: _Limit) -> Refusal:
        expiry = limit.item.get_expiry()
        previous, previous_ttl, current, current_ttl = await self._counters.get_sliding_window(
            limit.key, expiry
        )
        wait = seconds_until_room(
            limit.item.amount, expiry, previous, previous_ttl, current, current_ttl
        )
        return Refusal(
            limit.scope, limit.kind, limit.item.amount, max(1, math.ceil(wait)), limit.subject
        )

    def _failed(self, exc: StorageError) -> None:
        self.storage_errors += 1
        if not self._outage:
            self._outage = True
            log.warning(
                "rate-limit storage %s failed (%s); admitting requests without limits until "
                "it answers",
                _redacted(self.config.storage),
                exc.storage_error,
            )

    def _answered(self) -> None:
        if self._outage:
            self._outage = False
            log.info("rate-limit storage %s answers again", _redacted(self.config.storage))


def seconds_until_room(
    limit: int,
    expiry: int,
    previous: int,
    previous_ttl: float,
    current: int,
    current_ttl: float,
) -> float:
    """Seconds until a sliding-window counter's weighted count is under ``limit`` again, if
    nothing more is counted meanwhile.

    The count is ``previous × previous_ttl / expiry + current``; the previous window's weight
    runs down with its TTL, and the current window becomes the previous one when its TTL falls
    to ``expiry`` (both storages keep it for twice the window). This is computed here rather
    than read from the library's ``get_window_stats`` reset time, which is when one unit frees:
    the same for a request limit, but far too soon for a token limit a large charge overshot.
    """
    until_shift = max(0.0, current_ttl - expiry)
    if current < limit:
        if previous == 0:
            return 0.0
        # previous × (previous_ttl - t) / expiry + current < limit
        return max(0.0, previous_ttl - (limit - current) * expiry / previous)
    # After the shift: current × (expiry - s) / expiry < limit
    return until_shift + expiry * (1 - limit / current)


def _redacted(url: str) -> str:
    """The storage URL without its password, for logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
