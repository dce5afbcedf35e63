from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunking import chunk, split_fixed, windows
from rag.extract import Block, Extracted, extract
from rag.ingest import embed_text

from .conftest import TOPICS

words = st.text(alphabet="abcdefghij", min_size=1, max_size=12)
paragraphs = st.lists(words, min_size=1, max_size=80).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(
    paras=st.lists(paragraphs, min_size=1, max_size=12),
    size=st.integers(100, 600),
    overlap=st.integers(0, 120),
)
def test_chunks_fit_and_lose_no_words(paras: list[str], size: int, overlap: int) -> None:
    doc = Extracted("t", "text", [Block(p, "paragraph", ("H",)) for p in paras])
    pieces = chunk(doc, size, overlap)
    # a chunk may exceed size only by the overlap carried from its predecessor
    assert all(len(p.text) <= size + overlap + 4 for p in pieces)
    joined = " ".join(p.text for p in pieces)
    for word in " ".join(paras).split():
        assert word in joined
    assert [p.ordinal for p in pieces] == list(range(len(pieces)))


@settings(max_examples=60, deadline=None)
@given(text=paragraphs, size=st.integers(20, 300), overlap=st.integers(0, 60))
def test_fixed_windows_cover_the_text(text: str, size: int, overlap: int) -> None:
    windows = split_fixed(text, size, min(overlap, size // 2))
    assert all(len(w) <= size for w in windows)
    # words are shorter than a window here, so none is cut
    assert set(text.split()) <= set(" ".join(windows).split())


def test_a_heading_change_starts_a_new_chunk() -> None:
    doc = extract(Path("g.md"), b"# A\n\none\n\n## B\n\ntwo\n\n## C\n\nthree\n")
    pieces = chunk(doc, 1000, 100)
    assert [(p.text, p.headings) for p in pieces] == [
        ("one", ("A",)),
        ("two", ("A", "B")),
        ("three", ("A", "C")),
    ]


def test_consecutive_chunks_of_one_section_overlap() -> None:
    doc = extract(Path("with.txt"), TOPICS["with"].encode())
    pieces = chunk(doc, 500, 80)
    same = [
        (a, b)
        for a, b in itertools.pairwise(pieces)
        if a.headings == b.headings and not b.text.startswith(a.text[:20])
    ]
    assert same, "expected consecutive chunks in one section"
    carried = [b for a, b in same if b.text.startswith("… ")]
    assert carried
    for a, b in same:
        if b.text.startswith("… "):
            # the carried text is the end of the previous chunk
            assert a.text[-30:] in b.text[: 80 + 4]


def test_code_definitions_share_chunks_until_full() -> None:
    src = "\n\n".join(f"def f{i}():\n    return {i}\n" for i in range(30))
    pieces = chunk(extract(Path("m.py"), src.encode()), 300, 0)
    assert 1 < len(pieces) < 30
    assert all(len(p.text) <= 300 for p in pieces)
    assert pieces[0].headings[:2] == ("f0", "f1")


def test_every_chunk_keeps_the_headings_of_its_section() -> None:
    """A heading is never cut off from its text: each chunk carries its section's heading path
    (title first), both indexes see it (BM25's headings and title fields; the embedded text
    starts with it), and no chunk is a heading alone."""
    for name in ("try", "formatstrings", "typesseq"):
        doc = extract(Path(f"{name}.txt"), TOPICS[name].encode())
        heading_lines = {b.text for b in doc.blocks if b.kind == "heading"}
        pieces = chunk(doc, 1000, 120)
        assert pieces
        for p in pieces:
            assert p.headings
            assert p.headings[0] == doc.title
            assert p.text.strip() not in heading_lines
            context = embed_text(doc.title, p.headings, p.text).split("\n", 1)[0]
            assert context == " > ".join(dict.fromkeys(p.headings))
        # a section's text starts in a chunk that carries the section's own heading
        for heading in heading_lines - {doc.title}:
            assert any(p.headings[-1] == heading for p in pieces), heading


@settings(max_examples=60, deadline=None)
@given(sentences=st.lists(paragraphs.map(lambda p: p + "."), min_size=1, max_size=20),
       size=st.integers(40, 400))  # fmt: skip
def test_sentence_windows_cover_the_chunk_in_order(sentences: list[str], size: int) -> None:
    text = " ".join(sentences)
    found = windows(text, size)
    if len(text) <= size:
        assert found == []
        return
    if found:  # none when it is one long sentence: the chunk's own vector is enough
        assert " ".join(found).split() == text.split()
        # a window is over size only when it is one sentence
        assert all(len(w) <= size or w in sentences for w in found)
    assert windows(text, 0) == []
