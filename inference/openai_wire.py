"""The OpenAI chat-completions wire format, shared by every backend that speaks it.

llama.cpp (in process and as a server), SGLang, vLLM and hosted APIs all produce the same
chunk shape; ``ChunkAssembler`` turns those chunks into our stream events in one place.
Servers differ in what they honour, so the probe requests that find out, and what they
found (``WireModes``), are part of the format too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from inference.toolcalls import (
    DEFAULT_MAX_ARGS_BYTES,
    AnswerStreamer,
    parse_constrained,
    tool_call_schema,
    tools_prompt,
    validate_call,
)
from inference.types import (
    ChatRequest,
    FinishReason,
    Generated,
    JsonSchema,
    Message,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallError,
    ToolCallErrorEvent,
    ToolCallEvent,
    ToolSpec,
)

ToolMode = Literal["native", "json"]
# How ``response_format`` carries a JSON schema: OpenAI's ``json_schema`` (vLLM, SGLang,
# hosted APIs), llama.cpp's ``json_object`` + ``schema``, or bare ``json_object`` (any JSON;
# the schema is then only in the prompt, and every call is still validated).
SchemaStyle = Literal["openai", "llama_cpp", "json_object"]
# What config may say: a mode, or "auto" (probe the server once and choose).
ToolModeSetting = Literal["auto", "native", "json"]
SchemaStyleSetting = Literal["auto", "openai", "llama_cpp", "json_object"]
# Where a call's input-token count came from: the server's usage, its tokenizer, an estimate.
TokenSource = Literal["usage", "/extras/tokenize/count", "/tokenize", "chars/4"]

# ---- probing what a server supports (used by backends/openai_compat.py) ----------------

STYLES: tuple[SchemaStyle, ...] = ("openai", "llama_cpp", "json_object")
STYLE_FIELD = {
    "openai": "json_schema",
    "llama_cpp": "json_object+schema",
    "json_object": "json_object",
}

_PROBE_TOOL = ToolSpec(
    "agenthost_probe",
    "Report that the probe worked.",
    {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
)
PROBE_TOOLS = ChatRequest(
    (Message.user("Call the agenthost_probe tool with ok set to true."),),
    tools=(_PROBE_TOOL,),
    tool_choice="required",
    max_tokens=48,
)
# The prompt does not ask for this object, so only a server that applies the schema sends it;
# and it does not ask for JSON at all, so a server that ignores json_object sends prose.
PROBE_JSON = ChatRequest(
    (Message.user("Say hello in one short sentence. (The reply is read as JSON.)"),),
    constraint=JsonSchema(
        {
            "type": "object",
            "properties": {"agenthost_probe": {"type": "string", "enum": ["ok"]}},
            "required": ["agenthost_probe"],
            "additionalProperties": False,
        },
        "agenthost_probe",
    ),
    max_tokens=48,
)


@dataclass
class WireModes:
    """How requests go on the wire: as configured, or as the probe found (None: not yet)."""

    tool_mode: ToolMode | None = None
    schema_style: SchemaStyle | None = None
    input_tokens: TokenSource | None = None  # where the last call's input count came from
    notes: list[str] = field(default_factory=list)  # why each rejected mode was rejected

    def describe(self) -> str:
        parts = []
        if self.tool_mode == "native":
            parts.append("tools: native")
        elif self.tool_mode == "json":
            style = f" ({STYLE_FIELD[self.schema_style]})" if self.schema_style else ""
            parts.append(f"tools: json{style}")
        if self.input_tokens:
            parts.append(f"input tokens: {self.input_tokens}")
        return "; ".join(parts)


def messages_payload(messages: Sequence[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            item["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in m.tool_calls
            ]
        if m.tool_call_id:
            item["tool_call_id"] = m.tool_call_id
        if m.name and m.role == "tool":
            item["name"] = m.name
        out.append(item)
    return out


def tools_payload(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def json_mode_messages(request: ChatRequest) -> list[Message]:
    """Rewrite a tool conversation for a model without native tool calling.

    The tool list goes into the system prompt; earlier tool calls become the JSON the model
    itself would have written, and tool results become user turns it can read.
    """
    guide = tools_prompt(request.tools, request.tool_choice)
    msgs: list[Message] = []
    has_system = False
    for m in request.messages:
        if m.role == "system" and not has_system:
            msgs.append(Message.system(f"{m.content}\n\n{guide}".strip()))
            has_system = True
        elif m.role == "assistant" and m.tool_calls:
            calls = [{"tool": c.name, "arguments": c.arguments} for c in m.tool_calls]
            msgs.append(Message.assistant(json.dumps(calls[0] if len(calls) == 1 else calls)))
        elif m.role == "tool":
            label = f" {m.name}" if m.name else ""
            msgs.append(Message.user(f"Result of tool{label}:\n{m.content}"))
        else:
            msgs.append(m)
    if not has_system:
        msgs.insert(0, Message.system(guide))
    return msgs


def response_format(schema: JsonSchema, style: SchemaStyle) -> dict[str, Any]:
    if style == "llama_cpp":
        return {"type": "json_object", "schema": schema.schema}
    if style == "json_object":
        return {"type": "json_object"}
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.name, "schema": schema.schema, "strict": True},
    }


@dataclass
class Plan:
    """How one request goes on the wire: the messages, and whether tool calls are native."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    schema: JsonSchema | None
    json_tools: bool  # tool calls arrive as constrained JSON in the text


def plan_request(request: ChatRequest, tool_mode: ToolMode) -> Plan:
    use_tools = bool(request.tools) and request.tool_choice != "none"
    if use_tools and tool_mode == "json":
        call_schema = JsonSchema(tool_call_schema(request.tools, request.tool_choice), "tool_call")
        return Plan(messages_payload(json_mode_messages(request)), None, call_schema, True)
    schema = request.constraint if isinstance(request.constraint, JsonSchema) else None
    tools = tools_payload(request.tools) if use_tools else None
    return Plan(messages_payload(request.messages), tools, schema, False)


def prompt_text(plan: Plan) -> str:
    """The text a server tokenises for a request (its chat template adds a few tokens)."""
    lines = [f"{m['role']}: {m['content']}" for m in plan.messages]
    lines += [json.dumps(m["tool_calls"]) for m in plan.messages if m.get("tool_calls")]
    if plan.tools:
        lines.append(json.dumps(plan.tools))
    return "\n".join(lines)


def estimate_tokens(text: str) -> int:
    """About four characters a token: the fallback where the server cannot count."""
    return (len(text) + 3) // 4


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class ChunkAssembler:
    """Feeds OpenAI ``chat.completion.chunk`` dicts in; yields stream events out."""

    tools: Sequence[ToolSpec]
    json_tools: bool
    max_args_bytes: int = DEFAULT_MAX_ARGS_BYTES
    finish_reason: FinishReason = "stop"
    usage: dict[str, Any] | None = None
    model: str = ""
    content_chunks: int = 0  # chunks that carried content: a token estimate for servers
    _answer: AnswerStreamer = field(default_factory=AnswerStreamer)
    _calls: dict[int, _PartialCall] = field(default_factory=dict)
    _streamed_answer: bool = False

    def feed(self, chunk: dict[str, Any]) -> Iterator[StreamEvent]:
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        self.model = chunk.get("model") or self.model
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                self.content_chunks += 1
                if self.json_tools:
                    piece = self._answer.feed(text)
                    if piece:
                        self._streamed_answer = True
                        yield TextDelta(piece)
                    else:  # a tool call's JSON or the reply's framing: spent all the same
                        yield Generated()
                else:
                    yield TextDelta(text)
            calls = delta.get("tool_calls") or ()
            if isinstance(calls, dict):  # older TGI releases sent one object, not a list
                calls = [calls]
            for tc in calls:
                self.content_chunks += 1
                yield Generated()  # about one token a chunk; the usage at the end corrects it
                index = tc.get("index")
                part = self._calls.setdefault(
                    int(index) if index is not None else len(self._calls), _PartialCall()
                )
                part.id = tc.get("id") or part.id
                fn = tc.get("function") or {}
                name = fn.get("name") or ""
                if name != part.name:  # some servers repeat the whole name on every chunk
                    part.name += name
                args = fn.get("arguments") or ""
                # and a few send the arguments as an object rather than a JSON string
                part.arguments += args if isinstance(args, str) else json.dumps(args)
            reason = choice.get("finish_reason")
            if reason:
                self.finish_reason = _finish(reason)

    def finish(self) -> Iterator[StreamEvent]:
        """Events that can only be known once the stream has ended."""
        made_call = False
        for part in self._calls.values():
            checked = validate_call(
                part.name,
                part.arguments,
                self.tools,
                call_id=part.id or None,
                max_args_bytes=self.max_args_bytes,
            )
            made_call = True
            yield _call_event(checked)
        if self.json_tools:
            raw = self._answer.raw
            if self.finish_reason == "length":
                yield ToolCallErrorEvent(
                    ToolCallError("malformed", "the reply was cut off at max_tokens", raw)
                )
            else:
                parsed = parse_constrained(raw, self.tools, max_args_bytes=self.max_args_bytes)
                if isinstance(parsed, str):
                    if not self._streamed_answer and parsed:
                        yield TextDelta(parsed)
                else:
                    made_call = True
                    yield _call_event(parsed)
        if made_call and self.finish_reason == "stop":
            self.finish_reason = "tool_calls"


def _call_event(checked: ToolCall | ToolCallError) -> StreamEvent:
    if isinstance(checked, ToolCallError):
        return ToolCallErrorEvent(checked)
    return ToolCallEvent(checked)


def _finish(reason: str) -> FinishReason:
    if reason in ("tool_calls", "function_call"):
        return "tool_calls"
    if reason == "length":
        return "length"
    return "stop"  # "stop", "eos", "end_turn" and any server-specific end


def off_schema(text: str, *, strict: bool) -> str:
    """Why a probe's reply shows the response_format was not applied ("" when it was)."""
    try:
        value = json.loads(text)
    except ValueError:
        return f"the reply is not JSON ({one_line(text)[:40]!r})"
    if not isinstance(value, dict):
        return "the reply is not a JSON object"
    if strict and value != {"agenthost_probe": "ok"}:
        return "the reply ignores the schema"
    return ""


def one_line(text: str) -> str:
    return " ".join(text.split())[:200]
