"""Agent loops (ReAct, plan-and-execute) with budgets enforced while the model streams."""

from agents.budget import Budget, BudgetExceeded, BudgetKind, BudgetMeter, Exhaustion, Spent
from agents.config import AgentConfig
from agents.events import RunEvent
from agents.recorder import MemoryRecorder, Recorder, Span
from agents.request import AGENT_KINDS, RunRequest
from agents.runner import run_agent
from agents.state import Outcome, OutcomeKind, RunResult, RunState, Step, ToolRecord
from agents.tools import FunctionToolset, ToolResult, Toolset
from agents.turn import AgentContext

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
