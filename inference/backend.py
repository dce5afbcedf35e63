"""The one seam every model server sits behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from inference.types import ChatRequest, ChatResult, StreamEvent

T = TypeVar("T")


@dataclass(frozen=True)
class Capabilities:
    native_tools: bool = False  # the server returns OpenAI-style tool_calls
    json_schema: bool = True  # the server can constrain output to a JSON schema
    grammar: bool = False  # the server accepts a grammar (EBNF/GBNF)


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""
    model: str = ""
    latency_s: float | None = None


@runtime_checkable
class Backend(Protocol):
    """A model server.

    ``stream`` is the primary call. Its events arrive in order: text deltas and tool calls
    as they are produced, then exactly one ``UsageEvent`` and one ``Finish``. Closing the
    iterator early (``aclose``, ``break``, or cancelling the consuming task) must stop
    generation on the server, not just stop reading.
    """

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...

    async def health(self) -> Health: ...

    async def aclose(self) -> None: ...


class ChatModel(Protocol):
    """Anything that streams chat completions: the router, or a single backend."""

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...


async def collect(model: ChatModel, request: ChatRequest) -> ChatResult:
    """Run ``stream`` to the end and gather text, tool calls and usage into one result."""
    result = ChatResult()
    async with closing(model.stream(request)) as stream:
        async for event in stream:
            result.add(event)
    return result


@asynccontextmanager
async def closing(stream: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Like ``contextlib.aclosing`` for any async iterator: closing an async generator early
    runs its ``finally`` blocks now, which is what stops generation on the server."""
    try:
        yield stream
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
