from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from inference.openai_wire import ChunkAssembler, json_mode_messages
from inference.types import (
    ChatRequest,
    Generated,
    Message,
    TextDelta,
    ToolCall,
    ToolCallErrorEvent,
    ToolCallEvent,
)
from tests.inference.sample_tools import WEATHER


def split(text: str, cuts: list[int]) -> list[str]:
    parts, i = [], 0
    for n in cuts:
        parts.append(text[i : i + n])
        i += n
    parts.append(text[i:])
    return [p for p in parts if p]


def content(piece: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}


def run(asm: ChunkAssembler, chunks: list[dict[str, Any]]) -> list[Any]:
    """The events but the ``Generated`` token counts (test_tool_call_tokens_are_counted)."""
    events = [e for c in chunks for e in asm.feed(c) if not isinstance(e, Generated)]
    return events + list(asm.finish())


def test_tool_call_tokens_are_counted_as_they_stream() -> None:
    """Every chunk of a tool call (native deltas, or constrained JSON that is not answer text)
    is a ``Generated`` token, so budgets count it while it streams, not after the call."""
    pieces = ['{"ci', 'ty": "Pa', 'ris"}']
    native = [
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": p}}
        ]}}]}
        for p in pieces
    ]  # fmt: skip
    asm = ChunkAssembler([WEATHER], json_tools=False)
    assert sum(isinstance(e, Generated) for c in native for e in asm.feed(c)) == 3
    json_call = ['{"tool": "get_weather", ', '"arguments": {"city": ', '"Paris"}}']
    asm = ChunkAssembler([WEATHER], json_tools=True)
    assert sum(isinstance(e, Generated) for p in json_call for e in asm.feed(content(p))) == 3


cuts = st.lists(st.integers(1, 9), max_size=30)
cities = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


@given(cities, cuts)
def test_native_tool_call_fragments_reassemble(city: str, at: list[int]) -> None:
    args = json.dumps({"city": city})
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "c1" if i == 0 else None,
                                "function": {
                                    "name": "get_weather" if i == 0 else None,
                                    "arguments": part,
                                },
                            }
                        ]
                    },
                    "finish_reason": None,
                }
            ]
        }
        for i, part in enumerate(split(args, at))
    ]
    asm = ChunkAssembler([WEATHER], json_tools=False)
    events = run(asm, chunks)
    assert events == [ToolCallEvent(ToolCall("c1", "get_weather", {"city": city}))]
    assert asm.finish_reason == "tool_calls"


@given(st.text(max_size=120), cuts)
def test_constrained_answer_streams_and_reassembles(answer: str, at: list[int]) -> None:
    raw = json.dumps({"answer": answer})
    events = run(ChunkAssembler([WEATHER], json_tools=True), [content(p) for p in split(raw, at)])
    assert all(isinstance(e, TextDelta) for e in events)
    assert "".join(e.text for e in events) == answer


@given(cities, cuts)
def test_constrained_tool_call_from_fragments(city: str, at: list[int]) -> None:
    raw = json.dumps({"tool": "get_weather", "arguments": {"city": city}})
    asm = ChunkAssembler([WEATHER], json_tools=True)
    events = run(asm, [content(p) for p in split(raw, at)])
    assert len(events) == 1
    assert isinstance(events[0], ToolCallEvent)
    assert events[0].call.arguments == {"city": city}
    assert asm.finish_reason == "tool_calls"


def test_reply_cut_off_at_max_tokens_is_a_typed_error() -> None:
    asm = ChunkAssembler([WEATHER], json_tools=True)
    chunks = [
        content('{"tool": "get_weather", "argum'),
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]},
    ]
    events = run(asm, chunks)
    assert len(events) == 1
    assert isinstance(events[0], ToolCallErrorEvent)
    assert "cut off at max_tokens" in events[0].error.message


def test_json_mode_rewrites_a_tool_conversation() -> None:
    call = ToolCall("c1", "get_weather", {"city": "Oslo"})
    request = ChatRequest(
        (
            Message.system("Be brief."),
            Message.user("Weather in Oslo?"),
            Message.assistant(tool_calls=(call,)),
            Message.tool("c1", "-3 C, snow", "get_weather"),
        ),
        tools=(WEATHER,),
    )
    msgs = json_mode_messages(request)
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[0].content.startswith("Be brief.")
    assert "get_weather" in msgs[0].content
    assert json.loads(msgs[2].content) == {"tool": "get_weather", "arguments": {"city": "Oslo"}}
    assert msgs[3].content == "Result of tool get_weather:\n-3 C, snow"
