from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import ExtractionError
from rag.extract import extract

from .conftest import TOPICS
from .pdf import make_pdf


def test_markdown_keeps_headings_lines_code_and_tables() -> None:
    text = (
        "# Title\n\nFirst para.\n\n## Part A\n\n```sh\nmake test\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n### Deeper\n\n- one\n- two\n\n## Part B\n\nLast.\n"
    )
    doc = extract(Path("x.md"), text.encode())
    assert doc.title == "Title"
    by_text = {b.text: b for b in doc.blocks}
    assert by_text["First para."].headings == ("Title",)
    code = by_text["```sh\nmake test\n```"]
    assert (code.kind, code.headings, code.line_start, code.line_end) == (
        "code", ("Title", "Part A"), 7, 9,
    )  # fmt: skip
    assert any(b.kind == "table" and "| 1 | 2 |" in b.text for b in doc.blocks)
    assert by_text["- one\n- two"].headings == ("Title", "Part A", "Deeper")
    assert by_text["Last."].headings == ("Title", "Part B")


def test_plain_text_underlined_headings_from_pydoc() -> None:
    doc = extract(Path("with.txt"), TOPICS["with"].encode())
    assert doc.title == 'The "with" statement'
    assert doc.blocks[0].kind == "heading"
    assert all(b.line_start is not None and b.line_start >= 1 for b in doc.blocks)
    assert any(b.kind == "code" for b in doc.blocks)  # the indented grammar block


def test_html_headings_paragraphs_pre_and_no_script() -> None:
    html = (
        "<html><head><title>Page</title><script>var x = 'secret';</script></head><body>"
        "<h1>Top</h1><p>Hello <b>world</b>.</p><h2>Sub</h2><pre>  x = 1\n  y = 2</pre>"
        "<table><tr><td>a</td><td>b</td></tr></table></body></html>"
    )
    doc = extract(Path("p.html"), html.encode())
    assert doc.title == "Page"
    texts = [b.text for b in doc.blocks]
    assert "Hello world ." in texts or "Hello world." in texts
    assert not any("secret" in t for t in texts)
    pre = next(b for b in doc.blocks if b.kind == "code")
    assert pre.text == "  x = 1\n  y = 2"
    assert pre.headings == ("Top", "Sub")


def test_python_code_splits_on_definitions_with_line_ranges() -> None:
    src = "import os\n\n\ndef a():\n    return 1\n\n\n@dec\nclass B:\n    x = 2\n"
    doc = extract(Path("m.py"), src.encode())
    names = [(b.headings, b.line_start, b.line_end) for b in doc.blocks]
    assert names == [((), 1, 1), (("a",), 4, 5), (("B",), 8, 10)]


def test_pdf_pages_are_kept() -> None:
    doc = extract(Path("d.pdf"), make_pdf(["Alpha page text", "Beta page text"]))
    pages = {b.page: b.text for b in doc.blocks}
    assert "Alpha" in pages[1]
    assert "Beta" in pages[2]


def test_unsupported_and_broken_files_raise_extraction_errors() -> None:
    with pytest.raises(ExtractionError, match="unsupported"):
        extract(Path("x.docx"), b"")
    with pytest.raises(ExtractionError, match="cannot read PDF"):
        extract(Path("x.pdf"), b"not a pdf")
