"""Tool calls: validation of what a model produced, and constrained-JSON calling.

Models that lack native tool calling (the small embedded model, servers without a tool
parser) are made reliable by constraining decoding to one JSON object:

    {"tool": "<name>", "arguments": {...}}     or     {"answer": "<text>"}

The grammar guarantees the shape; we still validate the arguments against the tool's own
schema, because a grammar built from a large schema may be relaxed by the server.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

import jsonschema

from inference.types import ToolCall, ToolCallError, ToolChoice, ToolSpec

DEFAULT_MAX_ARGS_BYTES = 64 * 1024


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:12]}"


def validate_call(
    name: str | None,
    arguments: str | dict[str, Any] | None,
    tools: Sequence[ToolSpec],
    *,
    call_id: str | None = None,
    max_args_bytes: int = DEFAULT_MAX_ARGS_BYTES,
) -> ToolCall | ToolCallError:
    """Turn a raw (name, arguments) pair from a model into a ToolCall or a typed error."""
    cid = call_id or new_call_id()
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    if len(raw.encode()) > max_args_bytes:
        return ToolCallError(
            "oversized",
            f"arguments are {len(raw.encode())} bytes; the limit is {max_args_bytes}",
            raw[:200],
            name,
            cid,
        )
    by_name = {t.name: t for t in tools}
    if not name or name not in by_name:
        known = ", ".join(sorted(by_name)) or "none"
        return ToolCallError(
            "unknown_tool", f"no tool named {name!r}; available tools: {known}", raw, name, cid
        )
    if isinstance(arguments, dict):
        args: Any = arguments
    else:
        try:
            args = json.loads(arguments) if arguments and arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return ToolCallError(
                "malformed",
                f"arguments are not valid JSON ({exc.msg} at {exc.pos})",
                raw,
                name,
                cid,
            )
    if not isinstance(args, dict):
        return ToolCallError(
            "malformed",
            f"arguments must be a JSON object, got {type(args).__name__}",
            raw,
            name,
            cid,
        )
    try:
        error = jsonschema.exceptions.best_match(
            _validator(by_name[name].parameters).iter_errors(args)
        )
        if error is not None:
            raise error
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return ToolCallError("invalid_arguments", f"{where}: {exc.message}", raw, name, cid)
    except jsonschema.SchemaError as exc:
        return ToolCallError(
            "invalid_arguments",
            f"tool {name!r} has an invalid schema: {exc.message}",
            raw,
            name,
            cid,
        )
    return ToolCall(cid, name, args)


def _validator(schema: dict[str, Any]) -> Any:
    """A checked, compiled validator per schema: checking a schema costs far more than using
    it, and an agent validates the same few schemas on every call."""
    return _compiled(json.dumps(schema, sort_keys=True))


@functools.lru_cache(maxsize=512)
def _compiled(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)  # raises SchemaError, reported as invalid_arguments
    return cls(schema)


# ---- constrained JSON mode -------------------------------------------------------------


def tool_call_schema(tools: Sequence[ToolSpec], tool_choice: ToolChoice) -> dict[str, Any]:
    """The JSON schema the decoder is constrained to when tools are offered."""
    branches: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {
                "tool": {"const": t.name},
                "arguments": _closed(t.parameters),
            },
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    if tool_choice != "required" or not branches:
        branches.append(
            {
                "type": "object",
                "properties": {"answer": {"type": "string"}},
                "required": ["answer"],
                "additionalProperties": False,
            }
        )
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    # An object schema without additionalProperties lets a grammar emit arbitrary extra keys,
    # which small models happily do; closing it keeps output to the declared arguments.
    out = dict(schema)
    if out.get("type") == "object":
        out.setdefault("additionalProperties", False)
        out.setdefault("properties", {})
    return out


def tools_prompt(tools: Sequence[ToolSpec], tool_choice: ToolChoice) -> str:
    """System-prompt text that tells the model which tools exist and the reply format."""
    lines = ["You can use these tools:"]
    for t in tools:
        lines.append(f"- {t.name}: {t.description} Arguments schema: {json.dumps(t.parameters)}")
    lines.append('To call a tool reply with JSON: {"tool": "<tool name>", "arguments": {...}}.')
    if tool_choice != "required":
        lines.append('To reply to the user without a tool reply with JSON: {"answer": "<text>"}.')
    return "\n".join(lines)


def parse_constrained(
    raw: str,
    tools: Sequence[ToolSpec],
    *,
    max_args_bytes: int = DEFAULT_MAX_ARGS_BYTES,
) -> ToolCall | ToolCallError | str:
    """Parse a constrained-JSON reply into a tool call, a typed error, or answer text."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return ToolCallError("malformed", f"reply is not valid JSON ({exc.msg})", raw)
    if not isinstance(obj, dict):
        return ToolCallError("malformed", "reply must be a JSON object", raw)
    if "tool" in obj:
        args = obj.get("arguments", {})
        if not isinstance(args, dict):
            return ToolCallError(
                "malformed", "'arguments' must be an object", raw, str(obj.get("tool"))
            )
        name = obj["tool"] if isinstance(obj["tool"], str) else None
        return validate_call(name, args, tools, max_args_bytes=max_args_bytes)
    if isinstance(obj.get("answer"), str):
        return str(obj["answer"])
    return ToolCallError("malformed", "reply has neither 'tool' nor 'answer'", raw)


_ANSWER_PREFIX = re.compile(r'^\s*\{\s*"answer"\s*:\s*"')


class AnswerStreamer:
    """Streams the text of ``{"answer": "..."}`` as the JSON arrives, token by token.

    Without this a constrained reply would reach the user only when complete.
    """

    def __init__(self) -> None:
        self._raw = ""
        self._start: int | None = None
        self._emitted = 0  # characters of decoded answer already handed out
        self._decided = False

    @property
    def raw(self) -> str:
        return self._raw

    @property
    def streaming(self) -> bool:
        return self._start is not None

    def feed(self, chunk: str) -> str:
        """Add raw output; return newly available answer text ('' if none or not an answer)."""
        self._raw += chunk
        if not self._decided:
            m = _ANSWER_PREFIX.match(self._raw)
            if m:
                self._start, self._decided = m.end(), True
            elif self._raw.lstrip() and not _could_be_answer(self._raw):
                self._decided = True
        if self._start is None:
            return ""
        decoded = _decode_partial(self._raw[self._start :])
        new = decoded[self._emitted :]
        self._emitted = len(decoded)
        return new


def _could_be_answer(raw: str) -> bool:
    compact = re.sub(r"\s+", "", raw)
    target = '{"answer":"'
    return target.startswith(compact[: len(target)])


def _decode_partial(body: str) -> str:
    """Decode a JSON string body that may be cut anywhere, stopping at the closing quote."""
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == '"':
            break
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            break  # escape cut in half: wait for more
        esc = body[i + 1]
        if esc == "u":
            if i + 6 > len(body):
                break
            code = _hex(body[i + 2 : i + 6])
            if 0xD800 <= code < 0xDC00:  # high surrogate: its low half follows as \uDCxx
                if i + 12 > len(body):
                    break
                low = _hex(body[i + 8 : i + 12]) if body[i + 6 : i + 8] == "\\u" else -1
                if 0xDC00 <= low < 0xE000:
                    out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                    i += 12
                    continue
            out.append(chr(code) if code >= 0 else "\ufffd")
            i += 6
            continue
        out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(esc, esc))
        i += 2
    return "".join(out)


def _hex(digits: str) -> int:
    try:
        return int(digits, 16)
    except ValueError:
        return -1
