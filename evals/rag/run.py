"""Score retrieval (BM25, dense, hybrid as configured, hybrid with the old RRF fusion, hybrid
+ rerank, hybrid + multi-query / HyDE) on the literal and the paraphrased golden sets, and
grounded answers. ``python -m evals.rag.run [--rerank] [--expand] [--answers]`` prints one
markdown table per set and split (``test``: the half fusion was not calibrated on; ``all``).

Metrics come from ranx (hit rate, MRR, nDCG); citation precision and refusal accuracy are
counted here because they are not IR metrics."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt
from ranx import Qrels, Run, evaluate

from evals.rag.calibrate import calibrate, collect
from evals.rag.golden import UNANSWERABLE, Question
from evals.rag.index import (
    COLLECTION,
    TENANT,
    add_chunking_options,
    build_index,
    config_for,
    corpus_chunks_of,
    table,
)
from evals.rag.sets import SETS, Split, qrels, split
from inference import build_router
from inference.config import InferenceConfig
from rag.answer import Answerer
from rag.config import RagConfig, RetrievalConfig
from rag.expand import QueryExpander
from rag.knowledge import Knowledge
from rag.rerank import LLMReranker, Reranker
from rag.types import Expand, Hit, Mode

# hit_rate@k: the share of questions with a relevant chunk in the top k (recall@k when each
# question has one answer; with a passage repeated in two topics, recall@1 could not reach 1)
METRICS = ["hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10"]
LABELS = ["hit@1", "hit@5", "MRR@10", "nDCG@10"]
SPLITS: tuple[Split, ...] = ("test", "all")
Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Variant:
    name: str
    mode: Mode = "hybrid"
    reranker: Reranker | None = None
    rerank_top: int | None = None
    expand: Expand = "none"
    retrieval: RetrievalConfig | None = field(default=None)  # None: the configured one


async def retrieve_all(
    kn: Knowledge,
    questions: Sequence[Question],
    variant: Variant,
    expander: QueryExpander | None,
    k: int,
) -> tuple[dict[str, list[Hit]], float, list[str]]:
    """Hits per question, mean seconds per query, and the notes of failed expansions."""
    results: dict[str, list[Hit]] = {}
    notes: list[str] = []
    configured = kn.config
    if variant.retrieval is not None:
        kn.config = configured.model_copy(update={"retrieval": variant.retrieval})
    started = time.perf_counter()
    try:
        for q in questions:
            found = await kn.retrieve(
                q.text, TENANT, [COLLECTION], k=k, mode=variant.mode, reranker=variant.reranker,
                rerank_top=variant.rerank_top, expand=variant.expand, expander=expander,
            )  # fmt: skip
            results[q.qid] = found.hits
            if found.expansion and found.expansion.note:
                notes.append(found.expansion.note)
    finally:
        kn.config = configured
    return results, (time.perf_counter() - started) / len(questions), notes


def to_run(results: dict[str, list[Hit]]) -> Run:
    return Run({qid: {h.chunk_id: 1.0 / rank for rank, h in enumerate(hits, start=1)}
                or {"none": 0.0} for qid, hits in results.items()})  # fmt: skip


def scores(relevant: dict[str, dict[str, int]], results: dict[str, list[Hit]]) -> list[float]:
    found = evaluate(Qrels(relevant), to_run({q: results[q] for q in relevant}), METRICS)
    return [float(found[m]) for m in METRICS]


def per_question_mrr(relevant: dict[str, dict[str, int]], results: dict[str, list[Hit]]) -> Vector:
    """Each question's MRR@10, in one fixed order of the questions (ranx's), so two
    retrievers' arrays over the same ``relevant`` pair up question by question."""
    run = to_run({q: results[q] for q in relevant})
    return np.asarray(evaluate(Qrels(relevant), run, "mrr@10", return_mean=False))


def paired_interval(
    a: Vector, b: Vector, level: float = 0.95, draws: int = 10_000
) -> tuple[float, float]:
    """A paired bootstrap interval for mean(a - b): the questions are resampled with
    replacement, the same draw for both retrievers (seeded, so a rerun prints the same)."""
    diff = a - b
    rng = np.random.default_rng(0)
    means = diff[rng.integers(0, diff.size, (draws, diff.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def describe(cfg: RetrievalConfig) -> str:
    if cfg.fusion == "rrf":
        how = f"RRF {cfg.bm25_weight:g}:{cfg.dense_weight:g}"
    else:
        how = f"{cfg.normalization} {cfg.bm25_weight:g}:{cfg.dense_weight:g}"
    gate = f", BM25 gate {cfg.bm25_min_coverage:g}" if cfg.bm25_min_coverage else ""
    if cfg.bm25_min_coverage and cfg.rewrite_docs:
        gate += f", rewrite {cfg.rewrite_docs}x{cfg.rewrite_terms} at {cfg.rewrite_weight:g}"
    return how + gate


def variants(
    config: RagConfig,
    args: argparse.Namespace,
    router: Any,
    calibrated: RetrievalConfig | None = None,
) -> list[Variant]:
    old = config.retrieval.model_copy(
        update={"fusion": "rrf", "bm25_weight": 1.0, "dense_weight": 1.0, "bm25_min_coverage": 0}
    )
    out = [
        Variant("BM25", "bm25"),
        Variant("dense", "dense"),
        Variant(f"**hybrid (default: {describe(config.retrieval)})**"),
        Variant("hybrid (RRF 1:1, the old default)", retrieval=old),
    ]
    if args.rerank:
        top = args.rerank_candidates
        out.append(Variant(f"hybrid + LLM rerank (top {top})", reranker=LLMReranker(router),
                           rerank_top=top))  # fmt: skip
    if calibrated is not None:
        out.append(Variant(f"hybrid, calibrated on dev ({describe(calibrated)})",
                           retrieval=calibrated))  # fmt: skip
    if args.expand:
        out.append(Variant("hybrid + multi-query", expand="multi"))
        out.append(Variant("hybrid + HyDE", expand="hyde"))
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    config = config_for(args.embedding_package, args.window, args.chunk_size, args.chunk_overlap)
    kn = build_index(args.dir, config)
    chunks = corpus_chunks_of(kn)
    calibrated = None
    if args.calibrate:  # the dev halves' winner for this index, scored on the halves it never saw
        calibrated = calibrate(collect(kn), config.retrieval)[0][2]
    router = build_router(InferenceConfig(), args.dir / "logs")
    expander = QueryExpander(router, config.expansion)
    todo = variants(config, args, router, calibrated)
    out: dict[str, Any] = {"embedder": kn.embedder.model_id, "retrieval": {},
                           "fusion": config.retrieval.model_dump(mode="json")}  # fmt: skip
    default_hits: dict[str, list[Hit]] = {}
    for set_name, all_questions in SETS.items():
        questions = split(all_questions, "test") if args.only_test else all_questions
        questions = questions[: args.limit] if args.limit else questions
        relevant = qrels(questions, chunks)
        results: dict[str, tuple[dict[str, list[Hit]], float]] = {}
        for variant in todo:
            found, per_query, notes = await retrieve_all(kn, questions, variant, expander, 10)
            results[variant.name] = (found, per_query)
            print(f"{set_name} / {variant.name}: {per_query * len(questions):.0f}s", flush=True)
            if notes:
                print(f"  {len(notes)} expansions fell back; first: {notes[0]}", flush=True)
        default_hits.update(results[todo[2].name][0])
        out["retrieval"][set_name] = {}
        for part in ("test",) if args.only_test else SPLITS:
            ids = {q.qid for q in (questions if args.only_test else split(questions, part))}
            rel = {q: r for q, r in relevant.items() if q in ids}
            rows: list[list[Any]] = []
            for name, (found, per_query) in results.items():
                row = [name, *scores(rel, found), f"{per_query * 1000:.0f}"]
                rows.append(row)
                out["retrieval"][set_name].setdefault(part, {})[name] = dict(
                    zip([*METRICS, "ms/query"], row[1:], strict=True)
                )
            print(f"\n## {set_name}, {part} ({len(rel)} questions)\n")
            print(table(["retriever", *LABELS, "ms/query"], rows), flush=True)
            mrr: dict[str, float] = {r[0]: r[3] for r in rows}
            default = mrr.pop(todo[2].name)
            single = max(("BM25", "dense"), key=mrr.__getitem__)
            other = max(mrr, key=mrr.__getitem__)
            # with 30-odd questions a half, a margin means little without its spread
            per_q = {n: per_question_mrr(rel, results[n][0]) for n in {todo[2].name, single, other}}
            gaps = {}
            for versus in dict.fromkeys([single, other]):
                lo, hi = paired_interval(per_q[todo[2].name], per_q[versus])
                gaps[versus] = {"gap": default - mrr[versus], "low": lo, "high": hi}
            out["retrieval"][set_name][part]["default_vs"] = gaps
            print(
                f"\ndefault MRR@10 {default:.3f}; best other row {mrr[other]:.3f} ({other}); "
                f"over the best single retriever ({single}): {default - mrr[single]:+.3f}",
                flush=True,
            )
            for versus, g in gaps.items():
                print(f"default - {versus}: {g['gap']:+.3f}, 95% paired bootstrap interval "
                      f"[{g['low']:+.3f}, {g['high']:+.3f}]", flush=True)  # fmt: skip

    out["refusal_sweep"] = await refusal_sweep(kn, default_hits, args.limit)
    if args.answers:
        answerable = SETS["literal"][: args.limit] if args.limit else SETS["literal"]
        unanswerable = UNANSWERABLE[: args.limit] if args.limit else UNANSWERABLE
        out["answers"] = await answer_eval(
            kn, router, qrels(answerable, chunks), answerable, unanswerable
        )
    await router.aclose()
    kn.close()
    out["wall_seconds"] = time.perf_counter() - started
    print(f"\nwall time: {out['wall_seconds']:.0f}s", flush=True)
    return out


async def refusal_sweep(
    kn: Knowledge, answerable: dict[str, list[Hit]], limit: int | None
) -> list[list[float]]:
    """The refusal gate alone: the best default-hybrid hit's cosine similarity vs thresholds."""
    unanswerable = UNANSWERABLE[:limit] if limit else UNANSWERABLE
    off_topic: dict[str, list[Hit]] = {}
    for i, text in enumerate(unanswerable):
        off_topic[f"u{i}"] = (await kn.retrieve(text, TENANT, [COLLECTION], k=5)).hits
    best = {qid: max((h.similarity or 0.0) for h in hits) for qid, hits in answerable.items()}
    best_u = {qid: max((h.similarity or 0.0) for h in hits) for qid, hits in off_topic.items()}
    sweep = []
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45):
        answered = sum(v >= threshold for v in best.values()) / len(best)
        refused = sum(v < threshold for v in best_u.values()) / len(best_u)
        right = sum(v >= threshold for v in best.values()) + sum(
            v < threshold for v in best_u.values()
        )
        sweep.append([threshold, answered, refused, right / (len(best) + len(best_u))])
    print(
        "\n## Refusal gate (retrieval only): best hybrid hit's cosine similarity vs min_score "
        f"({len(best)} answerable of both sets, {len(best_u)} unanswerable)\n"
    )
    print(table(["min_score", "answerable answered", "unanswerable refused", "accuracy"], sweep))
    return sweep


async def answer_eval(
    kn: Knowledge,
    router: Any,
    relevant: dict[str, dict[str, int]],
    questions: Sequence[Question],
    unanswerable: Sequence[str],
) -> dict[str, Any]:
    answerer = Answerer(kn, router, use_cache=False)
    cited = relevant_cited = same_doc = answered_with_citation = attributed = 0
    refused_answerable = refused_unanswerable = 0
    started = time.perf_counter()
    samples: list[dict[str, Any]] = []
    for q in questions:
        a = await answerer.answer(q.text, TENANT, [COLLECTION])
        refused_answerable += a.refused
        answered_with_citation += bool(a.citations) and not a.refused
        for c in a.citations:
            cited += 1
            attributed += c.how == "attributed"
            relevant_cited += c.chunk_id in relevant[q.qid]
            same_doc += Path(c.source).stem == q.topic
        if len(samples) < 5:
            samples.append({"q": q.text, "a": a.text, "cited": [c.chunk_id for c in a.citations]})
    for text in unanswerable:
        a = await answerer.answer(text, TENANT, [COLLECTION])
        refused_unanswerable += a.refused
    n, u = len(questions), len(unanswerable)
    result = {
        "answerable": n,
        "unanswerable": u,
        "refusal_accuracy": ((n - refused_answerable) + refused_unanswerable) / (n + u),
        "answerable_refused": refused_answerable / n,
        "unanswerable_refused": refused_unanswerable / u,
        "answers_with_citations": answered_with_citation / n,
        "citations": cited,
        "attributed_citations": attributed,  # the model wrote no [n]: matched to its sentences
        "citation_precision_chunk": relevant_cited / cited if cited else None,
        "citation_precision_doc": same_doc / cited if cited else None,
        "seconds_per_answer": (time.perf_counter() - started) / (n + u),
        "samples": samples,
    }
    print(f"\n## Grounded answers (SmolLM2-135M, embedded; {n} + {u} questions)\n", flush=True)
    keys = [k for k in result if k != "samples"]
    print(table(keys, [[result[k] if result[k] is not None else "-" for k in keys]]))
    for s in samples:
        print(f"\n> Q: {s['q']}\n> A: {s['a']}\n> cited: {s['cited']}")
    return result


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.rag.run", description=__doc__)
    parser.add_argument("--dir", type=Path,
                        default=Path.home() / ".cache" / "agenthost" / "evals" / "rag")  # fmt: skip
    parser.add_argument("--rerank", action="store_true", help="add hybrid + LLM rerank")
    parser.add_argument("--rerank-candidates", type=int, default=10,
                        help="hybrid hits the LLM reranker scores")  # fmt: skip
    parser.add_argument("--expand", action="store_true", help="add hybrid + multi-query / HyDE")
    parser.add_argument("--answers", action="store_true", help="score answers (slow)")
    parser.add_argument("--limit", type=int, help="only the first N questions of each set")
    parser.add_argument("--only-test", action="store_true",
                        help="retrieve and report only the test halves")  # fmt: skip
    parser.add_argument("--embedding-package", help="rag.embedding.model_package to use "
                        "(e.g. all_mpnet_base_v2; its own index is built under --dir)")  # fmt: skip
    parser.add_argument("--window", type=int, help="rag.chunking.window (sentence windows; "
                        "their own index is built under --dir)")  # fmt: skip
    add_chunking_options(parser)
    parser.add_argument("--calibrate", action="store_true", help="add a row for the fusion "
                        "setting evals.rag.calibrate picks on this index's dev halves")  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = anyio.run(main, args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    cli()
