"""Metadata in SQLite: sources, chunks (with their vectors), collections and their generation.

SQLite is the source of truth. The tantivy index is derived from it; a source whose
``state`` is not ``ready`` has tantivy work pending, which ``Knowledge`` redoes on open, so an
interrupted ingest leaves nothing a reader can see half-done.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rag.chunking import Piece
from rag.embedding import Vectors

SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    tenant TEXT NOT NULL, name TEXT NOT NULL, generation INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, collection TEXT NOT NULL, path TEXT NOT NULL,
    title TEXT NOT NULL, kind TEXT NOT NULL, content_hash TEXT NOT NULL,
    version INTEGER NOT NULL, mtime REAL NOT NULL, ingested_at REAL NOT NULL,
    acl TEXT NOT NULL, state TEXT NOT NULL, UNIQUE (tenant, collection, path));
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, text TEXT NOT NULL, headings TEXT NOT NULL, kind TEXT NOT NULL,
    page INTEGER, line_start INTEGER, line_end INTEGER,
    vec BLOB NOT NULL);  -- float32 vectors: the chunk's own, then its sentence windows'
CREATE INDEX IF NOT EXISTS chunks_source ON chunks (source_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
"""


@dataclass(frozen=True)
class SourceRow:
    id: int
    tenant: str
    collection: str
    path: str
    title: str
    kind: str
    content_hash: str
    version: int
    mtime: float
    ingested_at: float
    acl: tuple[str, ...]
    state: str


@dataclass(frozen=True)
class ChunkRow:
    id: str
    source: SourceRow
    ordinal: int
    text: str
    headings: tuple[str, ...]
    kind: str
    page: int | None
    line_start: int | None
    line_end: int | None


def _source(row: Sequence[Any]) -> SourceRow:
    return SourceRow(
        id=row[0], tenant=row[1], collection=row[2], path=row[3], title=row[4], kind=row[5],
        content_hash=row[6], version=row[7], mtime=row[8], ingested_at=row[9],
        acl=tuple(json.loads(row[10])), state=row[11],
    )  # fmt: skip


_SOURCE_COLS = (
    "s.id, s.tenant, s.collection, s.path, s.title, s.kind, s.content_hash, s.version, "
    "s.mtime, s.ingested_at, s.acl, s.state"
)
_CHUNK_COLS = "c.id, c.ordinal, c.text, c.headings, c.kind, c.page, c.line_start, c.line_end"


def _chunk(row: Sequence[Any]) -> ChunkRow:
    src = _source(row[8:])
    return ChunkRow(
        row[0], src, row[1], row[2], tuple(json.loads(row[3])), row[4], row[5], row[6], row[7]
    )


class MetaStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # ---- reads --------------------------------------------------------------------------

    def generation(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0])

    def setting(self, key: str) -> str | None:
        """A text setting of the index (e.g. the embedding model its vectors come from)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def has_chunks(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is not None

    def collection_generation(self, tenant: str, name: str) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT generation FROM collections WHERE tenant = ? AND name = ?", (tenant, name)
            ).fetchone()
        return None if row is None else int(row[0])

    def sources(self, tenant: str, collection: str | None = None) -> list[SourceRow]:
        sql = f"SELECT {_SOURCE_COLS} FROM sources s WHERE s.tenant = ?"
        args: list[Any] = [tenant]
        if collection is not None:
            sql += " AND s.collection = ?"
            args.append(collection)
        with self._lock:
            return [_source(r) for r in self._db.execute(sql + " ORDER BY s.path", args)]

    def source(self, source_id: int) -> SourceRow | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_SOURCE_COLS} FROM sources s WHERE s.id = ?", (source_id,)
            ).fetchone()
        return None if row is None else _source(row)

    def pending_sources(self) -> list[SourceRow]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_SOURCE_COLS} FROM sources s WHERE s.state != 'ready'"
            ).fetchall()
        return [_source(r) for r in rows]

    def collection_names(self, tenant: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name FROM collections WHERE tenant = ? ORDER BY name", (tenant,)
            ).fetchall()
        return [r[0] for r in rows]

    def collections(self, tenant: str) -> list[tuple[str, int, int, int]]:
        """(name, sources, chunks, generation) of each collection of ``tenant``."""
        with self._lock:
            return self._db.execute(
                "SELECT k.name, COUNT(DISTINCT s.id), COUNT(c.id), k.generation"
                " FROM collections k LEFT JOIN sources s"
                "  ON s.tenant = k.tenant AND s.collection = k.name AND s.state != 'deleting'"
                " LEFT JOIN chunks c ON c.source_id = s.id"
                " WHERE k.tenant = ? GROUP BY k.name ORDER BY k.name",
                (tenant,),
            ).fetchall()

    def chunks(self, ids: Sequence[str]) -> dict[str, ChunkRow]:
        out: dict[str, ChunkRow] = {}
        with self._lock:
            for i in range(0, len(ids), 500):
                part = list(ids[i : i + 500])
                rows = self._db.execute(
                    f"SELECT {_CHUNK_COLS}, {_SOURCE_COLS} FROM chunks c"
                    " JOIN sources s ON s.id = c.source_id"
                    f" WHERE c.id IN ({','.join('?' * len(part))})",
                    part,
                )
                out.update((r[0], _chunk(r)) for r in rows)
        return out

    def chunks_of(self, source_id: int) -> list[ChunkRow]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_CHUNK_COLS}, {_SOURCE_COLS} FROM chunks c"
                " JOIN sources s ON s.id = c.source_id WHERE c.source_id = ? ORDER BY c.ordinal",
                (source_id,),
            ).fetchall()
        return [_chunk(r) for r in rows]

    def all_vectors(self, dim: int) -> tuple[list[ChunkRow], Vectors, npt.NDArray[np.int64]]:
        """Every readable chunk with its vectors, for the dense index: the chunks, all their
        vectors stacked (a chunk's own first, then its sentence windows'), and for each
        vector the position of its chunk in the list."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_CHUNK_COLS}, {_SOURCE_COLS}, c.vec FROM chunks c"
                " JOIN sources s ON s.id = c.source_id WHERE s.state != 'deleting'"
            ).fetchall()
        if not rows:
            return [], np.zeros((0, dim), dtype=np.float32), np.zeros(0, dtype=np.int64)
        counts = np.array([len(r[-1]) // (4 * dim) for r in rows], dtype=np.int64)
        vecs = np.frombuffer(b"".join(r[-1] for r in rows), dtype=np.float32)
        owner = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
        return [_chunk(r[:-1]) for r in rows], vecs.reshape(-1, dim), owner

    # ---- writes -------------------------------------------------------------------------

    def _bump(self, db: sqlite3.Connection, tenant: str, collection: str) -> None:
        db.execute(
            "INSERT INTO collections (tenant, name, generation) VALUES (?, ?, 1)"
            " ON CONFLICT (tenant, name) DO UPDATE SET generation = generation + 1",
            (tenant, collection),
        )
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")

    def ensure_collection(self, tenant: str, collection: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO collections (tenant, name, generation) VALUES (?, ?, 0)",
                (tenant, collection),
            )

    def replace_source(
        self,
        *,
        tenant: str,
        collection: str,
        path: str,
        title: str,
        kind: str,
        content_hash: str,
        mtime: float,
        acl: Sequence[str],
        pieces: Sequence[Piece],
        vectors: Sequence[Vectors],
    ) -> SourceRow:
        """Swap a source's chunks for new ones in one transaction, with the next version
        stamp; the source stays 'indexing' until the lexical index has caught up.
        ``vectors[i]`` holds piece i's vectors: its own, then its sentence windows'."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT id, version FROM sources WHERE tenant = ? AND collection = ? AND path = ?",
                (tenant, collection, path),
            ).fetchone()
            now = time.time()
            acl_json = json.dumps(sorted(set(acl)))
            if row is None:
                version = 1
                cur = db.execute(
                    "INSERT INTO sources (tenant, collection, path, title, kind, content_hash,"
                    " version, mtime, ingested_at, acl, state)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'indexing')",
                    (tenant, collection, path, title, kind, content_hash, version, mtime, now,
                     acl_json),
                )  # fmt: skip
                source_id = int(cur.lastrowid or 0)
            else:
                source_id, version = int(row[0]), int(row[1]) + 1
                db.execute("DELETE FROM chunks WHERE source_id = ?", (source_id,))
                db.execute(
                    "UPDATE sources SET title = ?, kind = ?, content_hash = ?, version = ?,"
                    " mtime = ?, ingested_at = ?, acl = ?, state = 'indexing' WHERE id = ?",
                    (title, kind, content_hash, version, mtime, now, acl_json, source_id),
                )
            db.executemany(
                "INSERT INTO chunks (id, source_id, ordinal, text, headings, kind, page,"
                " line_start, line_end, vec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        chunk_id(source_id, version, p.ordinal), source_id, p.ordinal, p.text,
                        json.dumps(list(p.headings)), p.kind, p.page, p.line_start, p.line_end,
                        np.asarray(v, dtype=np.float32).tobytes(),
                    )
                    for p, v in zip(pieces, vectors, strict=True)
                ],
            )  # fmt: skip
            self._bump(db, tenant, collection)
        src = self.source(source_id)
        assert src is not None
        return src

    def mark_deleting(self, source: SourceRow) -> None:
        with self.transaction() as db:
            db.execute("UPDATE sources SET state = 'deleting' WHERE id = ?", (source.id,))
            db.execute("DELETE FROM chunks WHERE source_id = ?", (source.id,))
            self._bump(db, source.tenant, source.collection)

    def finish(self, source_ids: Sequence[int]) -> None:
        """The lexical index has committed these sources: ready them, drop deleted ones."""
        with self.transaction() as db:
            for sid in source_ids:
                db.execute("DELETE FROM sources WHERE id = ? AND state = 'deleting'", (sid,))
                db.execute("UPDATE sources SET state = 'ready' WHERE id = ?", (sid,))


def chunk_id(source_id: int, version: int, ordinal: int) -> str:
    return f"{source_id}-{version}-{ordinal}"
