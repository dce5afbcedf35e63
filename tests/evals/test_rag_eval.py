"""A small run of the retrieval eval on the real stack (all-MiniLM-L6-v2, tantivy, the default
fusion): on the test-half questions whose topics are small (at most 6 chunks), indexed alone,
the default hybrid search ranks better than BM25 and than dense on both sets. The full eval is
``python -m evals.rag.run`` (docs/rag.md)."""

from __future__ import annotations

import pydoc_data.topics
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from ranx import Qrels, Run, evaluate

from evals.rag.golden import Question
from evals.rag.sets import SETS, Chunk, SetName, corpus_chunks, qrels, split
from rag.config import EmbeddingConfig, RagConfig
from rag.embedding import SentenceTransformerEmbedder
from rag.knowledge import Knowledge
from rag.types import Mode, Principal

READER = Principal("eval")


def subset() -> dict[str, list[Question]]:
    cfg = RagConfig().chunking
    sizes = Counter(c.topic for c in corpus_chunks(cfg.size, cfg.overlap))
    return {n: [q for q in split(qs, "test") if sizes[q.topic] <= 6] for n, qs in SETS.items()}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Knowledge, list[Chunk]]]:
    root = tmp_path_factory.mktemp("eval")
    corpus = root / "corpus"
    corpus.mkdir()
    for topic in {q.topic for qs in subset().values() for q in qs}:
        (corpus / f"{topic}.txt").write_text(pydoc_data.topics.topics[topic])
    kn = Knowledge(root / "index", RagConfig(), SentenceTransformerEmbedder(EmbeddingConfig()))
    kn.ingest([corpus], "ref", tenant=READER.tenant)
    chunks = [
        Chunk(c.id, Path(d.path).stem, c.text)
        for d in kn.documents(READER, "ref")
        for c in kn.meta.chunks_of(d.source_id)
    ]
    yield kn, chunks
    kn.close()


@pytest.mark.parametrize("name", list(SETS))
def test_the_default_beats_bm25_and_dense(
    name: SetName, index: tuple[Knowledge, list[Chunk]]
) -> None:
    kn, chunks = index
    questions = subset()[name]
    assert len(questions) >= 15
    encoded = kn.embedder.inner.encode([q.text for q in questions])
    vectors = dict(zip([q.qid for q in questions], encoded, strict=True))

    def mrr(mode: Mode) -> float:
        run = {}
        for q in questions:
            hits = kn.search(q.text, READER, ["ref"], k=10, mode=mode, query_vector=vectors[q.qid])
            run[q.qid] = {h.chunk_id: 1.0 / r for r, h in enumerate(hits, start=1)} or {"-": 0.0}
        return float(evaluate(Qrels(qrels(questions, chunks)), Run(run), "mrr@10"))

    bm25, dense, hybrid = mrr("bm25"), mrr("dense"), mrr("hybrid")
    assert hybrid > max(bm25, dense), (bm25, dense, hybrid)
