from __future__ import annotations

import pytest

from inference import ChatRequest, Message, Metered, Price, PriceTable, ToolSpec, collect
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from inference.types import Usage

pytestmark = pytest.mark.anyio

SEARCH = ToolSpec(
    "search",
    "Search.",
    {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
)


async def test_tool_calls_are_validated_like_a_real_backend() -> None:
    backend = ScriptedBackend(
        [
            Turn(
                "Let me look.",
                calls=(
                    ScriptedCall("search", {"q": "tantivy"}),
                    ScriptedCall("search", '{"q": '),
                    ScriptedCall("delete_everything", {}),
                ),
            )
        ]
    )
    req = ChatRequest((Message.user("find it"),), tools=(SEARCH,))
    result = await collect(backend, req)
    assert result.text == "Let me look."
    assert [c.arguments for c in result.tool_calls] == [{"q": "tantivy"}]
    assert [e.kind for e in result.tool_errors] == ["malformed", "unknown_tool"]
    assert result.finish_reason == "tool_calls"


async def test_max_tokens_cuts_the_reply() -> None:
    backend = ScriptedBackend([Turn("one two three four five")])
    result = await collect(backend, ChatRequest((Message.user("count"),), max_tokens=2))
    assert result.text == "one two"
    assert result.finish_reason == "length"
    assert result.usage.output_tokens == 2


async def test_closing_the_stream_stops_generation() -> None:
    backend = ScriptedBackend([Turn(" ".join(["tok"] * 1000))])
    stream = backend.stream(ChatRequest((Message.user("go"),)))
    async for _ in stream:
        if backend.tokens_emitted >= 3:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    assert backend.tokens_emitted == 3


def test_per_token_and_gpu_hour_pricing() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, ttlt_s=36.0)
    assert Price(input_per_mtok=0.5, output_per_mtok=2.0).cost(usage) == pytest.approx(1.5)
    assert Price(gpu_per_hour=4.0).cost(usage) == pytest.approx(0.04)
    with pytest.raises(ValueError, match="not both"):
        Price(input_per_mtok=1, gpu_per_hour=1)


async def test_metered_adds_timing_and_cost() -> None:
    backend = ScriptedBackend([Turn("a b c")], model="m1", token_delay_s=0.01)
    prices = PriceTable(models={"m1": Price(input_per_mtok=1e6, output_per_mtok=2e6)})
    result = await collect(Metered(backend, prices), ChatRequest((Message.user("hi"),)))
    u = result.usage
    assert u.ttft_s is not None
    assert u.ttlt_s is not None
    assert 0 < u.ttft_s < u.ttlt_s
    assert u.cost_usd == pytest.approx(u.input_tokens * 1 + u.output_tokens * 2)
    assert u.backend == "scripted"
