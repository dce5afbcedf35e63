"""Tokens/s through agenthost vs the raw runtime, measured in the same run.

Three paths, each against its floor (the bare library call with nothing of ours around it):

1. in process: ``llama_cpp.Llama.create_chat_completion(stream=True)``  vs  agenthost's
   router → metering → embedded backend (thread → event-loop hand-off per token);
2. over HTTP to a local ``llama_cpp.server``: a bare ``httpx`` SSE loop  vs  agenthost's
   OpenAI-compatible backend behind the router, and the ``openai`` SDK (what users would
   otherwise pick) as a peer.

3. a busy machine: a CPU-bound competitor process (started here, pinned to one core) runs
   while raw llama.cpp is timed at every thread count from 1 to the cores, and agenthost's
   embedded backend with its default thread choice (``inference.threads``); the floor is the
   best raw thread count found in the same run.

Runs are interleaved (floor, ours, peer, floor, ...) and the median taken, because these
machines are noisy. Greedy decoding on the same prompt makes every run produce the same
tokens, so the only difference is the code around the model. The load average is printed
with the table: a number from a machine busy with other work is not an idle machine's.

``--parallel`` adds whole-process timings (not in the default run: minutes): three
``agenthost run`` processes on the README task one after another vs all three at once, with
the default thread choice and with ``n_threads`` fixed to all cores (the old default).

    python benchmarks/inference_overhead.py [--tokens 128] [--runs 5] [--json out.json]
        [--only inprocess,http,busy] [--busy-tokens 32] [--busy-runs 3] [--parallel]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
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
from inference.threads import usable_cpus

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
    ap.add_argument(
        "--only", default="inprocess,http,busy", help="sections to run (comma-separated)"
    )
    ap.add_argument("--busy-tokens", type=int, default=32, help="tokens per busy-machine run")
    ap.add_argument("--busy-runs", type=int, default=3, help="runs per busy-machine contender")
    ap.add_argument("--parallel", action="store_true", help="also time 3 agenthost runs")
    args = ap.parse_args()
    sections = set(args.only.split(","))
    n, runs = args.tokens, args.runs
    rows: list[dict[str, Any]] = []
    from inference.backends.embedded import resolve_model_path

    path = resolve_model_path(EmbeddedConfig())
    logs = Path(tempfile.mkdtemp(prefix="agenthost-bench-"))
    print(f"load before: {load()}", file=sys.stderr)
    if "inprocess" in sections:
        rows += in_process(path, logs, n, runs, args.threads)
    if "http" in sections:
        rows += over_http(logs, n, runs, args.threads)
    if "busy" in sections:
        rows += busy_machine(path, logs, args.busy_tokens, args.busy_runs)
    print(f"\nmodel: {path.name}; median of runs; load after: {load()}\n")
    print("| path | contender | tokens | tokens/s | s/run | ratio vs floor | overhead ms/run |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['path']} | {r['contender']} | {r['tokens']} | {r['tokens_per_s']:.1f} "
            f"| {r['seconds']:.3f} | {r['ratio']:.3f} | {r['overhead_ms']:+.1f} |"
        )
    if args.parallel:
        par = parallel_runs(3, max(1, runs // 2))
        rows += par
        print(f"\n3 x `agenthost run` on the README task; median of runs; load: {load()}\n")
        print("| threads | one after another, s | all at once, s | at once / after |")
        print("|---|---:|---:|---:|")
        for r in par:
            print(
                f"| {r['contender']} | {r['sequential_s']:.1f} | {r['parallel_s']:.1f} "
                f"| {r['ratio']:.2f} |"
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def in_process(path: Path, logs: Path, n: int, runs: int, threads: int) -> list[dict[str, Any]]:
    from llama_cpp import Llama

    embedded = EmbeddedConfig(n_threads=threads, n_ctx=2048)
    llama = Llama(
        model_path=str(path),
        n_ctx=2048,
        n_threads=threads,
        n_threads_batch=threads,
        seed=0,
        verbose=False,
    )
    router = embedded_router(embedded, logs)
    auto = embedded_router(EmbeddedConfig(n_ctx=2048), logs)  # the default: threads chosen

    raw1: list[tuple[float, int]] = []
    ours1: list[tuple[float, int]] = []
    auto1: list[tuple[float, int]] = []
    raw_llama(llama, 8)  # warm-up: page in weights, build caches
    anyio.run(through_router, router, 8)
    anyio.run(through_router, auto, 8)
    for _ in range(runs):
        raw1.append(timed(lambda: raw_llama(llama, n)))
        ours1.append(timed(lambda: anyio.run(through_router, router, n)))
        auto1.append(timed(lambda: anyio.run(through_router, auto, n)))
    anyio.run(router.aclose)
    anyio.run(auto.aclose)
    llama.close()
    return summarize(
        f"in-process llama.cpp, {threads} threads",
        raw1,
        {f"agenthost embedded, n_threads={threads}": ours1, "agenthost embedded, default": auto1},
    )


def embedded_router(cfg: EmbeddedConfig, logs: Path) -> Router:
    return build_router(InferenceConfig(backends={"local": cfg}, tiers={"main": ["local"]}), logs)


def over_http(logs: Path, n: int, runs: int, threads: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    server = LlamaServerBackend(
        "bench", EmbeddedConfig(mode="server", n_threads=threads, n_ctx=2048), log_dir=logs
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
    return rows


# ---- path 3: a busy machine -----------------------------------------------------------

COMPETITOR = """
import os, sys
try:
    os.sched_setaffinity(0, {int(sys.argv[1])})
except (AttributeError, OSError):
    pass
while True:
    pass
"""


def start_competitor(cpu: int) -> subprocess.Popen[bytes]:
    """A CPU-bound process pinned to ``cpu`` (a core it stays off only if pinning fails)."""
    proc = subprocess.Popen([sys.executable, "-c", COMPETITOR, str(cpu)])
    time.sleep(0.5)  # let it start spinning (and the load show)
    return proc


def busy_machine(path: Path, logs: Path, n: int, runs: int) -> list[dict[str, Any]]:
    """Raw llama.cpp at every thread count vs agenthost's default, next to a competitor."""
    import llama_cpp

    cpus = sorted(usable_cpus())
    settings = list(range(1, len(cpus) + 1))
    llama = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=2048,
        n_threads=len(cpus),
        n_threads_batch=len(cpus),
        seed=0,
        verbose=False,
    )
    router = embedded_router(EmbeddedConfig(n_ctx=2048), logs)

    def raw_at(threads: int) -> int:
        llama._ctx.set_n_threads(threads, threads)
        return raw_llama(llama, n)

    raw: dict[int, list[tuple[float, int]]] = {t: [] for t in settings}
    ours: list[tuple[float, int]] = []
    competitor = start_competitor(cpus[0])
    try:
        print(f"busy machine: competitor on cpu {cpus[0]}, load {load()}", file=sys.stderr)
        llama._ctx.set_n_threads(1, 1)
        raw_llama(llama, 4)  # warm-up
        anyio.run(through_router, router, 4)
        for _ in range(runs):
            for t in settings:
                raw[t].append(timed(functools.partial(raw_at, t)))
            ours.append(timed(lambda: anyio.run(through_router, router, n)))
    finally:
        competitor.kill()
        competitor.wait()
        anyio.run(router.aclose)
        llama.close()
    best = max(settings, key=lambda t: median_rate(raw[t])[0])
    others = {f"raw llama.cpp, {t} threads": raw[t] for t in settings if t != best}
    others["agenthost embedded, default"] = ours
    return summarize(
        f"busy machine (1 core taken), best raw = {best} threads",
        raw[best],
        others,
        floor_name=f"floor: raw llama.cpp, {best} threads",
    )


# ---- whole processes: parallel agenthost runs ------------------------------------------

TASK = "What is the current time in the Europe/Paris timezone?"


def parallel_runs(processes: int, runs: int) -> list[dict[str, Any]]:
    """``processes`` agenthost runs one after another vs all at once, interleaved."""
    exe = Path(sys.executable).with_name("agenthost")
    argv = [str(exe), "run", TASK, "--require-tool", "--tool", "time__get_current_time"]
    home = Path(tempfile.mkdtemp(prefix="agenthost-bench-home-"))
    variants = {
        "default (chosen per call)": {},
        f"n_threads={os.cpu_count()} (old default)": {
            "AGENTHOST_INFERENCE__BACKENDS__LOCAL__N_THREADS": str(os.cpu_count() or 2)
        },
    }

    def batch(extra: dict[str, str], at_once: bool) -> float:
        env = {**os.environ, "AGENTHOST_HOME": str(home), **extra}
        start = time.perf_counter()
        if at_once:
            procs = [subprocess.Popen(argv, env=env, **QUIET) for _ in range(processes)]
            codes = [p.wait() for p in procs]
        else:
            codes = [
                subprocess.run(argv, env=env, check=False, **QUIET).returncode
                for _ in range(processes)
            ]
        if any(codes):
            print(f"warning: exit codes {codes}", file=sys.stderr)
        return time.perf_counter() - start

    subprocess.run(argv, env={**os.environ, "AGENTHOST_HOME": str(home)}, check=False, **QUIET)
    samples: dict[str, dict[bool, list[float]]] = {k: {False: [], True: []} for k in variants}
    for _ in range(runs):
        for name, extra in variants.items():
            for at_once in (False, True):
                samples[name][at_once].append(batch(extra, at_once))
    out = []
    for name in variants:
        seq = statistics.median(samples[name][False])
        par = statistics.median(samples[name][True])
        out.append(
            {
                "path": f"{processes} agenthost run processes",
                "contender": name,
                "sequential_s": seq,
                "parallel_s": par,
                "ratio": par / seq,
                "samples": samples[name],
            }
        )
    return out


QUIET: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def summarize(
    path: str,
    floor: list[tuple[float, int]],
    others: dict[str, list[tuple[float, int]]],
    *,
    floor_name: str = "floor (raw)",
) -> list[dict[str, Any]]:
    f_rate, f_secs, f_tokens = median_rate(floor)
    out = [
        {
            "path": path,
            "contender": floor_name,
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
