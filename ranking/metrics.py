"""Ranking metrics with the usual definitions (graded gains 2^rel - 1, log2 discounts).

``ndcg_at_k`` divides by the ideal DCG of *all* judged documents of the query, not only the
retrieved ones, so a system is not rewarded for retrieving few relevant documents.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], judgements: Mapping[str, float], k: int) -> float:
    gains = [2 ** judgements.get(doc, 0) - 1 for doc in ranked[:k]]
    ideal = sorted((2 ** r - 1 for r in judgements.values()), reverse=True)[:k]
    best = dcg(ideal)
    return dcg(gains) / best if best > 0 else 0.0


def average_precision(ranked: Sequence[str], relevant: set[str]) -> float:
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for i, doc in enumerate(ranked, 1):
        if doc in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: set[str], k: int | None = None) -> float:
    for i, doc in enumerate(ranked[:k] if k else ranked, 1):
        if doc in relevant:
            return 1.0 / i
    return 0.0


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def precision_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return len([d for d in ranked[:k] if d in relevant]) / k if k else 0.0
