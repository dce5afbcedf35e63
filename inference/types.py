"""Data that crosses the inference boundary: requests, stream events, usage."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "cancelled", "error", "content_filter"]
ToolChoice = Literal["auto", "required", "none"]


@dataclass(frozen=True)
class ToolCall:
    """A well-formed call of a known tool with arguments that match its schema."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # set on role="tool" messages
    name: str | None = None

    @classmethod
    def system(cls, content: str) -> Message:
        return cls("system", content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls("user", content)

    @classmethod
    def assistant(cls, content: str = "", tool_calls: tuple[ToolCall, ...] = ()) -> Message:
        return cls("assistant", content, tool_calls=tool_calls)

    @classmethod
    def tool(cls, call_id: str, content: str, name: str | None = None) -> Message:
        return cls("tool", content, tool_call_id=call_id, name=name)


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call, described by a JSON schema for its arguments."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class JsonSchema:
    """Constrain the whole output to JSON matching ``schema``."""

    schema: dict[str, Any]
    name: str = "output"


@dataclass(frozen=True)
class Grammar:
    """Constrain the output with a grammar (EBNF for SGLang, GBNF for llama.cpp)."""

    text: str
    dialect: Literal["ebnf", "gbnf"] = "ebnf"


Constraint = JsonSchema | Grammar


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = "auto"
    max_tokens: int = 512
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    constraint: Constraint | None = None
    tier: str | None = None  # explicit routing tier; None lets the router decide
    seed: int | None = None

    def with_(self, **changes: Any) -> ChatRequest:
        return replace(self, **changes)

    @property
    def prompt_chars(self) -> int:
        return sum(len(m.content) for m in self.messages)


@dataclass(frozen=True)
class Usage:
    """What one model call cost. Times are seconds from the start of the call."""

    input_tokens: int = 0
    output_tokens: int = 0
    ttft_s: float | None = None  # time to first token
    ttlt_s: float | None = None  # time to last token
    cost_usd: float = 0.0
    model: str = ""
    model_version: str = ""
    backend: str = ""
    estimated: bool = False  # token counts estimated where the server reported none
    cached_tokens: int | None = None  # prompt tokens served from a prefix cache, if known

    @property
    def tokens_per_s(self) -> float | None:
        if self.ttft_s is None or self.ttlt_s is None or self.output_tokens < 2:
            return None
        span = self.ttlt_s - self.ttft_s
        return (self.output_tokens - 1) / span if span > 0 else None


# ---- stream events -------------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Generated:
    """Tokens the model generated that are not text for the reader: a tool call's JSON, a
    constrained reply's framing. Budgets count them as they come, like ``TextDelta``."""

    tokens: int = 1


@dataclass(frozen=True)
class ToolCallEvent:
    call: ToolCall


ToolCallErrorKind = Literal["malformed", "unknown_tool", "invalid_arguments", "oversized"]


@dataclass(frozen=True)
class ToolCallError:
    """A tool call the model attempted but got wrong; the agent hands it back to the model."""

    kind: ToolCallErrorKind
    message: str
    raw: str
    name: str | None = None
    id: str = ""

    def for_model(self) -> str:
        """The text to show the model so it can correct itself."""
        return f"Tool call error ({self.kind}): {self.message}"


@dataclass(frozen=True)
class ToolCallErrorEvent:
    error: ToolCallError


@dataclass(frozen=True)
class UsageEvent:
    usage: Usage


@dataclass(frozen=True)
class Finish:
    reason: FinishReason


@dataclass(frozen=True)
class Routed:
    """The router chose (or skipped) a backend; emitted before any content."""

    decision: RouteDecision


RouteAction = Literal["chosen", "skipped", "failed", "fallback"]


@dataclass(frozen=True)
class RouteDecision:
    tier: str
    backend: str
    reason: str
    action: RouteAction = "chosen"


StreamEvent = (
    TextDelta | Generated | ToolCallEvent | ToolCallErrorEvent | UsageEvent | Finish | Routed
)

# Events that carry model output: once one reached the caller, a stream cannot be replayed
# (its tokens are spent).
CONTENT_EVENTS = (TextDelta, Generated, ToolCallEvent, ToolCallErrorEvent)


@dataclass
class ChatResult:
    """A whole response, collected from a stream."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_errors: list[ToolCallError] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: FinishReason = "stop"
    route: list[RouteDecision] = field(default_factory=list)

    def add(self, event: StreamEvent) -> None:
        match event:
            case TextDelta(text=t):
                self.text += t
            case ToolCallEvent(call=c):
                self.tool_calls.append(c)
            case ToolCallErrorEvent(error=e):
                self.tool_errors.append(e)
            case UsageEvent(usage=u):
                self.usage = u
            case Finish(reason=r):
                self.finish_reason = r
            case Routed(decision=d):
                self.route.append(d)
