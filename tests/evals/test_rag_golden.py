"""The golden set stays true to its corpus: every evidence phrase is quoted from its topic."""

from __future__ import annotations

import pydoc_data.topics

from evals.rag.golden import ANSWERABLE, UNANSWERABLE


def norm(text: str) -> str:
    return " ".join(text.split())


def test_every_evidence_phrase_is_in_its_topic() -> None:
    topics = pydoc_data.topics.topics
    assert len(ANSWERABLE) >= 50
    assert len({q.qid for q in ANSWERABLE}) == len(ANSWERABLE)
    for q in ANSWERABLE:
        assert norm(q.evidence) in norm(topics[q.topic]), q.qid


def test_unanswerable_questions_are_not_answerable_ones() -> None:
    asked = {q.text for q in ANSWERABLE}
    assert len(UNANSWERABLE) >= 15
    assert not asked & set(UNANSWERABLE)
