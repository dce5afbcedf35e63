"""The model router: tiers, routing rules, fallback chains, timeouts and circuit breakers.

Routing order (first match wins): the request's explicit ``tier``; regex rules on the last
user message; the pluggable classifier; ``long_prompt_tier`` for big prompts; ``tools_tier``
for requests that offer tools; ``default_tier``.

A tier is a fallback chain of backends. A backend is skipped while its breaker is open and
abandoned for the next one when it fails *before* delivering content. A stream that fails
after content reached the caller is never replayed: that raises ``StreamInterrupted``.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from inference.accounting import FREE, Price, PriceTable
from inference.backend import Backend, closing
from inference.breaker import CircuitBreaker
from inference.config import RouterConfig, Timeouts
from inference.errors import (
    BackendError,
    BackendResponseError,
    BackendTimeout,
    NoBackendAvailable,
    StreamInterrupted,
)
from inference.idle import IdleTimer
from inference.types import (
    CONTENT_EVENTS,
    ChatRequest,
    RouteAction,
    Routed,
    RouteDecision,
    StreamEvent,
)

log = logging.getLogger("agenthost.router")

Classifier = Callable[[ChatRequest], str | None]


class Router:
    def __init__(
        self,
        backends: Mapping[str, Backend],
        tiers: Mapping[str, Sequence[str]],
        config: RouterConfig | None = None,
        *,
        timeouts: Mapping[str, Timeouts] | None = None,
        classifier: Classifier | None = None,
        prices: PriceTable | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backends = dict(backends)
        self.prices = prices or PriceTable()
        self.tiers = {t: list(chain) for t, chain in tiers.items()}
        self.config = config or RouterConfig(default_tier=next(iter(tiers)))
        self.timeouts = dict(timeouts or {})
        self.classifier = classifier
        self._rules = [(re.compile(r.pattern, re.I), r.tier) for r in self.config.rules]
        b = self.config.breaker
        self.breakers = {
            name: CircuitBreaker(b.failure_threshold, b.reset_after_s, clock) for name in backends
        }
        self.decisions: deque[RouteDecision] = deque(maxlen=1000)

    def price_of(self, backend: str) -> Price:
        """What a call on ``backend`` costs (free for a backend the router does not have)."""
        if backend not in self.backends:
            return FREE
        return self.prices.for_call(backend, self.backends[backend].model)

    def worst_price(self, tier: str | None = None) -> Price:
        """The dearest per-token price a request for ``tier`` (None: any tier) can be billed
        at: what a budget must assume before the router has picked the backend."""
        chain = self.tiers.get(tier, []) if tier else [n for c in self.tiers.values() for n in c]
        prices = [self.price_of(name) for name in chain]
        return Price(
            input_per_mtok=max((p.input_per_mtok for p in prices), default=0.0),
            output_per_mtok=max((p.output_per_mtok for p in prices), default=0.0),
        )

    # ---- which tier ------------------------------------------------------------------

    def choose_tier(self, request: ChatRequest) -> tuple[str, str]:
        """The tier for a request, and why."""
        cfg = self.config
        if request.tier is not None:
            if request.tier not in self.tiers:
                known = ", ".join(sorted(self.tiers))
                raise NoBackendAvailable(request.tier, [f"unknown tier (known: {known})"])
            return request.tier, "explicit tier"
        last_user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        for pattern, tier in self._rules:
            if pattern.search(last_user):
                return tier, f"rule /{pattern.pattern}/ matched"
        if self.classifier is not None:
            guess = self.classifier(request)
            if guess is not None and guess in self.tiers:
                return guess, "classifier"
        if cfg.long_prompt_tier and request.prompt_chars > cfg.long_prompt_chars:
            return cfg.long_prompt_tier, f"prompt of {request.prompt_chars} chars"
        if cfg.tools_tier and request.tools and request.tool_choice != "none":
            return cfg.tools_tier, "request offers tools"
        return cfg.default_tier, "default tier"

    # ---- the call --------------------------------------------------------------------

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        tier, why = self.choose_tier(request)
        failures: list[str] = []
        action: RouteAction = "chosen"
        for name in self.tiers[tier]:
            breaker = self.breakers[name]
            if not breaker.allow():
                msg = f"circuit open, retry in {breaker.retry_in_s():.0f}s"
                failures.append(f"{name}: {msg}")
                yield Routed(self._record(tier, name, msg, "skipped"))
                continue
            for attempt in range(self.config.retries + 1):
                reason = why if action == "chosen" else f"fallback after: {failures[-1]}"
                if attempt:
                    reason = f"retry {attempt} after: {failures[-1]}"
                yield Routed(self._record(tier, name, reason, action))
                delivered = False
                try:
                    async with closing(self._guarded(name, request)) as events:
                        async for event in events:
                            delivered = delivered or isinstance(event, CONTENT_EVENTS)
                            yield event
                except BackendError as exc:
                    counts = not (isinstance(exc, BackendResponseError) and not exc.retryable)
                    if counts:
                        breaker.record_failure()
                    self._record(tier, name, str(exc), "failed")
                    if delivered:
                        raise StreamInterrupted(
                            name, f"stream failed after output was delivered: {exc}"
                        ) from exc
                    failures.append(str(exc))
                    action = "fallback"
                    retryable = counts and breaker.state == "closed"
                    if not retryable:
                        break
                    continue
                except BaseException:
                    # The caller closed the stream or was cancelled: no verdict on the backend,
                    # but a half-open breaker's trial slot must be given back.
                    breaker.abandon()
                    raise
                breaker.record_success()
                return
        raise NoBackendAvailable(tier, failures)

    async def _guarded(self, name: str, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """The backend's stream with a first-event timeout and an idle timeout."""
        t = self.timeouts.get(name) or Timeouts()
        first = True
        timer = IdleTimer()  # one timer for the stream, not a cancel scope per event
        try:
            async with closing(self.backends[name].stream(request)) as inner:
                while True:
                    limit = t.first_token_s if first else t.idle_s
                    try:
                        event = await timer.wait(inner, limit)
                    except StopAsyncIteration:
                        return
                    except TimeoutError:
                        what = "first token" if first else "next token"
                        raise BackendTimeout(name, f"no {what} within {limit:g}s") from None
                    first = False
                    yield event
        finally:
            timer.close()

    def _record(self, tier: str, backend: str, reason: str, action: RouteAction) -> RouteDecision:
        decision = RouteDecision(tier, backend, reason, action)
        self.decisions.append(decision)
        log.info("route tier=%s backend=%s action=%s reason=%s", tier, backend, action, reason)
        return decision

    async def aclose(self) -> None:
        for backend in self.backends.values():
            await backend.aclose()
