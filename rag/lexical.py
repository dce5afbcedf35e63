"""BM25 over tantivy, on disk. Tenant, ACL, collection, source and version are indexed fields,
and every query carries them as required clauses: tantivy never scores a chunk the caller may
not read."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import tantivy

from rag.errors import IndexBusy
from rag.store import ChunkRow
from rag.types import Filters, Principal

_WORD = re.compile(r"\w+", re.UNICODE)


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    b.add_text_field("text", stored=False, tokenizer_name="en_stem")
    b.add_text_field("headings", stored=False, tokenizer_name="en_stem")
    b.add_text_field("title", stored=False, tokenizer_name="en_stem")
    b.add_text_field("tenant", stored=False, tokenizer_name="raw")
    b.add_text_field("acl", stored=False, tokenizer_name="raw")
    b.add_text_field("collection", stored=False, tokenizer_name="raw")
    b.add_text_field("source", stored=False, tokenizer_name="raw")
    b.add_unsigned_field("source_id", indexed=True)
    b.add_unsigned_field("version", indexed=True, fast=True)
    b.add_float_field("mtime", indexed=True, fast=True)
    return b.build()


class LexicalIndex:
    """The tantivy side. Writes are batched: ``add``/``delete_source`` then ``commit``."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self._index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self._writer: tantivy.IndexWriter | None = None
        self._lock = threading.Lock()

    def _w(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise
                raise IndexBusy(
                    "another process is writing to this index; try again when its ingest ends"
                ) from exc
        return self._writer

    def begin(self) -> None:
        """Take the writer lock now (raises ``IndexBusy`` before anything is written)."""
        with self._lock:
            self._w()

    def delete_source(self, source_id: int) -> None:
        with self._lock:
            self._w().delete_documents_by_term("source_id", source_id)

    def add(self, chunks: Sequence[ChunkRow]) -> None:
        with self._lock:
            w = self._w()
            for c in chunks:
                s = c.source
                doc = tantivy.Document()
                doc.add_text("chunk_id", c.id)
                doc.add_text("text", c.text)
                doc.add_text("headings", " ".join(c.headings))
                doc.add_text("title", s.title)
                doc.add_text("tenant", s.tenant)
                for group in s.acl:
                    doc.add_text("acl", group)
                doc.add_text("collection", s.collection)
                doc.add_text("source", s.path)
                doc.add_unsigned("source_id", s.id)
                doc.add_unsigned("version", s.version)
                doc.add_float("mtime", s.mtime)
                w.add_document(doc)

    def commit(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.commit()
                self._writer.wait_merging_threads()
                self._writer = None
        self._index.reload()

    def rollback(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.rollback()
                self._writer = None

    def num_docs(self) -> int:
        return int(self._index.searcher().num_docs)

    def search(
        self,
        query: str,
        principal: Principal,
        collections: Sequence[str],
        filters: Filters | None,
        limit: int,
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score), best first, among chunks the principal may read."""
        words = _WORD.findall(query)
        if not words or not collections:
            return []
        text_q = self._index.parse_query(
            " ".join(words),
            default_field_names=["text", "headings", "title"],
            field_boosts={"headings": 1.5, "title": 1.5},
        )
        must: list[tantivy.Query] = [text_q, *self.filter_queries(principal, collections, filters)]
        q = tantivy.Query.boolean_query([(tantivy.Occur.Must, m) for m in must])
        searcher = self._index.searcher()
        hits = searcher.search(q, limit, count=False).hits
        return [(str(searcher.doc(addr).get_first("chunk_id")), float(s)) for s, addr in hits]

    def filter_queries(
        self, principal: Principal, collections: Sequence[str], filters: Filters | None
    ) -> list[tantivy.Query]:
        s = self.schema
        out = [
            tantivy.Query.term_query(s, "tenant", principal.tenant),
            tantivy.Query.term_set_query(s, "acl", sorted(principal.readable)),
            tantivy.Query.term_set_query(s, "collection", list(collections)),
        ]
        if filters is None:
            return out
        if filters.sources:
            out.append(tantivy.Query.term_set_query(s, "source", filters.sources))
        if filters.min_version is not None:
            out.append(
                tantivy.Query.range_query(
                    s, "version", tantivy.FieldType.Unsigned, lower_bound=filters.min_version
                )
            )
        if filters.modified_after is not None or filters.modified_before is not None:
            out.append(
                tantivy.Query.range_query(
                    s,
                    "mtime",
                    tantivy.FieldType.Float,
                    lower_bound=_ts(filters.modified_after, float("-inf")),
                    upper_bound=_ts(filters.modified_before, float("inf")),
                )
            )
        return out


def _ts(when: datetime | None, default: float) -> float:
    return default if when is None else when.timestamp()
