"""What the model-driven parts of RAG (answers, reranking, query expansion) need from the
inference layer: a ``ChatModel`` (a ``Router`` or a ``Backend``) and the text it generates."""

from __future__ import annotations

from inference import ChatModel, ChatRequest, collect

__all__ = ["ChatModel", "generate"]


async def generate(model: ChatModel, request: ChatRequest) -> str:
    """The completion's text (tool calls and usage events are ignored)."""
    return (await collect(model, request)).text
