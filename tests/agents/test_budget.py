"""Budgets as data, allowances as a tree, the meter walking it: no model needed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from agents.budget import (
    Allowance,
    Budget,
    BudgetExceeded,
    BudgetKind,
    BudgetMeter,
    Exhaustion,
    Spent,
    period_start,
)
from agents.request import RunRequest
from core.errors import BudgetExhausted, InvalidRequest, exit_code_of
from inference.accounting import Price
from inference.types import Usage


def tree(
    run: Budget, user: Budget, tenant: Budget, *, user_used: int, tenant_used: int
) -> Allowance:
    top = Allowance("tenant:acme", tenant, Spent(steps=tenant_used))
    mid = Allowance("user:alice", user, Spent(steps=user_used), top)
    return Allowance("run", run, parent=mid)


def test_the_check_walks_to_the_root_and_names_the_binding_scope() -> None:
    limits = tree(
        Budget(max_steps=10), Budget(max_steps=6), Budget(max_steps=20), user_used=3, tenant_used=18
    )
    limits.check(BudgetKind.STEPS, 1)  # 1 + 18 of the tenant's 20: fine
    with pytest.raises(BudgetExceeded) as caught:
        limits.check(BudgetKind.STEPS, 2, inclusive=True)  # the tenant's 20 are reached
    e = caught.value.exhaustion
    assert (e.scope, e.limit, e.used) == ("tenant:acme", 20, 20)
    budget, scopes = limits.effective()
    assert budget.max_steps == 2
    assert scopes[BudgetKind.STEPS] == "tenant:acme"


def test_the_meter_stops_at_the_users_allowance_not_the_runs() -> None:
    limits = tree(Budget(max_steps=10), Budget(max_steps=5), Budget(), user_used=3, tenant_used=0)
    meter = BudgetMeter(limits)
    assert meter.budget.max_steps == 2
    meter.begin_step()
    meter.begin_step()
    with pytest.raises(BudgetExceeded) as caught:
        meter.begin_step()
    assert caught.value.exhaustion.scope == "user:alice"
    assert caught.value.exhaustion.used == 5  # the user's total: 3 earlier + 2 in this run


def test_a_resumed_run_counts_what_it_already_spent_once() -> None:
    # the user may spend 5; this run spent 3 before the crash, other runs nothing
    limits = Allowance("run", Budget(), parent=Allowance("user:alice", Budget(max_steps=5)))
    meter = BudgetMeter(limits, Spent(steps=3))
    meter.begin_step()
    meter.begin_step()
    with pytest.raises(BudgetExceeded):
        meter.begin_step()


@given(
    run=st.integers(0, 50),
    user=st.integers(0, 50),
    used=st.integers(0, 60),
    steps=st.integers(0, 80),
)
def test_no_allowance_is_ever_overspent(run: int, user: int, used: int, steps: int) -> None:
    limits = Allowance(
        "run",
        Budget(max_steps=run),
        parent=Allowance("user:u", Budget(max_steps=user), Spent(used)),
    )
    meter = BudgetMeter(limits)
    taken = 0
    for _ in range(steps):
        try:
            meter.begin_step()
        except BudgetExceeded:
            break
        taken += 1
    assert taken <= run
    assert taken + used <= max(user, used)


def test_budgets_are_validated_wherever_they_enter() -> None:
    with pytest.raises(ValidationError):
        Budget(max_steps=-1)
    with pytest.raises(ValidationError):
        Budget(max_cost_usd=-0.5)
    with pytest.raises(ValidationError):
        Budget.model_validate({"max_stepz": 3})
    assert Budget(max_steps=3).overridden_by(Budget(max_seconds=5)) == Budget(
        max_steps=3, max_seconds=5
    )


def test_exhaustion_is_in_the_error_tree() -> None:
    exc = BudgetExceeded(Exhaustion(BudgetKind.STEPS, 0, 0))
    assert isinstance(exc, BudgetExhausted)
    assert exit_code_of(exc) == 4


def test_periods() -> None:
    now = datetime(2026, 12, 2, 13, 5, tzinfo=UTC)
    assert period_start("day", now) == datetime(2026, 12, 2, tzinfo=UTC)
    assert period_start("month", now) == datetime(2026, 12, 1, tzinfo=UTC)
    assert period_start("total", now) is None


def test_run_request_is_checked_where_it_is_made() -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        RunRequest("   ")
    with pytest.raises(InvalidRequest, match="unknown agent 'swarm'"):
        RunRequest("go", agent="swarm")
    assert RunRequest("  go  ", tools=["a*"]).tools == ("a*",)  # type: ignore[arg-type]


@given(
    out_limit=st.none() | st.integers(0, 60),
    cost_limit=st.none() | st.floats(0, 0.01),
    out_price=st.sampled_from([0.0, 1.0, 37.5, 100.0]),
    in_price=st.sampled_from([0.0, 2.0]),
    spent_out=st.integers(0, 30),
    prompt=st.integers(0, 500),
    chunk=st.integers(1, 3),
)
def test_the_per_token_fast_path_stops_where_a_full_check_would(
    out_limit: int | None,
    cost_limit: float | None,
    out_price: float,
    in_price: float,
    spent_out: int,
    prompt: int,
    chunk: int,
) -> None:
    """on_tokens counts down a headroom instead of checking every token: it must raise at the
    same token as checking every limit on every token does."""
    price = Price(input_per_mtok=in_price, output_per_mtok=out_price)
    budget = Budget(max_output_tokens=out_limit, max_cost_usd=cost_limit)

    def tokens_until_stop(fast: bool) -> int | None:
        meter = BudgetMeter(budget, Spent(output_tokens=spent_out))
        try:
            meter.begin_call(prompt, price, max_tokens=200)
        except BudgetExceeded:
            return -1
        if not fast:
            meter._headroom = 0  # every token fully checked, as before the fast path
        for n in range(0, 120, chunk):
            try:
                meter.on_tokens(chunk)
            except BudgetExceeded:
                return n + chunk
        return None

    assert tokens_until_stop(fast=True) == tokens_until_stop(fast=False)


@given(
    cost_limit=st.floats(0.0001, 0.01),
    spent=st.floats(0.0, 0.01),
    out_price=st.sampled_from([1.0, 37.5, 100.0]),
    in_price=st.sampled_from([0.0, 1.0, 2.0]),
    prompt=st.integers(0, 500),
)
def test_a_call_is_never_given_more_reply_than_its_budget_pays_for(
    cost_limit: float, spent: float, out_price: float, in_price: float, prompt: int
) -> None:
    """The clamp never rounds up: a call is refused when its budget cannot pay for one token
    of reply after its prompt (a clamp to one token overspent a shared allowance by up to a
    token's price), and otherwise its prompt and whole clamped reply fit the limit."""
    price = Price(input_per_mtok=in_price, output_per_mtok=out_price)
    meter = BudgetMeter(Budget(max_cost_usd=cost_limit), Spent(cost_usd=spent))

    def cost(tokens: int) -> float:
        return spent + price.cost(Usage(input_tokens=prompt, output_tokens=tokens))

    assume(abs(cost(1) - cost_limit) > 1e-12)  # not a tie that float rounding decides
    if cost(1) > cost_limit:  # not one token of reply is affordable: refused
        with pytest.raises(BudgetExceeded) as caught:
            meter.begin_call(prompt, price, max_tokens=200)
        assert caught.value.exhaustion.kind is BudgetKind.COST
        return
    tokens, _ = meter.begin_call(prompt, price, max_tokens=200)
    assert tokens >= 1
    assert cost(tokens) <= cost_limit + 1e-12


def test_a_shared_allowance_with_no_output_tokens_left_refuses_the_call() -> None:
    limits = Allowance(
        "run",
        Budget(),
        parent=Allowance("user:alice", Budget(max_output_tokens=40), Spent(output_tokens=40)),
    )
    with pytest.raises(BudgetExceeded) as caught:
        BudgetMeter(limits).begin_call(100, max_tokens=64)
    assert caught.value.exhaustion.kind is BudgetKind.OUTPUT_TOKENS
    assert caught.value.exhaustion.scope == "user:alice"
