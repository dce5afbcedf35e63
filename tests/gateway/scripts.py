"""Scripted models for the gateway's tests, loaded from config
(``script = "tests.gateway.scripts:talker"``)."""

from __future__ import annotations

from inference import ChatRequest
from inference.backends.scripted import Turn
from tests.host.scripts import adder, sleeper


def talker(request: ChatRequest) -> Turn:
    """Runs: ``count to five`` adds with the test server's tool, ``sleep N`` calls its slow
    tool; a chat completion (no tools) echoes the last user message, word by word."""
    task = next((m.content for m in request.messages if m.role == "user"), "")
    if task.startswith("count") and request.tools:
        return adder(request)
    if task.startswith("sleep") and request.tools:
        return sleeper(request)
    return Turn(f"You said: {task}")
