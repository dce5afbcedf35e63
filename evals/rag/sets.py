"""The eval's question sets, their labels and their dev/test split.

Labels (qrels): a question's relevant chunks are the chunks containing its evidence phrase
(whitespace-normalised) in its topic, or in another topic that repeats, verbatim, the paragraph
the phrase is quoted from. The language reference repeats whole sections: "compound" holds the
text of "if", "while", "for", "try" and "with", "specialnames" that of "customization" and
"attribute-access"; a retriever that returns the same paragraph from the other topic has found
the answer just as well.

Split: each set is cut in two halves by a hash of the question id (deterministic, independent
of the order the questions are written in). Fusion weights are calibrated on ``dev`` only; the
eval reports ``test`` (never seen by the calibration) and ``all``."""

from __future__ import annotations

import hashlib
import pydoc_data.topics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from evals.rag.golden import ANSWERABLE, Question
from evals.rag.paraphrased import PARAPHRASED
from rag.chunking import chunk
from rag.extract import extract_text
from rag.lexical import terms

SetName = Literal["literal", "paraphrased"]
Split = Literal["dev", "test", "all"]
SETS: dict[SetName, list[Question]] = {"literal": ANSWERABLE, "paraphrased": PARAPHRASED}

# a word in at most this many of the 79 topics is distinctive (~19%): "loop" (12 topics),
# "scope" (10), "decorator" (7) are; "function" (44), "value" (44), "class" (40) are not
DISTINCTIVE_DF = 15


def norm(text: str) -> str:
    return " ".join(text.split())


def split(questions: Sequence[Question], part: Split) -> list[Question]:
    """Half of ``questions`` (``dev`` or ``test``) by a hash of each id, or all of them."""
    if part == "all":
        return list(questions)
    ranked = sorted(questions, key=lambda q: hashlib.sha256(q.qid.encode()).hexdigest())
    dev = {q.qid for q in ranked[: len(ranked) // 2]}
    return [q for q in questions if (q.qid in dev) == (part == "dev")]


def paragraph(topic: str, evidence: str) -> str:
    """The blank-line paragraph of ``topic`` the evidence is quoted from (normalised)."""
    ev = norm(evidence)
    for para in pydoc_data.topics.topics[topic].split("\n\n"):
        if ev in norm(para):
            return norm(para)
    return ev  # the phrase spans paragraphs: the phrase itself must be repeated


@dataclass(frozen=True)
class Chunk:
    """What the labels need of a chunk: its id, topic (file stem), text and heading path."""

    id: str
    topic: str
    text: str
    title: str = ""
    headings: tuple[str, ...] = ()

    @property
    def context(self) -> str:
        """Title, headings and text: everything a reader of the chunk sees."""
        return "\n".join([self.title, *self.headings, self.text])


def corpus_chunks(size: int, overlap: int) -> list[Chunk]:
    """The corpus as ``Knowledge.ingest`` chunks it (ids ``topic#ordinal``), without an index."""
    out = []
    for name, text in pydoc_data.topics.topics.items():
        doc = extract_text(name, text)
        for p in chunk(doc, size, overlap):
            out.append(Chunk(f"{name}#{p.ordinal}", name, p.text, doc.title, p.headings))
    return out


def relevant(question: Question, chunks: Iterable[Chunk]) -> set[str]:
    """Ids of the chunks that answer ``question`` (see the module docstring)."""
    ev = norm(question.evidence)
    para = paragraph(question.topic, question.evidence)
    topics = pydoc_data.topics.topics
    return {
        c.id
        for c in chunks
        if ev in _normed(c.text) and (c.topic == question.topic or para in _normed(topics[c.topic]))
    }


def qrels(questions: Sequence[Question], chunks: Sequence[Chunk]) -> dict[str, dict[str, int]]:
    """ranx qrels: question id -> {chunk id: 1}; a question whose phrase no chunk contains
    whole (it straddles a chunk boundary) gets every chunk of its topic."""
    out: dict[str, dict[str, int]] = {}
    for q in questions:
        found = relevant(q, chunks)
        if not found:
            found = {c.id for c in chunks if c.topic == q.topic}
        out[q.qid] = dict.fromkeys(sorted(found), 1)
    return out


@cache
def _normed(text: str) -> str:
    return norm(text)


# ---- the wording check ------------------------------------------------------------------


def stems(text: str) -> set[str]:
    """The stems BM25 indexes for ``text``, less function words, numbers and single letters."""
    return set(terms(text))


@cache
def document_frequency() -> Mapping[str, int]:
    """In how many of the 79 topics each stem occurs."""
    df: Counter[str] = Counter()
    for text in pydoc_data.topics.topics.values():
        df.update(stems(text))
    return df


def distinctive_shared(question: Question, target_texts: Iterable[str]) -> set[str]:
    """The distinctive stems ``question`` shares with its target: its topic's name and
    ``target_texts`` (the chunks that answer it, with their title and headings). Empty for a
    fair paraphrase."""
    df = document_frequency()
    target = stems(question.topic.replace("-", " "))
    for text in target_texts:
        target |= stems(text)
    return {w for w in stems(question.text) & target if df.get(w, 0) <= DISTINCTIVE_DF}
