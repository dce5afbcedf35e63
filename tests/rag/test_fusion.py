"""Fusion: score normalisation, weights, the BM25 coverage gate and the rewritten query."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import RagConfig, RetrievalConfig
from rag.embedding import HashingEmbedder
from rag.fusion import fuse, normalise, rrf, weight_of, weighted
from rag.knowledge import Knowledge
from rag.lexical import terms
from rag.types import Principal

ACME = Principal("acme")


def test_minmax_maps_best_to_one_and_worst_to_zero() -> None:
    assert normalise([4.0, 2.0, 3.0], "minmax") == [1.0, 0.0, 0.5]


def test_zscore_keeps_how_far_the_best_stands_out() -> None:
    peaked = normalise([10.0, 1.0, 1.0, 1.0], "zscore")
    flat = normalise([4.0, 3.0, 2.0, 1.0], "zscore")
    assert sum(peaked) == pytest.approx(0.0)
    assert peaked[0] > flat[0]  # a confident list speaks louder
    assert peaked[0] == pytest.approx(3**0.5)


@pytest.mark.parametrize("how", ["zscore", "minmax"])
def test_a_list_of_equal_scores_says_nothing(how: str) -> None:
    assert normalise([0.5, 0.5], how) == [0.0, 0.0]  # type: ignore[arg-type]
    assert normalise([], how) == []  # type: ignore[arg-type]


def test_weighted_fusion_sums_weighted_normalised_scores() -> None:
    runs = {"bm25": [("a", 30.0), ("b", 10.0)], "dense": [("b", 0.9), ("c", 0.5)]}
    fused = weighted(runs, {"bm25": 0.25, "dense": 0.75}, "minmax")
    # a document missing from a run gets that run's floor (its last item's score)
    assert fused == pytest.approx({"a": 0.25, "b": 0.75, "c": 0.0})
    # the scale of raw scores does not matter, only their spread within each run
    scaled = {"bm25": [(d, s * 100) for d, s in runs["bm25"]], "dense": runs["dense"]}
    assert weighted(scaled, {"bm25": 0.25, "dense": 0.75}, "minmax") == pytest.approx(fused)


def test_a_zero_weight_run_is_left_out() -> None:
    runs = {"bm25": [("a", 3.0), ("b", 1.0)], "dense": [("c", 0.9), ("b", 0.4)]}
    fused = weighted(runs, {"bm25": 0.0, "dense": 1.0}, "minmax")
    assert set(fused) == {"c", "b"}
    assert max(fused, key=fused.__getitem__) == "c"


def test_fuse_weighs_runs_by_name_and_gate() -> None:
    cfg = RetrievalConfig(fusion="weighted", normalization="minmax", bm25_weight=0.6,
                          dense_weight=0.3, rewrite_weight=0.1)  # fmt: skip
    assert [weight_of(n, cfg) for n in ("bm25", "bm25:1", "dense", "dense:2", "rewrite")] == [
        0.6, 0.6, 0.3, 0.3, 0.1,
    ]  # fmt: skip
    runs = {"bm25": [("a", 9.0), ("b", 1.0)], "dense": [("b", 0.8), ("a", 0.2)]}
    fused = fuse(runs, cfg)
    assert max(fused, key=fused.__getitem__) == "a"
    gated = fuse(runs, cfg, {"bm25": 0.0})  # a closed gate: dense alone decides
    assert max(gated, key=gated.__getitem__) == "b"
    as_rrf = fuse(runs, cfg.model_copy(update={"fusion": "rrf"}))
    assert as_rrf == rrf({n: [d for d, _ in r] for n, r in runs.items()},
                         {"bm25": 0.6, "dense": 0.3}, cfg.rrf_k)  # fmt: skip


def test_the_defaults_are_the_calibrated_fusion() -> None:
    cfg = RetrievalConfig()
    assert cfg.fusion == "weighted"
    assert cfg.normalization == "minmax"
    assert (cfg.bm25_weight, cfg.dense_weight) == (0.9, 0.1)
    assert cfg.bm25_min_coverage == 0.7
    assert (cfg.rewrite_docs, cfg.rewrite_terms, cfg.rewrite_weight) == (3, 20, 0.05)


def test_terms_are_stems_without_function_words() -> None:
    assert terms("How does the nonlocal statement differ from globals?") == [
        "nonloc", "statement", "differ", "global",
    ]  # fmt: skip


@pytest.fixture
def kn(tmp_path: Path, corpus: Path) -> Iterator[Knowledge]:
    k = Knowledge(tmp_path / "index", RagConfig(), embedder=HashingEmbedder())
    k.ingest([corpus], "docs", tenant="acme")
    yield k
    k.close()


def first_chunk_of(kn: Knowledge, name: str) -> str:
    return next(h.chunk_id for h in kn.search(name, ACME, k=50, mode="bm25")
                if Path(h.source).stem == name)  # fmt: skip


def test_coverage_is_the_share_of_the_query_a_chunk_holds(kn: Knowledge) -> None:
    nonlocal_chunk = kn.meta.chunks([cid := first_chunk_of(kn, "nonlocal")])[cid]
    assert kn.lexical.coverage("the nonlocal statement", nonlocal_chunk) == pytest.approx(1.0)
    assert kn.lexical.coverage("nonlocal tea kettle", nonlocal_chunk) < 0.5
    assert kn.lexical.coverage("the of and", nonlocal_chunk) == 0.0  # nothing informative


def test_rewrite_speaks_the_corpus_words(kn: Knowledge) -> None:
    row = kn.meta.chunks([cid := first_chunk_of(kn, "nonlocal")])[cid]
    words = kn.lexical.rewrite([row], 5).split()
    assert len(words) == 5
    assert "nonloc" in words
    assert not set(words) & {"the", "of", "a"}


def test_a_query_worded_unlike_the_corpus_is_ranked_without_its_bm25(
    kn: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "how do I heat up water to make tea"  # the guide says "boil", not "heat up"
    dense = [h.chunk_id for h in kn.search(query, ACME, k=5, mode="dense")]
    cfg = kn.config.retrieval
    cfg.bm25_min_coverage, cfg.rewrite_docs = 1.0, 0  # the gate closes below full coverage
    assert [h.chunk_id for h in kn.search(query, ACME, k=5)] == dense

    rewrites: list[int] = []
    real = kn._rewritten

    def spy(*args: object) -> list[tuple[str, float]]:
        rewrites.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(kn, "_rewritten", spy)
    cfg.rewrite_docs = 3  # a closed gate rewrites the query from the dense hits
    hits = kn.search(query, ACME, k=5)
    assert rewrites == [1]
    assert hits[0].similarity is not None  # similarity stays the query's own
    cfg.bm25_min_coverage = 0.0  # an open gate fuses BM25 of the query, no rewrite
    kn.search(query, ACME, k=5)
    assert rewrites == [1]
