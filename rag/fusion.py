"""Rank fusion and diversity: weighted reciprocal-rank fusion and maximal marginal relevance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

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
