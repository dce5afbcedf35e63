from __future__ import annotations

import re
from collections.abc import Callable

import anyio
import pytest

from inference import (
    ChatRequest,
    Message,
    NoBackendAvailable,
    Routed,
    StreamInterrupted,
    TextDelta,
    ToolSpec,
    collect,
)
from inference.backend import closing
from inference.backends.scripted import ScriptedBackend, Turn
from inference.config import BreakerConfig, RegexRule, RouterConfig, Timeouts
from inference.errors import BackendError, BackendResponseError, BackendUnavailable
from inference.router import Router

pytestmark = pytest.mark.anyio

HELLO = ChatRequest((Message.user("hello"),))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def always(text: str) -> ScriptedBackend:
    return ScriptedBackend(lambda r: Turn(text), name=text)


def failing(
    exc: Callable[[str, str], BackendError] = BackendUnavailable, name: str = "bad"
) -> ScriptedBackend:
    return ScriptedBackend(lambda r: Turn(fail=exc(name, "connection refused")), name=name)


async def test_default_tier_and_decision_recorded() -> None:
    router = Router({"a": always("A")}, {"main": ["a"]})
    result = await collect(router, HELLO)
    assert result.text == "A"
    assert [(d.backend, d.action, d.reason) for d in result.route] == [
        ("a", "chosen", "default tier")
    ]
    assert list(router.decisions) == result.route


async def test_rules_classifier_tools_and_long_prompt() -> None:
    backends = {n: always(n) for n in ("fast", "main", "code", "tools", "long", "cls")}
    tiers = {n: [n] for n in backends}
    cfg = RouterConfig(
        default_tier="main",
        tools_tier="tools",
        long_prompt_tier="long",
        long_prompt_chars=100,
        rules=[RegexRule(pattern=r"\bpython\b", tier="code")],
    )
    router = Router(
        backends,
        tiers,
        cfg,
        classifier=lambda r: "cls" if "classify" in r.messages[-1].content else None,
    )
    tool = ToolSpec("t", "a tool")
    cases = {
        "explicit": (HELLO.with_(tier="fast"), "fast", "explicit tier"),
        "rule": (ChatRequest((Message.user("write Python code"),)), "code", "rule"),
        "classifier": (ChatRequest((Message.user("please classify"),)), "cls", "classifier"),
        "long": (ChatRequest((Message.user("x" * 200),)), "long", "prompt of 200"),
        "tools": (HELLO.with_(tools=(tool,)), "tools", "request offers tools"),
        "default": (HELLO, "main", "default tier"),
    }
    for label, (request, tier, why) in cases.items():
        chosen, reason = router.choose_tier(request)
        assert (chosen, why in reason) == (tier, True), label
        assert (await collect(router, request)).text == tier


async def test_unknown_explicit_tier_is_a_clear_error() -> None:
    router = Router({"a": always("A")}, {"main": ["a"]})
    with pytest.raises(NoBackendAvailable, match=re.escape("unknown tier (known: main)")):
        await collect(router, HELLO.with_(tier="nope"))


async def test_fallback_chain_on_error_before_output() -> None:
    router = Router(
        {"bad": failing(), "good": always("ok")},
        {"main": ["bad", "good"]},
        RouterConfig(retries=0),
    )
    result = await collect(router, HELLO)
    assert result.text == "ok"
    actions = [(d.backend, d.action) for d in result.route]
    assert actions == [("bad", "chosen"), ("good", "fallback")]
    assert "connection refused" in result.route[1].reason


async def test_retry_then_success_on_same_backend() -> None:
    turns = [Turn(fail=BackendUnavailable("flaky", "reset")), Turn("second try")]
    flaky = ScriptedBackend(turns, name="flaky")
    router = Router({"flaky": flaky}, {"main": ["flaky"]}, RouterConfig(retries=1))
    assert (await collect(router, HELLO)).text == "second try"
    assert len(flaky.requests) == 2


async def test_client_errors_are_not_retried_and_do_not_trip_the_breaker() -> None:
    bad = failing(lambda n, m: BackendResponseError(n, m, 400), name="bad")
    router = Router(
        {"bad": bad, "good": always("ok")}, {"main": ["bad", "good"]}, RouterConfig(retries=2)
    )
    assert (await collect(router, HELLO)).text == "ok"
    assert len(bad.requests) == 1
    assert router.breakers["bad"].failures == 0


async def test_all_fail_names_every_failure() -> None:
    router = Router(
        {"x": failing(name="x"), "y": failing(name="y")},
        {"main": ["x", "y"]},
        RouterConfig(retries=0),
    )
    with pytest.raises(NoBackendAvailable) as info:
        await collect(router, HELLO)
    assert "x: connection refused" in str(info.value)
    assert "y: connection refused" in str(info.value)


async def test_no_silent_replay_after_output_was_delivered() -> None:
    broken = ScriptedBackend([Turn("one two three four", fail_after_tokens=2)], name="broken")
    spare = always("spare")
    router = Router({"broken": broken, "spare": spare}, {"main": ["broken", "spare"]})
    seen: list[str] = []

    async def consume() -> None:
        async for event in router.stream(HELLO):
            if isinstance(event, TextDelta):
                seen.append(event.text)

    with pytest.raises(StreamInterrupted, match="after output was delivered"):
        await consume()
    assert "".join(seen) == "one two"
    assert spare.requests == []


async def test_circuit_breaker_opens_skips_and_recovers() -> None:
    clock = Clock()
    healthy = {"ok": False}

    def script(request: ChatRequest) -> Turn:
        if healthy["ok"]:
            return Turn("primary")
        return Turn(fail=BackendUnavailable("primary", "down"))

    primary = ScriptedBackend(script, name="primary")
    router = Router(
        {"primary": primary, "backup": always("backup")},
        {"main": ["primary", "backup"]},
        RouterConfig(retries=0, breaker=BreakerConfig(failure_threshold=2, reset_after_s=30)),
        clock=clock,
    )
    for _ in range(2):
        assert (await collect(router, HELLO)).text == "backup"
    assert router.breakers["primary"].state == "open"
    result = await collect(router, HELLO)
    assert result.text == "backup"
    assert result.route[0].action == "skipped"
    assert "circuit open" in result.route[0].reason
    assert len(primary.requests) == 2  # not called while open

    clock.now = 31  # half-open: one trial goes through
    healthy["ok"] = True
    assert (await collect(router, HELLO)).text == "primary"
    assert router.breakers["primary"].state == "closed"


async def test_first_token_timeout_falls_back() -> None:
    slow = ScriptedBackend(lambda r: Turn("slow reply"), name="slow", token_delay_s=5)
    router = Router(
        {"slow": slow, "fast": always("fast")},
        {"main": ["slow", "fast"]},
        RouterConfig(retries=0),
        timeouts={"slow": Timeouts(first_token_s=0.05)},
    )
    with anyio.fail_after(3):
        result = await collect(router, HELLO)
    assert result.text == "fast"
    assert "no first token within 0.05s" in result.route[1].reason


async def test_routed_events_come_before_content() -> None:
    router = Router({"a": always("A")}, {"main": ["a"]})
    events = [e async for e in router.stream(HELLO)]
    assert isinstance(events[0], Routed)


async def test_caller_leaving_during_a_half_open_trial_frees_the_trial() -> None:
    clock = Clock()
    router = Router(
        {"a": always("one two three")},
        {"main": ["a"]},
        RouterConfig(breaker=BreakerConfig(failure_threshold=1, reset_after_s=5)),
        clock=clock,
    )
    router.breakers["a"].record_failure()
    clock.now = 5  # half-open
    async with closing(router.stream(HELLO)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                break  # the caller stops reading after the first token
    assert router.breakers["a"].state == "half_open"
    assert (await collect(router, HELLO)).text == "one two three"  # the next call is the trial
    assert router.breakers["a"].state == "closed"


def test_prices_come_from_one_table() -> None:
    from inference.accounting import FREE, Price, PriceTable

    price = Price(input_per_mtok=1.0, output_per_mtok=2.0)
    router = Router(
        {"a": always("a"), "b": always("b")},
        {"main": ["a", "b"]},
        prices=PriceTable(models={"a": price}),
    )
    assert router.price_of("a") == price  # by backend name (the model is named too)
    assert router.price_of("b") == FREE
    assert router.price_of("nope") == FREE
