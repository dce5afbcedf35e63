"""Progress events a run emits while it works (the CLI, the MCP server and the TUI show them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agents.budget import Budget, Spent
from agents.state import Outcome, PlanState, Step, ToolRecord
from inference.types import ToolCall


@dataclass(frozen=True)
class RunStarted:
    session_id: str
    trace_id: str
    task: str
    agent: str
    resumed: bool = False
    budget: Budget | None = None  # the limits that bind this run (run, user and tenant)


@dataclass(frozen=True)
class StepStarted:
    index: int
    plan_step: int | None = None


@dataclass(frozen=True)
class TokenDelta:
    text: str


@dataclass(frozen=True)
class ToolStarted:
    call: ToolCall


@dataclass(frozen=True)
class ToolProgress:
    """A long-running tool's report (MCP ``notifications/progress``) while it works."""

    call: ToolCall
    progress: float
    total: float | None = None
    message: str | None = None

    def text(self) -> str:
        done = f"{self.progress:g}/{self.total:g}" if self.total else f"{self.progress:g}"
        return f"{done} {self.message}" if self.message else done


@dataclass(frozen=True)
class ToolFinished:
    record: ToolRecord


@dataclass(frozen=True)
class StepFinished:
    step: Step
    spent: Spent


@dataclass(frozen=True)
class PlanUpdated:
    plan: PlanState
    replanned: bool = False


@dataclass(frozen=True)
class Compacted:
    dropped_messages: int
    summary: str
    kept_ids: tuple[str, ...] = ()  # tool results moved out of the prompt (in the session store)


@dataclass(frozen=True)
class GuardrailHit:
    """A guardrail policy acted on a text: the task, a tool result (``subject``: the tool),
    or the answer. Names the categories, never the text."""

    source: str  # user | tool | retrieval | memory | output
    action: str  # warn | redact | quarantine | block
    categories: tuple[str, ...]
    score: float
    subject: str = ""

    def text(self) -> str:
        what = {"quarantine": "withheld", "block": "blocked", "redact": "redacted"}.get(
            self.action, "flagged"
        )
        whose = (
            f"{self.subject} result"
            if self.source not in ("user", "output")
            else ("the task" if self.source == "user" else "the answer")
        )
        return f"guardrails {what} {whose}: {', '.join(self.categories)} ({self.score:.2f})"


@dataclass(frozen=True)
class RunFinished:
    outcome: Outcome
    answer: str
    spent: Spent


RunEvent = (
    RunStarted
    | StepStarted
    | TokenDelta
    | ToolStarted
    | ToolProgress
    | ToolFinished
    | StepFinished
    | PlanUpdated
    | Compacted
    | GuardrailHit
    | RunFinished
)

Emit = Callable[[RunEvent], Awaitable[None]]


async def ignore(event: RunEvent) -> None:
    return None
