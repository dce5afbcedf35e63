"""OpenAI-compatible and SGLang backends against a real local server process.

The server is ``llama_cpp.server`` on the embedded SmolLM2 weights, started the way the
embedded backend's ``server`` mode starts it. No GPU is available in CI, so the SGLang
backend's shared OpenAI paths are exercised against this server over a real socket; its
SGLang-only request and response shapes are covered in test_sglang_contract.py. What the
OpenAI-compatible backend probes for is tested in test_openai_compat_probe.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from inference import (
    BackendResponseError,
    BackendUnavailable,
    ChatRequest,
    JsonSchema,
    Message,
    TextDelta,
    collect,
)
from inference.backends.llama_server import LlamaServerBackend
from inference.backends.openai_compat import OpenAICompatBackend
from inference.backends.sglang import SGLangBackend
from inference.config import EmbeddedConfig, RouterConfig, SGLangConfig
from inference.process import free_port
from inference.router import Router
from tests.inference.sample_tools import WEATHER

pytestmark = [pytest.mark.anyio, pytest.mark.realmodel]

HI = ChatRequest((Message.user("Say hello in five words."),), max_tokens=24)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServerBackend]:
    logs = tmp_path_factory.mktemp("logs")
    backend = LlamaServerBackend(
        "llama", EmbeddedConfig(mode="server", n_threads=1, n_ctx=2048), log_dir=logs
    )
    anyio.run(backend.server.start)
    yield backend
    anyio.run(backend.server.stop)


def client(server: LlamaServerBackend, **kw: object) -> OpenAICompatBackend:
    # Explicit modes, as before probing existed; the default ("auto") is tested in
    # test_openai_compat_probe.py.
    opts: dict[str, object] = {"tool_mode": "json", "schema_style": "llama_cpp"}
    opts.update(kw)
    return OpenAICompatBackend("openai", base_url=server.base_url, model=server.model, **opts)  # type: ignore[arg-type]


async def test_streams_text_from_a_real_server(server: LlamaServerBackend) -> None:
    backend = client(server)
    try:
        deltas = [e.text async for e in backend.stream(HI) if isinstance(e, TextDelta)]
        health = await backend.health()
    finally:
        await backend.aclose()
    assert len(deltas) > 3
    assert "".join(deltas).strip()
    assert health.ok
    assert health.model == server.model


async def test_server_mode_backend_end_to_end(server: LlamaServerBackend) -> None:
    result = await collect(server, HI)
    assert result.text.strip()
    assert result.usage.output_tokens > 0
    assert result.usage.estimated  # llama.cpp's server reports no usage when streaming
    assert result.usage.input_tokens > 0  # so its /extras/tokenize/count counted the prompt
    assert server.modes.input_tokens == "/extras/tokenize/count"


async def test_constrained_tool_call_over_http(server: LlamaServerBackend) -> None:
    backend = client(server)
    request = ChatRequest(
        (Message.user("What's the weather in Lisbon?"),),
        tools=(WEATHER,),
        tool_choice="required",
        max_tokens=60,
    )
    try:
        result = await collect(backend, request)
    finally:
        await backend.aclose()
    assert result.tool_errors == []
    assert [c.name for c in result.tool_calls] == ["get_weather"]
    assert isinstance(result.tool_calls[0].arguments["city"], str)


async def test_rejected_request_is_a_typed_error(server: LlamaServerBackend) -> None:
    # llama.cpp's server does not know OpenAI's json_schema response_format; it answers 500
    # with a validation message, which must reach the user rather than a bare status.
    backend = client(server, schema_style="openai")
    request = HI.with_(constraint=JsonSchema({"type": "object"}))
    try:
        with pytest.raises(BackendResponseError) as info:
            await collect(backend, request)
    finally:
        await backend.aclose()
    assert info.value.status == 500
    assert "'text' or 'json_object'" in str(info.value)


async def test_dead_server_falls_back_to_the_live_one(server: LlamaServerBackend) -> None:
    dead = OpenAICompatBackend("dead", base_url=f"http://127.0.0.1:{free_port()}/v1", model="x")
    live = client(server)
    router = Router(
        {"dead": dead, "live": live}, {"main": ["dead", "live"]}, RouterConfig(retries=0)
    )
    try:
        with pytest.raises(BackendUnavailable, match="cannot connect"):
            await collect(dead, HI)
        result = await collect(router, HI)
    finally:
        await router.aclose()
    assert result.text.strip()
    route = [(d.backend, d.action) for d in result.route]
    assert route == [("dead", "chosen"), ("live", "fallback")]


async def test_cancelled_stream_leaves_the_server_serving(server: LlamaServerBackend) -> None:
    backend = client(server)
    long = ChatRequest((Message.user("Write a long story about a lighthouse."),), max_tokens=400)
    try:
        stream = backend.stream(long)
        seen = 0
        async for event in stream:
            seen += isinstance(event, TextDelta)
            if seen == 3:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        with anyio.fail_after(30):
            result = await collect(backend, HI)
    finally:
        await backend.aclose()
    assert result.text.strip()


async def test_sglang_backend_speaks_the_shared_openai_paths(
    server: LlamaServerBackend, tmp_path: Path
) -> None:
    cfg = SGLangConfig(base_url=server.base_url.removesuffix("/v1"), model=server.model)
    backend = SGLangBackend("sglang", cfg, log_dir=tmp_path)
    try:
        result = await collect(backend, HI)
    finally:
        await backend.aclose()
    assert result.text.strip()
    assert result.finish_reason in ("stop", "length")


async def test_server_mode_restarts_a_killed_server(tmp_path: Path) -> None:
    """The supervised llama_cpp.server is started again on the next call after it dies."""
    backend = LlamaServerBackend(
        "supervised", EmbeddedConfig(mode="server", n_threads=1, n_ctx=1024), log_dir=tmp_path
    )
    try:
        first = await collect(backend, HI)
        proc = backend.server.proc
        assert proc is not None
        proc.kill()
        proc.wait()
        assert not backend.server.running
        second = await collect(backend, HI)
        assert backend.server.running
        assert backend.server.proc is not proc
    finally:
        await backend.aclose()
    assert second.text == first.text  # same weights, greedy decoding
    assert not backend.server.running  # aclose stops the child process


async def test_concurrent_first_calls_start_one_server(tmp_path: Path) -> None:
    backend = LlamaServerBackend(
        "lazy", EmbeddedConfig(mode="server", n_threads=1, n_ctx=1024), log_dir=tmp_path
    )
    results: list[str] = []

    async def ask() -> None:
        results.append((await collect(backend, HI)).text)

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(ask)
    finally:
        await backend.aclose()
    assert len(results) == 3
    assert all(r.strip() for r in results)
    assert (tmp_path / "lazy.log").read_text().count("Uvicorn running") == 1
