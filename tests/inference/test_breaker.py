from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inference.breaker import CircuitBreaker


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_half_open_allows_a_single_trial() -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=1, reset_after_s=10, clock=clock)
    b.record_failure()
    assert not b.allow()
    clock.now = 10
    assert b.allow()
    assert not b.allow()  # second caller waits for the trial's outcome
    b.record_failure()
    assert b.state == "open"
    assert b.retry_in_s() == 10


@given(st.lists(st.booleans(), max_size=60), st.integers(1, 5))
def test_opens_exactly_at_threshold_consecutive_failures(
    outcomes: list[bool], threshold: int
) -> None:
    b = CircuitBreaker(failure_threshold=threshold, reset_after_s=1e9, clock=lambda: 0.0)
    streak = 0
    for ok in outcomes:
        if b.state == "open":
            break
        if ok:
            b.record_success()
            streak = 0
        else:
            b.record_failure()
            streak += 1
        assert (b.state == "open") == (streak >= threshold)
