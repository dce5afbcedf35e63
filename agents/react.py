"""ReAct: think, act (call a tool), observe, until the model answers.

The loop is small on purpose. Everything it learns goes into ``RunState`` (messages and steps),
which is checkpointed after every completed step, so a killed run resumes where it was.
"""

from __future__ import annotations

import json
import time

from agents.context import fit_context
from agents.errors import ApprovalDenied, StepLimitReached
from agents.events import StepFinished, StepStarted, ToolFinished, ToolProgress, ToolStarted
from agents.recorder import Span
from agents.state import RunState, Step, ToolRecord
from agents.turn import AgentContext, model_turn
from inference.types import ChatRequest, Message, ToolCall, ToolChoice


async def react(
    ctx: AgentContext,
    state: RunState,
    messages: list[Message],
    *,
    plan_step: int | None = None,
    max_turns: int | None = None,
) -> str:
    """Run turns on ``messages`` (changed in place) until the model answers; return the answer."""
    turns = 0
    used_tool = any(m.role == "tool" for m in messages)
    seen = _calls_made(messages)
    force_answer = False
    while True:
        if max_turns is not None and turns >= max_turns:
            raise StepLimitReached(f"no answer after {turns} turns")
        turns += 1
        near = ctx.meter.near_limit(ctx.config.soft_limit)
        step = await begin_step(ctx, state, plan_step)
        if near is not None:
            # most of a budget is spent: answer from what is known, rather than be cut off
            force_answer = True
            if SOFT_LIMIT not in messages:
                messages.append(SOFT_LIMIT)
        fitted, tools = await fit_context(ctx, state, step, messages, ctx.tools.specs(messages))
        if fitted is not messages:
            messages[:] = fitted
        choice: ToolChoice = (
            "required" if ctx.config.require_tool_first and not used_tool else "auto"
        )
        if force_answer:
            choice, force_answer = "none", False
        request = ChatRequest(
            tuple(messages),
            tools=tuple(tools),
            tool_choice=choice if tools else "none",
            max_tokens=ctx.config.max_tokens_per_call,
            temperature=ctx.config.temperature,
            tier=ctx.config.tier,
        )
        result = await model_turn(ctx, state, step, request)

        if result.tool_errors:
            # The model tried to call a tool and got it wrong: tell it what, and go on.
            messages.append(Message.assistant(result.text or result.tool_errors[0].raw))
            for error in result.tool_errors:
                record = ToolRecord(
                    error.id or "invalid",
                    error.name or "?",
                    {},
                    error.for_model(),
                    is_error=True,
                    error_kind=error.kind,
                )
                step.tools.append(record)
                await ctx.emit(ToolFinished(record))
            feedback = " ".join(e.for_model() for e in result.tool_errors)
            messages.append(Message.user(f"{feedback} Fix the call and try again, or answer."))
            await end_step(ctx, state, step)
            continue

        if result.tool_calls:
            messages.append(Message.assistant(result.text, tuple(result.tool_calls)))
            for call in result.tool_calls:
                key = (call.name, normalized(call.arguments))
                if key in seen:
                    # a model repeating itself (small models loop): hand back the result it
                    # already has, and make the next turn an answer
                    record = _repeated(call, seen[key])
                    step.tools.append(record)
                    await ctx.emit(ToolFinished(record))
                    messages.append(Message.tool(call.id, seen[key], call.name))
                    force_answer = True
                    continue
                record = await call_tool(ctx, state, step, call)
                if record.error_kind not in TRANSIENT:  # a retry after those may well work
                    seen[key] = _for_model(ctx, record)
                used_tool = used_tool or not record.is_error
                messages.append(Message.tool(call.id, _for_model(ctx, record), call.name))
                if record.error_kind == "denied" and ctx.config.on_denied == "stop":
                    await end_step(ctx, state, step)
                    raise ApprovalDenied(record.result)
            if force_answer:
                messages.append(Message.user(f"Answer: {_question(messages)}"))
            await end_step(ctx, state, step)
            continue

        step.kind = "answer"
        messages.append(Message.assistant(result.text))
        await end_step(ctx, state, step)
        return result.text.strip()


SOFT_LIMIT = Message.user(
    "The budget for this task is nearly spent. Do not call any more tools: answer now, from "
    "what you have found so far."
)


async def begin_step(ctx: AgentContext, state: RunState, plan_step: int | None = None) -> Step:
    index = ctx.meter.begin_step()
    step = Step(index=index, plan_step=plan_step)
    state.steps.append(step)
    state.step_span = Span(state.trace_id, "step", f"step {index}", parent_id=state.run_span_id)
    await ctx.emit(StepStarted(index, plan_step))
    return step


async def end_step(ctx: AgentContext, state: RunState, step: Step) -> None:
    step.ended = time.time()
    state.spent = ctx.meter.spent()
    span, state.step_span = state.step_span, None
    if span is not None:
        await ctx.recorder.span(span.finish(tools=len(step.tools), kind=step.kind))
    await ctx.recorder.checkpoint(state, step)
    await ctx.emit(StepFinished(step, state.spent))


async def call_tool(ctx: AgentContext, state: RunState, step: Step, call: ToolCall) -> ToolRecord:
    await ctx.emit(ToolStarted(call))
    span = Span(state.trace_id, "tool", call.name, parent_id=_parent(state))
    started = time.perf_counter()
    reports = 0

    async def report(progress: float, total: float | None, message: str | None) -> None:
        nonlocal reports
        reports += 1
        span.attributes["agenthost.tool.progress"] = progress / total if total else progress
        await ctx.emit(ToolProgress(call, progress, total, message))

    result = await ctx.tools.call(call, on_progress=report)
    record = ToolRecord(
        call_id=call.id,
        name=call.name,
        arguments=result.arguments if result.arguments is not None else call.arguments,
        result=result.content,
        is_error=result.is_error,
        error_kind=result.error_kind,
        cached=result.cached,
        duration_s=time.perf_counter() - started,
        attachments=result.attachments,
    )
    step.tools.append(record)
    await ctx.recorder.span(
        span.finish(
            "error" if result.is_error else "ok",
            **{
                "gen_ai.tool.name": call.name,
                "gen_ai.tool.call.id": call.id,
                "agenthost.cached": result.cached,
                "agenthost.error_kind": result.error_kind or "",
                "agenthost.tool.progress_reports": reports,
                "agenthost.tool.attachments": len(result.attachments),
            },
        )
    )
    await ctx.emit(ToolFinished(record))
    return record


# tool errors that say nothing about the call itself: the same call may succeed if retried
TRANSIENT = ("server_down", "timeout")


def normalized(arguments: dict[str, object]) -> str:
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"))


def _calls_made(messages: list[Message]) -> dict[tuple[str, str], str]:
    """Calls already in the history and their results, by (tool, arguments)."""
    results = {m.tool_call_id: m.content for m in messages if m.role == "tool"}
    seen: dict[tuple[str, str], str] = {}
    for m in messages:
        for call in m.tool_calls:
            result = results.get(call.id)
            transient = result is not None and result.startswith(
                tuple(f"Error ({kind})" for kind in TRANSIENT)
            )
            if result is not None and not transient:
                seen[(call.name, normalized(call.arguments))] = result
    return seen


def _question(messages: list[Message]) -> str:
    return next((m.content for m in messages if m.role == "user"), "")


def _repeated(call: ToolCall, result: str) -> ToolRecord:
    note = f"repeated call not run again; its earlier result was: {result}"
    return ToolRecord(
        call.id, call.name, call.arguments, note, is_error=True, error_kind="repeated_call"
    )


def _for_model(ctx: AgentContext, record: ToolRecord) -> str:
    text = f"Error ({record.error_kind}): {record.result}" if record.is_error else record.result
    limit = ctx.config.max_tool_result_chars
    if len(text) > limit:
        text = text[:limit] + f"\n[truncated; full result kept as {record.call_id}]"
    return text


def _parent(state: RunState) -> str | None:
    return state.step_span.span_id if state.step_span else state.run_span_id
