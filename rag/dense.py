"""Dense retrieval over a numpy matrix held in memory (measured in benchmarks/retrieval.py: a flat
scan of 100k x 384 float32 fits the latency goal on 2 cores, so no ANN library is needed).

Tenant, ACL, collection and metadata filters become a boolean mask over rows that is applied
before any ranking: rows the caller may not read never get a score.

A chunk may have several vectors (its own and its sentence windows', ``rag.chunking.windows``);
it scores by the best of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rag.embedding import Vectors
from rag.store import ChunkRow
from rag.types import Filters, Principal


@dataclass
class _Codes:
    """Small-integer codes for the string columns, so masks are vectorised comparisons."""

    values: dict[str, int]

    def code(self, value: str) -> int:
        return self.values.setdefault(value, len(self.values))

    def lookup(self, values: Sequence[str]) -> list[int]:
        return [self.values[v] for v in values if v in self.values]


class DenseIndex:
    def __init__(
        self,
        rows: Sequence[ChunkRow],
        vectors: Vectors,
        owner: npt.NDArray[np.int64] | None = None,
    ) -> None:
        """``vectors[j]`` belongs to chunk ``rows[owner[j]]``; ``owner`` is non-decreasing
        and a chunk's own vector comes first (None: one vector a chunk)."""
        self.ids = [r.id for r in rows]
        self._pos = {cid: i for i, cid in enumerate(self.ids)}
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.owner = np.arange(len(rows), dtype=np.int64) if owner is None else owner
        # where each chunk's vectors start; its own vector is the first
        self._first = np.searchsorted(self.owner, np.arange(len(rows)))
        self._end = np.r_[self._first[1:], len(self.owner)].astype(np.int64)
        self._tenants = _Codes({})
        self._collections = _Codes({})
        self._sources = _Codes({})
        self._acls = _Codes({})  # one code per distinct ACL set
        self._acl_sets: list[frozenset[str]] = []
        n = len(rows)
        self.tenant = np.empty(n, dtype=np.int32)
        self.collection = np.empty(n, dtype=np.int32)
        self.source = np.empty(n, dtype=np.int32)
        self.acl = np.empty(n, dtype=np.int32)
        self.version = np.empty(n, dtype=np.int64)
        self.mtime = np.empty(n, dtype=np.float64)
        for i, r in enumerate(rows):
            s = r.source
            self.tenant[i] = self._tenants.code(s.tenant)
            self.collection[i] = self._collections.code(s.collection)
            self.source[i] = self._sources.code(s.path)
            key = "\x00".join(s.acl)
            if key not in self._acls.values:
                self._acl_sets.append(frozenset(s.acl))
            self.acl[i] = self._acls.code(key)
            self.version[i] = s.version
            self.mtime[i] = s.mtime

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._pos

    def __len__(self) -> int:
        return len(self.ids)

    def mask(
        self, principal: Principal, collections: Sequence[str], filters: Filters | None
    ) -> npt.NDArray[np.bool_]:
        tenant = self._tenants.values.get(principal.tenant)
        if tenant is None:
            return np.zeros(len(self.ids), dtype=bool)
        readable = principal.readable
        allowed_acls = [i for i, acl in enumerate(self._acl_sets) if acl & readable]
        m: npt.NDArray[np.bool_] = self.tenant == tenant
        m &= np.isin(self.acl, allowed_acls)
        m &= np.isin(self.collection, self._collections.lookup(collections))
        if filters is not None:
            if filters.sources:
                m &= np.isin(self.source, self._sources.lookup(filters.sources))
            if filters.min_version is not None:
                m &= self.version >= filters.min_version
            if filters.modified_after is not None:
                m &= self.mtime >= filters.modified_after.timestamp()
            if filters.modified_before is not None:
                m &= self.mtime <= filters.modified_before.timestamp()
        return m

    def search(
        self,
        query: npt.NDArray[np.float32],
        principal: Principal,
        collections: Sequence[str],
        filters: Filters | None,
        limit: int,
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity of its best vector), best first, among rows the
        principal may read."""
        if not self.ids:
            return []
        readable = self.mask(principal, collections, filters)
        if not readable.any():
            return []
        # a full scan avoids copying the matrix; a filtered one scores only readable rows
        rows = np.flatnonzero(readable[self.owner])
        full = rows.size == len(self.owner)
        scores = self.vectors @ query if full else self.vectors[rows] @ query
        chunks = self.owner if full else self.owner[rows]
        if len(self.owner) > len(self.ids):  # some chunks have windows: each by its best
            starts = np.flatnonzero(np.r_[True, chunks[1:] != chunks[:-1]])
            chunks, scores = chunks[starts], np.maximum.reduceat(scores, starts)
        k = min(limit, chunks.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[chunks[j]], float(scores[j])) for j in top]

    def vectors_of(self, ids: Sequence[str]) -> Vectors:
        """Each chunk's own vector (not its windows')."""
        return self.vectors[self._first[[self._pos[c] for c in ids]]]

    def similarities(self, ids: Sequence[str], query: npt.NDArray[np.float32]) -> list[float]:
        """Each chunk's score as ``search`` gives it: its best vector's cosine similarity."""
        spans = ((self._first[self._pos[c]], self._end[self._pos[c]]) for c in ids)
        return [float((self.vectors[a:b] @ query).max()) for a, b in spans]
