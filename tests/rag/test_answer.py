"""Grounded answers: citations, the refusal threshold, the token budget and the answer cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import ChatRequest
from inference.backends.embedded import EmbeddedBackend
from inference.backends.scripted import ScriptedBackend, Turn
from inference.config import EmbeddedConfig
from rag.answer import REFUSAL, Answerer, build_context
from rag.knowledge import Knowledge
from rag.rerank import LLMReranker
from rag.types import Hit, Location, Principal

pytestmark = pytest.mark.anyio
ACME = Principal("acme")


def hit(n: int, text: str) -> Hit:
    return Hit(
        chunk_id=f"c{n}", score=1.0, collection="c", source=f"s{n}", title="T",
        headings=["T", "H"], version=1, span=Location(), text=text,
    )  # fmt: skip


def test_context_numbers_sources_and_respects_the_budget() -> None:
    hits = [hit(i, "word " * 200) for i in range(5)]  # ~250 tokens each
    context, used = build_context(hits, 600)
    assert context.startswith("[1] T > H\n")
    assert "[3] T > H" in context
    assert "[4]" not in context
    assert len(used) == 3
    assert len(context) // 4 <= 600


async def test_answer_cites_chunks_and_caches(knowledge: Knowledge, corpus: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    model = ScriptedBackend(lambda _: Turn("It rebinds names in the enclosing scope [1]."))
    answerer = Answerer(knowledge, model)
    first = await answerer.answer("What does the nonlocal statement do?", ACME, ["docs"])
    assert not first.refused
    assert first.cached is False
    assert [c.number for c in first.citations] == [1]
    assert first.citations[0].how == "model"  # the model's own marks: nothing attributed
    assert first.citations[0].source.endswith("nonlocal.txt")
    assert first.citations[0].chunk_id == first.hits[0].chunk_id
    prompt = model.requests[0].messages[-1].content
    assert prompt.startswith("Sources:\n[1] ")
    assert prompt.endswith("Question: What does the nonlocal statement do?")

    again = await answerer.answer("what does the nonlocal statement do", ACME, ["docs"])
    assert again.cached is True
    assert again.text == first.text
    assert len(model.requests) == 1
    # another tenant's groups never share a cache entry
    board = Principal("acme", frozenset({"board"}))
    await answerer.answer("What does the nonlocal statement do?", board, ["docs"])
    assert len(model.requests) == 2

    # ingest invalidates: the same question is answered afresh
    (corpus / "extra.md").write_text("# Extra\n\nNew text.\n")
    knowledge.ingest([corpus], "docs", tenant="acme")
    fresh = await answerer.answer("What does the nonlocal statement do?", ACME, ["docs"])
    assert fresh.cached is False
    assert len(model.requests) == 3


async def test_refuses_below_the_threshold_without_calling_the_model(
    knowledge: Knowledge, corpus: Path
) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    model = ScriptedBackend([])  # any call would fail: the script is empty
    answerer = Answerer(knowledge, model)
    result = await answerer.answer("Who won the 1998 football world cup?", ACME, ["docs"])
    assert result.refused
    assert result.text == REFUSAL
    assert result.citations == []
    assert result.best_similarity is not None
    assert result.best_similarity < knowledge.config.answer.min_score
    assert model.requests == []


async def test_model_refusal_and_out_of_range_citations(knowledge: Knowledge, corpus: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    model = ScriptedBackend([Turn(f"{REFUSAL} [9]")])
    result = await Answerer(knowledge, model).answer("How is the assert statement used?", ACME)
    assert result.refused
    assert result.citations == []


async def test_uncited_answer_gets_attributed_citations(knowledge: Knowledge, corpus: Path) -> None:
    """Small models rarely write [n]: the answer's sentences are matched to the sources."""
    knowledge.ingest([corpus], "docs", tenant="acme")
    text = (
        "The nonlocal statement makes the listed identifiers refer to previously bound "
        "variables in the nearest enclosing scope, excluding globals."
    )
    model = ScriptedBackend([Turn(text), Turn("Bananas are yellow and grow in bunches.")])
    answerer = Answerer(knowledge, model, use_cache=False)
    result = await answerer.answer("What does the nonlocal statement do?", ACME, ["docs"])
    assert not result.refused
    assert [c.how for c in result.citations] == ["attributed"]
    cited = result.citations[0]
    assert cited.source.endswith("nonlocal.txt")
    assert cited.similarity is not None
    assert cited.similarity >= 0.5
    assert cited.chunk_id == result.hits[cited.number - 1].chunk_id
    # an answer that matches none of the sources cites none of them
    off = await answerer.answer("What does the nonlocal statement do?", ACME, ["docs"])
    assert off.citations == []


async def test_llm_reranker_reorders_by_the_models_digits(
    knowledge: Knowledge, corpus: Path
) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")

    def rate(request: ChatRequest) -> Turn:
        assert request.max_tokens == 1
        return Turn("9" if "kettle" in request.messages[0].content else "1")

    reranker = LLMReranker(ScriptedBackend(rate))
    plain = (await knowledge.retrieve("the statement", ACME, k=3)).hits
    reranked = (await knowledge.retrieve("the statement", ACME, k=3, reranker=reranker)).hits
    assert plain[0].source != reranked[0].source
    assert reranked[0].source.endswith("guide.md")
    assert reranked[0].score == 9.0


@pytest.mark.realmodel  # 63 s (+14 s loading MiniLM) with two other model jobs on 2 cores
async def test_real_model_answers_from_the_sources(knowledge: Knowledge, corpus: Path) -> None:
    knowledge.ingest([corpus], "docs", tenant="acme")
    backend = EmbeddedBackend.from_config("local", EmbeddedConfig(n_threads=2))
    try:
        answer = await Answerer(knowledge, backend).answer(
            "To what temperature should water be boiled for tea?", ACME, ["docs"]
        )
        reranked = (
            await knowledge.retrieve(
                "To what temperature should water be boiled for tea?",
                ACME,
                k=2,
                reranker=LLMReranker(backend),
                rerank_top=4,  # one model call a passage: four make the point
            )
        ).hits
    finally:
        await backend.aclose()
    assert not answer.refused
    assert answer.text
    assert answer.hits[0].source.endswith("guide.md")
    assert all(c.chunk_id in {h.chunk_id for h in answer.hits} for c in answer.citations)
    assert len(reranked) == 2
