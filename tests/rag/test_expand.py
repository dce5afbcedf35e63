"""Query expansion: multi-query and HyDE through the inference layer, fused with the query's own
retrieval, and plain retrieval (with a note) whenever the model fails. Real index and embedding
model; a scripted model for the loop logic, the embedded SmolLM2 for the real thing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference import BackendUnavailable, ChatRequest, JsonSchema
from inference.backends.embedded import EmbeddedBackend
from inference.backends.scripted import ScriptedBackend, Turn
from inference.config import EmbeddedConfig
from rag.answer import Answerer
from rag.errors import InvalidArgument
from rag.expand import QueryExpander
from rag.fusion import rrf
from rag.knowledge import Knowledge
from rag.types import Principal

pytestmark = pytest.mark.anyio
ACME = Principal("acme")
QUESTION = "How do I make water hot enough for tea?"
REPHRASING = "rebind a name in the enclosing function scope"
PASSAGE = (
    "The nonlocal statement causes the listed identifiers to refer to previously bound "
    "variables in the nearest enclosing scope excluding globals."
)


def rephrasings(*queries: str) -> ScriptedBackend:
    return ScriptedBackend(lambda _: Turn(json.dumps({"queries": list(queries)})))


def cosine_to(knowledge: Knowledge, text: str, chunk_id: str) -> float:
    query = knowledge.embedder.inner.encode([text])[0]
    return knowledge.dense_index().similarities([chunk_id], query)[0]


async def test_multi_query_fuses_each_rephrasings_ranking(
    knowledge: Knowledge, corpus: Path
) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    # plain RRF, no BM25 gate: the fusion itself is tested in test_fusion.py
    cfg = knowledge.config.retrieval
    cfg.fusion, cfg.bm25_weight, cfg.dense_weight, cfg.bm25_min_coverage = "rrf", 1.0, 1.0, 0.0
    model = rephrasings(REPHRASING, QUESTION.upper(), REPHRASING)  # duplicates are dropped
    expander = QueryExpander(model)
    found = await knowledge.retrieve(QUESTION, ACME, k=4, expand="multi", expander=expander)

    assert found.expansion is not None
    assert found.expansion.queries == [REPHRASING]
    assert found.expansion.note is None
    request = model.requests[0]
    assert isinstance(request.constraint, JsonSchema)  # decoding is held to the JSON shape
    assert request.messages[-1].content == QUESTION

    # the four rankings (BM25 and dense of the question and of the rephrasing), fused by RRF
    rankings = {
        f"{mode}:{text}": [h.chunk_id for h in knowledge.search(text, ACME, k=50, mode=mode)]
        for text in (QUESTION, REPHRASING)
        for mode in ("bm25", "dense")
    }
    fused = rrf(rankings, {}, cfg.rrf_k)
    expected = sorted(fused, key=lambda c: -fused[c])[:4]
    assert [h.chunk_id for h in found.hits] == expected
    plain = knowledge.search(QUESTION, ACME, k=4)
    assert not any(h.source.endswith("nonlocal.txt") for h in plain)
    assert any(h.source.endswith("nonlocal.txt") for h in found.hits)  # the rephrasing's find
    # similarity stays that of the question itself: the refusal gate must not be fooled
    for hit in found.hits:
        assert hit.similarity == pytest.approx(cosine_to(knowledge, QUESTION, hit.chunk_id))


async def test_hyde_passage_drives_the_dense_side(knowledge: Knowledge, corpus: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    model = ScriptedBackend(lambda _: Turn(PASSAGE + "\n\nand then it rambles on"))
    question = "Which statement lets an inner function assign to an outer variable?"
    found = await knowledge.retrieve(
        question, ACME, k=5, expand="hyde", expander=QueryExpander(model)
    )

    assert found.expansion is not None
    assert found.expansion.passage == PASSAGE  # one paragraph
    assert model.requests[0].stop == ("\n\n",)
    dense_of_passage = knowledge.search(PASSAGE, ACME, k=50, mode="dense")
    bm25_of_question = knowledge.search(question, ACME, k=50, mode="bm25")
    first_dense = next(h for h in found.hits if h.dense_rank == 1)
    first_bm25 = next(h for h in found.hits if h.bm25_rank == 1)
    assert first_dense.chunk_id == dense_of_passage[0].chunk_id
    assert first_bm25.chunk_id == bm25_of_question[0].chunk_id
    for hit in found.hits:
        assert hit.similarity == pytest.approx(cosine_to(knowledge, question, hit.chunk_id))


@pytest.mark.parametrize(
    ("turn", "why"),
    [
        (Turn(fail=BackendUnavailable("local", "connection refused")), "the model failed"),
        (Turn('{"queries": ["cut off'), "did not parse"),
        (Turn(json.dumps({"queries": [QUESTION]})), "no rephrasing that differs"),
    ],
)
async def test_a_failing_model_degrades_to_plain_retrieval(
    knowledge: Knowledge, corpus: Path, turn: Turn, why: str
) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    expander = QueryExpander(ScriptedBackend([turn]))
    found = await knowledge.retrieve(QUESTION, ACME, k=3, expand="multi", expander=expander)
    plain = await knowledge.retrieve(QUESTION, ACME, k=3)
    assert found.expansion is not None
    assert found.expansion.note is not None
    assert why in found.expansion.note
    assert found.expansion.note.endswith("searched the query alone")
    assert [h.chunk_id for h in found.hits] == [h.chunk_id for h in plain.hits]


async def test_hyde_with_an_empty_passage_degrades(knowledge: Knowledge, corpus: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    expander = QueryExpander(ScriptedBackend([Turn("   ")]))
    found = await knowledge.retrieve(QUESTION, ACME, expand="hyde", expander=expander)
    assert found.expansion is not None
    assert found.expansion.note == (
        "hyde expansion skipped: the model wrote an empty passage; searched the query alone"
    )
    assert found.hits


async def test_bad_arguments_are_named_errors(knowledge: Knowledge, corpus: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    with pytest.raises(InvalidArgument, match="needs a model"):
        await knowledge.retrieve(QUESTION, ACME, expand="multi")
    with pytest.raises(InvalidArgument, match="expand must be one of none, multi, hyde"):
        await knowledge.retrieve(QUESTION, ACME, expand="wide")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="mode must be one of"):
        await knowledge.retrieve(QUESTION, ACME, mode="fuzzy")  # type: ignore[arg-type]


async def test_answer_with_expansion_and_its_cache(knowledge: Knowledge, corpus: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")

    def model(request: ChatRequest) -> Turn:
        if isinstance(request.constraint, JsonSchema):
            return Turn(json.dumps({"queries": ["boil water 95 degrees"]}))
        return Turn("Boil it to 95 degrees [1].")

    backend = ScriptedBackend(model)
    answerer = Answerer(knowledge, backend)
    first = await answerer.answer(QUESTION, ACME, ["docs"], expand="multi")
    assert first.expansion is not None
    assert first.expansion.queries == ["boil water 95 degrees"]
    assert first.citations[0].source.endswith("guide.md")
    assert len(backend.requests) == 2  # the rephrasings, then the answer

    # the expansion mode is part of the cache key: the plain question is answered afresh
    plain = await answerer.answer(QUESTION, ACME, ["docs"])
    assert plain.cached is False
    assert plain.expansion is None
    again = await answerer.answer(QUESTION, ACME, ["docs"], expand="multi")
    assert again.cached is True
    assert len(backend.requests) == 3

    # an answer given after a failed expansion is not cached as an expanded one
    down = Turn(fail=BackendUnavailable("local", "connection refused"))
    answer = Turn("Boil it to 95 degrees [1].")
    failing = Answerer(knowledge, ScriptedBackend([down, answer, down, answer]))
    hyde = await failing.answer(QUESTION, ACME, ["docs"], expand="hyde")
    assert hyde.expansion is not None
    assert hyde.expansion.note is not None
    assert "model failed" in hyde.expansion.note
    assert not hyde.refused
    assert (await failing.answer(QUESTION, ACME, ["docs"], expand="hyde")).cached is False


@pytest.mark.realmodel
async def test_real_model_expands_queries(knowledge: Knowledge, corpus: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    backend = EmbeddedBackend.from_config("local", EmbeddedConfig(n_threads=2))
    expander = QueryExpander(backend)
    question = "What does the nonlocal statement do?"
    try:
        multi = await knowledge.retrieve(question, ACME, k=3, expand="multi", expander=expander)
        hyde = await knowledge.retrieve(question, ACME, k=3, expand="hyde", expander=expander)
    finally:
        await backend.aclose()
    # the grammar holds SmolLM2-135M to the JSON shape: it parses, whatever its quality
    assert multi.expansion is not None
    assert multi.expansion.note is None, multi.expansion.note
    assert 1 <= len(multi.expansion.queries) <= 3
    assert all(q.strip() for q in multi.expansion.queries)
    assert hyde.expansion is not None
    assert hyde.expansion.note is None, hyde.expansion.note
    assert hyde.expansion.passage
    assert "\n" not in hyde.expansion.passage
    for found in (multi, hyde):
        assert found.hits[0].source.endswith("nonlocal.txt")
        sims = [h.similarity for h in found.hits]
        assert all(s is not None and np.isfinite(s) for s in sims)
