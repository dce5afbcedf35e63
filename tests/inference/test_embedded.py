"""The embedded backend against the real SmolLM2-135M model on llama.cpp (no fakes)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import jsonschema
import pytest

from inference import (
    BackendResponseError,
    ChatRequest,
    JsonSchema,
    Message,
    ModelNotFound,
    TextDelta,
    collect,
)
from inference.backends.embedded import EmbeddedBackend, resolve_model_path
from inference.backends.llama_server import ABORTED_LINE, LlamaServerBackend
from inference.config import EmbeddedConfig
from tests.inference.sample_tools import WEATHER

pytestmark = [pytest.mark.anyio, pytest.mark.realmodel]


def make_backend(**kw: object) -> EmbeddedBackend:
    cfg = EmbeddedConfig(**kw)  # threads chosen from the free cores, as by default
    return EmbeddedBackend.from_config("local", cfg)


async def test_streams_real_text_with_usage() -> None:
    backend = make_backend()
    request = ChatRequest((Message.user("Name three colours of the rainbow."),), max_tokens=40)
    deltas: list[str] = []
    result = None
    try:
        async for event in backend.stream(request):
            if isinstance(event, TextDelta):
                deltas.append(event.text)
        result = await collect(backend, request)
    finally:
        await backend.aclose()
    assert len(deltas) > 5, "expected a token-by-token stream"
    assert "".join(deltas).strip()
    assert result.text == "".join(deltas)  # temperature 0: deterministic
    u = result.usage
    assert u.input_tokens > 10
    assert 0 < u.output_tokens <= 40
    assert u.model_version.startswith("SmolLM2-135M-Instruct")
    assert result.finish_reason in ("stop", "length")


async def test_constrained_tool_call_parses() -> None:
    backend = make_backend()
    request = ChatRequest(
        (Message.user("What is the weather like in Paris today?"),),
        tools=(WEATHER,),
        tool_choice="required",
        max_tokens=60,
    )
    try:
        result = await collect(backend, request)
    finally:
        await backend.aclose()
    assert result.tool_errors == []
    assert len(result.tool_calls) == 1
    call = result.tool_calls[0]
    assert call.name == "get_weather"
    jsonschema.validate(call.arguments, WEATHER.parameters)
    assert result.finish_reason == "tool_calls"


async def test_auto_tool_choice_yields_a_call_or_an_answer_never_garbage() -> None:
    backend = make_backend()
    try:
        for prompt in ("Hello! How are you?", "Check the weather in Oslo for me."):
            request = ChatRequest((Message.user(prompt),), tools=(WEATHER,), max_tokens=80)
            result = await collect(backend, request)
            assert result.tool_errors == [], prompt
            assert bool(result.tool_calls) != bool(result.text.strip()), prompt
    finally:
        await backend.aclose()


async def test_json_schema_constraint() -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "maxLength": 20}, "hex": {"type": "boolean"}},
        "required": ["colour", "hex"],
        "additionalProperties": False,
    }
    backend = make_backend()
    request = ChatRequest(
        (Message.user("Pick a colour."),), constraint=JsonSchema(schema), max_tokens=60
    )
    try:
        result = await collect(backend, request)
    finally:
        await backend.aclose()
    jsonschema.validate(json.loads(result.text), schema)


async def test_closing_the_stream_stops_generation() -> None:
    backend = make_backend()
    request = ChatRequest(
        (Message.user("Write a very long story about a dragon."),), max_tokens=400
    )
    seen = 0
    stream = backend.stream(request)
    try:
        async for event in stream:
            if isinstance(event, TextDelta):
                seen += 1
                if seen == 5:
                    break
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        await backend.aclose()
    # Generation stops within a token or two of the close, far short of max_tokens (counted,
    # not timed: speed belongs in the benchmarks)
    assert backend.generated_tokens_last_call <= 8


async def test_a_cut_while_the_prompt_is_evaluated_aborts_llama_cpp() -> None:
    """A long prompt takes seconds to evaluate on two cores; cancelling the call aborts
    llama.cpp inside that evaluation (counted, not timed), the cut call's usage counts the
    prompt batches it evaluated, and the model answers the next call as before."""
    backend = make_backend()
    short = ChatRequest((Message.user("Name a colour."),), max_tokens=12, seed=7)
    long = ChatRequest((Message.user("word " * 2000),), max_tokens=20)  # ~2000 tokens
    try:
        before = await collect(backend, short)
        with anyio.move_on_after(0.2):
            await collect(backend, long)
        cut = backend.last_call
        after = await collect(backend, short)
    finally:
        await backend.aclose()
    assert cut.cut == "prefill"
    assert cut.aborted, "llama.cpp's abort flag should have stopped the decode"
    assert cut.output_tokens == 0
    assert cut.input_tokens < 2000  # fewer batches decoded than the prompt needs
    assert after.text == before.text
    assert after.usage.output_tokens == before.usage.output_tokens


async def test_a_served_model_aborts_the_decode_of_a_client_gone(tmp_path: Path) -> None:
    """The same weights behind ``llama_cpp.server``: a call cut while the server evaluates a
    long prompt aborts the server's decode too (its log says so; counted, not timed), so the
    next call does not wait behind it, and gets the answer it got before."""
    backend = LlamaServerBackend("served", EmbeddedConfig(), log_dir=tmp_path)
    short = ChatRequest((Message.user("Name a colour."),), max_tokens=12, seed=7)
    long = ChatRequest((Message.user("word " * 2000),), max_tokens=20)
    try:
        before = await collect(backend, short)
        with anyio.move_on_after(0.5):
            await collect(backend, long)
        after = await collect(backend, short)
    finally:
        await backend.aclose()
    assert ABORTED_LINE in backend.server.log_path.read_text()
    assert after.text == before.text


async def test_prompt_longer_than_context_is_a_clear_error() -> None:
    backend = make_backend(n_ctx=256)
    request = ChatRequest((Message.user("word " * 2000),), max_tokens=10)
    try:
        with pytest.raises(BackendResponseError, match=r"(?i)context|tokens"):
            await collect(backend, request)
        # The backend is still usable after the error.
        ok = await collect(backend, ChatRequest((Message.user("Hi"),), max_tokens=5))
    finally:
        await backend.aclose()
    assert ok.text


def test_missing_model_package_says_what_to_install() -> None:
    with pytest.raises(ModelNotFound, match="pip install no-such-model"):
        resolve_model_path(EmbeddedConfig(model_package="no_such_model"))
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve_model_path(EmbeddedConfig(model_path="/nonexistent/model.gguf"))


async def test_concurrent_callers_share_the_model_safely() -> None:
    """Agents sharing one embedded model: calls queue on the model, a cancelled caller does
    not disturb the others, and each gets the reply it would get alone."""
    backend = make_backend()
    prompts = ["Say hi.", "Name a fruit.", "Name a planet.", "Count to three."]
    try:
        alone = {p: (await collect(backend, _short(p))).text for p in prompts}
        together: dict[str, str] = {}

        async def ask(prompt: str) -> None:
            together[prompt] = (await collect(backend, _short(prompt))).text

        async def ask_and_give_up() -> None:
            with anyio.move_on_after(0.2):
                await collect(backend, _short("Write a long poem about the sea.", 300))

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask_and_give_up)
            for p in prompts:
                tg.start_soon(ask, p)
    finally:
        await backend.aclose()
    assert together == alone


def _short(prompt: str, max_tokens: int = 16) -> ChatRequest:
    return ChatRequest((Message.user(prompt),), max_tokens=max_tokens)
