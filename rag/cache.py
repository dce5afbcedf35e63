"""The semantic answer cache: a question close enough to one already answered, over the same
collections at the same generation, for the same tenant and groups, gets the stored answer.
Ingest bumps a collection's generation, so entries made before it can never match again (and
``invalidate`` deletes them)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rag.types import Answer


class AnswerCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers (tenant TEXT NOT NULL, scope TEXT NOT NULL,"
            " collections TEXT NOT NULL, qvec BLOB NOT NULL, question TEXT NOT NULL,"
            " answer TEXT NOT NULL, created REAL NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS answers_scope ON answers (tenant, scope)")
        self._lock = threading.Lock()

    def get(
        self, tenant: str, scope: str, qvec: npt.NDArray[np.float32], similarity: float
    ) -> Answer | None:
        with self._lock:
            rows = self._db.execute(
                "SELECT qvec, answer FROM answers WHERE tenant = ? AND scope = ?", (tenant, scope)
            ).fetchall()
        best: tuple[float, str] | None = None
        for blob, answer in rows:
            sim = float(np.frombuffer(blob, dtype=np.float32) @ qvec)
            if sim >= similarity and (best is None or sim > best[0]):
                best = (sim, answer)
        if best is None:
            return None
        return Answer.model_validate_json(best[1]).model_copy(update={"cached": True})

    def put(
        self,
        tenant: str,
        scope: str,
        collections: Sequence[str],
        qvec: npt.NDArray[np.float32],
        question: str,
        answer: Answer,
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tenant, scope, "\x00" + "\x00".join(collections) + "\x00",
                 qvec.astype(np.float32).tobytes(), question, answer.model_dump_json(),
                 time.time()),
            )  # fmt: skip

    def invalidate(self, tenant: str, collection: str) -> int:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM answers WHERE tenant = ? AND instr(collections, ?) > 0",
                (tenant, "\x00" + collection + "\x00"),
            )
        return cur.rowcount

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        self._db.close()
