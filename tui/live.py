"""What the console knows about one run: built from the run's events while it streams in this
process, or from the session store for runs of other processes and finished ones.

Pure data, no Textual: the widgets read a ``RunView`` and the tests check it directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from agents.budget import Budget, BudgetKind, Spent
from agents.events import (
    Compacted,
    GuardrailHit,
    PlanUpdated,
    RunEvent,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TokenDelta,
    ToolFinished,
    ToolProgress,
    ToolStarted,
)
from agents.state import Outcome, PlanState, Step, ToolRecord
from memory.sessions import SessionRow, SessionStore, outcome_from_dict

GAUGES = (
    BudgetKind.STEPS,
    BudgetKind.INPUT_TOKENS,
    BudgetKind.OUTPUT_TOKENS,
    BudgetKind.COST,
    BudgetKind.SECONDS,
)
WARN_AT = 0.75  # a gauge turns amber at 75% of its limit
DANGER_AT = 0.9  # and red at 90%


def level(used: float, limit: float | None) -> str:
    """``ok``, ``warn`` or ``danger``: how close ``used`` is to ``limit``."""
    if not limit:
        return "ok"
    share = used / limit
    return "danger" if share >= DANGER_AT else "warn" if share >= WARN_AT else "ok"


@dataclass
class RunView:
    """One run as the console shows it."""

    session_id: str
    task: str
    agent: str = "react"
    role: str | None = None
    trace_id: str = ""
    status: str = "running"  # running | completed | budget_exhausted | denied | error | cancelled
    budget: Budget = field(default_factory=Budget)
    spent: Spent = field(default_factory=Spent)
    steps: list[Step] = field(default_factory=list)
    plan: PlanState | None = None
    replanned: int = 0
    streaming: str = ""  # the text of the model call in flight
    streaming_tokens: int = 0
    tools_running: list[str] = field(default_factory=list)
    tool_progress: dict[str, str] = field(default_factory=dict)  # a running tool's last report
    current_step: int | None = None
    answer: str = ""
    outcome: Outcome | None = None
    compactions: int = 0
    guardrails: list[GuardrailHit] = field(default_factory=list)  # policy hits, in order
    started: float = field(default_factory=time.time)
    live: bool = False  # events arrive from this process
    version: int = 0  # bumped on every change: widgets redraw when it moves

    # ---- events ------------------------------------------------------------------------

    def apply(self, event: RunEvent) -> None:
        """Fold one run event into the view."""
        if isinstance(event, RunStarted):
            self.session_id = event.session_id
            self.trace_id = event.trace_id
            self.agent = event.agent
            if event.budget is not None:
                self.budget = event.budget
            self.status = "running"
        elif isinstance(event, StepStarted):
            self.current_step = event.index
            self.streaming = ""
            self.streaming_tokens = 0
        elif isinstance(event, TokenDelta):
            self.streaming += event.text
            self.streaming_tokens += 1
        elif isinstance(event, ToolStarted):
            self.tools_running.append(event.call.name)
        elif isinstance(event, ToolProgress):
            self.tool_progress[event.call.name] = event.text()
        elif isinstance(event, ToolFinished):
            if event.record.name in self.tools_running:
                self.tools_running.remove(event.record.name)
            self.tool_progress.pop(event.record.name, None)
        elif isinstance(event, StepFinished):
            self._keep_step(event.step)
            self.spent = event.spent
            self.streaming = ""
            self.streaming_tokens = 0
            self.current_step = None
        elif isinstance(event, PlanUpdated):
            self.plan = event.plan
            if event.replanned:
                self.replanned += 1
        elif isinstance(event, Compacted):
            self.compactions += 1
        elif isinstance(event, GuardrailHit):
            self.guardrails.append(event)
        elif isinstance(event, RunFinished):
            self.outcome = event.outcome
            self.answer = event.answer
            self.spent = event.spent
            self.status = event.outcome.kind.value
            self.streaming = ""
            self.tools_running.clear()
            self.tool_progress.clear()
            self.current_step = None
            self.live = False
        self.version += 1

    def _keep_step(self, step: Step) -> None:
        if self.steps and self.steps[-1].index == step.index:
            self.steps[-1] = step  # the same turn, reported again (a plan step's retry)
        else:
            self.steps.append(step)

    # ---- reading -----------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.outcome is not None or self.status not in ("running", "waiting")

    def used(self, kind: BudgetKind, now: float | None = None) -> float:
        """What the run has used of ``kind``, counting the model call in flight."""
        if kind is BudgetKind.OUTPUT_TOKENS:
            return self.spent.output_tokens + self.streaming_tokens
        if kind is BudgetKind.SECONDS and self.live and not self.finished:
            return max(self.spent.seconds, (now or time.time()) - self.started)
        return self.spent.amount(kind)

    def tool_records(self) -> list[ToolRecord]:
        return [t for s in self.steps for t in s.tools]

    # ---- from the store ----------------------------------------------------------------

    @classmethod
    def from_store(cls, store: SessionStore, session_id: str) -> RunView:
        row = store.get(session_id)
        view = cls(session_id=row.id, task=row.task)
        view.refresh(store, row)
        return view

    def refresh(self, store: SessionStore, row: SessionRow | None = None) -> None:
        """Reload from the store (a run of another process, or a finished one)."""
        row = row or store.get(self.session_id)
        self.task = row.task
        self.agent = row.agent
        self.role = row.role
        self.trace_id = row.trace_id
        self.status = row.status
        self.budget = Budget(**row.budget)
        self.spent = Spent(
            row.steps, row.input_tokens, row.output_tokens, row.cost_usd, row.seconds
        )
        self.steps = store.steps(row.id)
        self.plan = PlanState.from_dict(row.plan) if row.plan else None
        self.replanned = self.plan.replans if self.plan else 0
        self.answer = row.answer
        self.outcome = outcome_from_dict(row.outcome)
        self.guardrails = guardrail_hits(store, row.trace_id)
        self.started = row.created_at.timestamp()
        self.version += 1


def guardrail_hits(store: SessionStore, trace_id: str) -> list[GuardrailHit]:
    """The guardrail policy hits a run's spans recorded (checks that only allowed are not)."""
    hits: list[GuardrailHit] = []
    for span in store.spans(trace_id):
        if span.kind != "guardrail":
            continue
        a = span.attributes
        action = str(a.get("agenthost.guardrail.action", "allow"))
        if action == "allow":
            continue
        categories = str(a.get("agenthost.guardrail.categories", ""))
        hits.append(
            GuardrailHit(
                str(a.get("agenthost.guardrail.source", "")),
                action,
                tuple(c for c in categories.split(",") if c),
                float(a.get("agenthost.guardrail.score", 0.0)),
                str(a.get("agenthost.guardrail.subject", "")),
            )
        )
    return hits
