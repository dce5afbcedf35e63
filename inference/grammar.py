"""JSON schema → GBNF for llama.cpp, with a fix the bundled converter needs."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

# llama-cpp-python's converter (0.3.x) lets raw control characters into JSON strings, where
# llama.cpp's own converter does not. Small models use that to "close" a string with a
# newline and ramble on, producing JSON that does not parse (seen: 2 of 15 tool calls).
_LOOSE_CHAR = r'char ::= [^"\\] |'
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] |'


# Properties are written in the order the schema declares them (a tool's author puts "origin"
# before "destination" for a reason), except that the keys of the tool-call envelope come first
# wherever they appear: the model must choose the tool before writing its arguments.
# Measured (evals/toolcalls): sorting arguments alphabetically, as an earlier version did by
# accident (its cache key was ``json.dumps(sort_keys=True)``, and the converter keeps the order
# it is given), cost search_flights its destination ("date", "destination": "London", "origin":
# "London") and create_event its title.
TOOL_CALL_ORDER = ("tool", "arguments", "answer")


@lru_cache(maxsize=128)
def _gbnf(schema_json: str, prop_order: tuple[str, ...]) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    text = json_schema_to_gbnf(schema_json, prop_order=list(prop_order))
    return str(text).replace(_LOOSE_CHAR, _STRICT_CHAR)


def gbnf_for_schema(schema: dict[str, Any], prop_order: tuple[str, ...] = TOOL_CALL_ORDER) -> str:
    """A GBNF grammar accepting exactly the JSON documents that match ``schema``, with
    properties in ``prop_order`` first and the others in the schema's own order."""
    return _gbnf(json.dumps(schema), prop_order)
