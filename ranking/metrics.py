"""Ranking metrics with the usual definitions (graded gains 2^rel - 1, log2 discounts).

``ndcg_at_k`` divides by the ideal DCG of *all* judged documents of the query, not only the
retrieved ones, so a system is not rewarded for retrieving few relevant documents.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence


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


# -- label-array metrics (LETOR-style data: one row per document, grouped by query) -----------------
#
# Two conventions are kept side by side because published LETOR numbers use the official
# Eval-Score-4.0.pl rules, which differ from the textbook definitions used everywhere else here:
#
# * standard: gain 2^rel - 1, discount log2(rank + 1), a query with fewer than k documents is cut at
#   its length, a query without any relevant document is left out of the mean (its NDCG is undefined).
# * letor (official script): same gain, but ranks 1 and 2 are undiscounted (DCG = g1 + sum_{i>=2}
#   g_i / log2(i)); NDCG@k is 0 for a query with fewer than k documents; a query without relevant
#   documents scores 0 and *is* averaged in; MAP counts relevance > 0 as relevant and averages AP
#   over every query (0 when it has no relevant document).

def _ranked_labels(scores: "Sequence[float]", labels: "Sequence[float]") -> list[float]:
    """Labels in score order, highest first; ties keep input order (a stable sort, as in the data file)."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    return [float(labels[i]) for i in order]


def ndcg_labels(ranked: Sequence[float], k: int, *, convention: str = "standard") -> float | None:
    """NDCG@k of a list of labels already in ranked order; None when undefined (standard convention)."""
    ideal = sorted(ranked, reverse=True)
    if convention == "letor":
        if len(ranked) < k:
            return 0.0

        def ldcg(labels: Sequence[float]) -> float:
            return sum((2 ** r - 1) / (1.0 if i < 2 else math.log2(i + 1)) for i, r in enumerate(labels[:k]))
        best = ldcg(ideal)
        return ldcg(ranked) / best if best > 0 else 0.0
    best = dcg([2 ** r - 1 for r in ideal[:k]])
    if best <= 0:
        return None
    return dcg([2 ** r - 1 for r in ranked[:k]]) / best


def average_precision_labels(ranked: Sequence[float]) -> float | None:
    """AP of a ranked label list (relevant = label > 0); None when nothing is relevant."""
    hits, total = 0, 0.0
    for i, r in enumerate(ranked, 1):
        if r > 0:
            hits += 1
            total += hits / i
    return total / hits if hits else None


def per_query_metric(scores: Any, labels: Any, qid: Any, metric: str, *,
                     convention: str = "standard") -> dict[Any, float]:
    """One value per query for ``map``, ``mrr`` or ``ndcg@k`` (queries where it is undefined are left out
    under the standard convention, counted as 0 under ``letor``)."""
    groups: dict[Any, list[int]] = {}
    for i, q in enumerate(qid):
        groups.setdefault(q.item() if hasattr(q, "item") else q, []).append(i)
    out: dict[Any, float] = {}
    for q, rows in groups.items():
        ranked = _ranked_labels([scores[i] for i in rows], [labels[i] for i in rows])
        value: float | None
        if metric == "map":
            value = average_precision_labels(ranked)
        elif metric == "mrr":
            value = next((1.0 / i for i, r in enumerate(ranked, 1) if r > 0), None)
        elif metric.startswith("ndcg@"):
            value = ndcg_labels(ranked, int(metric.split("@", 1)[1]), convention=convention)
        else:
            raise ValueError(f"unknown metric {metric!r} (use map, mrr or ndcg@K)")
        if value is None:
            if convention != "letor":
                continue
            value = 0.0
        out[q] = value
    return out


def mean_metric(scores: Any, labels: Any, qid: Any, metric: str, *, convention: str = "standard") -> float:
    values = per_query_metric(scores, labels, qid, metric, convention=convention)
    return sum(values.values()) / len(values) if values else 0.0
