"""Durable notes and semantic memory, isolated per tenant and per user.

A note is a key, a text, tags and the session it came from. ``recall`` finds notes by keyword
(BM25 over the scope's notes), by meaning (cosine similarity of embeddings from the same
``Embedder`` the RAG server uses), or both fused by reciprocal rank.

Isolation is enforced here, not by callers: every method takes a ``Scope`` and every query
filters on its tenant and user in SQL, so no call can read or change another scope's notes.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from core.db import create_tables

RecallMode = Literal["hybrid", "semantic", "keyword"]


class Embedder(Protocol):
    """What notes need of an embedder (``rag.embedding.Embedder`` provides it)."""

    @property
    def model_id(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class Scope:
    """Whose memory: a tenant and a user within it. Set by the host, never by a model."""

    tenant: str = "default"
    user: str = ""

    def __post_init__(self) -> None:
        if not self.tenant:
            raise ValueError("a scope needs a tenant")


class NoteRow(SQLModel, table=True):
    __tablename__ = "notes"
    __table_args__ = (UniqueConstraint("tenant", "user", "key"),)

    id: str = Field(primary_key=True)
    tenant: str = Field(index=True)
    user: str = Field(index=True)
    key: str
    text: str
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    source_session: str | None = None
    created_at: float
    updated_at: float
    embedding: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    embed_model: str | None = None


@dataclass(frozen=True)
class Note:
    id: str
    key: str
    text: str
    tags: tuple[str, ...] = ()
    source_session: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    score: float | None = None
    why: dict[str, float] = field(default_factory=dict)  # per-retriever scores, for display

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "text": self.text,
            "tags": list(self.tags),
            "source_session": self.source_session,
            "updated_at": self.updated_at,
            "score": self.score,
        }


def _note(row: NoteRow, score: float | None = None, why: dict[str, float] | None = None) -> Note:
    return Note(
        row.id,
        row.key,
        row.text,
        tuple(row.tags or ()),
        row.source_session,
        row.created_at,
        row.updated_at,
        score,
        why or {},
    )


_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def default_key(text: str) -> str:
    slug = "-".join(words(text)[:6])[:48] or "note"
    return f"{slug}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


class NotesStore:
    def __init__(self, engine: Engine, embedder: Embedder | None = None) -> None:
        self.engine = engine
        self.embedder = embedder
        create_tables(SQLModel.metadata, engine, [NoteRow.__table__])  # type: ignore[attr-defined]

    # ---- writing ----------------------------------------------------------------------

    def remember(
        self,
        scope: Scope,
        text: str,
        *,
        key: str | None = None,
        tags: Sequence[str] | None = None,
        source_session: str | None = None,
    ) -> Note:
        """Store a note. A note with the same key in this scope gets the new text (and the new
        tags, when given)."""
        text = text.strip()
        if not text:
            raise ValueError("a note needs some text")
        key = (key or default_key(text)).strip()
        now = time.time()
        vector = self._embed([text])
        with Session(self.engine) as db:
            row = db.exec(self._scoped(scope).where(NoteRow.key == key)).first()
            if row is None:
                row = NoteRow(
                    id=f"note_{uuid.uuid4().hex[:12]}",
                    tenant=scope.tenant,
                    user=scope.user,
                    key=key,
                    text=text,
                    created_at=now,
                    updated_at=now,
                )
            row.text, row.updated_at = text, now
            if tags is not None or row.tags is None:
                row.tags = sorted(set(tags or ()))
            row.source_session = source_session or row.source_session
            if vector is not None:
                row.embedding, row.embed_model = vector[0].tobytes(), self._model_id()
            db.add(row)
            db.commit()
            db.refresh(row)
            return _note(row)

    def forget(self, scope: Scope, key_or_id: str) -> bool:
        """Delete a note by key or id; False when this scope has none such."""
        with Session(self.engine) as db:
            row = db.exec(
                self._scoped(scope).where((NoteRow.key == key_or_id) | (NoteRow.id == key_or_id))
            ).first()
            if row is None:
                return False
            db.delete(row)
            db.commit()
            return True

    # ---- reading ----------------------------------------------------------------------

    def get(self, scope: Scope, key_or_id: str) -> Note | None:
        with Session(self.engine) as db:
            row = db.exec(
                self._scoped(scope).where((NoteRow.key == key_or_id) | (NoteRow.id == key_or_id))
            ).first()
            return _note(row) if row else None

    def list_notes(self, scope: Scope, *, tags: Sequence[str] = (), limit: int = 50) -> list[Note]:
        """Newest first; with ``tags``, only notes carrying all of them."""
        with Session(self.engine) as db:
            rows = db.exec(self._scoped(scope).order_by(col(NoteRow.updated_at).desc())).all()
        wanted = set(tags)
        return [_note(r) for r in rows if wanted <= set(r.tags or ())][:limit]

    def recall(
        self,
        scope: Scope,
        query: str,
        *,
        k: int = 5,
        mode: RecallMode = "hybrid",
        tags: Sequence[str] = (),
    ) -> list[Note]:
        """The ``k`` notes that best match ``query``: by keyword, by meaning, or both."""
        with Session(self.engine) as db:
            rows = [r for r in db.exec(self._scoped(scope)).all() if set(tags) <= set(r.tags or ())]
        if not rows or not query.strip():
            return []
        rankings: dict[str, dict[str, float]] = {}
        if mode in ("keyword", "hybrid"):
            rankings["keyword"] = _bm25(query, rows)
        if mode in ("semantic", "hybrid") and self.embedder is not None:
            rankings["semantic"] = self._cosine(query, rows)
        if not rankings:
            raise ValueError("semantic recall needs an embedder; this store has none")
        by_id = {r.id: r for r in rows}
        if len(rankings) == 1:
            ((name, scores),) = rankings.items()
            ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:k]
            return [_note(by_id[i], s, {name: s}) for i, s in ranked]
        fused: dict[str, float] = {}
        for scores in rankings.values():
            for rank, (note_id, _s) in enumerate(sorted(scores.items(), key=lambda kv: -kv[1])):
                fused[note_id] = fused.get(note_id, 0.0) + 1.0 / (60 + rank + 1)
        best = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        return [
            _note(by_id[i], s, {n: r[i] for n, r in rankings.items() if i in r}) for i, s in best
        ]

    # ---- internals --------------------------------------------------------------------

    @staticmethod
    def _scoped(scope: Scope) -> Any:
        return select(NoteRow).where(NoteRow.tenant == scope.tenant, NoteRow.user == scope.user)

    def _model_id(self) -> str:
        return self.embedder.model_id if self.embedder else ""

    def _embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32] | None:
        if self.embedder is None:
            return None
        return np.asarray(self.embedder.encode(list(texts)), dtype=np.float32)

    def _cosine(self, query: str, rows: Sequence[NoteRow]) -> dict[str, float]:
        stale = [r for r in rows if r.embedding is None or r.embed_model != self._model_id()]
        if stale:  # embedded by another model (or none): embed again, once
            vectors = self._embed([r.text for r in stale])
            assert vectors is not None
            with Session(self.engine) as db:
                for row, vec in zip(stale, vectors, strict=True):
                    row.embedding, row.embed_model = vec.tobytes(), self._model_id()
                    db.add(row)
                db.commit()
        q = self._embed([query])
        assert q is not None
        matrix = np.stack([np.frombuffer(r.embedding or b"", dtype=np.float32) for r in rows])
        sims = matrix @ q[0]
        return {r.id: float(s) for r, s in zip(rows, sims, strict=True) if s > 0}


def _bm25(
    query: str, rows: Sequence[NoteRow], k1: float = 1.2, b: float = 0.75
) -> dict[str, float]:
    """BM25 over this scope's notes (a scope holds hundreds of notes, not millions)."""
    docs = {r.id: words(f"{r.key} {r.text} {' '.join(r.tags or ())}") for r in rows}
    avg = sum(len(d) for d in docs.values()) / max(len(docs), 1)
    df: Counter[str] = Counter(w for d in docs.values() for w in set(d))
    n = len(docs)
    scores: dict[str, float] = {}
    for note_id, doc in docs.items():
        tf = Counter(doc)
        score = 0.0
        for term in set(words(query)):
            if term not in tf:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(doc) / avg))
        if score > 0:
            scores[note_id] = score
    return scores
