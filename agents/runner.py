"""Run an agent to an outcome: the one place where budgets, denials and errors become results."""

from __future__ import annotations

import time

import anyio

from agents.budget import BudgetExceeded, BudgetKind, Exhaustion
from agents.errors import ApprovalDenied
from agents.events import RunFinished, RunStarted
from agents.plan import plan_and_execute
from agents.react import react
from agents.request import AGENT_KINDS
from agents.state import Outcome, OutcomeKind, RunResult, RunState, Span
from agents.turn import AgentContext
from core.errors import AgentHostError, exit_code_of
from inference.types import Message


async def run_agent(ctx: AgentContext, state: RunState, *, resumed: bool = False) -> RunResult:
    """Run (or continue) ``state`` until it answers or stops; the outcome says which and why."""
    if state.agent not in AGENT_KINDS:
        raise ValueError(f"unknown agent kind {state.agent!r}; choose one of {AGENT_KINDS}")
    run_span = Span(state.trace_id, "run", f"agent {state.agent}", parent_id=state.trace_parent)
    if not resumed and state.run_span_id is not None:  # spans made before it (the task's
        run_span.span_id = state.run_span_id  # guardrail check) already name it as parent
    if state.request_id is not None:  # the root span: the request's whole trace is found by it
        run_span.attributes["request_id"] = state.request_id
    state.run_span_id = run_span.span_id
    state.outcome = None
    if not state.messages:
        state.messages = [Message.system(ctx.config.system_prompt), Message.user(state.task)]
    await ctx.emit(
        RunStarted(
            state.session_id, state.trace_id, state.task, state.agent, resumed, ctx.meter.budget
        )
    )
    await ctx.recorder.checkpoint(state, None)
    answer = ""
    cited: tuple[int, ...] = ()
    outcome: Outcome
    try:
        with anyio.move_on_after(ctx.meter.seconds_left()) as deadline:
            if state.agent == "plan":
                answer, cited = await plan_and_execute(ctx, state)
            else:
                answer = await react(ctx, state, state.messages)
        if deadline.cancelled_caught:
            limit = ctx.meter.budget.max_seconds or 0.0
            raise BudgetExceeded(
                Exhaustion(
                    BudgetKind.SECONDS, limit, ctx.meter.seconds, _scope(ctx, BudgetKind.SECONDS)
                )
            )
        outcome = Outcome(OutcomeKind.COMPLETED)
        if ctx.screen is not None and answer:
            screened = await ctx.screen.answer(answer)
            answer = screened.text
            if screened.blocked is not None:
                outcome = Outcome(OutcomeKind.BLOCKED, screened.blocked)
    except BudgetExceeded as exc:
        outcome = Outcome(OutcomeKind.BUDGET_EXHAUSTED, str(exc), exc.exhaustion)
    except ApprovalDenied as exc:
        outcome = Outcome(OutcomeKind.DENIED, str(exc))
    except AgentHostError as exc:  # inference, tools, agents: a typed error outcome
        outcome = Outcome(OutcomeKind.ERROR, f"{type(exc).__name__}: {exc}", code=exit_code_of(exc))
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await _finish(
                ctx,
                state,
                run_span,
                "",
                Outcome(OutcomeKind.CANCELLED, "interrupted; `agenthost resume` continues it"),
            )
        raise
    return await _finish(ctx, state, run_span, answer, outcome, cited)


async def _finish(
    ctx: AgentContext,
    state: RunState,
    run_span: Span,
    answer: str,
    outcome: Outcome,
    cited: tuple[int, ...] = (),
) -> RunResult:
    if state.step_span is not None:  # a step was cut short: keep what it produced, marked partial
        if state.steps:
            state.steps[-1].partial = True
            state.steps[-1].ended = time.time()
        await ctx.recorder.span(state.step_span.finish("error", cut_by=outcome.kind.value))
        state.step_span = None
    state.answer = answer
    state.outcome = outcome
    state.spent = ctx.meter.spent()
    await ctx.recorder.checkpoint(state, None)
    await ctx.recorder.span(
        run_span.finish(
            "ok" if outcome.ok else "error",
            outcome=outcome.kind.value,
            steps=state.spent.steps,
            cost_usd=state.spent.cost_usd,
        )
    )
    await ctx.emit(RunFinished(outcome, answer, state.spent))
    return RunResult(
        state.session_id, state.trace_id, answer, outcome, state.spent.steps, state.spent, cited
    )


def _scope(ctx: AgentContext, kind: BudgetKind) -> str:
    return ctx.meter.scope_of(kind)
