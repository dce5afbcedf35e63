"""The ReAct loop on the scripted backend: tool use, errors fed back, denials, budgets."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import AgentConfig, Budget, BudgetKind, OutcomeKind, RunState, ToolResult, run_agent
from agents.events import RunEvent, TokenDelta, ToolFinished
from agents.tools import FunctionToolset, OnProgress
from inference import ChatRequest, Price, ToolCall
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from tests.agents.helpers import CALC, make_ctx, toolset

pytestmark = pytest.mark.anyio


def runaway(request: ChatRequest) -> Turn:
    """A model that never stops calling tools, chatting a little each time."""
    return Turn(
        "Let me compute that once more to be sure.",
        (ScriptedCall("calculator", {"expression": "1+1"}),),
    )


async def test_tool_then_answer() -> None:
    model = ScriptedBackend(
        [Turn("", (ScriptedCall("calculator", {"expression": "6*7"}),)), Turn("The answer is 42.")]
    )
    events: list[RunEvent] = []
    ctx, recorder = make_ctx(model, events=events)
    state = RunState.new("What is 6*7?")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.COMPLETED
    assert result.answer == "The answer is 42."
    assert result.steps == 2
    assert state.steps[0].tools[0].result == "42"
    # the second model call saw the tool result
    assert any(m.role == "tool" and m.content == "42" for m in model.requests[1].messages)
    assert any(isinstance(e, TokenDelta) for e in events)
    assert any(isinstance(e, ToolFinished) for e in events)
    # checkpoint at start, after each step, at the end; spans for run, steps, model and tool
    assert len(recorder.checkpoints) == 4
    kinds = sorted({s.kind for s in recorder.spans})
    assert kinds == ["model", "run", "step", "tool"]
    assert {s.trace_id for s in recorder.spans} == {state.trace_id}


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (ScriptedCall("calculator", '{"expression": "1+'), "malformed"),
        (ScriptedCall("rm_rf", {"path": "/"}), "unknown_tool"),
        (ScriptedCall("calculator", {"expr": 3}), "invalid_arguments"),
        (ScriptedCall("calculator", {"expression": "x" * 70_000}), "oversized"),
    ],
)
async def test_bad_tool_calls_go_back_to_the_model(call: ScriptedCall, kind: str) -> None:
    model = ScriptedBackend(
        [
            Turn("", (call,)),
            Turn("", (ScriptedCall("calculator", {"expression": "2+2"}),)),
            Turn("4"),
        ]
    )
    ctx, _ = make_ctx(
        model, config=AgentConfig(max_tokens_per_call=100_000, context_tokens=200_000)
    )
    state = RunState.new("2+2?")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
    assert result.answer == "4"
    assert state.steps[0].tools[0].error_kind == kind
    feedback = model.requests[1].messages[-1]
    assert feedback.role == "user"
    assert kind in feedback.content


async def test_a_failing_tool_is_reported_and_the_run_goes_on() -> None:
    model = ScriptedBackend(
        [Turn("", (ScriptedCall("calculator", {"expression": "import os"}),)), Turn("cannot")]
    )
    ctx, _ = make_ctx(model)
    state = RunState.new("?")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.COMPLETED
    assert state.steps[0].tools[0].error_kind == "tool_error"
    assert "not arithmetic" in model.requests[1].messages[-1].content


class DenyingTools(FunctionToolset):
    async def call(self, call: ToolCall, on_progress: OnProgress | None = None) -> ToolResult:
        self.calls.append(call)
        return ToolResult.error("denied", "approval denied by policy: calculator is high risk")


@pytest.mark.parametrize("on_denied", ["stop", "continue"])
async def test_approval_denied_is_honoured(on_denied: Any) -> None:
    model = ScriptedBackend(
        [Turn("", (ScriptedCall("calculator", {"expression": "1+1"}),)), Turn("I was not allowed.")]
    )
    tools = DenyingTools()
    tools.add(CALC, lambda expression: "never run")
    ctx, _ = make_ctx(model, tools=tools, config=AgentConfig(on_denied=on_denied))
    state = RunState.new("1+1?")
    result = await run_agent(ctx, state)
    if on_denied == "stop":
        assert result.outcome.kind is OutcomeKind.DENIED
        assert "approval denied" in result.outcome.detail
        assert len(model.requests) == 1
    else:
        assert result.outcome.kind is OutcomeKind.COMPLETED
        assert "denied" in model.requests[1].messages[-1].content


@pytest.mark.parametrize(
    ("budget", "kind"),
    [
        (Budget(max_steps=3), BudgetKind.STEPS),
        (Budget(max_output_tokens=25), BudgetKind.OUTPUT_TOKENS),
        (Budget(max_input_tokens=200), BudgetKind.INPUT_TOKENS),
        (Budget(max_cost_usd=0.0005), BudgetKind.COST),
        (Budget(max_seconds=0.3), BudgetKind.SECONDS),
    ],
)
async def test_every_budget_stops_a_runaway_model(budget: Budget, kind: BudgetKind) -> None:
    model = ScriptedBackend(runaway, token_delay_s=0.01)
    price = Price(input_per_mtok=1.0, output_per_mtok=100.0)
    ctx, recorder = make_ctx(model, budget=budget, price=price)
    state = RunState.new("Compute 1+1 forever.")
    started = time.monotonic()
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.BUDGET_EXHAUSTED
    exhaustion = result.outcome.exhaustion
    assert exhaustion is not None
    assert exhaustion.kind is kind
    assert exhaustion.scope == "run"
    assert time.monotonic() - started < 5
    # the partial work is kept: steps done, messages, and the last checkpoint has the outcome
    assert state.steps
    assert recorder.states[-1].outcome == result.outcome
    if kind is BudgetKind.STEPS:
        assert result.steps == 3
    if kind is BudgetKind.OUTPUT_TOKENS:
        assert result.spent.output_tokens <= 25


async def test_cost_budget_cancels_the_stream_mid_call() -> None:
    long_text = " ".join(["word"] * 400)
    model = ScriptedBackend([Turn(long_text)])
    ctx, _ = make_ctx(
        model,
        budget=Budget(max_cost_usd=0.001),
        price=Price(output_per_mtok=100.0),  # $0.0001 per token: the 11th token crosses
        config=AgentConfig(max_tokens_per_call=1000),
    )
    state = RunState.new("talk")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.BUDGET_EXHAUSTED
    assert model.tokens_emitted <= 12  # generation stopped, it did not run to 400
    assert state.steps[-1].partial
    assert state.steps[-1].text.startswith("word word")


async def test_a_call_whose_prompt_alone_is_over_the_cost_budget_is_never_sent() -> None:
    model = ScriptedBackend([Turn("never")])
    ctx, _ = make_ctx(
        model,
        budget=Budget(max_cost_usd=0.002),
        price=Price(input_per_mtok=1000.0, output_per_mtok=1.0),  # $0.001 per input token
    )
    result = await run_agent(ctx, RunState.new("a question long enough to cost more than $0.002"))
    assert result.outcome.kind is OutcomeKind.BUDGET_EXHAUSTED
    assert result.outcome.exhaustion is not None
    assert result.outcome.exhaustion.kind is BudgetKind.COST
    assert model.requests == []  # refused before sending: nothing was spent
    assert result.spent.cost_usd == 0


def chatty_caller(request: ChatRequest) -> Turn:
    """A runaway whose turns are mostly tool-call JSON (a long argument), a little text."""
    return Turn("Once more.", (ScriptedCall("calculator", {"expression": "1+" * 200 + "1"}),))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.floats(min_value=0.0005, max_value=0.05),
    out_price=st.floats(min_value=1.0, max_value=200.0),
    in_price=st.floats(min_value=0.0, max_value=20.0),
)
async def test_a_cost_budget_is_never_overshot(
    limit: float, out_price: float, in_price: float
) -> None:
    """Tool-call tokens are counted as they stream, each call's max_tokens is clamped to what
    the budget can pay for after its prompt, and a call that could not pay for one token is
    not made: a runaway of tool calls stops at or under the limit (the prompt estimate is at
    least the scripted model's count)."""
    model = ScriptedBackend(chatty_caller)
    price = Price(input_per_mtok=in_price, output_per_mtok=out_price)
    ctx, _ = make_ctx(
        model,
        budget=Budget(max_cost_usd=limit, max_steps=200),
        price=price,
        config=AgentConfig(max_tokens_per_call=256),
    )
    result = await run_agent(ctx, RunState.new("loop"))
    assert result.outcome.kind is OutcomeKind.BUDGET_EXHAUSTED
    assert result.spent.cost_usd <= limit + 1e-12


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.integers(min_value=1, max_value=120), per_call=st.integers(min_value=1, max_value=64)
)
async def test_output_token_budget_is_never_overrun(limit: int, per_call: int) -> None:
    model = ScriptedBackend(runaway)
    ctx, _ = make_ctx(
        model,
        budget=Budget(max_output_tokens=limit, max_steps=500),
        config=AgentConfig(max_tokens_per_call=per_call),
    )
    result = await run_agent(ctx, RunState.new("loop"))
    # a per-call limit may cut the chatter into a (short) final answer before the budget ends
    assert result.outcome.kind in (OutcomeKind.BUDGET_EXHAUSTED, OutcomeKind.COMPLETED)
    assert result.spent.output_tokens <= limit


async def test_a_repeated_call_is_not_run_again_and_the_model_is_asked_to_answer() -> None:
    same = ScriptedCall("calculator", {"expression": "2+3"})
    model = ScriptedBackend([Turn("", (same,)), Turn("", (same,)), Turn("2 + 3 = 5")])
    tools = toolset()
    ctx, _ = make_ctx(model, tools=tools)
    state = RunState.new("What is 2 plus 3?")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.COMPLETED
    assert len(tools.calls) == 1  # the repeat was not executed
    assert state.steps[1].tools[0].error_kind == "repeated_call"
    last = model.requests[2]
    assert last.tool_choice == "none"
    assert last.messages[-1].content == "Answer: What is 2 plus 3?"


def obliging(request: ChatRequest) -> Turn:
    """Keeps calling tools while it may; answers when the turn allows no tool."""
    if request.tool_choice == "none":
        return Turn("From what I found so far: 2.")
    done = sum(m.role == "tool" for m in request.messages)  # a new call each time
    return Turn("Checking again.", (ScriptedCall("calculator", {"expression": f"1+{done}"}),))


@pytest.mark.parametrize(
    ("budget", "soft"),
    [(Budget(max_steps=4), 0.9), (Budget(max_output_tokens=60, max_steps=50), 0.5)],
)
async def test_near_its_budget_a_run_answers_instead_of_being_cut(
    budget: Budget, soft: float
) -> None:
    model = ScriptedBackend(obliging)
    ctx, _ = make_ctx(model, budget=budget, config=AgentConfig(soft_limit=soft))
    state = RunState.new("what is 1+1?")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.COMPLETED
    assert result.answer == "From what I found so far: 2."
    assert model.requests[-1].tool_choice == "none"
    assert any("nearly spent" in m.content for m in model.requests[-1].messages)
    if budget.max_steps:
        assert result.steps <= budget.max_steps


async def test_a_soft_limit_of_one_lets_the_budget_cut_the_run() -> None:
    model = ScriptedBackend(obliging)
    ctx, _ = make_ctx(model, budget=Budget(max_steps=4), config=AgentConfig(soft_limit=1.0))
    result = await run_agent(ctx, RunState.new("what is 1+1?"))
    assert result.outcome.kind is OutcomeKind.BUDGET_EXHAUSTED
