"""``agenthost ingest / search / ask`` as a user runs them: real processes, the real index and
embedding model, a scripted model for the answer."""

from __future__ import annotations

import json
import pydoc_data.topics
from pathlib import Path

from tests.cli.conftest import agenthost

SCRIPTED = """
[inference.backends.script]
kind = "scripted"
replies = ["It declares names from the enclosing scope [1]."]
[inference.tiers]
main = ["script"]
"""


def test_ingest_search_ask(tmp_path: Path) -> None:
    (tmp_path / "agenthost.toml").write_text(SCRIPTED)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("nonlocal", "global", "pass"):
        (docs / f"{name}.txt").write_text(pydoc_data.topics.topics[name])

    out = agenthost("ingest", "docs", "--collection", "py", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("py: 3 added, 0 updated, 0 unchanged, 0 removed;")

    out = agenthost("search", "nonlocal statement", "-C", "py", "--json", "-k", "2", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert len(hits) == 2
    assert hits[0]["source"] == str(docs / "nonlocal.txt")

    # expansion by a model that writes no JSON: the plain hits, and a note on stderr
    out = agenthost("search", "nonlocal", "-C", "py", "--json", "--expand", "multi", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["source"] == str(docs / "nonlocal.txt")
    assert out.stderr.startswith("note: multi expansion skipped: the model's rephrasings did")
    out = agenthost("search", "nonlocal", "--expand", "wide", cwd=tmp_path)
    assert (out.returncode, out.stderr.strip()) == (
        2,
        "error: --expand must be none, multi or hyde, not 'wide'",
    )

    out = agenthost("ask", "What does nonlocal do?", "-C", "py", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "It declares names from the enclosing scope [1]."
    assert "Sources:" in lines
    assert lines[-1].startswith(f"[1] {docs / 'nonlocal.txt'}:")

    # a tenant sees only its own collections (an unknown collection: a bad request)
    out = agenthost("search", "nonlocal", "-C", "py", "--tenant", "other", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == "error: no collection 'py'"


def test_errors_are_one_line(tmp_path: Path) -> None:
    out = agenthost("ingest", "missing-dir", "-C", "x", cwd=tmp_path)
    assert (out.returncode, out.stderr.strip()) == (2, "error: missing-dir does not exist")
    (tmp_path / "agenthost.toml").write_text("[rag.retrieval]\nk = 0\n")
    out = agenthost("search", "x", cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "rag.retrieval.k" in out.stderr
