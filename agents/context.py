"""The context budget: when the history outgrows the model's window, compact it.

Old turns are summarised by the model into one message; the tool results they held stay in the
session store and are named by id in the summary, so nothing is lost, only moved out of the
prompt. If the recent turns alone still do not fit, their longest tool results are shortened.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.events import Compacted
from agents.state import RunState, Step
from agents.turn import AgentContext, estimate_tokens, estimate_tool_tokens, model_turn
from inference.types import ChatRequest, Message, ToolSpec

SUMMARY_PROMPT = (
    "Summarize the work above for your own later use, in at most five short bullet points: "
    "facts found (with numbers and names exactly), tool results, and what is still to do."
)


def budget_for_prompt(ctx: AgentContext) -> int:
    return ctx.config.context_tokens - ctx.config.max_tokens_per_call - 64


def fit_tools(tools: Sequence[ToolSpec], budget: int) -> list[ToolSpec]:
    """The most relevant tools (they come first) whose schemas take at most half the prompt:
    the conversation needs the rest."""
    kept = list(tools)
    while kept and estimate_tool_tokens(kept) > budget // 2:
        kept.pop()
    return kept


def _split(
    messages: list[Message], keep: int
) -> tuple[list[Message], list[Message], list[Message]]:
    """(head, middle, tail): head is the system prompt and task, tail the recent turns. The tail
    never starts with a tool message, whose assistant turn would then be missing."""
    head_len = 2 if len(messages) > 1 and messages[0].role == "system" else 1
    start = max(head_len, len(messages) - keep)
    while start < len(messages) and messages[start].role == "tool":
        start += 1
    return messages[:head_len], messages[head_len:start], messages[start:]


def _shorten(message: Message, limit: int) -> Message:
    if message.role != "tool" or len(message.content) <= limit:
        return message
    note = f"\n[truncated to fit the context; full result kept as {message.tool_call_id}]"
    return Message.tool(message.tool_call_id or "", message.content[:limit] + note, message.name)


async def fit_context(
    ctx: AgentContext,
    state: RunState,
    step: Step,
    messages: list[Message],
    tools: Sequence[ToolSpec] = (),
) -> tuple[list[Message], list[ToolSpec]]:
    """Messages and tools that fit the window together (the backend's tool instructions
    included): unchanged when they do; else the least relevant tools go first, down to half the
    window, then the history is compacted."""
    tools = fit_tools(tools, budget_for_prompt(ctx))
    budget = budget_for_prompt(ctx) - estimate_tool_tokens(tools)
    if estimate_tokens(messages) <= budget:
        return messages, tools
    head, middle, tail = _split(messages, ctx.config.keep_recent_messages)
    if middle:
        kept_ids = [f"{m.tool_call_id} ({m.name or 'tool'})" for m in middle if m.role == "tool"]
        transcript = "\n".join(f"{m.role}: {m.content[:600]}" for m in middle if m.content)
        request = ChatRequest(
            (
                Message.system("You write terse working notes."),
                Message.user(
                    f"Task: {state.task}\n\nWork so far:\n{transcript}\n\n{SUMMARY_PROMPT}"
                ),
            ),
            max_tokens=min(200, ctx.config.max_tokens_per_call),
            temperature=0.0,
            tier=ctx.config.tier,
        )
        result = await model_turn(
            ctx, state, step, request, stream_tokens=False, keep_text=False, name="compact"
        )
        summary = "Summary of earlier steps (compacted):\n" + result.text.strip()
        if kept_ids:
            summary += "\nEarlier tool results, kept in the session store by id: " + ", ".join(
                kept_ids
            )
        messages = [*head, Message.user(summary), *tail]
        await ctx.emit(Compacted(len(middle), summary, tuple(kept_ids)))
    limit = 2000
    while estimate_tokens(messages) > budget and limit >= 100:
        messages = [_shorten(m, limit) for m in messages]
        limit //= 2
    return messages, tools
