"""Score retrieval (BM25, dense, hybrid, hybrid + rerank, hybrid + multi-query, hybrid + HyDE)
and grounded answers on the golden set. ``python -m evals.rag.run [--rerank] [--expand]
[--answers]`` prints one markdown table per part.

Metrics come from ranx (recall@k, MRR, nDCG); citation precision and refusal accuracy are
counted here because they are not IR metrics."""

from __future__ import annotations

import argparse
import json
import os
import pydoc_data.topics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from ranx import Qrels, Run, evaluate

from evals.rag.golden import ANSWERABLE, UNANSWERABLE, Question
from inference import build_router
from inference.config import InferenceConfig
from rag.answer import Answerer
from rag.config import RagConfig
from rag.expand import QueryExpander
from rag.knowledge import Knowledge
from rag.rerank import LLMReranker, Reranker
from rag.types import Expand, Hit, Mode, Principal

METRICS = ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"]
TENANT = Principal("eval")
COLLECTION = "pyref"


def norm(text: str) -> str:
    return " ".join(text.split())


def build_index(root: Path, config: RagConfig) -> Knowledge:
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, text in pydoc_data.topics.topics.items():
        path = corpus / f"{name}.txt"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    kn = Knowledge(root / "index", config)
    report = kn.ingest([corpus], COLLECTION, tenant=TENANT.tenant)
    print(
        f"corpus: {len(pydoc_data.topics.topics)} documents, {report.chunks or 'cached'} chunks "
        f"ingested in {report.seconds:.1f}s ({report.unchanged} unchanged)"
    )
    return kn


def qrels_for(kn: Knowledge, questions: Sequence[Question]) -> dict[str, dict[str, int]]:
    """Relevant chunks: those of the answering topic that contain the evidence phrase."""
    docs = {Path(d.path).stem: d.source_id for d in kn.documents(TENANT, COLLECTION)}
    out: dict[str, dict[str, int]] = {}
    for q in questions:
        chunks = kn.meta.chunks_of(docs[q.topic])
        out[q.qid] = {c.id: 1 for c in chunks if norm(q.evidence) in norm(c.text)}
        if not out[q.qid]:  # the phrase straddles a chunk boundary: any chunk of the topic
            out[q.qid] = {c.id: 1 for c in chunks}
    return out


@dataclass(frozen=True)
class Variant:
    name: str
    mode: Mode = "hybrid"
    reranker: Reranker | None = None
    rerank_top: int | None = None
    expand: Expand = "none"


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
    started = time.perf_counter()
    for q in questions:
        found = await kn.retrieve(
            q.text, TENANT, [COLLECTION], k=k, mode=variant.mode, reranker=variant.reranker,
            rerank_top=variant.rerank_top, expand=variant.expand, expander=expander,
        )  # fmt: skip
        results[q.qid] = found.hits
        if found.expansion and found.expansion.note:
            notes.append(found.expansion.note)
    return results, (time.perf_counter() - started) / len(questions), notes


def to_run(results: dict[str, list[Hit]]) -> Run:
    return Run({qid: {h.chunk_id: 1.0 / rank for rank, h in enumerate(hits, start=1)}
                for qid, hits in results.items()})  # fmt: skip


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def fmt(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    config = RagConfig()
    kn = build_index(args.dir, config)
    questions = ANSWERABLE[: args.limit] if args.limit else ANSWERABLE
    unanswerable = UNANSWERABLE[: args.limit] if args.limit else UNANSWERABLE
    relevant = qrels_for(kn, questions)
    qrels = Qrels(relevant)
    router = build_router(InferenceConfig(), args.dir / "logs")
    out: dict[str, Any] = {"retrieval": {}, "questions": len(questions),
                           "unanswerable": len(unanswerable)}  # fmt: skip
    print(f"{len(questions)} answerable, {len(unanswerable)} unanswerable questions", flush=True)
    variants = [Variant("BM25", "bm25"), Variant("dense", "dense"), Variant("hybrid (RRF)")]
    if args.rerank:
        top = args.rerank_candidates
        variants.append(Variant(f"hybrid + LLM rerank (top {top})", reranker=LLMReranker(router),
                                rerank_top=top))  # fmt: skip
    if args.expand:
        variants.append(Variant("hybrid + multi-query", expand="multi"))
        variants.append(Variant("hybrid + HyDE", expand="hyde"))
    expander = QueryExpander(router, config.expansion)
    rows = []
    hybrid: dict[str, list[Hit]] = {}
    for variant in variants:
        name = variant.name
        results, per_query, notes = await retrieve_all(kn, questions, variant, expander, 10)
        if name.startswith("hybrid (RRF)"):
            hybrid = results
        scores = evaluate(qrels, to_run(results), METRICS)
        topic_hit = sum(
            Path(results[q.qid][0].source).stem == q.topic for q in questions if results[q.qid]
        ) / len(questions)
        row = [name, *(float(scores[m]) for m in METRICS), topic_hit, f"{per_query * 1000:.0f}"]
        print(f"{name}: done in {per_query * len(questions):.0f}s", flush=True)
        if notes:
            print(f"  {len(notes)} expansions fell back; first: {notes[0]}", flush=True)
        rows.append(row)
        out["retrieval"][name] = dict(zip([*METRICS, "doc@1", "ms/query"], row[1:], strict=True))
        out["retrieval"][name]["expansion_fallbacks"] = len(notes)
    print("\n## Retrieval (chunk-level relevance; doc@1 = right document ranked first)\n")
    print(table(["retriever", *METRICS, "doc@1", "ms/query"], rows), flush=True)

    # the refusal gate alone: best cosine similarity of the hybrid hits vs the threshold
    off_topic: dict[str, list[Hit]] = {}
    for i, text in enumerate(unanswerable):
        off_topic[f"u{i}"] = (await kn.retrieve(text, TENANT, [COLLECTION], k=5)).hits
    best = {qid: max((h.similarity or 0.0) for h in hits) for qid, hits in hybrid.items()}
    best_u = {qid: max((h.similarity or 0.0) for h in hits) for qid, hits in off_topic.items()}
    sweep = []
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45):
        answered = sum(v >= threshold for v in best.values()) / len(best)
        refused = sum(v < threshold for v in best_u.values()) / len(best_u)
        right = sum(v >= threshold for v in best.values()) + sum(
            v < threshold for v in best_u.values()
        )
        correct = right / (len(best) + len(best_u))
        sweep.append([threshold, answered, refused, correct])
    print("\n## Refusal gate (retrieval only): best hybrid hit's cosine similarity vs min_score\n")
    print(table(["min_score", "answerable answered", "unanswerable refused", "accuracy"], sweep))
    out["refusal_sweep"] = sweep

    if args.answers:
        out["answers"] = await answer_eval(kn, router, relevant, questions, unanswerable)
    await router.aclose()
    kn.close()
    out["wall_seconds"] = time.perf_counter() - started
    print(f"\nwall time: {out['wall_seconds']:.0f}s", flush=True)
    return out


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
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = anyio.run(main, args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    cli()
