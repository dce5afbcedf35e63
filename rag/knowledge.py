"""``Knowledge``: one RAG store on disk — ingest, search, chunks, collections, documents.

Layout under ``root``: ``meta.sqlite`` (the truth: sources, chunks, vectors), ``tantivy/``
(BM25, derived), ``embeddings.sqlite`` (embedding cache), ``answers.sqlite`` (answer cache).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import numpy as np
import numpy.typing as npt

from rag.cache import AnswerCache
from rag.chunking import Piece, chunk, windows
from rag.config import RagConfig
from rag.dense import DenseIndex
from rag.embedding import CachedEmbedder, Embedder, SentenceTransformerEmbedder
from rag.errors import (
    ChunkNotFound,
    ExtractionError,
    IndexBusy,
    InvalidArgument,
    RagConfigError,
    RagError,
    UnknownCollection,
)
from rag.expand import QueryExpander
from rag.extract import extract
from rag.fusion import fuse, mmr
from rag.ingest import embed_text, iter_files, under
from rag.lexical import LexicalIndex
from rag.rerank import Reranker
from rag.store import ChunkRow, MetaStore, SourceRow
from rag.types import (
    ChunkRecord,
    CollectionInfo,
    DocumentInfo,
    Expand,
    Expansion,
    Filters,
    Hit,
    IngestReport,
    Location,
    Mode,
    Principal,
    SearchResult,
)

Vector = npt.NDArray[np.float32]
Progress = Callable[[int, int, str], None]  # (files done, files total, current path)

# Chunks embedded per batch across files: small files still fill the model's batches.
_EMBED_BATCH = 256


class Knowledge:
    def __init__(
        self, root: Path, config: RagConfig | None = None, embedder: Embedder | None = None
    ) -> None:
        self.root = root
        self.config = config or RagConfig()
        root.mkdir(parents=True, exist_ok=True)
        self.meta = MetaStore(root / "meta.sqlite")
        self.lexical = LexicalIndex(root / "tantivy")
        inner = embedder or SentenceTransformerEmbedder(self.config.embedding)
        self.embedder = CachedEmbedder(inner, root / "embeddings.sqlite")
        self.answers = AnswerCache(root / "answers.sqlite")
        self._dense: DenseIndex | None = None
        self._dense_generation = -1
        self._write_lock = threading.Lock()
        self._dense_lock = threading.Lock()
        self._check_embedder()
        self.recover()

    def _check_embedder(self) -> None:
        """Vectors of two models cannot share one index: one whose chunks were embedded by
        another model than the configured one is refused (re-ingest into a fresh index)."""
        built = self.meta.setting("embedder")
        model = self.embedder.model_id
        if built is None:
            self.meta.set_setting("embedder", model)  # new, or from before this was recorded
        elif built != model:
            if not self.meta.has_chunks():
                self.meta.set_setting("embedder", model)
                return
            self.close()
            raise RagConfigError(
                f"the index at {self.root} holds vectors of {built}, not of the configured "
                f"{model}: ingest into a new rag.dir (or delete this one and ingest again), "
                "or set rag.embedding back"
            )

    def close(self) -> None:
        self.meta.close()
        self.embedder.close()
        self.answers.close()

    # ---- ingest -------------------------------------------------------------------------

    def recover(self) -> int:
        """Finish tantivy work an interrupted ingest left behind; returns sources repaired."""
        with self._write_lock:
            pending = self.meta.pending_sources()
            if not pending:
                return 0
            try:
                self.lexical.begin()
            except IndexBusy:
                return 0  # the process writing them is still at it; its commit finishes them
            for src in pending:
                self.lexical.delete_source(src.id)
                if src.state == "indexing":
                    self.lexical.add(self.meta.chunks_of(src.id))
            self.lexical.commit()
            self.meta.finish([s.id for s in pending])
            return len(pending)

    def ingest(
        self,
        paths: Sequence[Path],
        collection: str,
        *,
        tenant: str,
        acl: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> IngestReport:
        """Bring ``collection`` in line with ``paths``: new files are added, changed ones get a
        new version, unchanged ones are skipped, and sources under ``paths`` that no longer
        exist are removed. ``acl`` empty means everyone in the tenant may read."""
        start = time.perf_counter()
        acl_set = sorted(set(acl)) or ["*"]
        report = IngestReport(collection=collection)
        cfg = self.config.chunking
        window = cfg.window
        with self._write_lock:
            self.lexical.begin()
            try:
                self.meta.ensure_collection(tenant, collection)
                files = list(iter_files(paths))
            except BaseException:
                self.lexical.rollback()
                raise
            known = {s.path: s for s in self.meta.sources(tenant, collection)}
            seen = {str(f) for f in files}
            stale = [s for p, s in known.items() if p not in seen and under(p, paths)]
            batch: list[tuple[Path, str, str, str, float, list[Piece]]] = []
            touched: list[int] = []

            def flush() -> None:
                # a piece is embedded whole and, when long, in sentence windows as well
                views = [
                    [embed_text(title, p.headings, t) for t in (p.text, *windows(p.text, window))]
                    for _, _, title, _, _, ps in batch
                    for p in ps
                ]
                flat = self.embedder.encode([t for v in views for t in v])
                per_piece = np.split(flat, np.cumsum([len(v) for v in views])[:-1])
                at = 0
                for path, digest, title, kind, mtime, pieces in batch:
                    vecs = per_piece[at : at + len(pieces)]
                    at += len(pieces)
                    src = self.meta.replace_source(
                        tenant=tenant, collection=collection, path=str(path), title=title,
                        kind=kind, content_hash=digest, mtime=mtime, acl=acl_set,
                        pieces=pieces, vectors=vecs,
                    )  # fmt: skip
                    self.lexical.delete_source(src.id)
                    self.lexical.add(self.meta.chunks_of(src.id))
                    touched.append(src.id)
                    report.chunks += len(pieces)
                batch.clear()

            try:
                for done, path in enumerate(files, start=1):
                    if progress:
                        progress(done - 1, len(files), str(path))
                    try:
                        data = path.read_bytes()
                    except OSError as exc:
                        report.skipped.append(f"{path}: {exc.strerror or exc}")
                        continue
                    digest = hashlib.sha256(data).hexdigest()
                    old = known.get(str(path))
                    if old and old.content_hash == digest and list(old.acl) == acl_set:
                        report.unchanged += 1
                        continue
                    try:
                        doc = extract(path, data)
                    except ExtractionError as exc:
                        report.skipped.append(str(exc))
                        continue
                    pieces = chunk(doc, cfg.size, cfg.overlap)
                    if old:
                        report.updated += 1
                    else:
                        report.added += 1
                    batch.append((path, digest, doc.title, doc.kind, path.stat().st_mtime, pieces))
                    if sum(len(b[-1]) for b in batch) >= _EMBED_BATCH:
                        flush()
                flush()
                for src in stale:
                    self.meta.mark_deleting(src)
                    self.lexical.delete_source(src.id)
                    touched.append(src.id)
                    report.removed += 1
                self.lexical.commit()
            except BaseException:
                # SQLite already holds what was written; its sources stay 'indexing' and
                # recover() redoes their tantivy side on the next open.
                self.lexical.rollback()
                raise
            self.meta.finish(touched)
            if touched:
                self.answers.invalidate(tenant, collection)
            if progress:
                progress(len(files), len(files), "")
        report.seconds = time.perf_counter() - start
        return report

    # ---- search -------------------------------------------------------------------------

    def dense_index(self) -> DenseIndex:
        """The in-memory vector matrix, rebuilt when anything was ingested since."""
        with self._dense_lock:
            generation = self.meta.generation()
            if self._dense is None or generation != self._dense_generation:
                rows, vectors, owner = self.meta.all_vectors(self.embedder.dim)
                self._dense = DenseIndex(rows, vectors, owner)
                self._dense_generation = generation
            return self._dense

    def collections_for(self, principal: Principal, collections: Sequence[str] | None) -> list[str]:
        known = self.meta.collection_names(principal.tenant)
        if collections is None:
            return known
        missing = [c for c in collections if c not in known]
        if missing:
            raise UnknownCollection(
                f"no collection {missing[0]!r}" + (f" (have: {', '.join(known)})" if known else "")
            )
        return list(collections)

    def search(
        self,
        query: str,
        principal: Principal,
        collections: Sequence[str] | None = None,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        mmr_lambda: float | None = None,
        candidates: int | None = None,
        query_vector: Vector | None = None,
        expansion: Expansion | None = None,
    ) -> list[Hit]:
        """Hybrid (or BM25-only, or dense-only) search; every hit is readable by ``principal``.
        ``query_vector`` saves encoding the query again when the caller already has it.
        ``expansion`` adds rephrasings (each ranked like the query, all fused together) or a
        HyDE passage (its embedding ranks the dense side instead of the query's)."""
        cfg = self.config.retrieval
        k = k or cfg.k
        cols = self.collections_for(principal, collections)
        n = max(candidates or cfg.candidates, k)
        qvec = self.embedder.inner.encode([query])[0] if query_vector is None else query_vector
        dense = self.dense_index()
        queries: list[tuple[str, Vector]] = [(query, qvec)]  # (BM25 text, dense vector)
        if expansion is not None and expansion.queries:
            vectors = self.embedder.inner.encode(expansion.queries)
            queries += zip(expansion.queries, vectors, strict=True)
        passage = expansion.passage if expansion is not None else None
        if passage:
            queries = [(query, self.embedder.inner.encode([passage])[0])]
        rankings: dict[str, list[tuple[str, float]]] = {}
        for i, (text, vector) in enumerate(queries):
            ranks = self._rank(text, vector, dense, principal, cols, filters, n, mode)
            for side, found in ranks.items():
                rankings[f"{side}:{i}" if i else side] = found
        gates = self._bm25_gates(queries, rankings) if mode == "hybrid" else None
        if gates and not gates.get("bm25", 1.0) and cfg.rewrite_docs and rankings.get("dense"):
            rankings["rewrite"] = self._rewritten(
                rankings["dense"], principal, cols, filters, n, cfg.rewrite_docs, cfg.rewrite_terms
            )
        fused = fuse(rankings, cfg, gates)
        ranked = sorted(fused, key=lambda c: -fused[c])
        mmr_lambda = cfg.mmr_lambda if mmr_lambda is None else mmr_lambda
        pool = ranked[: n if mmr_lambda is not None else k * 2]
        rows = self.meta.chunks(pool)
        # Tantivy may briefly hold chunks of a version SQLite has replaced: those are dropped
        # here, and so is anything the principal may not read (a second guard, not the first).
        pool = [c for c in pool if c in rows and c in dense and _readable(rows[c], principal, cols)]
        # similarity is always to the query itself (the refusal gate reads it), never to a
        # rephrasing or a hypothetical passage
        sims = {} if passage else dict(rankings.get("dense", []))
        missing = [c for c in pool if c not in sims]
        if missing:
            sims.update(zip(missing, dense.similarities(missing, qvec), strict=True))
        if mmr_lambda is not None and pool:
            order = mmr([fused[c] for c in pool], dense.vectors_of(pool), k, mmr_lambda)
            pool = [pool[i] for i in order]
        bm25_rank = {cid: i for i, (cid, _) in enumerate(rankings.get("bm25", []), start=1)}
        dense_rank = {cid: i for i, (cid, _) in enumerate(rankings.get("dense", []), start=1)}
        return [
            _hit(rows[c], fused[c], sims.get(c), bm25_rank.get(c), dense_rank.get(c))
            for c in pool[:k]
        ]

    def _bm25_gates(
        self, queries: Sequence[tuple[str, Vector]], rankings: dict[str, list[tuple[str, float]]]
    ) -> dict[str, float]:
        """Weight 0 for each BM25 ranking whose best hit holds less than
        ``bm25_min_coverage`` of its query's information (``LexicalIndex.coverage``): the
        query is worded unlike the corpus, and fusing BM25's ranking would only add noise to
        the dense one. 1 for the others."""
        threshold = self.config.retrieval.bm25_min_coverage
        if threshold <= 0:
            return {}
        names = {f"bm25:{i}" if i else "bm25": text for i, (text, _) in enumerate(queries)}
        tops = {name: rankings[name][0][0] for name in names if rankings.get(name)}
        rows = self.meta.chunks(list(set(tops.values())))
        return {  # no BM25 hit at all: nothing of the query is in the corpus, the gate closes
            name: float(
                name in tops
                and tops[name] in rows
                and self.lexical.coverage(text, rows[tops[name]]) >= threshold
            )
            for name, text in names.items()
        }

    def _rewritten(
        self,
        dense: Sequence[tuple[str, float]],
        principal: Principal,
        collections: Sequence[str],
        filters: Filters | None,
        n: int,
        docs: int,
        words: int,
    ) -> list[tuple[str, float]]:
        """BM25 of the query rewritten in the corpus's words (``LexicalIndex.rewrite``, ``words``
        long) from the ``docs`` best dense hits, which the principal may read (the dense side
        is masked)."""
        top = [c for c, _ in dense[:docs]]
        rows = self.meta.chunks(top)
        text = self.lexical.rewrite([rows[c] for c in top if c in rows], words)
        return self.lexical.search(text, principal, collections, filters, n) if text else []

    def _rank(
        self,
        text: str,
        vector: Vector,
        dense: DenseIndex,
        principal: Principal,
        collections: Sequence[str],
        filters: Filters | None,
        n: int,
        mode: Mode,
    ) -> dict[str, list[tuple[str, float]]]:
        """One query's rankings: BM25 of ``text`` and/or dense of ``vector``, ``n`` each."""
        out: dict[str, list[tuple[str, float]]] = {}
        if mode in ("hybrid", "bm25"):
            out["bm25"] = self.lexical.search(text, principal, collections, filters, n)
        if mode in ("hybrid", "dense"):
            out["dense"] = dense.search(vector, principal, collections, filters, n)
        return out

    async def retrieve(
        self,
        query: str,
        principal: Principal,
        collections: Sequence[str] | None = None,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        reranker: Reranker | None = None,
        query_vector: Vector | None = None,
        expand: Expand = "none",
        expander: QueryExpander | None = None,
        rerank_top: int | None = None,
    ) -> SearchResult:
        """``search``, after query expansion (``expand``: "multi" or "hyde", written by
        ``expander``'s model) and followed by reranking of the top ``rerank_top`` (default
        ``candidates``) hits down to ``k``. A model that fails to expand leaves a note in
        ``expansion`` and plain retrieval."""
        import anyio.to_thread

        if mode not in get_args(Mode):
            raise InvalidArgument(f"mode must be one of {', '.join(get_args(Mode))}, not {mode!r}")
        if expand not in get_args(Expand):
            raise InvalidArgument(
                f"expand must be one of {', '.join(get_args(Expand))}, not {expand!r}"
            )
        expansion: Expansion | None = None
        if expand != "none":
            if expander is None:
                raise InvalidArgument(f"expand={expand!r} needs a model: no expander was given")
            self.collections_for(principal, collections)  # fail before spending a model call
            expansion = await expander.expand(query, expand)
        k = k or self.config.retrieval.k
        n = max(rerank_top or self.config.retrieval.candidates, k) if reranker else k
        hits = await anyio.to_thread.run_sync(
            lambda: self.search(
                query,
                principal,
                collections,
                k=n,
                filters=filters,
                mode=mode,
                query_vector=query_vector,
                expansion=expansion,
            )
        )
        if reranker is not None and hits:
            scores = await reranker.score(query, [h.text for h in hits])
            # a small prior on the first-stage rank breaks the reranker's ties in its favour
            ranked = sorted(
                zip(hits, scores, strict=True),
                key=lambda hs: -(hs[1] + 1e-3 / (1 + hits.index(hs[0]))),
            )
            hits = [h.model_copy(update={"score": s}) for h, s in ranked]
        return SearchResult(hits=hits[:k], expansion=expansion)

    # ---- browsing -----------------------------------------------------------------------

    def get_chunk(self, chunk_id: str, principal: Principal) -> ChunkRecord:
        row = self.meta.chunks([chunk_id]).get(chunk_id)
        if row is None or not _readable(row, principal, None):
            raise ChunkNotFound(f"no chunk {chunk_id!r}")
        return ChunkRecord(
            chunk_id=row.id, collection=row.source.collection, source=row.source.path,
            title=row.source.title, headings=list(row.headings), version=row.source.version,
            ordinal=row.ordinal, kind=row.kind, span=_span(row), text=row.text,
        )  # fmt: skip

    def list_collections(self, principal: Principal) -> list[CollectionInfo]:
        """Collections of the principal's tenant, counting only what the principal may read."""
        out = []
        for name, _, _, generation in self.meta.collections(principal.tenant):
            docs = self.documents(principal, name)
            out.append(
                CollectionInfo(
                    name=name,
                    sources=len(docs),
                    chunks=sum(d.chunks for d in docs),
                    generation=generation,
                )
            )
        return out

    def documents(self, principal: Principal, collection: str | None = None) -> list[DocumentInfo]:
        out = []
        for s in self.meta.sources(principal.tenant, collection):
            if s.state == "deleting" or not set(s.acl) & principal.readable:
                continue
            out.append(_doc_info(s, len(self.meta.chunks_of(s.id))))
        return out

    def document_text(self, source_id: int, principal: Principal) -> tuple[DocumentInfo, str]:
        """A document as indexed: its chunks in order (overlaps included)."""
        src = self.meta.source(source_id)
        if (
            src is None
            or src.tenant != principal.tenant
            or src.state == "deleting"
            or not set(src.acl) & principal.readable
        ):
            raise RagError(f"no document {source_id}")
        chunks = self.meta.chunks_of(source_id)
        return _doc_info(src, len(chunks)), "\n\n".join(c.text for c in chunks)


def _readable(row: ChunkRow, principal: Principal, collections: Sequence[str] | None) -> bool:
    s = row.source
    return (
        s.tenant == principal.tenant
        and bool(set(s.acl) & principal.readable)
        and (collections is None or s.collection in collections)
    )


def _span(row: ChunkRow) -> Location:
    return Location(page=row.page, line_start=row.line_start, line_end=row.line_end)


def _hit(
    row: ChunkRow, score: float, sim: float | None, bm25: int | None, dense: int | None
) -> Hit:
    s = row.source
    return Hit(
        chunk_id=row.id, score=score, similarity=sim, bm25_rank=bm25, dense_rank=dense,
        collection=s.collection, source=s.path, title=s.title, headings=list(row.headings),
        version=s.version, span=_span(row), text=row.text,
    )  # fmt: skip


def _doc_info(s: SourceRow, chunks: int) -> DocumentInfo:
    return DocumentInfo(
        source_id=s.id, collection=s.collection, path=s.path, title=s.title, kind=s.kind,
        version=s.version, chunks=chunks, modified=datetime.fromtimestamp(s.mtime, UTC),
    )  # fmt: skip
