from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from inference.toolcalls import (
    AnswerStreamer,
    parse_constrained,
    tool_call_schema,
    validate_call,
)
from inference.types import ToolCall, ToolCallError, ToolSpec

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city"],
    },
)


def test_valid_call_parses() -> None:
    call = validate_call("get_weather", '{"city": "Oslo"}', [WEATHER], call_id="c1")
    assert call == ToolCall("c1", "get_weather", {"city": "Oslo"})


def test_unknown_tool_names_the_tools_that_exist() -> None:
    err = validate_call("get_wether", "{}", [WEATHER])
    assert isinstance(err, ToolCallError)
    assert err.kind == "unknown_tool"
    assert "get_weather" in err.message


def test_bad_json_is_malformed_and_keeps_the_raw_text() -> None:
    err = validate_call("get_weather", '{"city": "Oslo"', [WEATHER])
    assert isinstance(err, ToolCallError)
    assert err.kind == "malformed"
    assert err.raw == '{"city": "Oslo"'


def test_schema_violation_says_where() -> None:
    err = validate_call("get_weather", {"city": "Oslo", "days": 0}, [WEATHER])
    assert isinstance(err, ToolCallError)
    assert err.kind == "invalid_arguments"
    assert err.message.startswith("days:")


def test_missing_required_argument() -> None:
    err = validate_call("get_weather", {}, [WEATHER])
    assert isinstance(err, ToolCallError)
    assert err.kind == "invalid_arguments"
    assert "city" in err.message


def test_oversized_arguments_are_refused_before_parsing() -> None:
    err = validate_call("get_weather", {"city": "x" * 5000}, [WEATHER], max_args_bytes=1000)
    assert isinstance(err, ToolCallError)
    assert err.kind == "oversized"


def test_non_object_arguments() -> None:
    err = validate_call("get_weather", "[1, 2]", [WEATHER])
    assert isinstance(err, ToolCallError)
    assert err.kind == "malformed"


def test_constrained_reply_tool_and_answer() -> None:
    call = parse_constrained('{"tool": "get_weather", "arguments": {"city": "Rome"}}', [WEATHER])
    assert isinstance(call, ToolCall)
    assert call.arguments == {"city": "Rome"}
    assert parse_constrained('{"answer": "hi"}', [WEATHER]) == "hi"
    bad = parse_constrained('{"foo": 1}', [WEATHER])
    assert isinstance(bad, ToolCallError)


def test_schema_has_answer_branch_unless_required() -> None:
    auto = tool_call_schema([WEATHER], "auto")
    assert len(auto["anyOf"]) == 2
    required = tool_call_schema([WEATHER], "required")
    assert required["properties"]["tool"] == {"const": "get_weather"}
    assert required["properties"]["arguments"]["additionalProperties"] is False


@given(st.text(max_size=200), st.lists(st.integers(1, 7), max_size=40))
def test_answer_streamer_reassembles_any_split(answer: str, cuts: list[int]) -> None:
    raw = json.dumps({"answer": answer})
    streamer = AnswerStreamer()
    out, i = [], 0
    for n in cuts:
        out.append(streamer.feed(raw[i : i + n]))
        i += n
    out.append(streamer.feed(raw[i:]))
    assert "".join(out) == answer


def test_answer_streamer_ignores_tool_calls() -> None:
    streamer = AnswerStreamer()
    text = '{"tool": "get_weather", "arguments": {"city": "answer"}}'
    assert "".join(streamer.feed(c) for c in text) == ""
    assert streamer.raw == text


@given(st.text(max_size=300))
def test_validate_call_never_raises(raw: str) -> None:
    result = validate_call("get_weather", raw, [WEATHER])
    assert isinstance(result, ToolCall | ToolCallError)
