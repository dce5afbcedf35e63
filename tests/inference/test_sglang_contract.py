"""SGLang's HTTP contract: the request fields and response shapes SGLang uses beyond plain
OpenAI, replayed through httpx.MockTransport.

No GPU is available to CI, so these are contract tests against SGLang's documented wire format
(python/sglang/srt/entrypoints/openai/protocol.py, http_server.py, metrics/collector.py); the
shared OpenAI streaming path runs against a real local server in test_openai_server.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from inference import ChatRequest, Grammar, JsonSchema, Message, ToolSpec, collect
from inference.backends.sglang import SGLangBackend
from inference.config import SGLangConfig, SGLangLaunch

pytestmark = pytest.mark.anyio

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def sse(*chunks: dict[str, Any]) -> bytes:
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    return ("".join(lines) + "data: [DONE]\n\n").encode()


def chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {
        "id": "x",
        "object": "chat.completion.chunk",
        "model": "qwen",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


USAGE = {
    "id": "x",
    "object": "chat.completion.chunk",
    "model": "qwen",
    "choices": [],
    "usage": {
        "prompt_tokens": 12,
        "completion_tokens": 2,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 8},
    },
}


class FakeSGLang:
    """Records requests; answers like SGLang would."""

    def __init__(self, stream_body: bytes = b"") -> None:
        self.requests: list[httpx.Request] = []
        self.stream_body = stream_body or sse(
            chunk("", role="assistant"), chunk("Hel"), chunk("lo", finish="stop"), USAGE
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/v1/chat/completions":
            return httpx.Response(
                200, content=self.stream_body, headers={"content-type": "text/event-stream"}
            )
        if path == "/generate":
            return httpx.Response(
                200,
                json={
                    "text": " Paris.",
                    "output_ids": [1, 2],
                    "meta_info": {
                        "id": "r1",
                        "finish_reason": {"type": "length", "length": 2},
                        "prompt_tokens": 7,
                        "completion_tokens": 2,
                        "cached_tokens": 4,
                    },
                },
            )
        if path == "/metrics":
            return httpx.Response(200, text=METRICS)
        if path == "/health":
            return httpx.Response(200)
        if path == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [{"id": "qwen"}]})
        return httpx.Response(404)

    def body(self, i: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[i].content)  # type: ignore[no-any-return]


METRICS = """\
# HELP sglang:prompt_tokens_total Number of prefill tokens processed.
# TYPE sglang:prompt_tokens_total counter
sglang:prompt_tokens_total{model_name="qwen",engine_type="unified"} 1000.0
# TYPE sglang:cached_tokens_total counter
sglang:cached_tokens_total{model_name="qwen",cache_source="device"} 600.0
sglang:cached_tokens_total{model_name="qwen",cache_source="host"} 150.0
# TYPE sglang:cache_hit_rate gauge
sglang:cache_hit_rate{model_name="qwen",tp_rank="0"} 0.71
"""


def backend(fake: FakeSGLang, tmp_path: Path, **cfg: Any) -> SGLangBackend:
    config = SGLangConfig(base_url="http://gpu:30000", model="qwen", **cfg)
    return SGLangBackend("sglang", config, log_dir=tmp_path, transport=httpx.MockTransport(fake))


async def test_stream_usage_and_cached_tokens(tmp_path: Path) -> None:
    fake = FakeSGLang()
    result = await collect(backend(fake, tmp_path), ChatRequest((Message.user("hi"),)))
    assert result.text == "Hello"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (12, 2)
    assert result.usage.cached_tokens == 8
    assert not result.usage.estimated
    body = fake.body()
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert fake.requests[0].url.path == "/v1/chat/completions"


async def test_json_schema_and_ebnf_request_fields(tmp_path: Path) -> None:
    fake = FakeSGLang()
    b = backend(fake, tmp_path)
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    await collect(b, ChatRequest((Message.user("x"),), constraint=JsonSchema(schema, "thing")))
    assert fake.body()["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "thing", "schema": schema, "strict": True},
    }
    await collect(b, ChatRequest((Message.user("x"),), constraint=Grammar('root ::= "yes"')))
    assert fake.body()["ebnf"] == 'root ::= "yes"'


async def test_tools_without_a_server_parser_use_constrained_json(tmp_path: Path) -> None:
    reply = json.dumps({"tool": "get_weather", "arguments": {"city": "Paris"}})
    fake = FakeSGLang(sse(chunk(reply[:10]), chunk(reply[10:], finish="stop"), USAGE))
    request = ChatRequest((Message.user("weather in Paris?"),), tools=(WEATHER,))
    result = await collect(backend(fake, tmp_path), request)
    calls = [(c.name, c.arguments) for c in result.tool_calls]
    assert calls == [("get_weather", {"city": "Paris"})]
    assert result.finish_reason == "tool_calls"
    body = fake.body()
    assert "tools" not in body
    assert body["response_format"]["type"] == "json_schema"
    assert "get_weather" in body["messages"][0]["content"]  # tools described in the system turn


async def test_native_tool_calls_with_a_server_parser(tmp_path: Path) -> None:
    def tc(index: int, **fn: str) -> dict[str, Any]:
        return chunk(tool_calls=[{"index": index, "id": f"c{index}", "function": fn}])

    fake = FakeSGLang(
        sse(
            tc(0, name="get_weather", arguments='{"ci'),
            tc(0, arguments='ty": "Rome"}'),
            tc(1, name="get_weather", arguments='{"city": '),
            chunk(finish="tool_calls"),
            USAGE,
        )
    )
    request = ChatRequest((Message.user("weather?"),), tools=(WEATHER,))
    result = await collect(backend(fake, tmp_path, tool_mode="native"), request)
    assert [c.arguments for c in result.tool_calls] == [{"city": "Rome"}]
    assert [(e.kind, e.id) for e in result.tool_errors] == [("malformed", "c1")]
    assert fake.body()["tools"][0]["function"]["name"] == "get_weather"


async def test_native_generate(tmp_path: Path) -> None:
    fake = FakeSGLang()
    out = await backend(fake, tmp_path).generate("The capital of France is", max_new_tokens=2)
    assert out.text == " Paris."
    assert out.finish_reason == "length"
    assert (out.prompt_tokens, out.completion_tokens, out.cached_tokens) == (7, 2, 4)
    assert fake.body() == {
        "text": "The capital of France is",
        "sampling_params": {"max_new_tokens": 2},
    }


async def test_metrics_and_prefix_cache_hit_rate(tmp_path: Path) -> None:
    b = backend(FakeSGLang(), tmp_path)
    samples = await b.metrics()
    assert {s.name for s in samples} == {
        "sglang:prompt_tokens_total",
        "sglang:cached_tokens_total",
        "sglang:cache_hit_rate",
    }
    assert await b.prefix_cache_hit_rate() == pytest.approx(0.75)


async def test_launch_failure_is_reported_with_the_servers_output(tmp_path: Path) -> None:
    launch = SGLangLaunch(
        model_path="some/model", python=sys.executable, port=1, startup_timeout_s=30
    )
    b = SGLangBackend("gpu", SGLangConfig(launch=launch), log_dir=tmp_path)
    assert b.server is not None
    assert b.server.argv[1:4] == ["-m", "sglang.launch_server", "--model-path"]
    health = await b.health()
    assert not health.ok
    assert "exited with status" in health.detail
    assert "sglang" in health.detail  # the child's own error (no module named sglang)


def test_config_needs_exactly_one_of_url_or_launch() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SGLangConfig()
