"""Rank fusion and diversity: score-normalised weighted fusion, weighted reciprocal-rank
fusion, and maximal marginal relevance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from rag.config import RetrievalConfig
from rag.embedding import Vectors


def rrf(
    rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float], k: int = 60
) -> dict[str, float]:
    """Weighted reciprocal-rank fusion: score(d) = sum_r w_r / (k + rank_r(d)), ranks from 1."""
    scores: dict[str, float] = {}
    for name, ranking in rankings.items():
        w = weights.get(name, 1.0)
        if w == 0:
            continue
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + rank)
    return scores


Normalization = Literal["zscore", "minmax"]


def normalise(scores: Sequence[float], how: Normalization) -> list[float]:
    """One retriever's scores for one query on a common scale. ``zscore``: (s - mean) / std,
    so a score that stands out from the rest of its list stays far above it (a confident
    retriever speaks louder); ``minmax``: (s - min) / (max - min), best 1, worst 0. A list
    whose scores are all equal maps to zeros (it says nothing about their order)."""
    v = np.asarray(scores, dtype=np.float64)
    if v.size == 0:
        return []
    if how == "zscore":
        sd = float(v.std())
        return ((v - v.mean()) / sd).tolist() if sd > 0 else [0.0] * v.size
    lo, hi = float(v.min()), float(v.max())
    return ((v - lo) / (hi - lo)).tolist() if hi > lo else [0.0] * v.size


def weighted(
    runs: Mapping[str, Sequence[tuple[str, float]]],
    weights: Mapping[str, float],
    how: Normalization = "zscore",
) -> dict[str, float]:
    """Score fusion: each run's scores are normalised over its own list (``normalise``), then
    score(d) = sum_r w_r * norm_r(d). A document a run did not return gets that run's lowest
    normalised score (it ranked below the list's end, so no better than its last item)."""
    normed: dict[str, dict[str, float]] = {}
    for name, run in runs.items():
        if weights.get(name, 1.0) == 0 or not run:
            continue
        values = normalise([s for _, s in run], how)
        normed[name] = dict(zip([d for d, _ in run], values, strict=True))
    docs = {d for n in normed.values() for d in n}
    scores = dict.fromkeys(docs, 0.0)
    for name, n in normed.items():
        w = weights.get(name, 1.0)
        floor = min(n.values())
        for d in docs:
            scores[d] += w * n.get(d, floor)
    return scores


def weight_of(run: str, cfg: RetrievalConfig) -> float:
    """``bm25...`` runs weigh ``bm25_weight``, ``rewrite`` (BM25 of the rewritten query)
    ``rewrite_weight``, the others (``dense...``) ``dense_weight``."""
    if run.startswith("bm25"):
        return cfg.bm25_weight
    if run.startswith("rewrite"):
        return cfg.rewrite_weight
    return cfg.dense_weight


def fuse(
    rankings: Mapping[str, Sequence[tuple[str, float]]],
    cfg: RetrievalConfig,
    gates: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """The rankings of one search fused as ``cfg`` says: each run weighs ``weight_of`` its
    name times its ``gates`` entry (default 1); ``fusion`` picks normalised score fusion
    (``weighted``, normalised by ``normalization``) or reciprocal-rank fusion (``rrf``)."""
    gates = gates or {}
    weights = {name: weight_of(name, cfg) * gates.get(name, 1.0) for name in rankings}
    if cfg.fusion == "rrf":
        return rrf({name: [c for c, _ in r] for name, r in rankings.items()}, weights, cfg.rrf_k)
    return weighted(rankings, weights, cfg.normalization)


def mmr(relevance: Sequence[float], vectors: Vectors, k: int, lam: float) -> list[int]:
    """Indices of ``k`` items chosen greedily by lam * relevance - (1 - lam) * max similarity to
    those already chosen. ``relevance`` is min-max normalised first so lam means the same for
    any score scale."""
    n = len(relevance)
    if n == 0:
        return []
    rel = np.asarray(relevance, dtype=np.float64)
    span = rel.max() - rel.min()
    rel = (rel - rel.min()) / span if span > 0 else np.ones_like(rel)
    sim = vectors @ vectors.T
    chosen: list[int] = []
    best_sim = np.full(n, -np.inf)
    remaining = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        penalty = np.where(np.isfinite(best_sim), best_sim, 0.0)
        score = lam * rel - (1 - lam) * penalty
        score[~remaining] = -np.inf
        i = int(np.argmax(score))
        chosen.append(i)
        remaining[i] = False
        best_sim = np.maximum(best_sim, sim[i])
    return chosen
