"""Where a run's progress goes: checkpoints after every completed step, and trace spans."""

from __future__ import annotations

from typing import Protocol

from agents.state import RunState, Span, Step

__all__ = ["MemoryRecorder", "Recorder", "Span"]


class Recorder(Protocol):
    """Persists a run so that a killed process can resume it from its last completed step."""

    async def checkpoint(self, state: RunState, step: Step | None) -> None:
        """Save the state after ``step`` completed (or after setup when ``step`` is None)."""
        ...

    async def span(self, span: Span) -> None: ...


class MemoryRecorder:
    """Keeps everything in lists: the fake used by tests of loop logic."""

    def __init__(self) -> None:
        self.checkpoints: list[tuple[int, int]] = []  # (steps, messages) at each checkpoint
        self.spans: list[Span] = []
        self.states: list[RunState] = []

    async def checkpoint(self, state: RunState, step: Step | None) -> None:
        self.checkpoints.append((len(state.steps), len(state.messages)))
        self.states.append(state)

    async def span(self, span: Span) -> None:
        self.spans.append(span)
