"""Budgets: limits are data (``Budget``), allowances stack (run → user → tenant), and
enforcement is one object (``BudgetMeter``).

The meter is consulted while a model call streams, token by token, so a run stops the moment it
crosses a token or cost limit rather than after the step that crossed it. Each check walks the
run's ``Allowance`` up to the root (its user's, then its tenant's allowance), so whichever limit
binds names itself in the ``Exhaustion``. Exhaustion raises ``BudgetExceeded``, which the loops
turn into a typed outcome.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agents.errors import AgentError
from core.errors import BudgetExhausted
from inference.accounting import FREE, Price
from inference.types import Usage


class BudgetKind(StrEnum):
    STEPS = "steps"
    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    COST = "cost_usd"
    SECONDS = "seconds"


class Budget(BaseModel):
    """Limits for one run, or a user's or tenant's allowance. None: no limit. The same
    constraints hold wherever a budget enters (config, CLI, MCP ``run_task``, Python)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_steps: int | None = Field(None, ge=0, description="model turns")
    max_input_tokens: int | None = Field(None, ge=0, description="prompt tokens, all calls")
    max_output_tokens: int | None = Field(None, ge=0, description="generated tokens, all calls")
    max_cost_usd: float | None = Field(None, ge=0, description="USD")
    max_seconds: float | None = Field(None, ge=0, description="wall-clock seconds")

    def limit(self, kind: BudgetKind) -> float | None:
        value: float | None = getattr(self, _FIELD[kind])
        return value

    def overridden_by(self, other: Budget | None) -> Budget:
        """This budget with every limit ``other`` sets replacing it."""
        if other is None:
            return self
        return self.model_copy(update=other.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


_FIELD: dict[BudgetKind, str] = {
    BudgetKind.STEPS: "max_steps",
    BudgetKind.INPUT_TOKENS: "max_input_tokens",
    BudgetKind.OUTPUT_TOKENS: "max_output_tokens",
    BudgetKind.COST: "max_cost_usd",
    BudgetKind.SECONDS: "max_seconds",
}


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


class BudgetExceeded(AgentError, BudgetExhausted):
    def __init__(self, exhaustion: Exhaustion) -> None:
        super().__init__(exhaustion.describe())
        self.exhaustion = exhaustion


@dataclass(frozen=True)
class Allowance:
    """One limit in the tree a run spends against: the run's own budget, its user's allowance,
    its tenant's. ``used_elsewhere`` is what other runs already spent of it (this period), so a
    check compares the run's spending plus that against the limit, asking the parent first."""

    scope: str  # "run", "user:<id>", "tenant:<id>"
    budget: Budget
    used_elsewhere: Spent = field(default_factory=lambda: Spent())
    parent: Allowance | None = None

    def under(self, parent: Allowance | None) -> Allowance:
        return Allowance(self.scope, self.budget, self.used_elsewhere, parent)

    def chain(self) -> Iterator[Allowance]:
        """The root first, then down to this allowance."""
        if self.parent is not None:
            yield from self.parent.chain()
        yield self

    def check(self, kind: BudgetKind, used: float, *, inclusive: bool = False) -> None:
        """Raise ``BudgetExceeded`` for the first allowance, root first, that ``used`` (this
        run's spending) crosses, or reaches when ``inclusive``."""
        for node in self.chain():
            limit = node.budget.limit(kind)
            if limit is None:
                continue
            total = used + node.used_elsewhere.amount(kind)
            if total > limit or (inclusive and total >= limit):
                raise BudgetExceeded(Exhaustion(kind, limit, total, node.scope))

    def effective(self) -> tuple[Budget, dict[BudgetKind, str]]:
        """What this run may spend in all, limit by limit, and whose limit binds each."""
        limits: dict[str, float] = {}
        scopes: dict[BudgetKind, str] = {}
        for node in self.chain():
            for kind, name in _FIELD.items():
                limit = node.budget.limit(kind)
                if limit is None:
                    continue
                left = max(limit - node.used_elsewhere.amount(kind), 0)
                if name not in limits or left < limits[name]:
                    limits[name] = left
                    scopes[kind] = node.scope
        return Budget(**limits), scopes

    def refreshed(self, elsewhere: Mapping[str, Spent]) -> Allowance:
        """This chain with ``used_elsewhere`` replaced where ``elsewhere`` names the scope
        (what other runs spent, read fresh when a reservation is made)."""
        parent = self.parent.refreshed(elsewhere) if self.parent is not None else None
        used = elsewhere.get(self.scope, self.used_elsewhere)
        return Allowance(self.scope, self.budget, used, parent)


class Reserver(Protocol):
    """Holds a run's spending against allowances shared with other runs (the store's
    ``StoreReserver``): ``reserve(plan)`` hands ``plan`` what other runs spent per scope, and
    holds the worst case it returns, atomically; ``settle`` turns the last hold into what was
    really spent."""

    def reserve(self, plan: Callable[[Mapping[str, Spent]], Spent]) -> None: ...

    def settle(self, actual: Spent) -> None: ...


Period = Literal["total", "day", "month"]


def period_start(period: Period, now: datetime | None = None) -> datetime | None:
    """When the current allowance period began (None: allowances never reset)."""
    now = now or datetime.now(UTC)
    if period == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return None


class BudgetMeter:
    """Counts what a run spends and raises ``BudgetExceeded`` when a limit is crossed.

    ``limits`` is the run's budget, or its ``Allowance`` with the user's and tenant's above it.
    ``spent`` at construction is what earlier attempts of the run used (a resumed run keeps
    counting from there).
    """

    def __init__(
        self,
        limits: Budget | Allowance,
        spent: Spent | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        reserver: Reserver | None = None,
    ) -> None:
        self.limits = limits if isinstance(limits, Allowance) else Allowance("run", limits)
        # with allowances shared with other runs: every model call (and its step) is
        # reserved first
        self.reserver = reserver
        self._step_unreserved = False
        # the binding limit of each kind, for gauges and for clamping a call's max_tokens
        self.budget, self._scopes = self.limits.effective()
        self._base = spent or Spent()
        self._clock = clock
        self._started = clock()
        self.steps = self._base.steps
        self.input_tokens = self._base.input_tokens
        self.output_tokens = self._base.output_tokens
        self.cost_usd = self._base.cost_usd
        # the model call in flight: provisional counts, replaced by the reported usage
        self._call_tokens = 0
        self._call_started = 0.0
        self._price: Price = FREE
        self._estimated_input = 0
        self._headroom = 0  # tokens the call in flight may take unchecked (on_tokens)

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

    @contextmanager
    def slice(self, scope: str, parts: int) -> Iterator[None]:
        """Run a part of the run (a plan step, a sub-agent) on ``1/parts`` of what each
        budget has left (tokens, cost, seconds; steps have their own turn limit): crossing
        its share raises ``BudgetExceeded`` with ``scope``. The share is a ceiling on this
        one meter, so whatever the part leaves stays the run's: nothing is spent twice."""
        spent = self.spent()
        caps: dict[str, float] = {}
        for kind in (
            BudgetKind.INPUT_TOKENS,
            BudgetKind.OUTPUT_TOKENS,
            BudgetKind.COST,
            BudgetKind.SECONDS,
        ):
            limit = self.budget.limit(kind)
            if limit is None:
                continue
            used = spent.amount(kind)
            share = max(limit - used, 0) / max(parts, 1)
            cap = used + share
            caps[_FIELD[kind]] = cap if kind in (BudgetKind.COST, BudgetKind.SECONDS) else int(cap)
        outer = self.limits
        self.limits = Allowance(scope, Budget(**caps), parent=outer)
        self.budget, self._scopes = self.limits.effective()
        try:
            yield
        finally:
            self.limits = outer.refreshed(_used_elsewhere(self.limits))
            self.budget, self._scopes = self.limits.effective()

    def near_limit(self, share: float) -> BudgetKind | None:
        """The first budget this run has used ``share`` of (or whose next step would be its
        last), or None: then its next turn should answer rather than go on."""
        if share >= 1:
            return None
        spent = self.spent()
        for kind in (
            BudgetKind.STEPS,
            BudgetKind.OUTPUT_TOKENS,
            BudgetKind.COST,
            BudgetKind.SECONDS,
        ):
            limit = self.budget.limit(kind)
            if not limit:
                continue
            used = spent.amount(kind)
            if used >= share * limit or (kind is BudgetKind.STEPS and used + 1 >= limit):
                return kind
        return None

    # ---- enforcement -----------------------------------------------------------------

    def exceeded(self, kind: BudgetKind) -> BudgetExceeded:
        """The error for ``kind`` at what is used now (for limits reached, not crossed)."""
        return self._exceeded(kind, self.spent().amount(kind))

    def _exceeded(self, kind: BudgetKind, used: float) -> BudgetExceeded:
        try:
            self.limits.check(kind, used, inclusive=True)
        except BudgetExceeded as exc:
            return exc
        limit = self.budget.limit(kind)
        assert limit is not None, f"no {kind.value} limit to be exceeded"
        return BudgetExceeded(Exhaustion(kind, limit, used, self.scope_of(kind)))

    def _check(self, kind: BudgetKind, used: float, *, inclusive: bool = False) -> None:
        self.limits.check(kind, used, inclusive=inclusive)

    def check_time(self) -> None:
        self._check(BudgetKind.SECONDS, self.seconds, inclusive=True)

    def _refresh(self, elsewhere: Mapping[str, Spent]) -> None:
        self.limits = self.limits.refreshed(elsewhere)
        self.budget, self._scopes = self.limits.effective()

    def begin_step(self) -> int:
        """Count a new step; raise if the step limit was already reached. With shared
        allowances other runs' steps count as last read, and the step is reserved with its
        first model call (one transaction a step), which checks again with fresh counts."""

        def plan(elsewhere: Mapping[str, Spent]) -> Spent:
            self._refresh(elsewhere)
            self._check(BudgetKind.STEPS, self.steps, inclusive=True)
            self.check_time()
            self._check(BudgetKind.COST, self.cost_usd, inclusive=True)
            self._check(BudgetKind.OUTPUT_TOKENS, self.output_tokens, inclusive=True)
            return Spent(steps=1)

        plan({})  # with shared allowances: at what was last read; the call reserves it
        self.steps += 1
        self._step_unreserved = self.reserver is not None
        return self.steps

    def begin_call(
        self, estimated_input_tokens: int, price: Price | None = None, max_tokens: int = 0
    ) -> tuple[int, BudgetKind | None]:
        """Before a model call, priced at ``price`` (the dearest it may be billed at until the
        router says which backend serves it): refuse one whose prompt alone would cross the
        input-token limit, or leave less than one output token that the output-token and
        cost budgets can pay for (a reply of one token would cross them). Returns
        ``max_tokens`` clamped to what those budgets can pay for, and the budget that clamped
        it (None: not clamped). With shared allowances the
        call's worst case (its prompt and all of its clamped reply) is reserved first."""
        price = price or FREE
        clamped: list[tuple[int, BudgetKind | None]] = []

        def plan(elsewhere: Mapping[str, Spent]) -> Spent:
            self._refresh(elsewhere)
            self.check_time()
            self._check(BudgetKind.INPUT_TOKENS, self.input_tokens + estimated_input_tokens)
            prompt_cost = price.cost(Usage(input_tokens=estimated_input_tokens))
            if prompt_cost:
                self._check(BudgetKind.COST, self.cost_usd + prompt_cost, inclusive=True)
            self._call_tokens = 0
            self._call_started = self._clock()
            self._price = price
            self._estimated_input = estimated_input_tokens
            tokens, bound = max_tokens, None
            for kind, left, used in (
                (BudgetKind.OUTPUT_TOKENS, self.output_tokens_left(), self.output_tokens),
                (BudgetKind.COST, self.affordable_output_tokens(), self.cost_usd + prompt_cost),
            ):
                if left is not None and left < 1:  # not one token of a reply can be paid for
                    raise self._exceeded(kind, used)
                if left is not None and left < tokens:
                    tokens, bound = left, kind
            clamped.append((tokens, bound))
            self._headroom = self._headroom_now()
            worst = Usage(input_tokens=estimated_input_tokens, output_tokens=tokens)
            step = 0
            if self._step_unreserved:  # the step this call belongs to is held with it
                self._check(BudgetKind.STEPS, self.steps)
                step = 1
            return Spent(step, estimated_input_tokens, tokens, price.cost(worst), 0.0)

        if self.reserver is None:
            plan({})
            return clamped[0]
        try:
            self.reserver.reserve(plan)
        except BudgetExceeded:
            if self._step_unreserved:
                self.steps -= 1  # refused before its call: the step never ran, nor counts
            raise
        finally:
            self._step_unreserved = False
        return clamped[0]

    def affordable_output_tokens(self) -> int | None:
        """How many output tokens the cost budget can still pay for in the call begun, at its
        price, after its prompt (None: no cost limit, or output is not priced per token)."""
        limit = self.budget.max_cost_usd
        per_token = self._price.output_per_mtok / 1_000_000
        if limit is None or per_token <= 0 or self._price.gpu_per_hour:
            return None
        prompt_cost = self._price.cost(Usage(input_tokens=self._estimated_input))
        left = limit - self.cost_usd - prompt_cost
        return max(int(left / per_token), 0)

    def set_price(self, price: Price) -> None:
        self._price = price
        self._headroom = self._headroom_now()

    def _call_cost(self, cut: bool = False) -> float:
        if self._call_tokens == 0 and not cut and not self._price.gpu_per_hour:
            return 0.0
        provisional = Usage(
            input_tokens=self._estimated_input if self._call_tokens or cut else 0,
            output_tokens=self._call_tokens,
            ttlt_s=self._clock() - self._call_started,
        )
        return self._price.cost(provisional)

    def on_tokens(self, n: int = 1) -> None:
        """A streamed token (or ``n``) arrived: enforce output-token and cost limits now.
        This runs per token, so a call first counts down the tokens it can surely take
        (``_headroom``, worked out when the call begins); the full check runs past them."""
        self._call_tokens += n
        if self._call_tokens <= self._headroom:
            return
        self._check(BudgetKind.OUTPUT_TOKENS, self.output_tokens + self._call_tokens)
        self._check(BudgetKind.COST, self.cost_usd + self._call_cost())

    def _headroom_now(self) -> int:
        """Tokens the call begun may stream before an output-token or cost limit could be
        crossed (one short of the bound, against rounding); 0 with a price by the hour,
        whose cost grows with time rather than tokens."""
        room = math.inf
        left = self.output_tokens_left()
        if left is not None:
            room = left
        if self.budget.max_cost_usd is not None:
            if self._price.gpu_per_hour:
                return 0
            affordable = self.affordable_output_tokens()
            if affordable is not None:
                room = min(room, affordable)
            elif self.cost_usd + self._price.cost(Usage(input_tokens=self._estimated_input)) > (
                self.budget.max_cost_usd
            ):
                return 0
        return 1 << 62 if room == math.inf else max(int(room) - 1, 0)

    def end_call(self, usage: Usage | None, *, cut: bool = False) -> None:
        """The call is over: replace provisional counts with what the server reported (and
        its reservation with what it spent). A call ``cut`` before any usage came (the wall
        clock, a budget, an error) is charged its estimated prompt even when no token came:
        the server read it."""
        before = (self.input_tokens, self.output_tokens, self.cost_usd)
        if usage is not None and (usage.output_tokens or usage.input_tokens):
            self.input_tokens += usage.input_tokens
            self.output_tokens += max(usage.output_tokens, 0)
            self.cost_usd += usage.cost_usd
        else:  # the stream was cut before usage arrived: keep the provisional counts
            self.input_tokens += self._estimated_input if self._call_tokens or cut else 0
            self.output_tokens += self._call_tokens
            self.cost_usd += self._call_cost(cut)
        self._call_tokens = 0
        self._price = FREE
        self._headroom = 0
        if self.reserver is not None:
            self.reserver.settle(
                Spent(
                    0,
                    self.input_tokens - before[0],
                    self.output_tokens - before[1],
                    self.cost_usd - before[2],
                    0.0,
                )
            )

    def check_all(self) -> None:
        """After a call: a reported usage may cross a limit the provisional count did not."""
        self._check(BudgetKind.INPUT_TOKENS, self.input_tokens)
        self._check(BudgetKind.OUTPUT_TOKENS, self.output_tokens)
        self._check(BudgetKind.COST, self.cost_usd)
        self.check_time()


def _used_elsewhere(chain: Allowance) -> dict[str, Spent]:
    """Each scope's ``used_elsewhere`` in a chain (kept when a slice is taken off it)."""
    return {node.scope: node.used_elsewhere for node in chain.chain()}
