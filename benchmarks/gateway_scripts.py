"""Scripted models and the request mix for ``benchmarks/gateway.py``, loaded from config
(``script = "benchmarks.gateway_scripts:production"``, with the repo root on PYTHONPATH).

The mix is production-like: 80 % short chats (~50 tokens in, ~30 out) and 20 % long ones
(~2000 in, ~300 out), sizes spread log-normally around those medians. A reply's length is a
function of the prompt alone (a hash of it seeds the draw), so the direct router call and
the call through the gateway produce the same tokens for the same request.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from inference import ChatRequest
from inference.backends.scripted import Turn

CHARS_PER_TOKEN = 4  # what the scripted backend and the gateway's estimate count
LONG_SHARE = 0.2
SPREAD = 0.4  # sigma of the log-normal: most sizes within about 0.5x-2x of the median
STEADY_TOKENS = 20  # the queue section's reply: token_delay_s x 20 is how long a slot is held
WORDS = ("the", "tide", "rises", "and", "falls", "along", "a", "quiet", "shore", "while",
         "the", "keeper", "logs", "wind", "rain", "and", "light", "in", "a", "lamp")  # fmt: skip


@dataclass(frozen=True)
class Shape:
    """Median prompt and reply sizes of one kind of request, in tokens."""

    name: str
    prompt_tokens: int
    reply_tokens: int
    reply_max: int


SHORT = Shape("short", 50, 30, 200)
LONG = Shape("long", 2000, 300, 1000)
LONG_FROM_CHARS = 500 * CHARS_PER_TOKEN  # a prompt this long is of the long kind


@dataclass(frozen=True)
class Prompt:
    text: str
    shape: Shape
    reply_tokens: int  # what ``production`` answers it with


def _spread(rng: random.Random, median: int, low: int, high: int) -> int:
    return min(high, max(low, round(median * math.exp(rng.gauss(0.0, SPREAD)))))


def _words(n: int, start: int = 0) -> str:
    return " ".join(itertools.islice(itertools.cycle(WORDS), start, start + n))


def reply_tokens(prompt: str) -> int:
    """How many tokens ``production`` answers ``prompt`` with: drawn from the prompt's
    kind, seeded by a hash of the prompt, so every call with it gives the same number."""
    seed = int.from_bytes(hashlib.blake2b(prompt.encode(), digest_size=8).digest(), "big")
    shape = LONG if len(prompt) >= LONG_FROM_CHARS else SHORT
    return _spread(random.Random(seed), shape.reply_tokens, 5, shape.reply_max)


def prompts(n: int, seed: int = 0) -> list[Prompt]:
    """``n`` distinct prompts of the production mix (the same ones for the same seed)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        shape = LONG if rng.random() < LONG_SHARE else SHORT
        low = LONG_FROM_CHARS // CHARS_PER_TOKEN if shape is LONG else 8
        high = shape.prompt_tokens * 4 if shape is LONG else LONG_FROM_CHARS // CHARS_PER_TOKEN - 1
        tokens = _spread(rng, shape.prompt_tokens, low, high)
        # a word of WORDS is ~4.5 characters with its space: about one token each
        text = f"request {seed}-{i}: " + _words(tokens, start=i)
        text = text[: tokens * CHARS_PER_TOKEN]
        out.append(Prompt(text, shape, reply_tokens(text)))
    return out


def _last_user(request: ChatRequest) -> str:
    return next((m.content for m in reversed(request.messages) if m.role == "user"), "")


def production(request: ChatRequest) -> Turn:
    """A reply of the production mix's length for the request's last user message."""
    return Turn(_words(reply_tokens(_last_user(request))))


def steady(request: ChatRequest) -> Turn:
    """Always ``STEADY_TOKENS`` tokens: with the backend's token_delay_s, a fixed slot hold."""
    return Turn(_words(STEADY_TOKENS))


# ---- the HTTP floor ---------------------------------------------------------------------

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_HEAD = b'data: {"id":"chatcmpl-0","object":"chat.completion.chunk","created":0,"model":"agenthost"'
_DELTA = b',"choices":[{"index":0,"delta":{"content":"'
_TAIL = b'"},"finish_reason":null}]}\n\n'
_ROLE = _HEAD + _DELTA.replace(b'"content"', b'"role":"assistant","content"') + _TAIL
_FINISH = _HEAD + b',"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
_DONE = b"data: [DONE]\n\n"


ROUTER_CONFIG = "AGENTHOST_BENCH_BARE_CONFIG"  # the toml whose [inference] the floor serves
_router: list[Any] = []  # the floor's router, made at its lifespan's start


async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The HTTP floor (``python -m uvicorn benchmarks.gateway_scripts:bare_app``): a direct
    router call behind uvicorn and nothing else. The router is built from the ``[inference]``
    of the toml named by ``$AGENTHOST_BENCH_BARE_CONFIG`` (the gateway's own), and a
    chat-completions body is answered with the bytes the gateway would send for its tokens
    (the same chunks, one ``http.response.body`` message each, or the one JSON): no key,
    limit, queue, guardrail or bookkeeping. So the floor minus a direct call is what uvicorn,
    h11 and the client cost, and a gateway minus the floor is what the gateway adds over
    HTTP."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/healthz":
        await _answer(send, b"application/json", b'{"status":"ok"}')
        return
    from inference import ChatRequest, Message, TextDelta
    from inference.backend import collect

    data = json.loads(body)
    request = ChatRequest(
        (Message.user(data["messages"][-1]["content"]),), max_tokens=data["max_tokens"]
    )
    router = _router[0]
    if not data.get("stream"):
        result = await collect(router, request)
        reply = {
            "id": "chatcmpl-0",
            "object": "chat.completion",
            "created": 0,
            "model": "agenthost",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text},
                    "finish_reason": "stop",
                }
            ],
        }
        await _answer(send, b"application/json", json.dumps(reply).encode())
        return
    start = {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"text/event-stream")]}  # fmt: skip
    await send(start)
    await send({"type": "http.response.body", "body": _ROLE, "more_body": True})
    async for event in router.stream(request):
        if isinstance(event, TextDelta):
            token = json.dumps(event.text)[1:-1].encode()
            chunk = _HEAD + _DELTA + token + _TAIL
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    for last in (_FINISH, _DONE):
        await send({"type": "http.response.body", "body": last, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def _build_router() -> Any:
    """The floor's router, from the ``[inference]`` of ``$AGENTHOST_BENCH_BARE_CONFIG``."""
    import os
    import tempfile
    import tomllib
    from pathlib import Path

    from inference.config import InferenceConfig
    from inference.registry import build_router

    toml = tomllib.loads(Path(os.environ[ROUTER_CONFIG]).read_text())
    config = InferenceConfig.model_validate(toml["inference"])
    return build_router(config, Path(tempfile.mkdtemp()))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        kind = message["type"].removeprefix("lifespan.")
        if kind == "startup":
            _router.append(_build_router())  # once, before any request
        elif kind == "shutdown" and _router:
            await _router.pop().aclose()
        await send({"type": f"lifespan.{kind}.complete"})
        if kind == "shutdown":
            return


async def _answer(send: Send, content_type: bytes, body: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
