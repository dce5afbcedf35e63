"""Tokens/s through agenthost vs the raw runtime, measured in the same run.

Two paths, each against its floor (the bare library call with nothing of ours around it):

1. in process: ``llama_cpp.Llama.create_chat_completion(stream=True)``  vs  agenthost's
   router → metering → embedded backend (thread → event-loop hand-off per token);
2. over HTTP to a local ``llama_cpp.server``: a bare ``httpx`` SSE loop  vs  agenthost's
   OpenAI-compatible backend behind the router, and the ``openai`` SDK (what users would
   otherwise pick) as a peer.

Runs are interleaved (floor, ours, peer, floor, ...) and the median taken, because these
machines are noisy. Greedy decoding on the same prompt makes every run produce the same
tokens, so the only difference is the code around the model.

    python benchmarks/inference_overhead.py [--tokens 128] [--runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx

from inference import ChatRequest, Message, TextDelta
from inference.backends.llama_server import LlamaServerBackend
from inference.backends.openai_compat import OpenAICompatBackend
from inference.config import EmbeddedConfig, InferenceConfig
from inference.registry import build_router
from inference.router import Router

PROMPT = "Write a long, detailed story about a lighthouse keeper and a storm."


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    tokens = fn()
    return time.perf_counter() - start, tokens


# ---- path 1: in process ---------------------------------------------------------------


def raw_llama(llama: Any, n: int) -> int:
    tokens = 0
    for chunk in llama.create_chat_completion(
        [{"role": "user", "content": PROMPT}], stream=True, max_tokens=n, temperature=0.0, seed=0
    ):
        if chunk["choices"][0]["delta"].get("content"):
            tokens += 1
    return tokens


async def through_router(router: Router, n: int) -> int:
    request = ChatRequest((Message.user(PROMPT),), max_tokens=n, temperature=0.0, seed=0)
    return sum([isinstance(e, TextDelta) async for e in router.stream(request)])


# ---- path 2: over HTTP ----------------------------------------------------------------


def raw_http(base_url: str, model: str, n: int) -> int:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "max_tokens": n,
        "temperature": 0.0,
        "seed": 0,
    }
    tokens = 0
    with httpx.stream("POST", f"{base_url}/chat/completions", json=body, timeout=120) as r:
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                choice = json.loads(line[6:])["choices"]
                if choice and choice[0]["delta"].get("content"):
                    tokens += 1
    return tokens


def openai_sdk(client: Any, model: str, n: int) -> int:
    tokens = 0
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        max_tokens=n,
        temperature=0.0,
        seed=0,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            tokens += 1
    return tokens


def median_rate(samples: list[tuple[float, int]]) -> tuple[float, float, int]:
    secs = statistics.median(s for s, _ in samples)
    tokens = samples[0][1]
    return tokens / secs, secs, tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tokens", type=int, default=128, help="tokens generated per run")
    ap.add_argument("--runs", type=int, default=5, help="runs per contender (median reported)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    n, runs = args.tokens, args.runs
    rows: list[dict[str, Any]] = []

    # ---- in process
    from llama_cpp import Llama

    from inference.backends.embedded import resolve_model_path

    embedded = EmbeddedConfig(n_threads=args.threads, n_ctx=2048)
    path = resolve_model_path(embedded)
    llama = Llama(
        model_path=str(path),
        n_ctx=2048,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        seed=0,
        verbose=False,
    )
    logs = Path(tempfile.mkdtemp(prefix="agenthost-bench-"))
    config = InferenceConfig(backends={"local": embedded}, tiers={"main": ["local"]})
    router = build_router(config, logs)

    raw1: list[tuple[float, int]] = []
    ours1: list[tuple[float, int]] = []
    raw_llama(llama, 8)  # warm-up: page in weights, build caches
    anyio.run(through_router, router, 8)
    for _ in range(runs):
        raw1.append(timed(lambda: raw_llama(llama, n)))
        ours1.append(timed(lambda: anyio.run(through_router, router, n)))
    anyio.run(router.aclose)
    llama.close()
    rows += summarize("in-process llama.cpp", raw1, {"agenthost embedded": ours1})

    # ---- over HTTP
    server = LlamaServerBackend(
        "bench", EmbeddedConfig(mode="server", n_threads=args.threads, n_ctx=2048), log_dir=logs
    )
    anyio.run(server.server.start)
    try:
        ours_backend = OpenAICompatBackend(
            "http", base_url=server.base_url, model=server.model, usage_in_stream=False
        )
        http_router = Router({"http": ours_backend}, {"main": ["http"]})
        import openai

        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        raw2: list[tuple[float, int]] = []
        ours2: list[tuple[float, int]] = []
        sdk2: list[tuple[float, int]] = []
        raw_http(server.base_url, server.model, 8)
        for _ in range(runs):
            raw2.append(timed(lambda: raw_http(server.base_url, server.model, n)))
            ours2.append(timed(lambda: anyio.run(through_router, http_router, n)))
            sdk2.append(timed(lambda: openai_sdk(client, server.model, n)))
        anyio.run(http_router.aclose)
        rows += summarize(
            "llama_cpp.server, bare httpx SSE",
            raw2,
            {"agenthost openai-compat": ours2, "openai SDK (peer)": sdk2},
        )
    finally:
        anyio.run(server.server.stop)

    print(f"\nmodel: {path.name}; {n} tokens/run, median of {runs}; threads: {args.threads}\n")
    print("| path | contender | tokens/s | s/run | ratio vs floor | overhead ms/run |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['path']} | {r['contender']} | {r['tokens_per_s']:.1f} | {r['seconds']:.3f} "
            f"| {r['ratio']:.3f} | {r['overhead_ms']:+.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def summarize(
    path: str, floor: list[tuple[float, int]], others: dict[str, list[tuple[float, int]]]
) -> list[dict[str, Any]]:
    f_rate, f_secs, f_tokens = median_rate(floor)
    out = [
        {
            "path": path,
            "contender": "floor (raw)",
            "tokens_per_s": f_rate,
            "seconds": f_secs,
            "tokens": f_tokens,
            "ratio": 1.0,
            "overhead_ms": 0.0,
        }
    ]
    for name, samples in others.items():
        rate, secs, tokens = median_rate(samples)
        if tokens != f_tokens:
            print(f"warning: {name} produced {tokens} tokens, floor {f_tokens}", file=sys.stderr)
        out.append(
            {
                "path": path,
                "contender": name,
                "tokens_per_s": rate,
                "seconds": secs,
                "tokens": tokens,
                "ratio": rate / f_rate,
                "overhead_ms": (secs - f_secs) * 1000,
            }
        )
    return out


if __name__ == "__main__":
    main()
