"""Structured output: the JSON in a model's reply, checked against a JSON Schema, with one
repair attempt.

    result = await validate_with_repair(reply, schema, repair=ask_model)
    if result.ok:
        use(result.value)

``parse_json`` takes the JSON out of a reply: the reply itself when it parses, else the
first fenced code block or bracketed value that does, after two modest repairs (trailing
commas, and single-quoted strings where the quotes' role is unambiguous). A reply that still
fails gets one more chance: the model is told the error, by JSON path, and asked for the
corrected JSON only."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import best_match

MAX_ERRORS = 10  # listed in a result (and the repair prompt); the best one is ``error``
MAX_STARTS = 32  # bracket positions tried in a reply before giving up
PROMPT_REPLY_CHARS = 4000  # of the failed reply quoted back to the model
PROMPT_SCHEMA_CHARS = 8000

_FENCE = re.compile(r"```[ \t]*[\w+-]*[ \t]*\r?\n?(.*?)```", re.DOTALL)  # any language tag
_CLOSE = {"{": "}", "[": "]"}


class SchemaViolation(Exception):
    """A reply that is not valid JSON for its schema, after any repair."""

    def __init__(self, error: str, result: SchemaResult | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.result = result


@dataclass(frozen=True)
class SchemaResult:
    """The outcome: ``value`` when ``ok``; else ``error`` (the most relevant one, with its
    JSON path) and ``errors`` (up to ``MAX_ERRORS``). ``repaired``: the value came from the
    repair reply; ``attempts``: the replies validated (1, or 2 after a repair)."""

    ok: bool
    value: Any = None
    error: str | None = None
    errors: tuple[str, ...] = ()
    repaired: bool = False
    attempts: int = 1

    def unwrap(self) -> Any:
        """The value, or ``SchemaViolation`` with the error."""
        if not self.ok:
            raise SchemaViolation(self.error or "invalid output", self)
        return self.value


# ---------------------------------------------------------------------------------------------
# taking the JSON out of a reply


def parse_json(text: str) -> Any:
    """The JSON value in a model's reply. Raises ``ValueError`` when there is none."""
    stripped = text.strip()
    try:
        return json.loads(stripped)  # the common case, and any JSON value exactly
    except ValueError as exc:
        first: ValueError = exc
    for candidate in _candidates(stripped):
        for attempt in (candidate, _repair(candidate)):
            if attempt is None:
                continue
            try:
                return json.loads(attempt)
            except ValueError:
                continue
    raise ValueError(f"no JSON value in the reply ({first})")


def _candidates(text: str) -> Iterator[str]:
    """What might be the JSON: fenced blocks' contents, then each bracketed value from an
    opening bracket to its matching close (leading and trailing prose cut)."""
    for m in _FENCE.finditer(text):
        yield m.group(1).strip()
    tried = 0
    for at, ch in enumerate(text):
        if ch in _CLOSE:
            end = _matching(text, at)
            yield text[at:end]
            tried += 1
            if tried >= MAX_STARTS:
                return


def _matching(text: str, start: int) -> int:
    """The end of the bracketed value opening at ``start`` (strings skipped), or the text's
    end when it never closes (a truncated reply: the parse will say so)."""
    stack = [_CLOSE[text[start]]]
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            i = _string_end(text, i)
        elif ch in _CLOSE:
            stack.append(_CLOSE[ch])
        elif ch in "}]":
            if ch != stack[-1]:
                return len(text)
            stack.pop()
            if not stack:
                return i + 1
        i += 1
    return len(text)


def _string_end(text: str, start: int) -> int:
    """The index of the quote closing the string that opens at ``start`` (or the last index).
    A single quote closes only before a structural character, so "it's" inside a
    single-quoted string does not end it."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote and (quote == '"' or _structural_after(text, i + 1)):
            return i
        i += 1
    return len(text) - 1


def _structural_after(text: str, i: int) -> bool:
    while i < len(text) and text[i].isspace():
        i += 1
    return i >= len(text) or text[i] in ":,}]"


def _repair(text: str) -> str | None:
    """``text`` with trailing commas dropped and single-quoted strings (keys and values,
    where a string may start) double-quoted; ``None`` when that changes nothing or a single
    quote's role is unclear."""
    out: list[str] = []
    last = ""  # the last character out that is not a space
    i = 0
    changed = False
    while i < len(text):
        ch = text[i]
        if ch == '"':
            end = _string_end(text, i)
            out.append(text[i : end + 1])
            last = '"'
            i = end + 1
        elif ch == "'":
            if last and last not in "{[:,":
                return None  # a quote where no string can start: not ours to guess
            end = _string_end(text, i)
            if text[end] != "'" or end == i:
                return None  # never closed
            out.append(_requote(text[i + 1 : end]))
            last = '"'
            i = end + 1
            changed = True
        elif ch == ",":
            j = i + 1
            while j < len(text) and text[j].isspace():
                j += 1
            if j < len(text) and text[j] in "}]":
                changed = True  # a trailing comma: JSON has none
            else:
                out.append(ch)
                last = ch
            i += 1
        else:
            out.append(ch)
            if not ch.isspace():
                last = ch
            i += 1
    return "".join(out) if changed else None


def _requote(body: str) -> str:
    """A single-quoted string's body as a double-quoted JSON string."""
    out = ['"']
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append("'" if nxt == "'" else ch + nxt)
            i += 2
            continue
        out.append('\\"' if ch == '"' else ch)
        i += 1
    out.append('"')
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# validation


def validate_output(text: str, schema: dict[str, Any]) -> SchemaResult:
    """The reply's JSON checked against ``schema`` (its ``$schema`` draft, else the latest;
    formats checked where jsonschema can). An invalid schema raises ``SchemaError``."""
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    try:
        value = parse_json(text)
    except ValueError as exc:
        message = f"$: not JSON: {exc}"
        return SchemaResult(ok=False, error=message, errors=(message,))
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    found = list(validator.iter_errors(value))
    if not found:
        return SchemaResult(ok=True, value=value)
    best = best_match(found)
    ordered = [best, *(e for e in found if e is not best)]
    errors = tuple(f"{e.json_path}: {e.message}" for e in ordered[:MAX_ERRORS])
    return SchemaResult(ok=False, value=value, error=errors[0], errors=errors)


def repair_prompt(text: str, schema: dict[str, Any], result: SchemaResult) -> str:
    """What the model is told when its reply failed: the errors, the schema, its reply."""
    schema_text = json.dumps(schema, indent=2)
    if len(schema_text) > PROMPT_SCHEMA_CHARS:
        schema_text = schema_text[:PROMPT_SCHEMA_CHARS] + "\n…"
    reply = text if len(text) <= PROMPT_REPLY_CHARS else text[:PROMPT_REPLY_CHARS] + "\n…"
    errors = "\n".join(f"- {e}" for e in (result.errors or (result.error or "invalid",)))
    return (
        "Your previous reply is not valid JSON for the required schema.\n\n"
        f"Errors:\n{errors}\n\n"
        f"Schema:\n{schema_text}\n\n"
        f"Your previous reply:\n{reply}\n\n"
        "Reply with the corrected JSON only: no explanation, no code fences."
    )


async def validate_with_repair(
    text: str,
    schema: dict[str, Any],
    repair: Callable[[str], Awaitable[str]],
) -> SchemaResult:
    """``validate_output``, and when it fails, one ``repair(prompt)`` call whose reply is
    validated instead. ``repaired`` is true when the repair's reply passed; ``attempts`` is
    2 whenever the repair was asked. An exception from ``repair`` propagates."""
    first = validate_output(text, schema)
    if first.ok:
        return first
    reply = await repair(repair_prompt(text, schema, first))
    second = validate_output(reply, schema)
    return replace(second, repaired=second.ok, attempts=2)
