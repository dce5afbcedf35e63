"""BM25 over tantivy, on disk. Tenant, ACL, collection, source and version are indexed fields,
and every query carries them as required clauses: tantivy never scores a chunk the caller may
not read."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import tantivy

from rag.errors import IndexBusy
from rag.store import ChunkRow
from rag.types import Filters, Principal

_WORD = re.compile(r"\w+", re.UNICODE)

# English function words: they say nothing about whether a passage is about the query
_FUNCTION_WORDS = """
    a about after again all also an and another any are as at be been before being between
    both but by can could did do does done each every for from get gets had has have here how
    i if in instead into is it its just may me might more most must my no not of off on once
    one only or other out over same should so some still such than that the their them then
    there these this those through to too two under up very was way were what when where
    whether which while who why will with would you your"""
STOPWORDS = frozenset(_FUNCTION_WORDS.split())


def _analyzer(stem: bool) -> tantivy.TextAnalyzer:
    """The tokenizer of the ``en_stem`` fields (simple, lowercase, English stemmer)."""
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(
        tantivy.Filter.lowercase()
    )
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


_WORDS = _analyzer(stem=False)
_STEMS = _analyzer(stem=True)


def terms(text: str) -> list[str]:
    """The stems BM25 indexes for ``text``, less function words, numbers and single letters."""
    words, stems = _WORDS.analyze(text), _STEMS.analyze(text)
    return [
        s
        for w, s in zip(words, stems, strict=True)
        if len(w) > 1 and w not in STOPWORDS and not w.isdigit()
    ]


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

    def _idf(self, searcher: tantivy.Searcher, terms_: set[str]) -> dict[str, float]:
        """BM25's idf of each stem in the text field (a stem no chunk has gets the highest)."""
        n = max(int(searcher.num_docs), 1)
        out = {}
        for t in terms_:
            df = int(searcher.doc_freq("text", t))
            out[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out

    def coverage(self, query: str, chunk: ChunkRow) -> float:
        """How much of the query's information the chunk holds: the idf-weighted share of the
        query's terms (``terms``) that occur in the chunk's text, headings or title, in [0, 1].
        A BM25 hit that matched only the query's common words scores low: its ranking is
        probably noise (the query is worded differently from the corpus)."""
        wanted = set(terms(query))
        if not wanted:
            return 0.0
        idf = self._idf(self._index.searcher(), wanted)
        have = set(terms(" ".join([chunk.text, *chunk.headings, chunk.source.title])))
        total = sum(idf.values())
        return sum(w for t, w in idf.items() if t in have) / total if total > 0 else 0.0

    def rewrite(self, chunks: Sequence[ChunkRow], n_terms: int) -> str:
        """A query in the corpus's own words: the ``n_terms`` stems of ``chunks`` (their text
        and headings) with the highest term frequency x idf, best first. Fed the best dense
        hits of a question worded unlike the corpus, BM25 can then rank by the vocabulary the
        question avoided (pseudo-relevance feedback from the dense side)."""
        return " ".join(self.rewrite_weights(chunks, n_terms))

    def rewrite_weights(self, chunks: Sequence[ChunkRow], n_terms: int) -> dict[str, float]:
        """``rewrite``'s stems with their term frequency x idf, best first."""
        tf: Counter[str] = Counter()
        for c in chunks:
            tf.update(terms(" ".join([c.text, *c.headings])))
        if not tf:
            return {}
        idf = self._idf(self._index.searcher(), set(tf))
        best = sorted(tf, key=lambda t: (-tf[t] * idf[t], t))[:n_terms]
        return {t: tf[t] * idf[t] for t in best}

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
