"""How reliable are tool calls from the embedded model, with and without constrained decoding?

For each prompt the model is offered three tools. We count replies that parse into a valid
call or answer (the decoder's job) and replies that pick the expected tool (the model's job),
for constrained JSON (what agenthost does) against the same instructions unconstrained.
It checks the tool name only (each tool has one argument); argument accuracy, and agenthost
against raw llama-cpp-python on the same cases, is ``python -m evals.toolcalls.run``.

    python benchmarks/tool_calls.py
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import anyio

from inference import ChatRequest, Message, ToolSpec, collect
from inference.backends.embedded import EmbeddedBackend
from inference.config import EmbeddedConfig
from inference.openai_wire import json_mode_messages
from inference.toolcalls import parse_constrained

TOOLS = (
    ToolSpec(
        "get_weather",
        "Get the current weather for a city.",
        {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 40}},
            "required": ["city"],
        },
    ),
    ToolSpec(
        "search_docs",
        "Search the documentation for a query.",
        {
            "type": "object",
            "properties": {"query": {"type": "string", "maxLength": 80}},
            "required": ["query"],
        },
    ),
    ToolSpec(
        "calculator",
        "Evaluate an arithmetic expression.",
        {
            "type": "object",
            "properties": {"expression": {"type": "string", "maxLength": 40}},
            "required": ["expression"],
        },
    ),
)

CASES = [
    ("What's the weather in Paris?", "get_weather"),
    ("Is it raining in London right now?", "get_weather"),
    ("How cold is it in Oslo today?", "get_weather"),
    ("Tell me the temperature in Tokyo.", "get_weather"),
    ("Weather forecast for Berlin please.", "get_weather"),
    ("Find the docs about installing the package.", "search_docs"),
    ("Search the documentation for 'circuit breaker'.", "search_docs"),
    ("Where do the docs explain configuration?", "search_docs"),
    ("Look up how to set the API key in the docs.", "search_docs"),
    ("Search docs: router tiers", "search_docs"),
    ("What is 17 * 23?", "calculator"),
    ("Compute 1024 / 8.", "calculator"),
    ("Calculate 3 + 4 * 5.", "calculator"),
    ("What's 99 minus 42?", "calculator"),
    ("Evaluate (2 + 3) * 7.", "calculator"),
]


async def run() -> None:
    backend = EmbeddedBackend.from_config("local", EmbeddedConfig(n_ctx=2048))
    rows = []
    for mode in ("constrained", "unconstrained"):
        valid = right = 0
        times: list[float] = []
        for prompt, expected in CASES:
            request = ChatRequest(
                (Message.user(prompt),), tools=TOOLS, tool_choice="required", max_tokens=80
            )
            start = time.perf_counter()
            if mode == "constrained":
                result = await collect(backend, request)
                ok = not result.tool_errors and len(result.tool_calls) == 1
                picked = result.tool_calls[0].name if result.tool_calls else None
            else:
                # The same prompt and instructions, but free decoding: no schema, no grammar.
                plain = replace(request, messages=tuple(json_mode_messages(request)), tools=())
                text = (await collect(backend, plain)).text
                parsed = parse_constrained(text.strip(), TOOLS)
                ok = hasattr(parsed, "arguments")
                picked = getattr(parsed, "name", None)
            times.append(time.perf_counter() - start)
            valid += ok
            right += picked == expected
        rows.append((mode, valid, right, statistics.median(times)))
    await backend.aclose()
    n = len(CASES)
    print(f"\nSmolLM2-135M-Instruct Q4_1, {n} prompts, 3 tools, tool_choice=required\n")
    print("| decoding | valid calls | expected tool | median s/call |")
    print("|---|---:|---:|---:|")
    for mode, valid, right, median in rows:
        print(f"| {mode} | {valid}/{n} | {right}/{n} | {median:.2f} |")


if __name__ == "__main__":
    anyio.run(run)
