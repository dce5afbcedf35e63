"""Plan-and-execute and context compaction on the scripted backend."""

from __future__ import annotations

import json

import pytest

from agents import AgentConfig, Budget, OutcomeKind, RunState, run_agent
from agents.events import Compacted, PlanUpdated, RunEvent
from agents.plan import parse_plan
from inference import ChatRequest
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from tests.agents.helpers import make_ctx

pytestmark = pytest.mark.anyio

PLAN = json.dumps(
    {
        "steps": [
            {"goal": "compute 6*7", "tools": ["calculator"]},
            {"goal": "compute 2+2", "tools": ["calculator", "no_such_tool"]},
        ]
    }
)


def is_planning(request: ChatRequest) -> bool:
    return request.constraint is not None


def test_parse_plan_validates_against_the_schema() -> None:
    steps = parse_plan(PLAN, 5, {"calculator"})
    assert [s.goal for s in steps] == ["compute 6*7", "compute 2+2"]
    assert steps[1].tools == ("calculator",)  # unknown suggestions are dropped
    with pytest.raises(ValueError, match="not JSON"):
        parse_plan("{steps", 5, set())
    with pytest.raises(ValueError, match="schema"):
        parse_plan(json.dumps({"steps": []}), 5, set())
    with pytest.raises(ValueError, match="schema"):
        parse_plan(json.dumps({"steps": [{"goal": "x" * 5, "tools": []}] * 6}), 5, set())


async def test_plan_execute_and_cite() -> None:
    def script(request: ChatRequest) -> Turn:
        last = request.messages[-1].content
        if is_planning(request):
            return Turn(PLAN)
        if "Step results" in last:
            return Turn("6*7 is 42 [1] and 2+2 is 4 [2].")
        tool_results = [m for m in request.messages if m.role == "tool"]
        expression = "6*7" if "step (1 of 2)" in last else "2+2"
        if not tool_results:
            return Turn("", (ScriptedCall("calculator", {"expression": expression}),))
        return Turn(tool_results[-1].content)

    events: list[RunEvent] = []
    ctx, recorder = make_ctx(ScriptedBackend(script), events=events)
    state = RunState.new("What are 6*7 and 2+2?", agent="plan")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
    assert result.answer == "6*7 is 42 [1] and 2+2 is 4 [2]."
    assert result.cited_steps == (1, 2)
    assert state.plan is not None
    assert state.plan.results == {0: "42", 1: "4"}
    assert [s.kind for s in state.steps] == ["plan", "act", "answer", "act", "answer", "synthesize"]
    assert any(isinstance(e, PlanUpdated) for e in events)
    # the plan and its results are checkpointed as they progress
    assert any(s.plan and s.plan.results for s in recorder.states)


async def test_replan_after_a_step_fails() -> None:
    plans = iter(
        [
            json.dumps({"steps": [{"goal": "impossible thing", "tools": []}]}),
            json.dumps(
                {
                    "steps": [
                        {"goal": "easy thing", "tools": []},
                        {"goal": "another easy thing", "tools": []},
                    ]
                }
            ),
        ]
    )

    def script(request: ChatRequest) -> Turn:
        last = request.messages[-1].content
        if is_planning(request):
            return Turn(next(plans))
        if "Step results" in last:
            return Turn("Done the easy way.")
        if "impossible" in last or request.messages[-1].role == "tool":
            # never answers: keeps calling the tool, with new arguments each time
            n = sum(1 for m in request.messages if m.role == "tool")
            return Turn("", (ScriptedCall("calculator", {"expression": str(n)}),))
        return Turn("easy result")

    events: list[RunEvent] = []
    ctx, _ = make_ctx(
        ScriptedBackend(script), events=events, config=AgentConfig(steps_per_plan_step=2)
    )
    state = RunState.new("do it", agent="plan")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
    assert state.plan is not None
    assert state.plan.replans == 1
    assert state.plan.steps[0].goal == "easy thing"
    assert any(isinstance(e, PlanUpdated) and e.replanned for e in events)
    # an answer that cites nothing gets its sources appended
    assert result.answer == "Done the easy way.\n\nSources: step 1, step 2"
    assert result.cited_steps == (1, 2)


async def test_a_planner_that_cannot_plan_falls_back_to_one_step() -> None:
    def script(request: ChatRequest) -> Turn:
        if is_planning(request):
            return Turn("not json at all")
        if "Step results" in request.messages[-1].content:
            return Turn("answer [1]")
        return Turn("step result")

    ctx, _ = make_ctx(ScriptedBackend(script))
    state = RunState.new("just do it", agent="plan")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.COMPLETED
    assert state.plan is not None
    assert [s.goal for s in state.plan.steps] == ["just do it"]
    assert "planner failed twice" in state.steps[0].text
    # one step: its result is the answer, without a synthesis call
    assert (result.answer, result.cited_steps) == ("step result", (1,))


async def test_long_history_is_compacted_not_failed() -> None:
    big = "x" * 3000

    def script(request: ChatRequest) -> Turn:
        if request.messages[0].content == "You write terse working notes.":
            return Turn("- computed several big numbers")
        done = sum(1 for m in request.messages if m.role == "tool")
        summary = any("compacted" in m.content for m in request.messages)
        if done + (3 if summary else 0) < 4:
            return Turn("", (ScriptedCall("calculator", {"expression": f"{done}+1"}),))
        return Turn("finished")

    from tests.agents.helpers import CALC, FunctionToolset

    tools = FunctionToolset()
    tools.add(CALC, lambda expression: big + str(eval(expression)))
    events: list[RunEvent] = []
    model = ScriptedBackend(script)
    ctx, _ = make_ctx(
        model,
        tools=tools,
        events=events,
        config=AgentConfig(context_tokens=2048, keep_recent_messages=2, max_tokens_per_call=64),
    )
    state = RunState.new("add up")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
    compactions = [e for e in events if isinstance(e, Compacted)]
    assert compactions
    summary = next(m for m in state.messages if "compacted" in m.content)
    assert "computed several big numbers" in summary.content
    assert "kept in the session store by id: call_" in summary.content
    # every request fit the window
    for request in model.requests:
        assert sum(len(m.content) for m in request.messages) / 3.5 < 2048


async def test_a_plan_step_that_loops_spends_only_its_share() -> None:
    """Each plan step runs on its share of what the budget has left: the first step loops
    (a new tool call every turn) and is stopped at its share, so the second step and the
    synthesis still have budget, and the run answers."""

    def script(request: ChatRequest) -> Turn:
        last = request.messages[-1].content
        if is_planning(request):
            return Turn(PLAN)
        if "Step results" in last:
            return Turn("2+2 is 4 [2].")
        if "step (1 of 2)" in last or "step (1 of 2)" in request.messages[1].content:
            done = sum(m.role == "tool" for m in request.messages)
            return Turn("More.", (ScriptedCall("calculator", {"expression": f"1+{done}"}),))
        if not any(m.role == "tool" for m in request.messages):
            return Turn("", (ScriptedCall("calculator", {"expression": "2+2"}),))
        return Turn("4")

    budget = Budget(max_output_tokens=200, max_steps=100)
    config = AgentConfig(steps_per_plan_step=30, soft_limit=1.0)  # only the share stops it
    ctx, _ = make_ctx(ScriptedBackend(script), budget=budget, config=config)
    state = RunState.new("What are 6*7 and 2+2?", agent="plan")
    result = await run_agent(ctx, state)
    assert result.outcome.kind is OutcomeKind.COMPLETED
    assert state.plan is not None
    assert state.plan.replans >= 1  # the first step ran out of its share, and was replanned
    assert result.spent.output_tokens <= 200
    assert result.answer == "2+2 is 4 [2]."
