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

import threading

_EMPTY_DOCS = np.zeros(0, dtype=np.int32)
_EMPTY_SCORES = np.zeros(0, dtype=np.float32)
DENSE_THRESHOLD = 1 / 16  # combined postings above this share of max_doc use dense accumulators


class _Scratch(threading.local):
    """Per-thread dense buffers, zero between uses: only the touched slots are cleared afterwards.

    Allocating (and page-faulting) max_doc-sized arrays per query dominated query time on large
    segments; reusing them makes a dense combination cost O(postings) plus one byte-scan.
    """

    def __init__(self) -> None:
        self.size = 0
        self.acc = np.zeros(0, dtype=np.float64)
        self.best = np.zeros(0, dtype=np.float32)
        self.count = np.zeros(0, dtype=np.uint8)
        self.seen = np.zeros(0, dtype=bool)

    def ensure(self, size: int) -> None:
        if size > self.size:
            self.size = max(size, int(self.size * 1.5))
            self.acc = np.zeros(self.size, dtype=np.float64)
            self.best = np.zeros(self.size, dtype=np.float32)
            self.count = np.zeros(self.size, dtype=np.uint8)
            self.seen = np.zeros(self.size, dtype=bool)


_SCRATCH = _Scratch()


def seen_scratch(size: int) -> np.ndarray:
    """This thread's all-False bool buffer of at least ``size`` entries; callers reset what they set."""
    _SCRATCH.ensure(size)
    return _SCRATCH.seen


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
        """Keep only docs that are in ``mask_docs`` (sorted unique). Both sides are sorted, so each
        window doc is found by binary search: O(window x log matches), not a sort of both."""
        if not len(self.docs) or not len(mask_docs):
            return Matches(self.docs[:0], self.scores[:0])
        positions = np.minimum(np.searchsorted(self.docs, mask_docs), len(self.docs) - 1)
        found = positions[self.docs[positions] == mask_docs]
        return Matches(self.docs[found], self.scores[found])

    def exclude(self, docs: np.ndarray) -> "Matches":
        if not len(docs) or not len(self.docs):
            return self
        keep = ~np.isin(self.docs, docs, assume_unique=True)
        return Matches(self.docs[keep], self.scores[keep])

    def with_scores(self, scores: np.ndarray) -> "Matches":
        return Matches(self.docs, scores.astype(np.float32, copy=False))


def postings_in(docs: np.ndarray, values: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The entries of a sorted postings list (docs, aligned values) whose doc is in ``window``."""
    if not len(docs) or not len(window):
        return docs[:0], values[:0]
    span = int(window[-1]) - int(window[0]) + 1
    if len(window) * max(int(len(docs)).bit_length(), 1) * 8 > span + 4 * len(docs):
        # A large window: one pass over the postings against a bitmap of the window's doc range
        # beats a binary search per window doc.
        hit = np.isin(docs, window, assume_unique=True, kind="table")
        return docs[hit], values[hit]
    positions = np.minimum(np.searchsorted(docs, window), len(docs) - 1)
    hit = docs[positions] == window
    return window[hit], values[positions[hit]]


def members(window: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Mask of the ``window`` docs (sorted) that are in ``found``: binary search when ``found`` is
    sorted (postings, unions of them), a set test otherwise."""
    if not len(window) or not len(found):
        return np.zeros(len(window), dtype=bool)
    if len(found) > 1 and not bool(np.all(found[1:] >= found[:-1])):
        return np.isin(window, found)
    positions = np.minimum(np.searchsorted(found, window), len(found) - 1)
    return found[positions] == window


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
    if total > max_doc * DENSE_THRESHOLD and len(parts) < 255:
        _SCRATCH.ensure(max_doc)
        acc, count, seen = _SCRATCH.acc[:max_doc], _SCRATCH.count[:max_doc], _SCRATCH.seen[:max_doc]
        for part in parts:
            acc[part.docs] += part.scores
            seen[part.docs] = True
            if min_should_match > 1:
                count[part.docs] += 1
        touched = np.flatnonzero(seen).astype(np.int32)
        docs = touched[count[touched] >= min_should_match] if min_should_match > 1 else touched
        scores = acc[docs].astype(np.float32)
        acc[touched] = 0.0
        seen[touched] = False
        if min_should_match > 1:
            count[touched] = 0
        return Matches(docs, scores)
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
        _SCRATCH.ensure(max_doc)
        best, sums, seen = _SCRATCH.best[:max_doc], _SCRATCH.acc[:max_doc], _SCRATCH.seen[:max_doc]
        for part in parts:  # scores are >= 0, so max with the zero-initialised buffer is exact
            best[part.docs] = np.maximum(best[part.docs], part.scores)
            sums[part.docs] += part.scores
            seen[part.docs] = True
        docs = np.flatnonzero(seen).astype(np.int32)
        top = best[docs].copy()
        others = sums[docs] - top.astype(np.float64)
        best[docs] = 0.0
        sums[docs] = 0.0
        seen[docs] = False
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
