"""OpenAI's chat-completions API on the gateway side: a request body in, our ``ChatRequest``
out; our stream events in, OpenAI's response (one JSON, or ``chat.completion.chunk`` SSE
lines) out. What the API has and we do not (``n`` > 1, logprobs, audio) is refused by name
with a 400, never ignored silently."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import InvalidRequest
from core.principal import TraceContext
from inference.types import (
    ChatRequest,
    FinishReason,
    JsonSchema,
    Message,
    Routed,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallErrorEvent,
    ToolCallEvent,
    ToolChoice,
    ToolSpec,
    Usage,
)

DEFAULT_MAX_TOKENS = 512
MAX_MESSAGES = 1000


class BadChatRequest(InvalidRequest):
    """A chat-completions body the gateway cannot serve as asked (400, with ``param``)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class _Function(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class _Tool(BaseModel):
    type: Literal["function"] = "function"
    function: _Function


class _CallFunction(BaseModel):
    name: str
    arguments: str = "{}"


class _Call(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: _CallFunction


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[_Call] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    def text(self, index: int) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        parts = []
        for part in self.content:
            if part.get("type") != "text":
                raise BadChatRequest(
                    f"content part type {part.get('type')!r} is not supported (text only)",
                    f"messages[{index}].content",
                )
            parts.append(str(part.get("text", "")))
        return "".join(parts)


class ChatBody(BaseModel):
    """The fields of ``POST /v1/chat/completions`` the gateway honours."""

    model_config = ConfigDict(extra="ignore")

    model: str = ""
    messages: list[_Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    tools: list[_Tool] = Field(default_factory=list, max_length=128)
    tool_choice: str | dict[str, Any] | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    n: int = 1
    logprobs: bool | None = None
    user: str | None = None  # OpenAI's end-user tag: recorded nowhere (the key says who)

    @field_validator("n")
    @classmethod
    def _one(cls, n: int) -> int:
        if n != 1:
            raise ValueError("only n=1 is supported")
        return n

    @property
    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


def parse_body(raw: bytes) -> ChatBody:
    # pydantic parses and validates in one pass (about half the time of json.loads first)
    try:
        return ChatBody.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            reason = str(first["ctx"].get("error", "")) if "ctx" in first else first["msg"]
            raise BadChatRequest(f"the body is not JSON: {reason}") from None
        message, where = first_error(exc)
        raise BadChatRequest(message, where or None) from None


def first_error(exc: ValidationError) -> tuple[str, str]:
    """A body's first validation error as one line, and the field it is about."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}", where


def trace_of(traceparent: str | None) -> TraceContext | None:
    """The caller's trace from a ``traceparent`` header, if one came (400 if malformed)."""
    if traceparent is None:
        return None
    try:
        return TraceContext.parse(traceparent)
    except InvalidRequest as exc:
        raise BadChatRequest(str(exc), "traceparent") from None


def to_request(body: ChatBody, tiers: tuple[str, ...]) -> ChatRequest:
    """Our request for ``body``. ``model`` names a router tier (or ``agenthost``/empty for
    the router's choice); any other name is refused, listing the tiers."""
    if body.logprobs:
        raise BadChatRequest("logprobs are not supported", "logprobs")
    tier: str | None = None
    if body.model and body.model != "agenthost":
        if body.model not in tiers:
            raise BadChatRequest(
                f"unknown model {body.model!r}; use agenthost or a tier: {', '.join(tiers)}",
                "model",
            )
        tier = body.model
    messages = tuple(_message(m, i) for i, m in enumerate(body.messages))
    tools = tuple(
        ToolSpec(t.function.name, t.function.description, t.function.parameters) for t in body.tools
    )
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    return ChatRequest(
        messages=messages,
        tools=tools,
        tool_choice=_tool_choice(body, tools),
        max_tokens=body.max_completion_tokens or body.max_tokens or DEFAULT_MAX_TOKENS,
        temperature=0.0 if body.temperature is None else body.temperature,
        stop=stop,
        constraint=_constraint(body.response_format),
        tier=tier,
        seed=body.seed,
    )


def _message(m: _Message, index: int) -> Message:
    text = m.text(index)
    if m.role in ("system", "developer"):
        return Message.system(text)
    if m.role == "user":
        return Message.user(text)
    if m.role == "tool":
        if not m.tool_call_id:
            raise BadChatRequest("a tool message needs tool_call_id", f"messages[{index}]")
        return Message.tool(m.tool_call_id, text, m.name)
    calls = []
    for c in m.tool_calls or ():
        try:
            arguments = json.loads(c.function.arguments or "{}")
        except json.JSONDecodeError:
            raise BadChatRequest(
                f"tool call {c.id}: arguments are not JSON", f"messages[{index}].tool_calls"
            ) from None
        if not isinstance(arguments, dict):
            raise BadChatRequest(
                f"tool call {c.id}: arguments must be a JSON object",
                f"messages[{index}].tool_calls",
            )
        calls.append(ToolCall(c.id, c.function.name, arguments))
    return Message.assistant(text, tuple(calls))


def _tool_choice(body: ChatBody, tools: tuple[ToolSpec, ...]) -> ToolChoice:
    choice = body.tool_choice
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice not in ("auto", "required", "none"):
            raise BadChatRequest(f"unknown tool_choice {choice!r}", "tool_choice")
        return choice  # type: ignore[return-value]
    name = (choice.get("function") or {}).get("name")
    if len(tools) == 1 and name == tools[0].name:
        return "required"
    raise BadChatRequest(
        "tool_choice naming a function is supported only with that one tool in tools",
        "tool_choice",
    )


def _constraint(response_format: dict[str, Any] | None) -> JsonSchema | None:
    if not response_format or response_format.get("type") == "text":
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return JsonSchema({"type": "object"})
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema")
        if not isinstance(schema, dict):
            raise BadChatRequest("json_schema.schema must be an object", "response_format")
        return JsonSchema(schema, str(spec.get("name") or "output"))
    raise BadChatRequest(f"unknown response_format type {kind!r}", "response_format")


# ---- responses -------------------------------------------------------------------------


@dataclass
class Completion:
    """One response as it is built from stream events (both the JSON and the SSE shape)."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex[:24]}")
    created: int = field(default_factory=lambda: int(time.time()))
    text: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage | None = None
    finish: FinishReason = "stop"
    backend: str = ""  # the router's choice
    _head: bytes | None = field(default=None, repr=False)

    def feed_text(self, text: str) -> dict[str, Any]:
        """Take one token's text: ``feed`` of a ``TextDelta``, without the match (per token)."""
        self.text += text
        return {"content": text}

    def feed(self, event: StreamEvent) -> dict[str, Any] | None:
        """Take one event; return the chunk's ``delta`` it makes (None: nothing to send)."""
        match event:
            case TextDelta(text=text):
                return self.feed_text(text)
            case ToolCallEvent(call=call):
                wire = {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                self.calls.append(wire)
                return {"tool_calls": [{"index": len(self.calls) - 1, **wire}]}
            case Routed(decision=decision) if decision.action in ("chosen", "fallback"):
                self.backend = decision.backend
            case ToolCallErrorEvent(error=error):
                # a call the model got wrong reaches the client as the text it wrote
                self.text += error.raw
                return {"content": error.raw} if error.raw else None
        return None

    def chunk(
        self,
        delta: dict[str, Any],
        finish: FinishReason | None = None,
        usage: dict[str, Any] | None = None,
    ) -> bytes:
        """One ``chat.completion.chunk`` SSE line; the part every chunk of the completion
        shares is encoded once (this runs per token)."""
        if self._head is None:
            self._head = (
                f'data: {{"id":{_json(self.id)},"object":"chat.completion.chunk",'
                f'"created":{self.created},"model":{_json(self.model)},"choices":'
            ).encode()
        if usage is not None:
            return self._head + f'[],"usage":{_json(usage)}}}\n\n'.encode()
        if finish is None and len(delta) == 1 and type(delta.get("content")) is str:
            # a token: most chunks of a stream are this one shape, built without an encoder
            text = _json_string(delta["content"])
            return b"".join((self._head, _TOKEN_HEAD, text.encode(), _TOKEN_TAIL))
        tail = f'[{{"index":0,"delta":{_json(delta)},"finish_reason":{_json(_finish(finish))}}}]}}'
        return self._head + tail.encode() + b"\n\n"

    def usage_dict(self) -> dict[str, Any]:
        u = self.usage or Usage()
        return {
            "prompt_tokens": u.input_tokens,
            "completion_tokens": u.output_tokens,
            "total_tokens": u.input_tokens + u.output_tokens,
        }

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.calls:
            message["tool_calls"] = self.calls
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(self.finish)}],
            "usage": self.usage_dict(),
        }


DONE = b"data: [DONE]\n\n"
_TOKEN_HEAD = b'[{"index":0,"delta":{"content":'
_TOKEN_TAIL = b'},"finish_reason":null}]}\n\n'
# one encoder for every chunk: json.dumps with separators builds a new one per call
_json = json.JSONEncoder(separators=(",", ":")).encode
# what _json does to a str (the C escaper it calls), for a token's text
_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii


def _finish(reason: FinishReason | None) -> str | None:
    if reason is None:
        return None
    return {"cancelled": "stop", "error": "stop"}.get(reason, reason)


def error_body(
    message: str, kind: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error shape, which its client libraries turn into typed exceptions."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
