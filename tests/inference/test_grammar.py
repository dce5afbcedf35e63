from __future__ import annotations

import pytest

from inference import ChatRequest, Message, ToolSpec, collect
from inference.backends.embedded import EmbeddedBackend
from inference.config import EmbeddedConfig
from inference.grammar import gbnf_for_schema
from inference.toolcalls import tool_call_schema
from tests.inference.sample_tools import CALCULATOR


def test_strings_exclude_control_characters() -> None:
    grammar = gbnf_for_schema({"type": "object", "properties": {"a": {"type": "string"}}})
    char_rule = next(line for line in grammar.splitlines() if line.startswith("char ::="))
    assert r"\x00-\x1F" in char_rule


def test_tool_name_comes_before_arguments() -> None:
    grammar = gbnf_for_schema(tool_call_schema([CALCULATOR], "required"))
    root = next(line for line in grammar.splitlines() if line.startswith("root ::="))
    assert root.index("tool-kv") < root.index("arguments-kv")


def test_arguments_keep_the_order_the_schema_declares() -> None:
    """Regression: arguments were sorted alphabetically, so search_flights was written
    date, destination, origin and the small model lost the destination."""
    flights = ToolSpec(
        "search_flights",
        "Search flights.",
        {
            "type": "object",
            "properties": {
                "origin": {"type": "string"},
                "destination": {"type": "string"},
                "date": {"type": "string"},
            },
            "required": ["origin", "destination", "date"],
        },
    )
    grammar = gbnf_for_schema(tool_call_schema([flights], "required"))
    args = next(line for line in grammar.splitlines() if line.startswith("arguments ::="))
    assert args.index("origin-kv") < args.index("destination-kv") < args.index("date-kv")


@pytest.mark.anyio
@pytest.mark.realmodel
async def test_no_raw_newline_escapes_a_string() -> None:
    """Regression: with the loose grammar the model ended the expression with a newline and
    went on writing prose inside the JSON string, which then failed to parse."""
    backend = EmbeddedBackend.from_config("local", EmbeddedConfig())
    try:
        for prompt in ("What is 17 * 23?", "Evaluate (2 + 3) * 7."):
            request = ChatRequest(
                (Message.user(prompt),), tools=(CALCULATOR,), tool_choice="required", max_tokens=80
            )
            result = await collect(backend, request)
            assert result.tool_errors == [], prompt
            assert "\n" not in result.tool_calls[0].arguments["expression"]
    finally:
        await backend.aclose()
