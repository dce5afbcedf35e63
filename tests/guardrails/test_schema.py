"""Structured output: the JSON taken out of a model's reply, schema errors by JSON path, and
the one repair attempt."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema.exceptions import SchemaError

from guardrails.schema import (
    SchemaResult,
    SchemaViolation,
    parse_json,
    validate_output,
    validate_with_repair,
)

ORDER: dict[str, Any] = {
    "type": "object",
    "required": ["customer", "items"],
    "properties": {
        "customer": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "price"],
                "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
            },
        },
    },
}
GOOD = {"customer": "ann", "items": [{"name": "tea", "price": 3.5}]}


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
        ("```\n[1, 2]\n```", [1, 2]),
        ('Sure! Here is the JSON you asked for:\n\n{"a": 1}\n\nLet me know.', {"a": 1}),
        (
            'Result (see below) [draft]: {"a": {"b": [1, {"c": null}]}} done',
            {"a": {"b": [1, {"c": None}]}},
        ),
        ('{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}),
        ("{'name': 'tea', 'tags': ['hot', 'green']}", {"name": "tea", "tags": ["hot", "green"]}),
        ("{'text': 'it's fine'}", {"text": "it's fine"}),
        ("{'quote': 'she said \"hi\"'}", {"quote": 'she said "hi"'}),
        ("{'escaped': 'don\\'t'}", {"escaped": "don't"}),
        (
            '{"keeps": "a, } and ,] inside strings", "n": 2,}',
            {"keeps": "a, } and ,] inside strings", "n": 2},
        ),
        ('{"apostrophe": "it\'s"}', {"apostrophe": "it's"}),
        ('"just a string"', "just a string"),
        ("  42  ", 42),
    ],
)
def test_parse_json_takes_the_json_out_of_a_reply(reply: str, value: Any) -> None:
    assert parse_json(reply) == value


@pytest.mark.parametrize(
    "reply",
    [
        "I cannot help with that.",
        'The answer is {"a": 1',  # truncated
        "{'a': 'unclosed}",
        "{a: 1}",  # bare keys are not guessed at
        "",
    ],
)
def test_parse_json_refuses_what_is_not_json(reply: str) -> None:
    with pytest.raises(ValueError, match="no JSON value"):
        parse_json(reply)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@given(JSON, st.sampled_from([None, 2]), st.booleans())
def test_parse_json_round_trips_json_values(value: Any, indent: int | None, ascii: bool) -> None:
    assert parse_json(json.dumps(value, indent=indent, ensure_ascii=ascii)) == value


@given(JSON)
def test_parse_json_finds_a_fenced_value(value: Any) -> None:
    assert parse_json(f"Here you go:\n```json\n{json.dumps(value)}\n```\nAnything else?") == value


@given(st.lists(JSON, max_size=4) | st.dictionaries(st.text(max_size=8), JSON, max_size=4))
def test_parse_json_finds_a_value_in_prose(value: Any) -> None:
    assert parse_json(f"The result is {json.dumps(value)}. Hope this helps!") == value


def test_valid_output() -> None:
    result = validate_output(f"```json\n{json.dumps(GOOD)}\n```", ORDER)
    assert result == SchemaResult(ok=True, value=GOOD)
    assert result.unwrap() == GOOD


def test_errors_name_the_json_path() -> None:
    bad = {"customer": "ann", "items": [{"name": "a", "price": 1}, {"name": "b", "price": 2},
                                        {"name": "c", "price": "x"}]}  # fmt: skip
    result = validate_output(json.dumps(bad), ORDER)
    assert not result.ok
    assert result.error == "$.items[2].price: 'x' is not of type 'number'"
    assert result.value == bad
    missing = validate_output('{"items": []}', ORDER)
    assert missing.error == "$: 'customer' is a required property"


def test_all_errors_are_listed_best_first() -> None:
    result = validate_output('{"customer": 7, "items": [{"name": 1, "price": 1}]}', ORDER)
    assert len(result.errors) == 2
    assert result.errors[0] == result.error
    assert set(result.errors) == {
        "$.customer: 7 is not of type 'string'",
        "$.items[0].name: 1 is not of type 'string'",
    }


def test_a_reply_without_json_fails_at_the_root() -> None:
    result = validate_output("Sorry, I can't do that.", ORDER)
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("$: not JSON:")
    with pytest.raises(SchemaViolation) as raised:
        result.unwrap()
    assert raised.value.error == result.error
    assert raised.value.result is result


def test_formats_are_checked() -> None:
    schema = {"type": "string", "format": "date"}
    assert validate_output('"2026-12-02"', schema).ok
    assert not validate_output('"yesterday"', schema).ok


def test_an_invalid_schema_is_a_programming_error() -> None:
    with pytest.raises(SchemaError):
        validate_output("{}", {"type": "nonsense"})


class Repairer:
    """A model that answers a repair prompt with a fixed reply, and remembers the prompts."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    async def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.reply


@pytest.mark.anyio
async def test_valid_output_needs_no_repair() -> None:
    repair = Repairer("unused")
    result = await validate_with_repair(json.dumps(GOOD), ORDER, repair)
    assert result.ok
    assert (result.repaired, result.attempts) == (False, 1)
    assert repair.prompts == []


@pytest.mark.anyio
async def test_one_repair_fixes_the_output() -> None:
    repair = Repairer(f"Sorry about that! Corrected:\n```json\n{json.dumps(GOOD)}\n```")
    first = '{"customer": "ann", "items": [{"name": "tea", "price": "3.50"}]}'
    result = await validate_with_repair(first, ORDER, repair)
    assert result.ok
    assert result.value == GOOD
    assert (result.repaired, result.attempts) == (True, 2)
    [prompt] = repair.prompts
    assert "$.items[0].price: '3.50' is not of type 'number'" in prompt
    assert first in prompt
    assert '"required"' in prompt  # the schema
    assert "corrected JSON only" in prompt


@pytest.mark.anyio
async def test_a_wrong_repair_is_not_retried() -> None:
    async def still_wrong(prompt: str) -> str:
        calls.append(prompt)
        return '{"customer": "ann"}'

    calls: list[str] = []
    result = await validate_with_repair("not json at all", ORDER, still_wrong)
    assert not result.ok
    assert (result.repaired, result.attempts) == (False, 2)
    assert result.error == "$: 'items' is a required property"  # the repair's error
    assert len(calls) == 1
    with pytest.raises(SchemaViolation, match="'items' is a required property"):
        result.unwrap()


@pytest.mark.anyio
async def test_a_failing_repair_call_propagates() -> None:
    async def broken(prompt: str) -> str:
        raise ConnectionError("model unavailable")

    with pytest.raises(ConnectionError):
        await validate_with_repair("{}", ORDER, broken)
