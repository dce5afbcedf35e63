"""One model call inside a run: streamed, metered token by token, traced."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agents.budget import BudgetMeter
from agents.config import AgentConfig
from agents.errors import ContextOverflow
from agents.events import Emit, TokenDelta
from agents.recorder import Recorder, Span
from agents.screen import Screen
from agents.state import RunState, Step
from agents.tools import Toolset
from inference.accounting import FREE, Price
from inference.backend import ChatModel, closing
from inference.types import (
    ChatRequest,
    ChatResult,
    Generated,
    Message,
    Routed,
    TextDelta,
    ToolSpec,
    UsageEvent,
)


@dataclass
class AgentContext:
    """What a loop works with. Built once per run by the host."""

    model: ChatModel
    tools: Toolset
    meter: BudgetMeter
    recorder: Recorder
    emit: Emit
    config: AgentConfig
    price_of: Callable[[str], Price] = lambda backend: FREE
    # the dearest price a request for a tier (None: any) may be billed at (Router.worst_price)
    worst_price: Callable[[str | None], Price] = lambda tier: FREE
    screen: Screen | None = None  # the guardrails the answer passes before it is kept


def estimate_tokens(messages: list[Message] | tuple[Message, ...]) -> int:
    """A conservative prompt size estimate (about 3.5 characters per token, plus framing)."""
    chars = 0
    for m in messages:
        chars += len(m.content) + 16
        for call in m.tool_calls:
            chars += len(call.name) + len(str(call.arguments)) + 16
    return int(chars / 3.5) + 1


TOOL_INSTRUCTIONS_TOKENS = 60  # the reply-format lines a backend adds when tools are offered


def estimate_tool_tokens(tools: Sequence[ToolSpec]) -> int:
    """What offering ``tools`` adds to a prompt: each name, description and argument schema
    (backends put them in the prompt or an equivalent), and the reply-format instructions."""
    if not tools:
        return 0
    chars = sum(
        len(t.name) + len(t.description) + len(json.dumps(t.parameters)) + 24 for t in tools
    )
    # JSON schemas tokenise densely (quotes, braces): count them at 3 characters a token
    return int(chars / 3.0) + TOOL_INSTRUCTIONS_TOKENS


async def model_turn(
    ctx: AgentContext,
    state: RunState,
    step: Step,
    request: ChatRequest,
    *,
    stream_tokens: bool = True,
    keep_text: bool = True,
    name: str = "chat",
) -> ChatResult:
    """Call the model. Budgets are enforced per streamed token: crossing one closes the stream
    (which stops generation) and raises ``BudgetExceeded`` with the partial text in ``step``."""
    meter = ctx.meter
    prompt = estimate_tokens(request.messages) + estimate_tool_tokens(request.tools)
    room = ctx.config.context_tokens - prompt
    if room < 1:  # never send a request the model cannot take
        raise ContextOverflow(
            f"the prompt needs about {prompt} tokens with its tools; the model's window is "
            f"{ctx.config.context_tokens} ([agent] context_tokens)"
        )
    if request.max_tokens > room:
        request = request.with_(max_tokens=room)
    # priced at the dearest backend the request may go to, until the router says which; ask
    # for no more than the budget allows (output tokens, and what the cost budget can pay for
    # after the prompt), reserved first where allowances are shared with other runs; the
    # meter still counts every token as it streams
    max_tokens, bound = meter.begin_call(prompt, ctx.worst_price(request.tier), request.max_tokens)
    if max_tokens != request.max_tokens:
        request = request.with_(max_tokens=max_tokens)
    result = ChatResult()
    span = Span(
        state.trace_id,
        "model",
        name,
        parent_id=state.step_span.span_id if state.step_span else state.run_span_id,
    )
    usage_seen = False
    status = "error"
    try:
        async with closing(ctx.model.stream(request)) as stream:
            async for event in stream:
                result.add(event)
                if isinstance(event, TextDelta):
                    if stream_tokens:
                        await ctx.emit(TokenDelta(event.text))
                    meter.on_tokens(1)
                elif isinstance(event, Generated):  # a tool call's JSON: spent all the same
                    meter.on_tokens(event.tokens)
                elif isinstance(event, Routed) and event.decision.action in ("chosen", "fallback"):
                    meter.set_price(ctx.price_of(event.decision.backend))
                elif isinstance(event, UsageEvent):
                    usage_seen = True
        status = "ok"
    finally:
        if not usage_seen:
            step.partial = True
        if keep_text:
            step.text += result.text
        before_in, before_out, before_cost = meter.input_tokens, meter.output_tokens, meter.cost_usd
        meter.end_call(result.usage if usage_seen else None, cut=status != "ok")
        step.input_tokens += meter.input_tokens - before_in
        step.output_tokens += meter.output_tokens - before_out
        step.cost_usd += meter.cost_usd - before_cost
        step.model = result.usage.model or step.model
        await ctx.recorder.span(
            span.finish(
                status,
                **{
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": request.tier or "",
                    "gen_ai.response.model": result.usage.model,
                    "gen_ai.usage.input_tokens": meter.input_tokens - before_in,
                    "gen_ai.usage.output_tokens": meter.output_tokens - before_out,
                    "agenthost.backend": result.usage.backend,
                    "agenthost.cost_usd": meter.cost_usd - before_cost,
                    "agenthost.finish_reason": result.finish_reason,
                },
            )
        )
    meter.check_all()
    if bound is not None and result.finish_reason == "length":
        raise meter.exceeded(bound)
    return result
