"""Which files an ingest run looks at, and what it does with each (add, update, skip, remove)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from rag.extract import doc_kind

SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox",
             ".mypy_cache", ".ruff_cache", ".pytest_cache", "build", "dist"}  # fmt: skip


def iter_files(roots: Sequence[Path]) -> Iterator[Path]:
    """Supported files under ``roots`` (files are taken as given), in a stable order; hidden
    and build folders are skipped."""
    seen: set[Path] = set()
    for root in roots:
        root = root.resolve()
        if root.is_file():
            if root not in seen and doc_kind(root) is not None:
                seen.add(root)
                yield root
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
            )
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if name.startswith(".") or path in seen or doc_kind(path) is None:
                    continue
                seen.add(path)
                yield path


def under(path: str, roots: Sequence[Path]) -> bool:
    """Whether a stored source path lies at or below one of the ingested roots."""
    for root in roots:
        r = str(root.resolve())
        if path == r or path.startswith(r.rstrip(os.sep) + os.sep):
            return True
    return False


def embed_text(title: str, headings: Sequence[str], text: str) -> str:
    """What gets embedded: the chunk with its document title and heading path, which carry
    much of its meaning once it is cut from its document."""
    context = " > ".join([title, *[h for h in headings if h != title]])
    return f"{context}\n{text}"
