"""What a run remembers: explicit data that can be saved, replayed and printed."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from agents.budget import Budget, Exhaustion, Spent
from core.principal import Principal
from inference.types import Message


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


class OutcomeKind(StrEnum):
    COMPLETED = "completed"
    BUDGET_EXHAUSTED = "budget_exhausted"
    DENIED = "denied"  # an approval was denied and the policy stops the run
    ERROR = "error"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"  # guardrails blocked the task or the answer


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    detail: str = ""
    exhaustion: Exhaustion | None = None
    code: int | None = None  # an ERROR's exit code (``core.errors.exit_code_of`` its cause)

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.COMPLETED

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "detail": self.detail}
        if self.code is not None:
            out["code"] = self.code
        if self.exhaustion is not None:
            e = self.exhaustion
            out["budget"] = {
                "kind": e.kind.value,
                "limit": e.limit,
                "used": e.used,
                "scope": e.scope,
            }
        return out


@dataclass(frozen=True)
class Attachment:
    """Content a tool returned that is not text (an image, audio, a binary resource): kept
    beside the text the model reads, in the session, and handed on to the run's caller."""

    kind: str  # image | audio | resource
    mime_type: str
    data: str = ""  # base64; "" when it was larger than the host keeps (see ``size``)
    uri: str = ""  # a resource's URI
    size: int = 0  # bytes, decoded

    def label(self, number: int) -> str:
        """How the model sees it (it reads only text)."""
        where = f" {self.uri}" if self.uri else ""
        kept = "" if self.data or not self.size else ", not kept: too large"
        what = f"{self.mime_type}, {self.size} bytes{kept}"
        return f"[{self.kind} attachment {number}{where}: {what}]"


@dataclass
class ToolRecord:
    """One tool call and what came back."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    result: str = ""
    is_error: bool = False
    error_kind: str | None = None  # e.g. unknown_tool, invalid_arguments, timeout, denied
    cached: bool = False
    duration_s: float = 0.0
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        # from the session store: attachments come back as dicts
        self.attachments = tuple(
            a if isinstance(a, Attachment) else Attachment(**a) for a in self.attachments
        )


@dataclass
class Step:
    """One turn of the loop: what the model said, the tools it called, what it cost."""

    index: int
    kind: str = "act"  # act | answer | plan | replan | synthesize | compact
    text: str = ""
    tools: list[ToolRecord] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    started: float = field(default_factory=time.time)
    ended: float | None = None
    plan_step: int | None = None  # plan-and-execute: the plan step this turn served
    partial: bool = False  # the model call was cut short (budget, error)


@dataclass(frozen=True)
class PlanStep:
    goal: str
    tools: tuple[str, ...] = ()


@dataclass
class PlanState:
    steps: list[PlanStep]
    results: dict[int, str] = field(default_factory=dict)  # plan step index -> result
    failed: dict[int, str] = field(default_factory=dict)
    replans: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [{"goal": s.goal, "tools": list(s.tools)} for s in self.steps],
            "results": {str(k): v for k, v in self.results.items()},
            "failed": {str(k): v for k, v in self.failed.items()},
            "replans": self.replans,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanState:
        return cls(
            steps=[PlanStep(s["goal"], tuple(s.get("tools", ()))) for s in data["steps"]],
            results={int(k): v for k, v in data.get("results", {}).items()},
            failed={int(k): v for k, v in data.get("failed", {}).items()},
            replans=data.get("replans", 0),
        )


@dataclass
class RunState:
    """Everything needed to continue a run: the loops read and write only this."""

    session_id: str
    trace_id: str
    task: str
    agent: str = "react"
    role: str | None = None
    principal: Principal = field(default_factory=Principal)
    budget: Budget = field(default_factory=Budget)
    tools: tuple[str, ...] = ()  # globs narrowing the role's tools (empty: all of them)
    tier: str | None = None  # the model tier of the run's calls (None: the agent's default)
    require_tool: bool = False  # the first model turn must call a tool
    messages: list[Message] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    spent: Spent = field(default_factory=Spent)
    plan: PlanState | None = None
    answer: str = ""
    outcome: Outcome | None = None
    compactions: int = 0
    request_id: str | None = None  # the request (X-Request-ID) the run was started by
    # runtime only, never persisted: the open spans that new spans nest under
    run_span_id: str | None = field(default=None, repr=False)
    trace_parent: str | None = field(default=None, repr=False)  # the caller's span, if any
    step_span: Span | None = field(default=None, repr=False)

    @classmethod
    def new(cls, task: str, **kwargs: Any) -> RunState:
        return cls(session_id=new_id("ses"), trace_id=uuid.uuid4().hex, task=task, **kwargs)


@dataclass
class Span:
    """A timed piece of a run (OpenTelemetry-shaped: one trace per run, spans nest by parent)."""

    trace_id: str
    kind: str  # run | step | model | tool | approval | compact | plan
    name: str
    parent_id: str | None = None
    span_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    start: float = field(default_factory=time.time)
    end: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"

    def finish(self, status: str = "ok", **attributes: Any) -> Span:
        self.end = time.time()
        self.status = status
        self.attributes.update(attributes)
        return self


@dataclass(frozen=True)
class RunResult:
    """What a caller gets back from a run."""

    session_id: str
    trace_id: str
    answer: str
    outcome: Outcome
    steps: int
    spent: Spent
    cited_steps: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "trace_id": self.trace_id,
            "answer": self.answer,
            "outcome": self.outcome.to_dict(),
            "steps": self.steps,
            "tokens": {"input": self.spent.input_tokens, "output": self.spent.output_tokens},
            "cost_usd": round(self.spent.cost_usd, 8),
            "seconds": round(self.spent.seconds, 3),
            "cited_steps": list(self.cited_steps),
        }
