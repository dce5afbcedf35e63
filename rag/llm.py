"""What the model-driven parts of RAG (answers, reranking, query expansion) need from the
inference layer: a ``ChatModel`` (a ``Router`` or a ``Backend``) and its text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from inference import ChatRequest, StreamEvent, TextDelta
from inference.backend import closing


class ChatModel(Protocol):
    """A ``Router`` or a ``Backend``: anything that streams a chat completion."""

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...


async def generate(model: ChatModel, request: ChatRequest) -> str:
    """The completion's text (tool calls and usage events are ignored)."""
    out: list[str] = []
    async with closing(model.stream(request)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                out.append(event.text)
    return "".join(out)
