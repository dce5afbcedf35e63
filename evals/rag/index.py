"""The eval's corpus and index: Python's language reference (``pydoc_data``) ingested once per
embedder, sentence window and chunking under ``--dir``, and what the eval scripts share."""

from __future__ import annotations

import argparse
import pydoc_data.topics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.rag.sets import Chunk
from rag.config import ChunkingConfig, EmbeddingConfig, RagConfig
from rag.knowledge import Knowledge
from rag.types import Principal

TENANT = Principal("eval")
COLLECTION = "pyref"


def config_for(
    embedding_package: str | None = None,
    window: int | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
) -> RagConfig:
    """The default configuration, with another packaged embedder if one is named, sentence
    windows of ``window`` characters if given, and chunks of ``chunk_size`` characters
    (overlapping by ``chunk_overlap``, else a tenth of the size) if given."""
    config = RagConfig()
    if embedding_package:
        config.embedding = EmbeddingConfig(model_package=embedding_package)
    if window is not None:
        config.chunking = config.chunking.model_copy(update={"window": window})
    if chunk_size is not None:
        overlap = chunk_size // 10 if chunk_overlap is None else chunk_overlap
        config.chunking = config.chunking.model_copy(
            update={"size": chunk_size, "overlap": overlap}
        )
    return config


def index_dir(root: Path, config: RagConfig) -> Path:
    """Where ``build_index`` keeps the index of ``config``: one per embedder, sentence window
    and chunking (changing any of them needs a re-ingest)."""
    model = config.embedding.model_path or config.embedding.model_package
    chunking, default = config.chunking, ChunkingConfig()
    name = f"index-{Path(str(model)).name}"
    if chunking.window:
        name += f"-w{chunking.window}"
    if (chunking.size, chunking.overlap) != (default.size, default.overlap):
        name += f"-c{chunking.size}-{chunking.overlap}"
    return root / name


def build_index(root: Path, config: RagConfig) -> Knowledge:
    """The corpus ingested under ``root``, in the index ``index_dir`` names for ``config``."""
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, text in pydoc_data.topics.topics.items():
        path = corpus / f"{name}.txt"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    kn = Knowledge(index_dir(root, config), config)
    report = kn.ingest([corpus], COLLECTION, tenant=TENANT.tenant)
    print(
        f"corpus: {len(pydoc_data.topics.topics)} documents, {report.chunks or 'cached'} chunks "
        f"ingested in {report.seconds:.1f}s ({report.unchanged} unchanged); "
        f"embedder {kn.embedder.model_id}",
        flush=True,
    )
    return kn


def corpus_chunks_of(kn: Knowledge) -> list[Chunk]:
    """The indexed chunks, as the labels see them."""
    out = []
    for d in kn.documents(TENANT, COLLECTION):
        for c in kn.meta.chunks_of(d.source_id):
            out.append(Chunk(c.id, Path(d.path).stem, c.text, d.title, tuple(c.headings)))
    return out


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def fmt(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def add_chunking_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chunk-size", type=int, help="rag.chunking.size (characters; "
                        "its own index is built under --dir)")  # fmt: skip
    parser.add_argument("--chunk-overlap", type=int, help="rag.chunking.overlap with "
                        "--chunk-size (default: a tenth of it)")  # fmt: skip
