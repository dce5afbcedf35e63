"""Structure-aware chunking: sections stay whole where they fit, blocks are never cut mid-way
unless a single block is larger than a chunk (then fixed-size windows with overlap)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.extract import Block, Extracted


@dataclass(frozen=True)
class Piece:
    """A chunk before it has an id: its text and the span of the source it covers."""

    ordinal: int
    text: str
    headings: tuple[str, ...]
    kind: str
    page: int | None
    line_start: int | None
    line_end: int | None


_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+|\n\s*\n")


def windows(text: str, size: int) -> list[str]:
    """A chunk's sentence windows for embedding: consecutive sentences packed up to about
    ``size`` characters (a longer sentence is a window of its own). ``[]`` when the chunk
    fits in one window, or ``size`` is 0: its own vector is enough.

    A small embedder (MiniLM was trained on 128-token inputs) averages a whole chunk into
    one vector, so a question about one sentence of it can score low; scoring a chunk by
    its best window finds it (docs/rag.md, "Sentence windows")."""
    if size <= 0 or len(text) <= size:
        return []
    out: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if current and len(current) + 1 + len(sentence) > size:
            out.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        out.append(current)
    return out if len(out) > 1 else []


def chunk(doc: Extracted, size: int, overlap: int) -> list[Piece]:
    """Chunks of at most about ``size`` characters; consecutive chunks of one section share
    ``overlap`` characters. A heading change always starts a new chunk."""
    overlap = min(overlap, size // 2)
    out: list[Piece] = []
    current: list[Block] = []
    carry = ""

    def flush() -> None:
        nonlocal carry
        if not current:
            return
        body = "\n\n".join(b.text for b in current)
        text = f"{carry}{body}" if carry else body
        out.append(_piece(len(out), text, current, merge_names=doc.kind == "code"))
        carry = _tail(body, overlap)
        current.clear()

    for block in doc.blocks:
        if block.kind == "heading":
            flush()
            carry = ""
            continue
        # Code has no headings to respect: small definitions share a chunk.
        if (
            current
            and doc.kind != "code"
            and (current[0].headings != block.headings or current[0].page != block.page)
        ):
            flush()
            carry = ""
        used = sum(len(b.text) + 2 for b in current) + len(carry)
        if len(block.text) > size:
            flush()
            for window in split_fixed(block.text, size, overlap, lines=block.kind == "code"):
                out.append(_piece(len(out), window, [block]))
            carry = ""
            continue
        if current and used + len(block.text) > size:
            flush()
        current.append(block)
    flush()
    return out


def _piece(ordinal: int, text: str, blocks: list[Block], *, merge_names: bool = False) -> Piece:
    first, last = blocks[0], blocks[-1]
    kinds = {b.kind for b in blocks}
    headings = tuple(h for b in blocks for h in b.headings) if merge_names else first.headings
    return Piece(
        ordinal=ordinal,
        text=text,
        headings=headings,
        kind=kinds.pop() if len(kinds) == 1 else "mixed",
        page=first.page,
        line_start=first.line_start,
        line_end=last.line_end,
    )


def _tail(text: str, n: int) -> str:
    """The last ~n characters of ``text``, starting at a word boundary, plus a separator."""
    if n <= 0 or len(text) <= n:
        return ""
    tail = text[-n:]
    space = tail.find(" ")
    tail = tail[space + 1 :] if 0 <= space < n // 2 else tail
    return f"… {tail}\n\n"


_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\n+")


def split_fixed(text: str, size: int, overlap: int, *, lines: bool = False) -> list[str]:
    """Windows of at most ``size`` characters overlapping by about ``overlap``; cuts fall on
    line ends (``lines``) or sentence ends, then on spaces, and only as a last resort mid-word."""
    if len(text) <= size:
        return [text]
    pattern = re.compile(r"\n") if lines else _SENTENCE_END
    windows: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = _last_break(text, start + size // 2, end, pattern, floor=start + 1)
            end = cut if cut is not None else end
        windows.append(text[start:end].strip())
        if end >= len(text):
            break
        nxt = max(end - overlap, start + 1)
        space = text.find(" ", nxt, end)
        start = space + 1 if overlap and space != -1 else nxt
    return [w for w in windows if w]


def _last_break(text: str, lo: int, hi: int, pattern: re.Pattern[str], *, floor: int) -> int | None:
    """The last line/sentence break in the second half of the window, else the last space in
    the window (``floor`` onwards), else None."""
    best = None
    for m in pattern.finditer(text, lo, hi):
        best = m.end()
    if best is None:
        space = text.rfind(" ", floor, hi)
        best = space + 1 if space != -1 else None
    return best
