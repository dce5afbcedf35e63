"""Tool-call accuracy: agenthost's constrained path beside raw llama-cpp-python, same cases.

    python -m evals.toolcalls.run [--cases 80] [--json out.json] [--auto]

Both paths run the same SmolLM2 weights, greedy, on every case of ``evals.toolcalls.cases``,
interleaved case by case (so a busy machine slows both alike):

- **agenthost**: the real ``EmbeddedBackend`` with ``ChatRequest(tools=..., tool_choice=
  "required")``, as an agent's tool-calling turn uses it (``--auto`` adds a row with
  ``tool_choice="auto"``, where the model may answer instead of calling);
- **raw llama-cpp-python**: ``Llama.create_chat_completion`` with the functions described in
  the system prompt (their JSON definitions) and ``response_format={"type": "json_object",
  "schema": ...}``, the schema allowing exactly ``{"name": <one of them>, "arguments": <its
  parameters>}``.

Calls are scored AST-style (``evals.toolcalls.scoring``). Prints one markdown table
(single / multiple / all, accuracy, ms per case) and the failure reasons; ``--json`` writes
every case's call and verdict.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from evals.toolcalls.cases import CASES, Case
from evals.toolcalls.scoring import Verdict, score_call
from inference import ChatRequest, Message, collect
from inference.backends.embedded import EmbeddedBackend, resolve_model_path
from inference.config import EmbeddedConfig
from inference.types import ToolChoice, ToolSpec

MAX_TOKENS = 128


@dataclass
class Outcome:
    case: str
    category: str
    name: str | None
    arguments: Any
    verdict: Verdict
    ms: float
    raw: str = ""


@dataclass
class PathResult:
    path: str
    outcomes: list[Outcome] = field(default_factory=list)

    def accuracy(self, category: str | None = None) -> tuple[int, int]:
        chosen = [o for o in self.outcomes if category is None or o.category == category]
        return sum(o.verdict.ok for o in chosen), len(chosen)

    def ms_per_case(self) -> float:
        return statistics.mean(o.ms for o in self.outcomes) if self.outcomes else 0.0


# ---- raw llama-cpp-python -------------------------------------------------------------


def raw_system_prompt(tools: Sequence[ToolSpec]) -> str:
    functions = [
        {"name": t.name, "description": t.description, "parameters": t.parameters} for t in tools
    ]
    return (
        "You are a helpful assistant that calls functions. You have access to these "
        f"functions:\n{json.dumps(functions)}\n"
        'Reply with a JSON object {"name": <function name>, "arguments": <object of '
        "arguments>} that calls the function answering the user's request."
    )


def raw_schema(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    branches = [
        {
            "type": "object",
            "properties": {"name": {"const": t.name}, "arguments": t.parameters},
            "required": ["name", "arguments"],
        }
        for t in tools
    ]
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def raw_call(llama: Any, case: Case) -> tuple[str | None, Any, str]:
    reply = llama.create_chat_completion(
        [
            {"role": "system", "content": raw_system_prompt(case.tools)},
            {"role": "user", "content": case.prompt},
        ],
        response_format={"type": "json_object", "schema": raw_schema(case.tools)},
        max_tokens=MAX_TOKENS,
        temperature=0.0,
        seed=0,
    )
    text = reply["choices"][0]["message"]["content"] or ""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None, None, text
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None, None, text
    return obj["name"], obj.get("arguments"), text


# ---- agenthost ------------------------------------------------------------------------


async def agenthost_call(
    backend: EmbeddedBackend, case: Case, choice: ToolChoice
) -> tuple[str | None, Any, str]:
    request = ChatRequest(
        (Message.user(case.prompt),),
        tools=case.tools,
        tool_choice=choice,
        max_tokens=MAX_TOKENS,
        temperature=0.0,
        seed=0,
    )
    result = await collect(backend, request)
    if result.tool_calls:
        call = result.tool_calls[0]
        return call.name, call.arguments, json.dumps(call.arguments)
    if result.tool_errors:
        error = result.tool_errors[0]
        return None, None, f"{error.kind}: {error.message} {error.raw[:120]}"
    return None, None, f"answer: {result.text[:120]}"


# ---- the run --------------------------------------------------------------------------


async def run_eval(
    cases: Sequence[Case],
    *,
    auto: bool = False,
    n_threads: int | None = None,
    progress: bool = True,
) -> list[PathResult]:
    """Run every case on each path, interleaved; return one result per path."""
    from llama_cpp import Llama

    cfg = EmbeddedConfig(n_ctx=2048, n_threads=n_threads)
    # One model instance per path: llama.cpp reuses the KV cache of the previous prompt's
    # common prefix, which shifts the numbers slightly, so each path sees only its own history.
    backend = EmbeddedBackend.from_config("local", cfg)
    backend_auto = EmbeddedBackend.from_config("auto", cfg)
    llama = Llama(
        model_path=str(resolve_model_path(cfg)),
        n_ctx=2048,
        n_threads=backend.n_threads,
        n_threads_batch=backend.n_threads,
        seed=0,
        verbose=False,
    )
    ours = PathResult("agenthost (tool_choice=required)")
    ours_auto = PathResult("agenthost (tool_choice=auto)")
    raw = PathResult("raw llama-cpp-python (json_object + schema)")
    try:
        for i, case in enumerate(cases, 1):
            start = time.perf_counter()
            got = await agenthost_call(backend, case, "required")
            ours.outcomes.append(_outcome(case, got, start))
            if auto:
                start = time.perf_counter()
                got = await agenthost_call(backend_auto, case, "auto")
                ours_auto.outcomes.append(_outcome(case, got, start))
            # the raw runtime gets the thread count our policy chose, so ms/case compare
            llama._ctx.set_n_threads(backend.n_threads, backend.n_threads)
            start = time.perf_counter()
            got = await anyio.to_thread.run_sync(raw_call, llama, case)
            raw.outcomes.append(_outcome(case, got, start))
            if progress:
                marks = "".join(
                    "." if r.outcomes[-1].verdict.ok else "x"
                    for r in (ours, *([ours_auto] if auto else []), raw)
                )
                print(f"{i:3d}/{len(cases)} {case.id} {marks}", flush=True)
    finally:
        await backend.aclose()
        await backend_auto.aclose()
        llama.close()
    return [ours, *([ours_auto] if auto else []), raw]


def _outcome(case: Case, got: tuple[str | None, Any, str], start: float) -> Outcome:
    name, arguments, raw = got
    ms = (time.perf_counter() - start) * 1000
    return Outcome(
        case.id, case.category, name, arguments, score_call(case, name, arguments), ms, raw
    )


def table(results: Sequence[PathResult]) -> str:
    lines = [
        "| path | single | multiple | all | ms/case |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        cells = []
        for category in ("single", "multiple", None):
            ok, n = r.accuracy(category)
            cells.append(f"{ok}/{n} ({ok / n:.0%})" if n else "-")
        lines.append(f"| {r.path} | {' | '.join(cells)} | {r.ms_per_case():.0f} |")
    return "\n".join(lines)


def failures(result: PathResult) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for o in result.outcomes:
        if not o.verdict.ok:
            kinds[_kind(o.verdict.reason)] += 1
    return kinds


def _kind(reason: str) -> str:
    if reason.startswith("wrong function"):
        return "wrong function"
    if reason.startswith("missing"):
        return "missing argument"
    if reason.startswith("unexpected"):
        return "unexpected argument"
    if reason == "no call":
        return "no call"
    return "wrong value"


def to_json(results: Sequence[PathResult]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in results:
        summary = {}
        for category in ("single", "multiple", "all"):
            ok, n = r.accuracy(None if category == "all" else category)
            summary[category] = {"correct": ok, "cases": n, "accuracy": ok / n if n else None}
        out[r.path] = {
            "summary": summary,
            "ms_per_case": r.ms_per_case(),
            "cases": [
                {
                    "id": o.case,
                    "category": o.category,
                    "name": o.name,
                    "arguments": o.arguments,
                    "ok": o.verdict.ok,
                    "reason": o.verdict.reason,
                    "ms": round(o.ms, 1),
                    "raw": o.raw,
                }
                for o in r.outcomes
            ],
        }
    return out


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m evals.toolcalls.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--cases", type=int, default=len(CASES), help="run the first N cases")
    ap.add_argument("--auto", action="store_true", help="add agenthost with tool_choice=auto")
    ap.add_argument("--threads", type=int, help="fixed thread count (default: chosen per call)")
    ap.add_argument("--json", type=Path, help="write every case's result here")
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-case progress")
    args = ap.parse_args(argv)
    cases = _spread(CASES, args.cases)
    started = time.perf_counter()
    results = anyio.run(
        lambda: run_eval(cases, auto=args.auto, n_threads=args.threads, progress=not args.quiet)
    )
    single = sum(c.category == "single" for c in cases)
    print(
        f"\nSmolLM2-135M-Instruct, {len(cases)} cases ({single} single-function, "
        f"{len(cases) - single} choose among 2-4), greedy, AST scoring; "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    print(table(results))
    for r in results:
        kinds = failures(r)
        if kinds:
            print(f"\n{r.path} failures: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    if args.json:
        args.json.write_text(json.dumps(to_json(results), indent=2))


def _spread(cases: Sequence[Case], n: int) -> list[Case]:
    """The first ``n`` cases, alternating single and multiple so a short run has both."""
    single = [c for c in cases if c.category == "single"]
    multiple = [c for c in cases if c.category == "multiple"]
    mixed = [c for pair in zip(single, multiple, strict=False) for c in pair]
    mixed += single[len(multiple) :] + multiple[len(single) :]
    return mixed[: max(0, n)]


if __name__ == "__main__":
    main()
