"""A circuit breaker per backend: stop sending traffic to a backend that keeps failing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

State = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    """Closed → (``failure_threshold`` consecutive failures) → open → (``reset_after_s``) →
    half-open: one trial call; success closes it, failure opens it again."""

    failure_threshold: int = 3
    reset_after_s: float = 30.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    failures: int = 0
    opened_at: float | None = None
    _trial_in_flight: bool = False

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.reset_after_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call go to this backend now? In half-open state only one trial at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial_in_flight = False

    def abandon(self) -> None:
        """A call ended without a verdict (the caller went away): free the trial slot."""
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self.failures += 1
        self._trial_in_flight = False
        if self.opened_at is not None or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()

    def retry_in_s(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.reset_after_s - (self.clock() - self.opened_at))
