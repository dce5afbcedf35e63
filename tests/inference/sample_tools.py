"""Tools shared by the inference tests."""

from __future__ import annotations

from inference import ToolSpec

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 40}},
        "required": ["city"],
    },
)

CALCULATOR = ToolSpec(
    "calculator",
    "Evaluate an arithmetic expression.",
    {
        "type": "object",
        "properties": {"expression": {"type": "string", "maxLength": 40}},
        "required": ["expression"],
    },
)
