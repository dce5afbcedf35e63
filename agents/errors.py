"""Why a loop stops early (budget exhaustion lives with the budgets)."""

from __future__ import annotations

import core.errors as core


class AgentError(core.AgentHostError):
    """Base of the loops' errors."""


class ApprovalDenied(AgentError, core.Denied):
    """A tool call was denied and policy says the run ends."""


class StepLimitReached(AgentError):
    """A ReAct sub-loop used its turns without producing an answer."""


class ContextOverflow(AgentError, core.InvalidRequest):
    """A prompt cannot fit the model's context window even after compaction."""
