"""Ideas for hybrid fusion that were measured against the default and not kept.

``python -m evals.rag.ablate`` scores each idea on the **dev** halves of the literal and the
paraphrased sets (the halves the defaults were calibrated on; the test halves are not looked
at), beside the default and each retriever alone, with the same candidates ``Knowledge.search``
fuses. docs/rag.md ("What did not help") has the run. An idea that clearly beat the default
here would be the one to try on the test halves; none did.

- *rewrite neighbours*: the default's rewrite (3 dense hits x 20 words) next to its neighbours
  in the calibration grid, to show how sharp the optimum is;
- *dense Rocchio*: the query vector moved towards the centroid of its 3 best dense hits
  (q + 0.5 c, renormalised), alone and in place of the dense ranking when the gate is closed;
- *soft gate*: BM25's weight ramps from 0 at coverage 0.6 to full at 0.8 (and the rewrite's
  the other way) instead of switching at 0.7;
- *document smoothing*: a chunk's cosine plus 0.2 x the best cosine of its document;
- *query prefix*: the query vector averaged with that of "In Python, " + the query;
- *weighted rewrite* (RM3-style): the rewrite's words as BM25 term queries, each boosted by
  its tf x idf (the best 1), or by its relevance-model weight (its share of each feedback
  hit's words times that hit's cosine), in place of the rewrite's plain query of words;
- *corpus words nearest the question*: the 10 corpus words (each stem's commonest surface
  form, embedded by the same model) nearest the question's vector, as a boosted BM25 query
  fused in beside the default's rankings: the question mapped into the corpus's vocabulary
  without going through the dense hits.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import tantivy
from ranx import Qrels, Run, evaluate

from evals.rag.calibrate import Candidates, candidates, fused_top
from evals.rag.index import COLLECTION, TENANT, build_index, config_for, corpus_chunks_of, table
from evals.rag.sets import SETS, SetName, qrels, split
from rag.config import RetrievalConfig
from rag.dense import DenseIndex
from rag.fusion import fuse, weighted
from rag.knowledge import Knowledge
from rag.lexical import _STEMS, _WORDS, STOPWORDS, terms

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Question:
    """One dev question: its candidates as the calibration sees them, its query vector, the
    vector of its prefixed wording, and every chunk's cosine to it."""

    found: Candidates
    vector: Vector
    prefixed: Vector
    cosines: npt.NDArray[np.float32]


Idea = Callable[[Question], list[str]]


def unit(v: Vector) -> Vector:
    return v / np.linalg.norm(v)


class Ideas:
    """Each idea as a function from a question to its ranked chunk ids (top 10)."""

    def __init__(self, kn: Knowledge, cfg: RetrievalConfig) -> None:
        self.kn, self.cfg = kn, cfg
        self.dense: DenseIndex = kn.dense_index()
        rows = kn.meta.chunks(self.dense.ids)
        sources = np.array([rows[c].source.id for c in self.dense.ids])
        self.document = np.unique(sources, return_inverse=True)[1]  # each chunk's, 0..d-1
        self.rows = rows
        self.stems, self.word_vectors = self._vocabulary()

    def _vocabulary(self) -> tuple[list[str], Vector]:
        """Every stem of the corpus (as ``terms`` cuts it) and the embedding of its commonest
        surface form."""
        forms: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for row in self.rows.values():
            text = " ".join([row.text, *row.headings])
            for word, stem in zip(_WORDS.analyze(text), _STEMS.analyze(text), strict=True):
                if len(word) > 2 and word.isalpha() and word not in STOPWORDS:
                    forms[stem][word] += 1
        stems = sorted(forms)
        words = [forms[s].most_common(1)[0][0] for s in stems]
        return stems, self.kn.embedder.inner.encode(words)

    def _boosted(self, weights: Mapping[str, float]) -> list[tuple[str, float]]:
        """BM25 of term queries on stems, each boosted by its weight (the fields' boosts as
        ``LexicalIndex.search`` gives them), among the eval tenant's chunks."""
        lex = self.kn.lexical
        should = [
            (tantivy.Occur.Should, tantivy.Query.boost_query(
                tantivy.Query.term_query(lex.schema, field, stem), weight * boost))
            for stem, weight in weights.items()
            for field, boost in (("text", 1.0), ("headings", 1.5), ("title", 1.5))
        ]  # fmt: skip
        must = [
            tantivy.Query.boolean_query(should),
            *lex.filter_queries(TENANT, [COLLECTION], None),
        ]
        query = tantivy.Query.boolean_query([(tantivy.Occur.Must, m) for m in must])
        searcher = lex._index.searcher()
        hits = searcher.search(query, self.cfg.candidates, count=False).hits
        return [(str(searcher.doc(a).get_first("chunk_id")), float(s)) for s, a in hits]

    def _idf(self, stems: set[str]) -> dict[str, float]:
        return self.kn.lexical._idf(self.kn.lexical._index.searcher(), stems)

    def weighted_rewrite(self, q: Question, relevance_model: bool = False) -> list[str]:
        """The default's rewrite with each word boosted by its weight (see the docstring)."""
        c, cfg = q.found, self.cfg
        if c.coverage >= cfg.bm25_min_coverage:
            return fused_top(c, cfg)
        hits = c.rankings["dense"][: cfg.rewrite_docs]
        if not relevance_model:  # the default's own words and weights
            feedback = [self.rows[cid] for cid, _ in hits]
            scored = self.kn.lexical.rewrite_weights(feedback, cfg.rewrite_terms)
        else:
            weight: defaultdict[str, float] = defaultdict(float)
            for cid, cosine in hits:
                row = self.rows[cid]
                tf = Counter(terms(" ".join([row.text, *row.headings])))
                size = sum(tf.values()) or 1
                for stem, n in tf.items():
                    weight[stem] += n * cosine / size
            idf = self._idf(set(weight))
            every = {t: w * idf[t] for t, w in weight.items()}
            best = sorted(every, key=lambda t: (-every[t], t))[: cfg.rewrite_terms]
            scored = {t: every[t] for t in best}
        top = max(scored.values(), default=1.0)
        rankings = {**c.rankings, "rewrite": self._boosted({t: w / top for t, w in scored.items()})}
        fused = fuse(rankings, cfg, {"bm25": 0.0})
        return sorted(fused, key=lambda d: -fused[d])[:10]

    def nearest_words(self, q: Question, words: int = 10, weight: float = 0.05) -> list[str]:
        """The default fusion plus BM25 of the corpus words nearest the question's vector."""
        c, cfg = q.found, self.cfg
        if c.coverage >= cfg.bm25_min_coverage:
            return fused_top(c, cfg)
        sims = self.word_vectors @ q.vector
        near = {self.stems[j]: float(sims[j]) for j in np.argsort(-sims)[:words]}
        idf = self._idf(set(near))
        runs = {
            "dense": c.rankings["dense"],
            "rewrite": c.rewrites[(cfg.rewrite_docs, cfg.rewrite_terms)],
            "words": self._boosted({t: s * idf[t] for t, s in near.items()}),
        }
        weights = {"dense": cfg.dense_weight, "rewrite": cfg.rewrite_weight, "words": weight}
        fused = weighted(runs, weights, cfg.normalization)
        return sorted(fused, key=lambda d: -fused[d])[:10]

    def _dense(self, vector: Vector) -> list[tuple[str, float]]:
        n = self.cfg.candidates
        return self.dense.search(vector, TENANT, [COLLECTION], None, n)

    def _with_dense(self, q: Question, ranking: list[tuple[str, float]]) -> list[str]:
        """The default fusion with the dense ranking replaced where the gate is closed."""
        c = q.found
        if c.coverage >= self.cfg.bm25_min_coverage:
            return fused_top(c, self.cfg)
        swapped = Candidates({**c.rankings, "dense": ranking}, c.coverage, c.rewrites)
        return fused_top(swapped, self.cfg)

    def rocchio(self, q: Question) -> list[tuple[str, float]]:
        top = [cid for cid, _ in q.found.rankings["dense"][:3]]
        centroid = self.dense.vectors_of(top).mean(axis=0)
        return self._dense(unit(q.vector + 0.5 * centroid))

    def soft_gate(self, q: Question, low: float = 0.6, high: float = 0.8) -> list[str]:
        c, cfg = q.found, self.cfg
        g = float(np.clip((c.coverage - low) / (high - low), 0.0, 1.0))
        rankings = dict(c.rankings)
        rankings["rewrite"] = c.rewrites[(cfg.rewrite_docs, cfg.rewrite_terms)]
        fused = fuse(rankings, cfg, {"bm25": g, "rewrite": 1.0 - g})
        return sorted(fused, key=lambda d: -fused[d])[:10]

    def document_smoothed(self, q: Question, alpha: float = 0.2) -> list[tuple[str, float]]:
        best = np.full(self.document.max() + 1, -np.inf, dtype=np.float32)
        np.maximum.at(best, self.document, q.cosines)
        scores = q.cosines + alpha * best[self.document]
        top = np.argsort(-scores)[: self.cfg.candidates]
        return [(self.dense.ids[j], float(scores[j])) for j in top]

    def all(self) -> dict[str, Idea]:
        cfg = self.cfg

        def with_rewrite(docs: int, words: int) -> Idea:
            alt = cfg.model_copy(update={"rewrite_docs": docs, "rewrite_terms": words})
            return lambda q: fused_top(q.found, alt)

        def alone(ranking: Callable[[Question], list[tuple[str, float]]]) -> Idea:
            return lambda q: [cid for cid, _ in ranking(q)][:10]

        return {
            "**default**": lambda q: fused_top(q.found, cfg),
            "BM25 alone": lambda q: [cid for cid, _ in q.found.rankings["bm25"][:10]],
            "dense alone": lambda q: [cid for cid, _ in q.found.rankings["dense"][:10]],
            "rewrite from 5 hits x 20 words": with_rewrite(5, 20),
            "rewrite from 5 hits x 30 words": with_rewrite(5, 30),
            "dense Rocchio, alone": alone(self.rocchio),
            "dense Rocchio in the hybrid": lambda q: self._with_dense(q, self.rocchio(q)),
            "soft gate 0.6-0.8": self.soft_gate,
            "document smoothing, alone": alone(self.document_smoothed),
            "document smoothing in the hybrid": lambda q: self._with_dense(
                q, self.document_smoothed(q)
            ),
            "query prefix, alone": alone(lambda q: self._dense(unit(q.vector + q.prefixed))),
            "query prefix in the hybrid": lambda q: self._with_dense(
                q, self._dense(unit(q.vector + q.prefixed))
            ),
            "weighted rewrite, tf x idf": self.weighted_rewrite,
            "weighted rewrite, relevance model": lambda q: self.weighted_rewrite(q, True),
            "corpus words nearest the question, in the hybrid": self.nearest_words,
        }


def collect(kn: Knowledge, name: SetName) -> tuple[dict[str, dict[str, int]], dict[str, Question]]:
    dev = split(SETS[name], "dev")
    n = kn.config.retrieval.candidates
    encode = kn.embedder.inner.encode
    vectors = encode([q.text for q in dev])
    prefixed = encode([f"In Python, {q.text}" for q in dev])
    matrix = kn.dense_index().vectors
    out = {
        q.qid: Question(candidates(kn, q.text, n), v, p, matrix @ v)
        for q, v, p in zip(dev, vectors, prefixed, strict=True)
    }
    return qrels(dev, corpus_chunks_of(kn)), out


def mrr(relevant: dict[str, dict[str, int]], ranked: dict[str, list[str]]) -> float:
    run = {q: {d: 1.0 / r for r, d in enumerate(top, start=1)} or {"none": 0.0}
           for q, top in ranked.items()}  # fmt: skip
    return float(evaluate(Qrels(relevant), Run(run), "mrr@10"))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.rag.ablate", description=__doc__)
    parser.add_argument("--dir", type=Path,
                        default=Path.home() / ".cache" / "agenthost" / "evals" / "rag")  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    kn = build_index(args.dir, config_for())
    ideas = Ideas(kn, kn.config.retrieval).all()
    data = {name: collect(kn, name) for name in ("literal", "paraphrased")}
    rows = []
    for label, idea in ideas.items():
        per = [mrr(rel, {qid: idea(q) for qid, q in qs.items()}) for rel, qs in data.values()]
        rows.append([label, *per, sum(per) / len(per)])
    print("\n## Ideas not kept (dev halves, MRR@10)\n")
    print(table(["idea", "literal dev", "paraphrased dev", "mean"], rows))
    print(f"\nwall time: {time.perf_counter() - started:.0f}s")
    kn.close()


if __name__ == "__main__":
    main()
