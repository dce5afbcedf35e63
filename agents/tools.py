"""The tool seam: what the loops see of tools. The host's MCP toolbox implements it."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agents.state import Attachment
from inference.types import Message, ToolCall, ToolSpec


class OnProgress(Protocol):
    """What a tool reports while it works (MCP ``notifications/progress``)."""

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None: ...


@dataclass(frozen=True)
class ToolResult:
    content: str
    is_error: bool = False
    error_kind: str | None = None  # unknown_tool, timeout, server_down, denied, tool_error, ...
    cached: bool = False
    arguments: dict[str, Any] | None = None  # the arguments actually used, if an approver edited
    attachments: tuple[Attachment, ...] = ()

    @classmethod
    def error(cls, kind: str, message: str) -> ToolResult:
        return cls(message, is_error=True, error_kind=kind)


class Toolset(Protocol):
    """Tools available to one run."""

    def specs(self, context: Sequence[Message] = ()) -> Sequence[ToolSpec]:
        """The tools to offer the next turn, most relevant first; ``context`` is the turn's
        messages (a toolset with many tools may offer those that fit it best)."""
        ...

    async def call(self, call: ToolCall, on_progress: OnProgress | None = None) -> ToolResult:
        """Run one call; a tool that reports progress reaches ``on_progress``."""
        ...


ToolFn = Callable[..., Any] | Callable[..., Awaitable[Any]]


class FunctionToolset:
    """Plain Python functions as tools: for tests, benchmarks and embedding agents in code."""

    def __init__(self, tools: dict[str, tuple[ToolSpec, ToolFn]] | None = None) -> None:
        self._tools: dict[str, tuple[ToolSpec, ToolFn]] = dict(tools or {})
        self.calls: list[ToolCall] = []

    def add(self, spec: ToolSpec, fn: ToolFn) -> None:
        self._tools[spec.name] = (spec, fn)

    def specs(self, context: Sequence[Message] = ()) -> Sequence[ToolSpec]:
        return [spec for spec, _ in self._tools.values()]

    async def call(self, call: ToolCall, on_progress: OnProgress | None = None) -> ToolResult:
        self.calls.append(call)
        entry = self._tools.get(call.name)
        if entry is None:
            return ToolResult.error("unknown_tool", f"no tool named {call.name!r}")
        try:
            out = entry[1](**call.arguments)
            if inspect.isawaitable(out):
                out = await out
        except Exception as exc:  # a tool's failure is the model's problem to work around
            return ToolResult.error("tool_error", f"{type(exc).__name__}: {exc}")
        return ToolResult(out if isinstance(out, str) else json.dumps(out))
