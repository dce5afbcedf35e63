"""Agent settings: the ``[agent]`` table of agenthost.toml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SYSTEM_PROMPT = (
    "You are a careful assistant. Use the tools when they help; call one tool at a time. "
    "When you have what you need, answer briefly and plainly."
)


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["react", "plan"] = Field("react", description="default agent loop")
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    tier: str | None = Field(None, description="model tier for agent calls (None: router decides)")
    max_tokens_per_call: int = Field(256, ge=1)
    temperature: float = Field(0.0, ge=0)
    require_tool_first: bool = Field(
        False, description="the first model call must call a tool (tool_choice=required)"
    )
    on_denied: Literal["stop", "continue"] = Field(
        "stop", description="an approval denial ends the run, or is reported to the model"
    )
    context_tokens: int = Field(4096, ge=256, description="the model's context window")
    keep_recent_messages: int = Field(4, ge=1, description="kept verbatim when compacting")
    max_tool_result_chars: int = Field(4000, ge=100, description="longer results are truncated")
    soft_limit: float = Field(
        0.9,
        gt=0,
        le=1,
        description="once this share of a budget (steps, output tokens, cost, seconds) is "
        "used, or the next step is the last the step budget allows, the next turn must be the "
        "answer from what the run knows; 1 turns it off",
    )
    # plan-and-execute
    max_plan_steps: int = Field(5, ge=1, le=20)
    steps_per_plan_step: int = Field(4, ge=1, description="ReAct turns allowed per plan step")
    max_replans: int = Field(2, ge=0)
