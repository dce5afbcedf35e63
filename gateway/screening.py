"""The guardrails on a chat completion: its user and tool messages screened before the model
sees them, and a whole reply checked before it leaves.

A prompt's checks take about 1 ms per KB of text (measured on the benchmark's mix: ~0.8 ms
for a 200-character prompt, ~9 ms for 8 KB). A long text (all of a request's screened
messages together; ``host.guarding.THREAD_FROM_CHARS``, as for a run's checks) is checked in
a worker thread, so one long prompt does not hold up every other request on the event loop; a short
one on the loop, where the check costs less than the hop to a thread and back (~50-100 µs).
Only the first ``max_chars`` of a text are checked, so only they count; a tenant whose policy
is off is not screened at all.
The guard's checks are pure, so one guard serves both. They hold the GIL for most of their
time, so more threads than ``SCREEN_THREADS`` would not check more a second, only take
turns with each other and with the loop: a burst of long prompts waits for them in line.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import anyio

from guardrails import Guard, Source, Vault, Verdict
from host.guarding import off_loop_if_long, withheld_notice
from inference.types import ChatRequest, Message

SCREEN_THREADS = 2  # threads checking long texts at once (a Gateway's ``screeners``)
SOURCE_OF_ROLE = {"user": Source.USER, "tool": Source.TOOL}


async def screen(
    guard: Guard, chat: ChatRequest, tenant: str, limiter: anyio.CapacityLimiter | None = None
) -> tuple[ChatRequest, Verdict | None]:
    """``screen_messages``, in a worker thread (one of ``limiter``'s) when the messages are
    long."""
    policy = guard.policy(tenant)
    if not policy.enabled:  # nothing to check: no hop to a thread either
        return chat, None
    size = sum(min(len(m.content), policy.max_chars) for m in chat.messages
               if m.role in SOURCE_OF_ROLE)  # fmt: skip
    return await off_loop_if_long(size, partial(screen_messages, guard, chat, tenant), limiter)


async def check(
    guard: Guard,
    text: str,
    source: Source,
    tenant: str,
    limiter: anyio.CapacityLimiter | None = None,
) -> Verdict:
    """``guard``'s verdict on ``text``, in a worker thread (one of ``limiter``'s) when it is
    long."""
    policy = guard.policy(tenant)
    verdict = partial(guard.check, text, source, tenant=tenant)
    if not policy.enabled:
        return verdict()  # allowed as it is, at once
    return await off_loop_if_long(min(len(text), policy.max_chars), verdict, limiter)


def screen_messages(
    guard: Guard, chat: ChatRequest, tenant: str
) -> tuple[ChatRequest, Verdict | None]:
    """``chat`` with its user and tool messages checked as a run's task and tool results
    are: redacted (placeholders are not revealed back: the caller runs its own tools),
    a tool message withheld with a notice; the blocking verdict when one was blocked."""
    vault = Vault()
    messages: list[Message] = []
    changed = False
    for m in chat.messages:
        source = SOURCE_OF_ROLE.get(m.role)
        if source is None or not m.content:
            messages.append(m)
            continue
        verdict = guard.check(m.content, source, tenant=tenant, vault=vault)
        if verdict.blocked:
            return chat, verdict
        text = withheld_notice(verdict) if verdict.withheld else verdict.text
        changed = changed or text != m.content
        messages.append(replace(m, content=text))
    return (chat.with_(messages=tuple(messages)) if changed else chat), None
