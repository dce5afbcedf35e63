"""Budgets: limits are data (``Budget``), enforcement is one object (``BudgetMeter``).

The meter is consulted while a model call streams, token by token, so a run stops the moment it
crosses a token or cost limit rather than after the step that crossed it. Exhaustion raises
``BudgetExceeded``, which the loops turn into a typed outcome.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from inference.accounting import FREE, Price
from inference.types import Usage


class BudgetKind(StrEnum):
    STEPS = "steps"
    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    COST = "cost_usd"
    SECONDS = "seconds"


@dataclass(frozen=True)
class Budget:
    """Limits for one run (or what is left of a user's or tenant's allowance). None: no limit."""

    max_steps: int | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    max_cost_usd: float | None = None
    max_seconds: float | None = None

    def limit(self, kind: BudgetKind) -> float | None:
        return {
            BudgetKind.STEPS: self.max_steps,
            BudgetKind.INPUT_TOKENS: self.max_input_tokens,
            BudgetKind.OUTPUT_TOKENS: self.max_output_tokens,
            BudgetKind.COST: self.max_cost_usd,
            BudgetKind.SECONDS: self.max_seconds,
        }[kind]

    def tightened(self, other: Budget) -> Budget:
        """The stricter of two budgets, limit by limit."""

        def pick(a: Any, b: Any) -> Any:
            return b if a is None else a if b is None else min(a, b)

        return Budget(
            **{f.name: pick(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)}
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Spent:
    """What a run (or a user, or a tenant) has used."""

    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0

    def amount(self, kind: BudgetKind) -> float:
        return float(getattr(self, kind.value))

    def __add__(self, other: Spent) -> Spent:
        return Spent(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def __sub__(self, other: Spent) -> Spent:
        return Spent(
            **{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)}
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Exhaustion:
    """Which budget ran out, its limit, how much was used, and whose budget it was."""

    kind: BudgetKind
    limit: float
    used: float
    scope: str = "run"  # "run", "user:<id>" or "tenant:<id>"

    def describe(self) -> str:
        unit = {BudgetKind.COST: "$", BudgetKind.SECONDS: "s"}.get(self.kind, "")
        used = f"{self.used:.4f}" if self.kind is BudgetKind.COST else f"{self.used:g}"
        limit = f"{self.limit:g}{unit}"
        return f"{self.scope} budget {self.kind.value} exhausted: used {used}{unit} of {limit}"


class BudgetExceeded(Exception):
    def __init__(self, exhaustion: Exhaustion) -> None:
        super().__init__(exhaustion.describe())
        self.exhaustion = exhaustion


class BudgetMeter:
    """Counts what a run spends and raises ``BudgetExceeded`` when a limit is crossed.

    ``spent`` at construction is what earlier attempts of the run used (a resumed run keeps
    counting from there). ``scopes`` maps each kind to whose limit is binding, for the message.
    """

    def __init__(
        self,
        budget: Budget,
        spent: Spent | None = None,
        *,
        scopes: dict[BudgetKind, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self._base = spent or Spent()
        self._clock = clock
        self._started = clock()
        self._scopes = scopes or {}
        self.steps = self._base.steps
        self.input_tokens = self._base.input_tokens
        self.output_tokens = self._base.output_tokens
        self.cost_usd = self._base.cost_usd
        # the model call in flight: provisional counts, replaced by the reported usage
        self._call_tokens = 0
        self._call_started = 0.0
        self._price: Price = FREE

    # ---- reading ------------------------------------------------------------------

    @property
    def seconds(self) -> float:
        return self._base.seconds + (self._clock() - self._started)

    def spent(self) -> Spent:
        return Spent(
            steps=self.steps,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens + self._call_tokens,
            cost_usd=self.cost_usd + self._call_cost(),
            seconds=self.seconds,
        )

    def scope_of(self, kind: BudgetKind) -> str:
        return self._scopes.get(kind, "run")

    def seconds_left(self) -> float:
        if self.budget.max_seconds is None:
            return math.inf
        return max(0.0, self.budget.max_seconds - self.seconds)

    def output_tokens_left(self) -> int | None:
        if self.budget.max_output_tokens is None:
            return None
        return max(0, self.budget.max_output_tokens - self.output_tokens)

    # ---- enforcement -----------------------------------------------------------------

    def exceeded(self, kind: BudgetKind) -> BudgetExceeded:
        """The error for ``kind`` at what is used now (for limits reached, not crossed)."""
        return self._exceeded(kind, self.spent().amount(kind))

    def _exceeded(self, kind: BudgetKind, used: float) -> BudgetExceeded:
        limit = self.budget.limit(kind)
        assert limit is not None
        return BudgetExceeded(Exhaustion(kind, limit, used, self._scopes.get(kind, "run")))

    def _check(self, kind: BudgetKind, used: float, *, inclusive: bool = False) -> None:
        limit = self.budget.limit(kind)
        if limit is None:
            return
        if used > limit or (inclusive and used >= limit):
            raise self._exceeded(kind, used)

    def check_time(self) -> None:
        self._check(BudgetKind.SECONDS, self.seconds, inclusive=True)

    def begin_step(self) -> int:
        """Count a new step; raise if the step limit was already reached."""
        self._check(BudgetKind.STEPS, self.steps, inclusive=True)
        self.check_time()
        self._check(BudgetKind.COST, self.cost_usd, inclusive=True)
        self._check(BudgetKind.OUTPUT_TOKENS, self.output_tokens, inclusive=True)
        self.steps += 1
        return self.steps

    def begin_call(self, estimated_input_tokens: int, price: Price | None = None) -> None:
        """Before a model call: refuse one whose prompt alone would cross the input limit."""
        self.check_time()
        self._check(BudgetKind.INPUT_TOKENS, self.input_tokens + estimated_input_tokens)
        self._call_tokens = 0
        self._call_started = self._clock()
        self._price = price or FREE
        self._estimated_input = estimated_input_tokens

    def set_price(self, price: Price) -> None:
        self._price = price

    def _call_cost(self) -> float:
        if self._call_tokens == 0 and not self._price.gpu_per_hour:
            return 0.0
        provisional = Usage(
            input_tokens=self._estimated_input if self._call_tokens else 0,
            output_tokens=self._call_tokens,
            ttlt_s=self._clock() - self._call_started,
        )
        return self._price.cost(provisional)

    def on_tokens(self, n: int = 1) -> None:
        """A streamed token (or ``n``) arrived: enforce output-token and cost limits now."""
        self._call_tokens += n
        self._check(BudgetKind.OUTPUT_TOKENS, self.output_tokens + self._call_tokens)
        self._check(BudgetKind.COST, self.cost_usd + self._call_cost())

    def end_call(self, usage: Usage | None) -> None:
        """The call is over: replace provisional counts with what the server reported."""
        if usage is not None and (usage.output_tokens or usage.input_tokens):
            self.input_tokens += usage.input_tokens
            self.output_tokens += max(usage.output_tokens, 0)
            self.cost_usd += usage.cost_usd
        else:  # the stream was cut before usage arrived: keep the provisional counts
            self.input_tokens += self._estimated_input if self._call_tokens else 0
            self.output_tokens += self._call_tokens
            self.cost_usd += self._call_cost()
        self._call_tokens = 0
        self._price = FREE

    def check_all(self) -> None:
        """After a call: a reported usage may cross a limit the provisional count did not."""
        self._check(BudgetKind.INPUT_TOKENS, self.input_tokens)
        self._check(BudgetKind.OUTPUT_TOKENS, self.output_tokens)
        self._check(BudgetKind.COST, self.cost_usd)
        self.check_time()


def remaining(limit: Budget, spent: Spent) -> Budget:
    """What is left of an allowance (used for per-user and per-tenant budgets)."""

    def left(limit_value: Any, used: Any) -> Any:
        return None if limit_value is None else max(limit_value - used, 0)

    return replace(
        limit,
        max_steps=left(limit.max_steps, spent.steps),
        max_input_tokens=left(limit.max_input_tokens, spent.input_tokens),
        max_output_tokens=left(limit.max_output_tokens, spent.output_tokens),
        max_cost_usd=left(limit.max_cost_usd, spent.cost_usd),
        max_seconds=left(limit.max_seconds, spent.seconds),
    )
