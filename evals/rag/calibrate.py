"""Calibrate hybrid fusion on the dev halves of the literal and paraphrased sets.

``python -m evals.rag.calibrate [--embedding-package NAME]`` retrieves BM25 and dense
candidates for every dev question once, then scores each fusion setting (reciprocal-rank or
normalised score fusion, the BM25 share of the weight, the BM25 coverage gate) with the same
``rag.fusion.fuse`` and ``LexicalIndex.coverage`` that ``Knowledge.search`` runs. The objective
is the mean of the two sets' dev MRR@10, so neither kind of question is traded away for the
other. The test halves are never looked at: ``evals.rag.run`` reports them.

The winner is printed as a ``[rag.retrieval]`` snippet; the defaults in ``rag/config.py`` are
the winner for the default embedder (docs/rag.md has the run)."""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ranx import Qrels, Run, evaluate

from evals.rag.index import (
    COLLECTION,
    TENANT,
    add_chunking_options,
    build_index,
    config_for,
    corpus_chunks_of,
    table,
)
from evals.rag.sets import SETS, SetName, qrels, split
from rag.config import RetrievalConfig
from rag.fusion import fuse
from rag.knowledge import Knowledge

FUSIONS = [("rrf", "zscore"), ("weighted", "zscore"), ("weighted", "minmax")]
BM25_SHARES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
COVERAGES = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
REWRITES = [(0, 0), (3, 20), (5, 20), (5, 30)]  # (dense hits, words); (0, 0): off
REWRITE_RATIOS = [0.5, 1.0, 2.0]  # rewrite_weight / dense_weight


@dataclass(frozen=True)
class Candidates:
    """One question's BM25 and dense candidates (with scores), BM25's best-hit coverage, and
    the BM25 candidates of its rewrites (by (dense hits, words))."""

    rankings: dict[str, list[tuple[str, float]]]
    coverage: float
    rewrites: dict[tuple[int, int], list[tuple[str, float]]]


def candidates(kn: Knowledge, text: str, n: int) -> Candidates:
    vector = kn.embedder.inner.encode([text])[0]
    ranks = kn._rank(text, vector, kn.dense_index(), TENANT, [COLLECTION], None, n, "hybrid")
    cover = 0.0
    if ranks["bm25"]:
        top = ranks["bm25"][0][0]
        cover = kn.lexical.coverage(text, kn.meta.chunks([top])[top])
    rewrites = {
        (docs, words): kn._rewritten(ranks["dense"], TENANT, [COLLECTION], None, n, docs, words)
        for docs, words in REWRITES
        if docs
    }
    return Candidates(ranks, cover, rewrites)


def fused_top(c: Candidates, cfg: RetrievalConfig, k: int = 10) -> list[str]:
    """What ``Knowledge.search`` ranks first for these candidates under ``cfg``."""
    rankings = dict(c.rankings)
    gate = {"bm25": float(c.coverage >= cfg.bm25_min_coverage)}
    if not gate["bm25"] and cfg.rewrite_docs:
        rankings["rewrite"] = c.rewrites[(cfg.rewrite_docs, cfg.rewrite_terms)]
    fused = fuse(rankings, cfg, gate)
    return sorted(fused, key=lambda d: -fused[d])[:k]


def mrr(
    relevant: dict[str, dict[str, int]], found: dict[str, Candidates], cfg: RetrievalConfig
) -> float:
    run: dict[str, dict[str, float]] = {}
    for qid, c in found.items():
        top = fused_top(c, cfg)
        run[qid] = {d: 1.0 / r for r, d in enumerate(top, start=1)} or {"none": 0.0}
    return float(evaluate(Qrels({q: relevant[q] for q in run}), Run(run), "mrr@10"))


def grid(base: RetrievalConfig) -> list[RetrievalConfig]:
    out = []
    for (fusion, norm), share, cover in itertools.product(FUSIONS, BM25_SHARES, COVERAGES):
        dense = round(1 - share, 2)
        rewrites = [(d, w, r) for (d, w) in REWRITES for r in REWRITE_RATIOS if d] if cover else []
        for docs, words, ratio in [(0, base.rewrite_terms, 0.0), *rewrites]:
            update = {
                "fusion": fusion,
                "normalization": norm,
                "bm25_weight": share,
                "dense_weight": dense,
                "bm25_min_coverage": cover,
                "rewrite_docs": docs,
                "rewrite_terms": words,
                "rewrite_weight": round(dense * ratio, 3),
            }
            out.append(base.model_copy(update=update))
    return out


def describe(cfg: RetrievalConfig) -> str:
    norm = f"/{cfg.normalization}" if cfg.fusion == "weighted" else ""
    out = (
        f"{cfg.fusion}{norm} bm25 {cfg.bm25_weight:g} : dense {cfg.dense_weight:g}, "
        f"coverage >= {cfg.bm25_min_coverage:g}"
    )
    if cfg.bm25_min_coverage and cfg.rewrite_docs:
        out += (
            f", rewrite from {cfg.rewrite_docs} hits x {cfg.rewrite_terms} words "
            f"at {cfg.rewrite_weight:g}"
        )
    return out


Dev = dict[str, tuple[dict[str, dict[str, int]], dict[str, Candidates]]]


def collect(kn: Knowledge, names: Sequence[SetName] = ("literal", "paraphrased")) -> Dev:
    """Per set: the dev questions' qrels and candidates."""
    chunks = corpus_chunks_of(kn)
    n = kn.config.retrieval.candidates
    data: Dev = {}
    for name in names:
        dev = split(SETS[name], "dev")
        data[name] = (qrels(dev, chunks), {q.qid: candidates(kn, q.text, n) for q in dev})
    return data


def calibrate(
    data: Dev, base: RetrievalConfig
) -> list[tuple[float, dict[str, float], RetrievalConfig]]:
    """Every grid setting with its objective and per-set dev MRR@10, best first."""
    scored = []
    for cfg in grid(base):
        per = {name: mrr(rel, found, cfg) for name, (rel, found) in data.items()}
        scored.append((sum(per.values()) / len(per), per, cfg))
    scored.sort(key=lambda s: -s[0])
    return scored


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.rag.calibrate", description=__doc__)
    parser.add_argument("--dir", type=Path,
                        default=Path.home() / ".cache" / "agenthost" / "evals" / "rag")  # fmt: skip
    parser.add_argument("--embedding-package", help="rag.embedding.model_package to use")
    parser.add_argument("--window", type=int, help="rag.chunking.window to use")
    add_chunking_options(parser)
    parser.add_argument("--top", type=int, default=10, help="settings to print")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    config = config_for(args.embedding_package, args.window, args.chunk_size, args.chunk_overlap)
    kn = build_index(args.dir, config)
    data = collect(kn)
    scored = calibrate(data, kn.config.retrieval)
    names = list(data)
    rows = [[describe(cfg), objective, *(per[n] for n in names)] for objective, per, cfg in scored]
    print(f"\n## Fusion calibration ({len(scored)} settings; dev halves, MRR@10)\n")
    print(table(["setting", "objective (mean)", *[f"{n} dev" for n in names]], rows[: args.top]))
    base = kn.config.retrieval
    alone = {
        "BM25": base.model_copy(update={"dense_weight": 0.0, "bm25_min_coverage": 0.0}),
        "dense": base.model_copy(update={"bm25_weight": 0.0, "rewrite_docs": 0}),
    }
    for name, (rel, found) in data.items():
        each = ", ".join(f"{k} {mrr(rel, found, c):.3f}" for k, c in alone.items())
        print(f"{name} dev, each retriever alone: {each}")
    best = scored[0][2]
    print("\n[rag.retrieval]")
    print(f'fusion = "{best.fusion}"')
    if best.fusion == "weighted":
        print(f'normalization = "{best.normalization}"')
    print(f"bm25_weight = {best.bm25_weight:g}\ndense_weight = {best.dense_weight:g}")
    print(f"bm25_min_coverage = {best.bm25_min_coverage:g}")
    print(f"rewrite_docs = {best.rewrite_docs}\nrewrite_terms = {best.rewrite_terms}")
    print(f"rewrite_weight = {best.rewrite_weight:g}")
    print(f"\nwall time: {time.perf_counter() - started:.0f}s")
    kn.close()


if __name__ == "__main__":
    main()
