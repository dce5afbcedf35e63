"""Data that crosses the library's boundary: who asks, what they get back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

EVERYONE = "*"  # the ACL group every reader of a tenant belongs to

Mode = Literal["hybrid", "bm25", "dense"]
Expand = Literal["none", "multi", "hyde"]


@dataclass(frozen=True)
class Principal:
    """Who is reading: a tenant and the ACL groups they belong to. Set by the host or server
    from its own context, never taken from a model-controlled argument."""

    tenant: str
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def readable(self) -> frozenset[str]:
        return self.groups | {EVERYONE}


class Filters(BaseModel):
    """Metadata filters applied inside both indexes, before ranking."""

    sources: list[str] | None = Field(None, description="only these source paths")
    modified_after: datetime | None = None
    modified_before: datetime | None = None
    min_version: int | None = Field(None, description="only sources at this version or later")


class Location(BaseModel):
    page: int | None = None
    line_start: int | None = None
    line_end: int | None = None


class Hit(BaseModel):
    chunk_id: str
    score: float = Field(description="the fused (or reranked) score that ordered the hits")
    similarity: float | None = Field(None, description="cosine similarity to the query")
    bm25_rank: int | None = None
    dense_rank: int | None = None
    collection: str
    source: str
    title: str
    headings: list[str]
    version: int
    span: Location
    text: str


class ChunkRecord(BaseModel):
    chunk_id: str
    collection: str
    source: str
    title: str
    headings: list[str]
    version: int
    ordinal: int
    kind: str
    span: Location
    text: str


class CollectionInfo(BaseModel):
    name: str
    sources: int
    chunks: int
    generation: int


class DocumentInfo(BaseModel):
    source_id: int
    collection: str
    path: str
    title: str
    kind: str
    version: int
    chunks: int
    modified: datetime


class IngestReport(BaseModel):
    collection: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[str] = Field(default_factory=list, description="files that could not be read")
    chunks: int = 0
    seconds: float = 0.0


class Expansion(BaseModel):
    """What query expansion added to a search, or why it added nothing."""

    how: Expand = Field(description="none, multi (rephrasings) or hyde (a hypothetical passage)")
    queries: list[str] = Field(
        default_factory=list, description="rephrasings searched besides the query (multi)"
    )
    passage: str | None = Field(None, description="the passage whose embedding searched (hyde)")
    note: str | None = Field(
        None, description="set when the model failed: the search used the query alone"
    )


class SearchResult(BaseModel):
    hits: list[Hit]
    expansion: Expansion | None = Field(None, description="present when expansion was asked for")


class Citation(BaseModel):
    number: int
    chunk_id: str
    source: str
    span: Location
    how: Literal["model", "attributed"] = Field(
        "model",
        description="model: the answer marks it [n]; attributed: the model cited nothing and "
        "this source is the closest match (by embedding) to a sentence of the answer",
    )
    similarity: float | None = Field(None, description="for attributed citations: the match")


class Answer(BaseModel):
    text: str
    refused: bool
    citations: list[Citation]
    hits: list[Hit]
    best_similarity: float | None
    cached: bool = False
    expansion: Expansion | None = None
