"""The numpy BERT encoder (``rag/bert.py``) against sentence-transformers on the packaged
MiniLM: the same vectors, and a query encoded without importing torch."""

from __future__ import annotations

import json
import pydoc_data.topics
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from rag.bert import BertEncoder, supported
from rag.config import EmbeddingConfig
from rag.embedding import SentenceTransformerEmbedder, model_dir

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    "What does the nonlocal statement do?",
    "",
    "x",
    "Ünïcödé, emoji 🙂 and CJK 漢字 are tokenised like any text",
    *(text[:4000] for text in list(pydoc_data.topics.topics.values())[:12]),  # past 256 tokens
]


def test_numpy_gives_sentence_transformers_vectors() -> None:
    path, _ = model_dir(EmbeddingConfig())
    assert supported(path)
    ours = BertEncoder(path, batch_size=5).encode(TEXTS)  # batches of mixed lengths, padded
    embedder = SentenceTransformerEmbedder(EmbeddingConfig())
    theirs = embedder.model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert np.abs(ours - theirs).max() < 1e-5
    # the embedder takes numpy for a query and sentence-transformers for a large batch
    small, large = embedder.encode(TEXTS[:1]), embedder.encode(TEXTS * 4)
    assert np.abs(small - theirs[:1]).max() < 1e-5
    assert np.abs(large[: len(TEXTS)] - theirs).max() < 1e-5


def test_a_query_is_encoded_without_importing_torch() -> None:
    code = (
        "import sys\n"
        "from rag.config import EmbeddingConfig\n"
        "from rag.embedding import SentenceTransformerEmbedder\n"
        "v = SentenceTransformerEmbedder(EmbeddingConfig()).encode(['a question'])\n"
        "print(v.shape, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["(1,", "384)", "False", "False"]


def test_other_models_are_left_to_sentence_transformers(tmp_path: Path) -> None:
    path, _ = model_dir(EmbeddingConfig())
    other = tmp_path / "model"
    shutil.copytree(path, other, ignore=shutil.ignore_patterns("*.safetensors"))
    (other / "model.safetensors").touch()
    assert supported(other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps(config | {"model_type": "mpnet"}))
    assert not supported(other)
    pooling = other / "1_Pooling" / "config.json"
    (other / "config.json").write_text(json.dumps(config))
    pooling.write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert not supported(other)
    assert not supported(tmp_path / "missing")
