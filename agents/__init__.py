"""Agent loops (ReAct, plan-and-execute) with budgets enforced while the model streams.

The names below are imported on first use (``core.lazy``): ``settings`` reads
``agents.config`` without loading the loops."""

from typing import TYPE_CHECKING

from core.lazy import exports

if TYPE_CHECKING:
    from agents.budget import Budget, BudgetExceeded, BudgetKind, BudgetMeter, Exhaustion, Spent
    from agents.config import AgentConfig
    from agents.events import RunEvent
    from agents.recorder import MemoryRecorder, Recorder, Span
    from agents.request import AGENT_KINDS, RunRequest
    from agents.runner import run_agent
    from agents.state import Outcome, OutcomeKind, RunResult, RunState, Step, ToolRecord
    from agents.tools import FunctionToolset, ToolResult, Toolset
    from agents.turn import AgentContext
else:
    __getattr__, __dir__ = exports(
        __name__,
        {
            "agents.budget": [
                "Budget", "BudgetExceeded", "BudgetKind", "BudgetMeter", "Exhaustion", "Spent"
            ],
            "agents.config": ["AgentConfig"],
            "agents.events": ["RunEvent"],
            "agents.recorder": ["MemoryRecorder", "Recorder", "Span"],
            "agents.request": ["AGENT_KINDS", "RunRequest"],
            "agents.runner": ["run_agent"],
            "agents.state": [
                "Outcome", "OutcomeKind", "RunResult", "RunState", "Step", "ToolRecord"
            ],
            "agents.tools": ["FunctionToolset", "ToolResult", "Toolset"],
            "agents.turn": ["AgentContext"],
        },
    )  # fmt: skip

__all__ = [
    "AGENT_KINDS",
    "AgentConfig",
    "AgentContext",
    "Budget",
    "BudgetExceeded",
    "BudgetKind",
    "BudgetMeter",
    "Exhaustion",
    "FunctionToolset",
    "MemoryRecorder",
    "Outcome",
    "OutcomeKind",
    "Recorder",
    "RunEvent",
    "RunRequest",
    "RunResult",
    "RunState",
    "Span",
    "Spent",
    "Step",
    "ToolRecord",
    "ToolResult",
    "Toolset",
    "run_agent",
]
