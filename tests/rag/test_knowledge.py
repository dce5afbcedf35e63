"""Ingest and search on the real stack: tantivy on disk, SQLite, all-MiniLM-L6-v2."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rag.config import ChunkingConfig, RagConfig
from rag.embedding import Embedder
from rag.errors import ChunkNotFound, IndexBusy, UnknownCollection
from rag.knowledge import Knowledge
from rag.types import Filters, Mode, Principal

from .conftest import TOPICS

ALICE = Principal("acme")
OTHER_TENANT = Principal("globex")


def all_chunk_ids(kn: Knowledge, p: Principal, mode: Mode = "hybrid") -> set[str]:
    hits = kn.search("the statement", p, k=1000, candidates=1000, mode=mode)
    return {h.chunk_id for h in hits}


def test_ingest_then_search_finds_the_right_section(knowledge: Knowledge, corpus: Path) -> None:
    report = knowledge.ingest([corpus], "docs", tenant="acme")
    assert (report.added, report.updated, report.unchanged, report.removed) == (5, 0, 0, 0)
    assert report.chunks >= 5
    hit = knowledge.search("what does the nonlocal statement do", ALICE, ["docs"], k=3)[0]
    assert hit.source.endswith("nonlocal.txt")
    assert hit.bm25_rank == 1
    assert hit.dense_rank == 1
    assert hit.similarity is not None
    assert hit.similarity > 0.4
    assert hit.span.line_start is not None
    # dense alone finds paraphrases with no shared keyword
    dense = knowledge.search("heating water for tea", ALICE, ["docs"], k=1, mode="dense")[0]
    assert dense.source.endswith("guide.md")
    assert dense.headings == ["Guide", "Brewing"]


def test_reingest_is_incremental(knowledge: Knowledge, corpus: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    misses = knowledge.embedder.misses
    again = knowledge.ingest([corpus], "docs", tenant="acme")
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 5, 0)
    assert knowledge.embedder.misses == misses

    guide = corpus / "guide.md"
    guide.write_text(guide.read_text().replace("95 degrees", "88 degrees"))
    (corpus / "pass.txt").unlink()
    changed = knowledge.ingest([corpus], "docs", tenant="acme")
    assert (changed.added, changed.updated, changed.unchanged, changed.removed) == (0, 1, 3, 1)
    # only the edited chunk was embedded again
    assert knowledge.embedder.misses - misses == 1

    hits = knowledge.search("boil water degrees", ALICE, ["docs"], k=5)
    guide_hits = [h for h in hits if h.source.endswith("guide.md")]
    assert guide_hits
    assert all(h.version == 2 for h in guide_hits)
    assert not any("95 degrees" in h.text for h in hits)
    for mode in ("bm25", "dense"):
        found = knowledge.search("pass statement null operation", ALICE, k=50, mode=mode)
        assert not any(h.source.endswith("pass.txt") for h in found)
    assert all(d.version == 2 for d in knowledge.documents(ALICE) if d.path.endswith("guide.md"))


def test_tenants_never_see_each_other(knowledge: Knowledge, corpus: Path, tmp_path: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    other = tmp_path / "other"
    other.mkdir()
    (other / "assert.txt").write_text(TOPICS["assert"])
    knowledge.ingest([other], "docs", tenant="globex")
    for mode in ("hybrid", "bm25", "dense"):
        theirs = knowledge.search("assert statement", OTHER_TENANT, k=50, mode=mode)
        assert theirs
        assert all(h.source.startswith(str(other)) for h in theirs)
        ours = knowledge.search("assert statement", ALICE, k=50, mode=mode)
        assert ours
        assert not any(h.source.startswith(str(other)) for h in ours)
    chunk = knowledge.search("assert", ALICE, k=1)[0].chunk_id
    with pytest.raises(ChunkNotFound):
        knowledge.get_chunk(chunk, OTHER_TENANT)
    assert knowledge.get_chunk(chunk, ALICE).chunk_id == chunk
    assert [c.name for c in knowledge.list_collections(OTHER_TENANT)] == ["docs"]
    assert knowledge.list_collections(OTHER_TENANT)[0].sources == 1
    with pytest.raises(UnknownCollection):
        knowledge.search("x", Principal("nobody"), ["docs"])


def test_acl_groups_filter_inside_both_indexes(knowledge: Knowledge, corpus: Path) -> None:
    secret = corpus.parent / "secret"
    secret.mkdir()
    (secret / "plan.md").write_text("# Plan\n\nThe merger with Initech closes in March.\n")
    knowledge.ingest([corpus], "docs", tenant="acme")
    knowledge.ingest([secret], "docs", tenant="acme", acl=["board"])
    board = Principal("acme", frozenset({"board"}))
    for mode in ("hybrid", "bm25", "dense"):
        public = knowledge.search("merger Initech March", ALICE, k=50, mode=mode)
        assert not any("Initech" in h.text for h in public)
        allowed = knowledge.search("merger Initech March", board, k=3, mode=mode)
        assert "Initech" in allowed[0].text
    assert knowledge.list_collections(ALICE)[0].sources == 5
    assert knowledge.list_collections(board)[0].sources == 6


def test_metadata_filters(knowledge: Knowledge, corpus: Path) -> None:
    old = corpus / "assert.txt"
    past = time.time() - 10 * 86400
    os.utime(old, (past, past))
    knowledge.ingest([corpus], "docs", tenant="acme")
    recent = Filters(modified_after=datetime.now(UTC) - timedelta(days=1))
    for mode in ("bm25", "dense"):
        hits = knowledge.search("assert statement", ALICE, k=50, filters=recent, mode=mode)
        assert hits
        assert not any(h.source == str(old) for h in hits)
        only = Filters(sources=[str(old)])
        hits = knowledge.search("statement", ALICE, k=50, filters=only, mode=mode)
        assert hits
        assert all(h.source == str(old) for h in hits)
    assert knowledge.search("statement", ALICE, filters=Filters(min_version=2)) == []


def test_mmr_diversifies_sources(knowledge: Knowledge, corpus: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    query = "with statement context manager __enter__ __exit__"
    plain = knowledge.search(query, ALICE, k=4)
    diverse = knowledge.search(query, ALICE, k=4, mmr_lambda=0.3)
    assert plain[0].chunk_id == diverse[0].chunk_id
    assert len({h.source for h in diverse}) >= len({h.source for h in plain})
    assert [h.chunk_id for h in plain] != [h.chunk_id for h in diverse]


class Interrupt(Exception):
    pass


def test_interrupted_ingest_leaves_a_consistent_index(
    tmp_path: Path, embedder: Embedder, corpus: Path
) -> None:
    for i in range(6):
        (corpus / f"extra{i}.txt").write_text(
            TOPICS[["if", "while", "for", "try", "del", "return"][i]]
        )
    kn = Knowledge(tmp_path / "idx", RagConfig(), embedder=embedder)
    kn.ingest([corpus / "with.txt"], "docs", tenant="acme")

    seen = 0

    def stop_midway(done: int, total: int, path: str) -> None:
        nonlocal seen
        seen = done
        if done == 8:
            raise Interrupt

    import rag.knowledge as knowledge_module

    # small embedding batches so some files are fully written to SQLite before the stop
    batch = knowledge_module._EMBED_BATCH
    knowledge_module._EMBED_BATCH = 1
    try:
        with pytest.raises(Interrupt):
            kn.ingest([corpus], "docs", tenant="acme", progress=stop_midway)
    finally:
        knowledge_module._EMBED_BATCH = batch
    assert seen == 8
    # sources written before the stop are visible to dense search, not yet to BM25 ...
    assert kn.meta.pending_sources()
    kn.close()

    reopened = Knowledge(tmp_path / "idx", RagConfig(), embedder=embedder)
    # ... and reopening finishes their BM25 side: both indexes agree again
    assert not reopened.meta.pending_sources()
    assert all_chunk_ids(reopened, ALICE, "bm25") == all_chunk_ids(reopened, ALICE, "dense")
    finished = reopened.ingest([corpus], "docs", tenant="acme")
    assert finished.added + finished.unchanged == 11
    assert all_chunk_ids(reopened, ALICE, "bm25") == all_chunk_ids(reopened, ALICE, "dense")
    reopened.close()


def test_a_second_writer_is_told_the_index_is_busy(
    tmp_path: Path, embedder: Embedder, corpus: Path
) -> None:
    first = Knowledge(tmp_path / "idx", RagConfig(), embedder=embedder)
    second = Knowledge(tmp_path / "idx", RagConfig(), embedder=embedder)
    first.lexical.begin()  # as an ingest in progress holds it
    with pytest.raises(IndexBusy, match="another process is writing"):
        second.ingest([corpus], "docs", tenant="acme")
    assert second.meta.sources("acme") == []  # nothing was written before the lock
    first.lexical.rollback()
    assert second.ingest([corpus], "docs", tenant="acme").added == 5
    first.close()
    second.close()


def test_sentence_windows_score_a_chunk_by_its_best_vector(
    tmp_path: Path, embedder: Embedder, corpus: Path
) -> None:
    """With ``chunking.window`` a long chunk also has window vectors: dense search scores it
    by the best, filters and ACLs still apply to every vector, and a hit's similarity is the
    score search ranked it by."""
    config = RagConfig(chunking=ChunkingConfig(window=200))
    kn = Knowledge(tmp_path / "windowed", config, embedder=embedder)
    try:
        kn.ingest([corpus], "docs", tenant="acme")
        secret = corpus.parent / "secret"
        secret.mkdir()
        (secret / "plan.md").write_text("# Plan\n\n" + "The merger with Initech closes. " * 20)
        kn.ingest([secret], "docs", tenant="acme", acl=["board"])
        dense = kn.dense_index()
        assert len(dense.vectors) > len(dense.ids)  # windows were embedded
        query = "a statement that debugging checks can be written with"
        qvec = embedder.encode([query])[0]
        hits = kn.search(query, ALICE, k=50, mode="dense")
        assert not any("Initech" in h.text for h in hits)
        for h in hits[:5]:
            own = float(dense.vectors_of([h.chunk_id])[0] @ qvec)
            assert h.similarity is not None
            assert h.similarity == pytest.approx(dense.similarities([h.chunk_id], qvec)[0])
            assert h.similarity >= own - 1e-6
        board = Principal("acme", frozenset({"board"}))
        assert "Initech" in kn.search("merger Initech", board, k=1, mode="dense")[0].text
    finally:
        kn.close()
