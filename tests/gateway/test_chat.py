"""OpenAI's wire shapes on the gateway side: a token's chunk, built without the JSON encoder,
is the chunk the encoder would build, for any text; a body that is not JSON says so."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.chat import BadChatRequest, Completion, parse_body


def encoded(reply: Completion, delta: dict[str, object], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    whole = {
        "id": reply.id,
        "object": "chat.completion.chunk",
        "created": reply.created,
        "model": reply.model,
        "choices": [choice],
    }
    return b"data: " + json.dumps(whole, separators=(",", ":")).encode() + b"\n\n"


@given(st.text())
def test_a_token_chunk_is_what_the_encoder_makes(text: str) -> None:
    reply = Completion("agenthost")
    chunk = reply.chunk({"content": text})
    assert chunk == encoded(reply, {"content": text})
    assert json.loads(chunk.removeprefix(b"data: "))["choices"][0]["delta"]["content"] == text


def test_the_other_chunks_keep_their_shape() -> None:
    reply = Completion('a "quoted" model')
    assert reply.chunk({"role": "assistant", "content": ""}) == encoded(
        reply, {"role": "assistant", "content": ""}
    )
    assert reply.chunk({}, "stop") == encoded(reply, {}, "stop")
    assert reply.chunk({}, "cancelled") == encoded(reply, {}, "stop")
    usage = json.loads(reply.chunk({}, usage={"total_tokens": 3}).removeprefix(b"data: "))
    assert usage["choices"] == []
    assert usage["usage"] == {"total_tokens": 3}


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe"])
def test_a_body_that_is_not_json_says_so(raw: bytes) -> None:
    with pytest.raises(BadChatRequest, match="the body is not JSON"):
        parse_body(raw)


def test_a_body_of_the_wrong_shape_names_the_field() -> None:
    with pytest.raises(BadChatRequest) as bad:
        parse_body(b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": -5}')
    assert bad.value.param == "max_tokens"
