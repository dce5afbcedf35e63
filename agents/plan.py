"""Plan-and-execute: a planner writes a plan (JSON, validated against a schema), an executor runs
each step as a ReAct sub-loop, a replanner revises the rest of the plan after a failure, and the
final answer cites the steps that produced it.

A resumed run continues from its first unfinished plan step.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from agents.budget import BudgetExceeded
from agents.errors import StepLimitReached
from agents.events import PlanUpdated
from agents.react import begin_step, end_step, react
from agents.state import PlanState, PlanStep, RunState
from agents.turn import AgentContext, model_turn
from inference.types import ChatRequest, JsonSchema, Message


def plan_schema(max_steps: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_steps,
                "items": {
                    "type": "object",
                    "properties": {
                        "goal": {"type": "string", "minLength": 3, "maxLength": 300},
                        "tools": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                    },
                    "required": ["goal", "tools"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["steps"],
        "additionalProperties": False,
    }


def parse_plan(text: str, max_steps: int, known_tools: set[str]) -> list[PlanStep]:
    """Validate the planner's output; raise ``ValueError`` saying what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the plan is not JSON: {exc}") from exc
    try:
        jsonschema.validate(data, plan_schema(max_steps))
    except jsonschema.ValidationError as exc:
        raise ValueError(f"the plan does not match the schema: {exc.message}") from exc
    return [
        PlanStep(s["goal"].strip(), tuple(t for t in s["tools"] if t in known_tools))
        for s in data["steps"]
    ]


async def make_plan(ctx: AgentContext, state: RunState, note: str = "") -> list[PlanStep]:
    cfg = ctx.config
    specs = ctx.tools.specs(state.messages)
    tool_lines = "\n".join(f"- {t.name}: {t.description}" for t in specs) or "(no tools)"
    system = (
        "You break a task into a short plan. Reply with JSON only: "
        '{"steps": [{"goal": "...", "tools": ["tool_name"]}]}. '
        f"Use at most {cfg.max_plan_steps} steps. Available tools:\n{tool_lines}"
    )
    user = f"Task: {state.task}" + (f"\n\n{note}" if note else "")
    messages = [Message.system(system), Message.user(user)]
    step = await begin_step(ctx, state)
    step.kind = "replan" if note else "plan"
    error = ""
    for _attempt in range(2):
        request = ChatRequest(
            tuple(messages),
            max_tokens=max(cfg.max_tokens_per_call, 200),
            temperature=cfg.temperature,
            tier=cfg.tier,
            constraint=JsonSchema(plan_schema(cfg.max_plan_steps), name="plan"),
        )
        result = await model_turn(ctx, state, step, request, stream_tokens=False, name="plan")
        try:
            steps = parse_plan(result.text, cfg.max_plan_steps, {t.name for t in specs})
            break
        except ValueError as exc:
            error = str(exc)
            messages += [Message.assistant(result.text), Message.user(f"{error}. Reply again.")]
    else:
        # A planner that cannot plan still leaves a runnable plan: the task as one step.
        steps = [PlanStep(state.task)]
        step.text += f"\n[planner failed twice ({error}); running the task as one step]"
    await end_step(ctx, state, step)
    return steps


def _step_prompt(state: RunState, plan: PlanState, index: int) -> str:
    done = "\n".join(
        f"[{i + 1}] {plan.steps[i].goal}: {plan.results[i]}" for i in sorted(plan.results)
    )
    goal = plan.steps[index]
    hint = f" Suggested tools: {', '.join(goal.tools)}." if goal.tools else ""
    return (
        f"Overall task: {state.task}\n"
        + (f"Results so far:\n{done}\n" if done else "")
        + f"Your current step ({index + 1} of {len(plan.steps)}): {goal.goal}.{hint}\n"
        "Do only this step and answer with its result."
    )


async def plan_and_execute(ctx: AgentContext, state: RunState) -> tuple[str, tuple[int, ...]]:
    """Run the plan to the end; return the answer and the (1-based) plan steps it cites."""
    cfg = ctx.config
    if state.plan is None:
        state.plan = PlanState(await make_plan(ctx, state))
        await ctx.recorder.checkpoint(state, None)
        await ctx.emit(PlanUpdated(state.plan))
    plan = state.plan
    index = 0
    while index < len(plan.steps):
        if index in plan.results:
            index += 1
            continue
        messages = [
            Message.system(cfg.system_prompt),
            Message.user(_step_prompt(state, plan, index)),
        ]
        # the step runs on its share of what is left (the rest of the plan and the synthesis
        # get theirs): a step that loops cannot spend the budget of the steps after it
        scope = f"plan step {index + 1}"
        parts = sum(1 for i in range(index, len(plan.steps)) if i not in plan.results) + 1
        try:
            with ctx.meter.slice(scope, parts):
                plan.results[index] = await react(
                    ctx, state, messages, plan_step=index, max_turns=cfg.steps_per_plan_step
                )
            plan.failed.pop(index, None)
        except (StepLimitReached, BudgetExceeded) as exc:
            if isinstance(exc, BudgetExceeded) and exc.exhaustion.scope != scope:
                raise  # the run's own budget (or its user's): the run ends
            plan.failed[index] = str(exc)
            if plan.replans >= cfg.max_replans:
                break
            note = (
                "Done so far:\n"
                + "\n".join(f"- {plan.steps[i].goal}: {r}" for i, r in sorted(plan.results.items()))
                + f"\nThis step failed ({exc}): {plan.steps[index].goal}\n"
                "Plan only the remaining work, differently."
            )
            plan.steps[index:] = await make_plan(ctx, state, note)
            plan.failed.pop(index, None)
            plan.replans += 1
            await ctx.emit(PlanUpdated(plan, replanned=True))
        await ctx.recorder.checkpoint(state, None)
        index += 1 if index in plan.results else 0
    return await synthesize(ctx, state, plan)


async def synthesize(
    ctx: AgentContext, state: RunState, plan: PlanState
) -> tuple[str, tuple[int, ...]]:
    results = "\n".join(
        f"[{i + 1}] {plan.steps[i].goal}: {r}" for i, r in sorted(plan.results.items())
    )
    failed = "\n".join(f"[{i + 1}] failed: {why}" for i, why in sorted(plan.failed.items()))
    if len(plan.results) == 1 and not plan.failed and len(plan.steps) == 1:
        return plan.results[0], (1,)  # one step: its result is the answer, no model call
    step = await begin_step(ctx, state)
    step.kind = "synthesize"
    request = ChatRequest(
        (
            Message.system("You answer from step results only, citing them like [1]."),
            Message.user(
                f"Task: {state.task}\n\nStep results:\n{results or '(none)'}\n{failed}\n\n"
                "Answer the task briefly, citing the steps you used."
            ),
        ),
        max_tokens=ctx.config.max_tokens_per_call,
        temperature=ctx.config.temperature,
        tier=ctx.config.tier,
    )
    result = await model_turn(ctx, state, step, request)
    await end_step(ctx, state, step)
    answer = result.text.strip()
    produced = {i + 1 for i in plan.results}
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer)} & produced
    if not cited:
        cited = produced
        if cited:
            answer += "\n\nSources: " + ", ".join(f"step {n}" for n in sorted(cited))
    return answer, tuple(sorted(cited))
