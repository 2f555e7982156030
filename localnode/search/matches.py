"""Sparse match sets and Lucene's ways of combining them.

A :class:`Matches` is the set of documents a query matches in one segment (sorted local doc ids)
with their float32 scores. Combining follows Lucene's scorers, including where they sum in double
before casting to float (disjunctions, conjunctions) and where they add in float (req + opt), so
compound scores match OpenSearch to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

_EMPTY_DOCS = np.zeros(0, dtype=np.int32)
_EMPTY_SCORES = np.zeros(0, dtype=np.float32)
DENSE_THRESHOLD = 1 / 16  # combined postings above this share of max_doc use dense accumulators


@dataclass(slots=True)
class Matches:
    docs: np.ndarray    # int32, sorted, unique
    scores: np.ndarray  # float32, aligned with docs

    @staticmethod
    def empty() -> "Matches":
        return Matches(_EMPTY_DOCS, _EMPTY_SCORES)

    @staticmethod
    def constant(docs: np.ndarray, score: float) -> "Matches":
        return Matches(docs.astype(np.int32, copy=False), np.full(len(docs), np.float32(score), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.docs)

    def restrict(self, mask_docs: np.ndarray) -> "Matches":
        """Keep only docs that are in ``mask_docs`` (sorted unique)."""
        keep = np.isin(self.docs, mask_docs, assume_unique=True)
        return Matches(self.docs[keep], self.scores[keep])

    def exclude(self, docs: np.ndarray) -> "Matches":
        if not len(docs) or not len(self.docs):
            return self
        keep = ~np.isin(self.docs, docs, assume_unique=True)
        return Matches(self.docs[keep], self.scores[keep])

    def with_scores(self, scores: np.ndarray) -> "Matches":
        return Matches(self.docs, scores.astype(np.float32, copy=False))


def live_docs(docs: np.ndarray, live: np.ndarray | None) -> np.ndarray:
    """Boolean keep-mask for ``docs`` given a segment's live-docs mask (None = all live)."""
    if live is None:
        return np.ones(len(docs), dtype=bool)
    return live[docs]


def disjunction(parts: Sequence[Matches], max_doc: int, min_should_match: int = 1) -> Matches:
    """Union with scores summed in double then cast to float (DisjunctionSumScorer, MinShouldMatch)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Matches.empty()
    if len(parts) == 1:
        return parts[0] if min_should_match <= 1 else Matches.empty()
    total = sum(len(p) for p in parts)
    if total > max_doc * DENSE_THRESHOLD:
        acc = np.zeros(max_doc, dtype=np.float64)
        count = np.zeros(max_doc, dtype=np.int32)
        for part in parts:
            acc[part.docs] += part.scores
            count[part.docs] += 1
        docs = np.flatnonzero(count >= max(min_should_match, 1)).astype(np.int32)
        return Matches(docs, acc[docs].astype(np.float32))
    all_docs = np.concatenate([p.docs for p in parts])
    all_scores = np.concatenate([p.scores for p in parts]).astype(np.float64)
    docs, inverse, counts = np.unique(all_docs, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=all_scores, minlength=len(docs))
    keep = counts >= max(min_should_match, 1)
    return Matches(docs[keep].astype(np.int32), sums[keep].astype(np.float32))


def conjunction(required: Sequence[Matches], scoring: Sequence[bool]) -> Matches:
    """Intersection; scores of the scoring clauses summed in double then cast (ConjunctionScorer)."""
    if not required:
        raise ValueError("conjunction needs at least one clause")
    order = sorted(range(len(required)), key=lambda i: len(required[i]))
    docs = required[order[0]].docs
    for i in order[1:]:
        if not len(docs):
            break
        docs = np.intersect1d(docs, required[i].docs, assume_unique=True)
    scoring_parts = [p for p, s in zip(required, scoring) if s]
    if not scoring_parts:
        return Matches(docs.astype(np.int32), np.zeros(len(docs), dtype=np.float32))
    if len(scoring_parts) == 1:
        return scoring_parts[0].restrict(docs) if len(docs) != len(scoring_parts[0]) else scoring_parts[0]
    acc = np.zeros(len(docs), dtype=np.float64)
    for part in scoring_parts:
        idx = np.searchsorted(part.docs, docs)
        acc += part.scores[idx]
    return Matches(docs.astype(np.int32), acc.astype(np.float32))


def req_opt(required: Matches, optional: Matches) -> Matches:
    """ReqOptSumScorer: required docs, plus the optional score (float addition) where it matches."""
    if not len(optional) or not len(required):
        return required
    idx = np.searchsorted(optional.docs, required.docs)
    idx_clipped = np.minimum(idx, len(optional.docs) - 1)
    hit = optional.docs[idx_clipped] == required.docs
    scores = required.scores.copy()
    scores[hit] = (scores[hit] + optional.scores[idx_clipped[hit]]).astype(np.float32)
    return Matches(required.docs, scores)


def dis_max(parts: Sequence[Matches], tie_breaker: float, max_doc: int) -> Matches:
    """DisjunctionMaxScorer: float max plus tie × (double sum of the others), cast to float.

    Lucene visits the sub-scorers of a doc in order: ``if sub >= max: others += max; max = sub``
    ``else: others += sub``. The result equals max + tie × (sum of all − max), which is what the
    vectorised form computes (the running-order detail only matters for equal maxima, where both
    orders give the same numbers).
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return Matches.empty()
    if len(parts) == 1:
        return parts[0]
    total = sum(len(p) for p in parts)
    if total > max_doc * DENSE_THRESHOLD:
        best = np.zeros(max_doc, dtype=np.float32)
        sums = np.zeros(max_doc, dtype=np.float64)
        seen = np.zeros(max_doc, dtype=bool)
        for part in parts:
            current = best[part.docs]
            best[part.docs] = np.where(seen[part.docs], np.maximum(current, part.scores), part.scores)
            sums[part.docs] += part.scores
            seen[part.docs] = True
        docs = np.flatnonzero(seen).astype(np.int32)
        top = best[docs]
        others = sums[docs] - top.astype(np.float64)
    else:
        all_docs = np.concatenate([p.docs for p in parts])
        all_scores = np.concatenate([p.scores for p in parts])
        docs, inverse = np.unique(all_docs, return_inverse=True)
        top = np.full(len(docs), -np.inf, dtype=np.float32)
        np.maximum.at(top, inverse, all_scores)
        others = np.bincount(inverse, weights=all_scores.astype(np.float64), minlength=len(docs)) - top
        docs = docs.astype(np.int32)
    tie = float(np.float32(tie_breaker))
    return Matches(docs, (top.astype(np.float64) + others * tie).astype(np.float32))
