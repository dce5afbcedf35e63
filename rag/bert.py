"""A BERT sentence encoder in numpy, for the packaged MiniLM: the same vectors as
sentence-transformers (mean pooling, normalised), without importing torch, transformers or
sentence-transformers.

Those imports took ~7.7 s of every ``agenthost search`` / ``ask`` (sentence_transformers alone
7.7 s, torch 2.2 s of it, on the project's 2-core machine) before the query was encoded in
a few milliseconds. This reads the model directory sentence-transformers would (its
``model.safetensors``, ``tokenizer.json`` and configs) and runs the forward pass with numpy:
embeddings, ``num_hidden_layers`` of self-attention and feed-forward with post-layer norms,
exact (erf) GELU, mean pooling over the attention mask, L2 normalisation. Only models that
are exactly that take this path (``supported``); any other model directory is loaded with
sentence-transformers. ``tests/rag/test_bert.py`` holds it to sentence-transformers'
vectors."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]


def _gelu(x: Array) -> Array:
    """The exact (erf) GELU BERT uses, in place."""
    from scipy.special import erf  # type: ignore[import-untyped]  # via sentence-transformers

    y = x * np.float32(1 / math.sqrt(2.0))
    erf(y, out=y)
    y += 1.0
    y *= x
    y *= 0.5
    return y


def _json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def supported(path: Path) -> bool:
    """Whether the sentence-transformers directory at ``path`` is a BERT encoder with mean
    pooling and normalisation, stored as safetensors with a fast tokenizer: what this module
    runs exactly."""
    try:
        config = _json(path / "config.json")
        pooling = _json(path / "1_Pooling" / "config.json")
        modules = json.loads((path / "modules.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "") for m in modules] if isinstance(modules, list) else []
    others = (
        "pooling_mode_cls_token",
        "pooling_mode_max_tokens",
        "pooling_mode_mean_sqrt_len_tokens",
    )
    return (
        config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and pooling.get("pooling_mode_mean_tokens") is True
        and not any(pooling.get(k) for k in others)
        and kinds
        == [f"sentence_transformers.models.{m}" for m in ("Transformer", "Pooling", "Normalize")]
        and (path / "model.safetensors").is_file()
        and (path / "tokenizer.json").is_file()
    )


class BertEncoder:
    """``encode(texts)``: unit vectors, one row a text, in batches of ``batch_size`` texts of
    similar length (sorted, as sentence-transformers does, so little is padded)."""

    def __init__(self, path: Path, batch_size: int = 64) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = _json(path / "config.json")
        st = _json(path / "sentence_bert_config.json")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])
        self.batch_size = batch_size
        max_len = int(st.get("max_seq_length", config.get("max_position_embeddings", 512)))
        weights = load_file(str(path / "model.safetensors"))  # (position ids are int64: left)
        self.w = {k.removeprefix("bert."): v.astype(np.float32)
                  for k, v in weights.items() if v.dtype != np.int64}  # fmt: skip
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_len)
        self.tokenizer.no_padding()

    def encode(self, texts: Sequence[str]) -> Array:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._forward([ids[i] for i in chunk])
        return out

    def _forward(self, batch: list[list[int]]) -> Array:
        w, n, length = self.w, len(batch), max(len(b) for b in batch)
        ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        # padded keys get the smallest float, as transformers' extended attention mask does
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        head = self.dim // self.heads
        scale = np.float32(1.0 / math.sqrt(head))
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            # contiguous (batch, head) slices: numpy's stacked matmul hands those to BLAS
            q, k, v = (
                np.ascontiguousarray(
                    self._dense(x, p + f"attention.self.{name}")
                    .reshape(n, length, self.heads, head)
                    .transpose(0, 2, 1, 3)
                )
                for name in ("query", "key", "value")
            )
            scores = (q * scale) @ np.ascontiguousarray(k.transpose(0, 1, 3, 2))
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores, out=scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(n, length, self.dim)
            x = self._norm(self._dense(context, p + "attention.output.dense") + x,
                           p + "attention.output.LayerNorm")  # fmt: skip
            hidden = _gelu(self._dense(x, p + "intermediate.dense"))
            x = self._norm(self._dense(hidden, p + "output.dense") + x, p + "output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)[:, None]
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        out: Array = (pooled / norms).astype(np.float32)
        return out

    def _dense(self, x: Array, name: str) -> Array:
        """``x @ W.T + b`` over the last axis, as one 2-D matrix product (one BLAS call)."""
        flat = x.reshape(-1, x.shape[-1]) @ self.w[name + ".weight"].T
        flat += self.w[name + ".bias"]
        out: Array = flat.reshape(*x.shape[:-1], flat.shape[-1])
        return out

    def _norm(self, x: Array, name: str) -> Array:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        out: Array = (x - mean) / np.sqrt(var + self.eps)
        return out * self.w[name + ".weight"] + self.w[name + ".bias"]
