"""Text extraction: a file becomes blocks of text that keep their structure.

Each block knows its kind (heading, paragraph, code, table, list), the heading path above it
and where it came from (lines for text formats, the page for PDF), so chunks can cite spans.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

from markdown_it import MarkdownIt

from rag.errors import ExtractionError

BlockKind = Literal["heading", "paragraph", "code", "table", "list", "quote"]
DocKind = Literal["markdown", "text", "html", "pdf", "code"]

MARKDOWN = {".md", ".markdown", ".mdx"}
TEXT = {".txt", ".rst", ".text", ""}
HTML = {".html", ".htm", ".xhtml"}
PDF = {".pdf"}
CODE = {
    ".py", ".pyi", ".js", ".jsx", ".ts", ".tsx", ".go", ".rs", ".java", ".kt", ".c", ".h",
    ".cc", ".cpp", ".hpp", ".cs", ".rb", ".php", ".sh", ".bash", ".sql", ".toml", ".yaml",
    ".yml", ".json", ".swift", ".scala", ".lua",
}  # fmt: skip
SUPPORTED = MARKDOWN | TEXT | HTML | PDF | CODE


@dataclass(frozen=True)
class Block:
    text: str
    kind: BlockKind
    headings: tuple[str, ...] = ()
    page: int | None = None
    line_start: int | None = None  # 1-based, inclusive
    line_end: int | None = None


@dataclass
class Extracted:
    title: str
    kind: DocKind
    blocks: list[Block] = field(default_factory=list)


def doc_kind(path: Path) -> DocKind | None:
    """The extractor for ``path`` by its suffix, or None when the file type is not supported."""
    suffix = path.suffix.lower()
    if suffix in MARKDOWN:
        return "markdown"
    if suffix in HTML:
        return "html"
    if suffix in PDF:
        return "pdf"
    if suffix in CODE:
        return "code"
    if suffix in TEXT:
        return "text"
    return None


def extract(path: Path, data: bytes) -> Extracted:
    """Extract ``data`` (the bytes of ``path``) into structured blocks."""
    kind = doc_kind(path)
    if kind is None:
        raise ExtractionError(f"{path}: unsupported file type {path.suffix!r}")
    if kind == "pdf":
        return extract_pdf(path, data)
    text = data.decode("utf-8", errors="replace")
    if kind == "markdown":
        return extract_markdown(path.stem, text)
    if kind == "html":
        return extract_html(path.stem, text)
    if kind == "code":
        return extract_code(path, text)
    return extract_text(path.stem, text)


# ---- markdown ---------------------------------------------------------------------------

_MD_KINDS: dict[str, BlockKind] = {
    "paragraph_open": "paragraph",
    "fence": "code",
    "code_block": "code",
    "table_open": "table",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "blockquote_open": "quote",
}


def extract_markdown(default_title: str, text: str) -> Extracted:
    lines = text.splitlines()
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    doc = Extracted(title=default_title, kind="markdown")
    stack: list[tuple[int, str]] = []
    title_set = False
    for i, tok in enumerate(tokens):
        if tok.level != 0 or tok.map is None:
            continue
        start, end = tok.map
        if tok.type == "heading_open":
            level = int(tok.tag[1:])
            heading = tokens[i + 1].content.strip()
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading))
            if level == 1 and not title_set:
                doc.title, title_set = heading, True
            doc.blocks.append(_block(heading, "heading", stack, start, end))
        elif tok.type in _MD_KINDS:
            source = "\n".join(lines[start:end]).strip()
            if source:
                doc.blocks.append(_block(source, _MD_KINDS[tok.type], stack, start, end))
    return doc


def _block(text: str, kind: BlockKind, stack: list[tuple[int, str]], start: int, end: int) -> Block:
    return Block(text, kind, tuple(h for _, h in stack), None, start + 1, end)


# ---- plain text -------------------------------------------------------------------------

_UNDERLINE = re.compile(r"^([=\-*~^#+])\1{2,}\s*$")


def extract_text(default_title: str, text: str) -> Extracted:
    """Paragraphs split on blank lines; an underlined line (reST/pydoc style) is a heading."""
    lines = text.splitlines()
    doc = Extracted(title=default_title, kind="text")
    heading_levels: list[str] = []  # underline characters in order of first use
    stack: list[tuple[int, str]] = []
    para: list[str] = []
    para_start = 0

    def flush(end: int) -> None:
        if para and any(p.strip() for p in para):
            body = "\n".join(para).strip("\n")
            kind: BlockKind = (
                "code" if all(_indented(p) for p in para if p.strip()) else "paragraph"
            )
            doc.blocks.append(_block(body, kind, stack, para_start, end))
        para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _UNDERLINE.match(nxt) and len(nxt.strip()) >= len(line.strip()) // 2:
            flush(i)
            char = nxt.strip()[0]
            if char not in heading_levels:
                heading_levels.append(char)
            level = heading_levels.index(char) + 1
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, line.strip()))
            if len(stack) == 1 and doc.title == default_title and not doc.blocks:
                doc.title = line.strip()
            doc.blocks.append(_block(line.strip(), "heading", stack, i, i + 2))
            i += 2
            para_start = i
            continue
        if not line.strip():
            flush(i)
            para_start = i + 1
        else:
            if not para:
                para_start = i
            para.append(line)
        i += 1
    flush(len(lines))
    return doc


def _indented(line: str) -> bool:
    return line.startswith(("    ", "\t"))


# ---- HTML -------------------------------------------------------------------------------

_HTML_BLOCKS: dict[str, BlockKind] = {
    "p": "paragraph",
    "pre": "code",
    "table": "table",
    "ul": "list",
    "ol": "list",
    "blockquote": "quote",
    "dd": "paragraph",
    "dt": "paragraph",
    "div": "paragraph",
    "section": "paragraph",
    "article": "paragraph",
    "li": "list",
}
_SKIP = {"script", "style", "nav", "noscript", "template"}


class _HtmlBlocks(HTMLParser):
    def __init__(self, default_title: str) -> None:
        super().__init__(convert_charrefs=True)
        self.doc = Extracted(title=default_title, kind="html")
        self.stack: list[tuple[int, str]] = []
        self.skip = 0
        self.in_title = False
        self.heading: int | None = None
        self.pre = 0
        self.buf: list[str] = []
        self.start_line = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading = int(tag[1])
        elif tag in _HTML_BLOCKS or tag == "br":
            if tag == "pre":
                self._flush()
                self.pre += 1
            elif not self.pre and tag != "br":
                self._flush()
            else:
                self.buf.append("\n")
        elif tag in ("td", "th"):
            self.buf.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self.in_title = False
        elif self.heading is not None and tag == f"h{self.heading}":
            text = " ".join("".join(self.buf).split())
            self.buf.clear()
            if text:
                while self.stack and self.stack[-1][0] >= self.heading:
                    self.stack.pop()
                self.stack.append((self.heading, text))
                line = self.getpos()[0]
                self.doc.blocks.append(_block(text, "heading", self.stack, line - 1, line))
            self.heading = None
            self.start_line = self.getpos()[0]
        elif tag == "pre":
            self._flush("code")
            self.pre = max(0, self.pre - 1)
        elif tag == "tr":
            self.buf.append("\n")
        elif tag in _HTML_BLOCKS and not self.pre:
            self._flush(_HTML_BLOCKS[tag])

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.in_title:
            if data.strip():
                self.doc.title = data.strip()
            return
        if not self.buf or not "".join(self.buf).strip():
            self.start_line = self.getpos()[0]
        self.buf.append(data)

    def _flush(self, kind: BlockKind = "paragraph") -> None:
        raw = "".join(self.buf)
        self.buf.clear()
        if kind == "code":
            text = raw.strip("\n")
        else:
            text = "\n".join(" ".join(ln.split()) for ln in raw.splitlines() if ln.strip())
        if text.strip():
            end = self.getpos()[0]
            self.doc.blocks.append(_block(text, kind, self.stack, self.start_line - 1, end))
        self.start_line = self.getpos()[0]


def extract_html(default_title: str, text: str) -> Extracted:
    parser = _HtmlBlocks(default_title)
    parser.feed(text)
    parser.close()
    parser._flush()
    return parser.doc


# ---- PDF --------------------------------------------------------------------------------


def extract_pdf(path: Path, data: bytes) -> Extracted:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ExtractionError(f"{path}: cannot read PDF: {exc}") from exc
    doc = Extracted(title=str(meta_title or path.stem), kind="pdf")
    for number, page_text in enumerate(pages, start=1):
        for para in re.split(r"\n\s*\n", page_text):
            if para.strip():
                doc.blocks.append(Block(para.strip(), "paragraph", (), number))
    return doc


# ---- source code ------------------------------------------------------------------------


def extract_code(path: Path, text: str) -> Extracted:
    """Python splits on top-level definitions (named by them); other languages on blank lines
    at column 0."""
    doc = Extracted(title=path.name, kind="code")
    lines = text.splitlines()
    if path.suffix in (".py", ".pyi"):
        try:
            tree = ast.parse(text)
        except SyntaxError:
            tree = None
        if tree is not None:
            prev = 0
            for node in tree.body:
                start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
                end = node.end_lineno or node.lineno
                if start - 1 > prev:
                    _code_span(doc, lines, prev, start - 1, ())
                name = getattr(node, "name", None)
                _code_span(doc, lines, start - 1, end, (name,) if isinstance(name, str) else ())
                prev = end
            if prev < len(lines):
                _code_span(doc, lines, prev, len(lines), ())
            return doc
    start = 0
    for i, line in enumerate(lines):
        if not line.strip() and i + 1 < len(lines) and lines[i + 1][:1] not in (" ", "\t", ""):
            _code_span(doc, lines, start, i, ())
            start = i + 1
    _code_span(doc, lines, start, len(lines), ())
    return doc


def _code_span(
    doc: Extracted, lines: list[str], start: int, end: int, names: tuple[str, ...]
) -> None:
    body = "\n".join(lines[start:end]).strip("\n")
    if body.strip():
        doc.blocks.append(Block(body, "code", names, None, start + 1, end))
