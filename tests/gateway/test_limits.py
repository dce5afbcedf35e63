"""The gateway's rate limits: per key, tenant and address, requests and tokens, in memory
and in a real Redis shared by two limiters (two gateway replicas), failing open when Redis
goes away."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import pytest

from core.errors import ConfigError
from gateway.limits import Caller, RateLimiter, Refusal, seconds_until_room
from settings.gateway import LimitsConfig, RateLimit

if TYPE_CHECKING:
    from tests.gateway.conftest import RedisServer

pytestmark = pytest.mark.anyio

UNLIMITED = RateLimit()


def config(
    key: RateLimit = UNLIMITED,
    tenant: RateLimit = UNLIMITED,
    ip: RateLimit = UNLIMITED,
    tenants: dict[str, RateLimit] | None = None,
    storage: str = "memory://",
) -> LimitsConfig:
    return LimitsConfig(storage=storage, key=key, tenant=tenant, ip=ip, tenants=tenants or {})


@pytest.fixture
async def make_limiter() -> AsyncIterator[Callable[[LimitsConfig], RateLimiter]]:
    made: list[RateLimiter] = []

    def make(limits: LimitsConfig) -> RateLimiter:
        made.append(RateLimiter(limits))
        return made[-1]

    yield make
    for limiter in made:
        await limiter.aclose()


def caller(
    key: str = "k1", tenant: str = "acme", ip: str = "10.0.0.1", rpm: int | None = None
) -> Caller:
    return Caller(key_id=key, tenant=tenant, ip=ip, key_rpm=rpm)


async def admits(limiter: RateLimiter, who: Caller, times: int) -> list[Refusal | None]:
    return [await limiter.admit(who) for _ in range(times)]


def assert_refused(refusal: Refusal | None, scope: str, kind: str, limit: int) -> Refusal:
    assert refusal is not None
    assert (refusal.scope, refusal.kind, refusal.limit) == (scope, kind, limit)
    assert 1 <= refusal.retry_after_s <= 60
    return refusal


async def test_a_key_over_its_rpm_is_refused_with_retry_after(
    make_limiter: Callable[[LimitsConfig], RateLimiter],
) -> None:
    limiter = make_limiter(config(key=RateLimit(rpm=2)))
    first, second, third = await admits(limiter, caller(), 3)
    assert first is None
    assert second is None
    refusal = assert_refused(third, "key", "requests", 2)
    assert refusal.message() == (
        f"key k1 is over its 2 requests a minute; retry in {refusal.retry_after_s} s"
    )
    assert await limiter.admit(caller(key="k2")) is None  # another key has its own count


async def test_a_tenant_limit_is_shared_by_its_keys(
    make_limiter: Callable[[LimitsConfig], RateLimiter],
) -> None:
    limiter = make_limiter(config(tenant=RateLimit(rpm=3)))
    assert await admits(limiter, caller(key="k1"), 2) == [None, None]
    assert await limiter.admit(caller(key="k2")) is None
    refusal = assert_refused(await limiter.admit(caller(key="k2")), "tenant", "requests", 3)
    assert refusal.message().startswith("tenant acme is over its 3 requests a minute")
    assert await limiter.admit(caller(key="k3", tenant="globex")) is None


async def test_the_ip_limit_spans_keys_and_tenants(
    make_limiter: Callable[[LimitsConfig], RateLimiter],
) -> None:
    limiter = make_limiter(config(ip=RateLimit(rpm=2)))
    assert await limiter.admit(caller(key="k1", tenant="acme")) is None
    assert await limiter.admit(caller(key="k2", tenant="globex")) is None
    refusal = assert_refused(await limiter.admit(caller(key="k3")), "ip", "requests", 2)
    assert refusal.message().startswith("client 10.0.0.1 is over")
    assert await limiter.admit(caller(ip="10.0.0.2")) is None


async def test_a_keys_own_rpm_overrides_the_configured_one(
    make_limiter: Callable[[LimitsConfig], RateLimiter],
) -> None:
    limiter = make_limiter(config(key=RateLimit(rpm=100)))
    own = caller(key="slow", rpm=1)
    assert await limiter.admit(own) is None
    assert_refused(await limiter.admit(own), "key", "requests", 1)
    assert await admits(limiter, caller(key="fast"), 3) == [None] * 3


async def test_a_tenants_own_limits_replace_the_default(
    make_limiter: Callable[[LimitsConfig], RateLimiter],
) -> None:
    limiter = make_limiter(
        config(tenant=RateLimit(rpm=1), tenants={"big": RateLimit(rpm=3), "tiny": RateLimit()})
    )
    assert await admits(limiter, caller(tenant="big"), 3) == [None] * 3
    assert_refused(await limiter.admit(caller(tenant="big")), "tenant", "requests", 3)
    assert await limiter.admit(caller(tenant="other")) is None
    assert_refused(await limiter.admit(caller(tenant="other")), "tenant", "requests", 1)
    # The override replaces the default outright: no rpm at all for this tenant.
    assert await admits(limiter, caller(tenant="tiny"), 5) == [None] * 5


async def test_tokens_charged_past_the_tpm_refuse_the_next_request(
    make_limiter: Callable[[LimitsConfig], RateLimiter],
) -> None:
    limiter = make_limiter(config(tenant=RateLimit(rpm=100, tpm=1000)))
    assert await limiter.admit(caller()) is None
    await limiter.charge(caller(), 600)
    assert await limiter.admit(caller()) is None  # 600 of 1000 used: not used up yet
    await limiter.charge(caller(), 600)  # counted whole, past the limit
    refusal = await limiter.admit(caller(key="k2"))
    assert refusal is not None
    assert (refusal.scope, refusal.kind, refusal.limit) == ("tenant", "tokens", 1000)
    # 1200 tokens of 1000: room again only after the window shifts and 1/6 of a minute more.
    assert 10 <= refusal.retry_after_s <= 70
    assert "1000 tokens a minute" in refusal.message()


async def test_a_refused_request_is_not_counted_against_limits_it_never_reached(
    make_limiter: Callable[[LimitsConfig], RateLimiter],
) -> None:
    limiter = make_limiter(config(key=RateLimit(rpm=2), tenant=RateLimit(rpm=1)))
    assert await limiter.admit(caller(tenant="acme")) is None
    assert_refused(await limiter.admit(caller(tenant="acme")), "tenant", "requests", 1)
    # The key has one request counted, not two: had the refused one been counted, the key
    # (rpm 2) would refuse this request under a tenant with room.
    assert await limiter.admit(caller(tenant="globex")) is None
    assert_refused(await limiter.admit(caller(tenant="initech")), "key", "requests", 2)


async def test_the_longest_wait_is_the_one_reported(
    make_limiter: Callable[[LimitsConfig], RateLimiter],
) -> None:
    limiter = make_limiter(config(key=RateLimit(rpm=1, tpm=10), tenant=RateLimit(rpm=1)))
    assert await limiter.admit(caller()) is None
    await limiter.charge(caller(), 1000)  # a hundred times over
    refusal = await limiter.admit(caller())
    # Both the key's rpm and its tpm refuse; the rpm frees at the next window shift, the
    # tokens 59.4 s after it, and a retry before then would be refused again.
    assert refusal is not None
    assert (refusal.kind, refusal.limit) == ("tokens", 10)
    assert 60 <= refusal.retry_after_s <= 120


def test_seconds_until_room() -> None:
    # Nothing counted, or under the limit with no previous window: room now.
    assert seconds_until_room(10, 60, 0, 0.0, 0, 0.0) == 0.0
    assert seconds_until_room(10, 60, 0, 0.0, 9, 90.0) == 0.0
    # Full in the current window with 30 s left in it: room right after it shifts.
    assert seconds_until_room(10, 60, 0, 0.0, 10, 90.0) == pytest.approx(30.0)
    # Twice over: after the shift, half a window more for the weight to halve.
    assert seconds_until_room(10, 60, 0, 0.0, 20, 90.0) == pytest.approx(60.0)
    # 10 previous with 30 s left (weight 5) + 6 current = 11 > 10: the previous part must
    # fall under 4, i.e. 24 s left, 6 s from now.
    assert seconds_until_room(10, 60, 10, 30.0, 6, 90.0) == pytest.approx(6.0)


def test_an_unknown_storage_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"memory:// or redis://"):
        RateLimiter(config(storage="memcached://user:secret@host:11211"))
    with pytest.raises(ConfigError) as raised:
        RateLimiter(config(storage="mongodb://user:secret@host"))
    assert "secret" not in str(raised.value)


async def test_two_replicas_share_counts_in_redis(
    redis_server: RedisServer, make_limiter: Callable[[LimitsConfig], RateLimiter]
) -> None:
    shared = config(key=RateLimit(rpm=3, tpm=100), storage=redis_server.url)
    one, two = make_limiter(shared), make_limiter(shared)
    assert await one.admit(caller()) is None
    assert await two.admit(caller()) is None
    assert await one.admit(caller()) is None
    assert_refused(await two.admit(caller()), "key", "requests", 3)
    assert_refused(await one.admit(caller()), "key", "requests", 3)
    # Tokens charged on one replica refuse on the other.
    await one.charge(caller(key="k2"), 150)
    refusal = await two.admit(caller(key="k2"))
    assert refusal is not None
    assert refusal.kind == "tokens"
    assert one.storage_errors == two.storage_errors == 0


async def test_when_redis_dies_requests_are_admitted_and_counted_as_errors(
    redis_server: RedisServer,
    make_limiter: Callable[[LimitsConfig], RateLimiter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = make_limiter(config(key=RateLimit(rpm=1, tpm=10), storage=redis_server.url))
    assert await limiter.admit(caller()) is None
    assert_refused(await limiter.admit(caller()), "key", "requests", 1)
    redis_server.kill()
    with caplog.at_level(logging.WARNING, logger="agenthost.gateway"):
        assert await admits(limiter, caller(), 3) == [None] * 3  # fails open
        await limiter.charge(caller(), 5)
    assert limiter.storage_errors == 4
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one per outage, not one per request
    assert "admitting requests without limits" in warnings[0].getMessage()
