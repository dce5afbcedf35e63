"""Agent loops (ReAct, plan-and-execute) with budgets enforced while the model streams."""

from agents.budget import Budget, BudgetExceeded, BudgetKind, BudgetMeter, Exhaustion, Spent
from agents.config import AgentConfig
from agents.events import RunEvent
from agents.recorder import MemoryRecorder, Recorder, Span
from agents.runner import run_agent
from agents.state import Outcome, OutcomeKind, RunResult, RunState, Step, ToolRecord
from agents.tools import FunctionToolset, ToolResult, Toolset
from agents.turn import AgentContext, ChatModel

__all__ = [
    "AgentConfig",
    "AgentContext",
    "Budget",
    "BudgetExceeded",
    "BudgetKind",
    "BudgetMeter",
    "ChatModel",
    "Exhaustion",
    "FunctionToolset",
    "MemoryRecorder",
    "Outcome",
    "OutcomeKind",
    "Recorder",
    "RunEvent",
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
