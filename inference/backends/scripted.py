"""A deterministic backend for tests of loop logic: it replays turns written in advance.

It behaves like a real server where the loop can tell: it streams token by token (optionally
with a delay), validates tool calls against the request's tools exactly as the real backends
do, reports usage, honours ``max_tokens`` and stops when the consumer closes the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from inference.backend import Capabilities, Health
from inference.errors import BackendError, BackendUnavailable
from inference.toolcalls import validate_call
from inference.types import (
    ChatRequest,
    Finish,
    FinishReason,
    Generated,
    StreamEvent,
    TextDelta,
    ToolCallError,
    ToolCallErrorEvent,
    ToolCallEvent,
    Usage,
    UsageEvent,
)


@dataclass(frozen=True)
class ScriptedCall:
    """A tool call as the model would emit it; ``arguments`` may be a raw (bad) JSON string."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One model response: text (streamed word by word), then tool calls, or a failure."""

    text: str = ""
    calls: tuple[ScriptedCall, ...] = ()
    fail: BackendError | None = None  # raised before any output
    fail_after_tokens: int | None = None  # raise mid-stream after this many tokens


Script = Sequence[Turn] | Callable[[ChatRequest], Turn]


class ScriptedBackend:
    """Replays ``script``: a list of turns (one per call) or a function of the request."""

    def __init__(
        self,
        script: Script,
        *,
        name: str = "scripted",
        model: str = "scripted-1",
        token_delay_s: float = 0.0,
        capabilities: Capabilities | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.capabilities = capabilities or Capabilities(native_tools=True)
        self._script = script
        self._token_delay = token_delay_s
        self.requests: list[ChatRequest] = []
        self.tokens_emitted = 0  # across all calls: lets tests see that generation stopped
        self.healthy = True

    def _next_turn(self, request: ChatRequest) -> Turn:
        if callable(self._script):
            return self._script(request)
        index = len(self.requests) - 1
        if index >= len(self._script):
            raise BackendUnavailable(self.name, f"script exhausted after {len(self._script)} turns")
        return self._script[index]

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        self.requests.append(request)
        turn = self._next_turn(request)
        if turn.fail is not None:
            raise turn.fail
        tokens = _tokens(turn.text)
        emitted = 0
        reason: FinishReason = "stop"
        for token in tokens:
            if emitted >= request.max_tokens:
                reason = "length"
                break
            if turn.fail_after_tokens is not None and emitted >= turn.fail_after_tokens:
                raise BackendUnavailable(self.name, "connection lost mid-stream (scripted)")
            await self._pause()
            emitted += 1
            self.tokens_emitted += 1
            yield TextDelta(token)
        if reason == "stop":
            for call in turn.calls:
                cost = 1 + len(str(call.arguments)) // 4
                written = 0
                while written < cost and emitted < request.max_tokens:
                    await self._pause()  # the call's JSON, token by token, as a model writes it
                    written += 1
                    emitted += 1
                    self.tokens_emitted += 1
                    yield Generated()
                if written < cost:
                    reason = "length"  # like a real server: a call cut off by max_tokens is lost
                    break
                checked = validate_call(call.name, call.arguments, request.tools)
                if isinstance(checked, ToolCallError):
                    yield ToolCallErrorEvent(checked)
                else:
                    yield ToolCallEvent(checked)
            if turn.calls and reason == "stop":
                reason = "tool_calls"
        yield UsageEvent(
            Usage(
                input_tokens=sum(len(m.content) for m in request.messages) // 4 + 1,
                output_tokens=emitted,
                model=self.model,
                model_version="script",
            )
        )
        yield Finish(reason)

    async def _pause(self) -> None:
        if self._token_delay:
            await anyio.sleep(self._token_delay)
        else:
            await anyio.lowlevel.checkpoint()

    async def health(self) -> Health:
        return Health(self.healthy, "scripted", self.model, 0.0)

    async def aclose(self) -> None:
        return None


def _tokens(text: str) -> list[str]:
    """Split text into word-ish tokens that concatenate back to the original."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ch.isspace() and word and not word.isspace():
            out.append(word)
            word = ""
        word += ch
    if word:
        out.append(word)
    return out
