"""Offline evaluation against judged relevance: NDCG@k, MAP, MRR, per-query deltas, bootstrap CIs.

The first pass and the LTR rescore are evaluated on the same queries with the same judgements, so
the comparison is paired: the confidence interval is a bootstrap over queries of the mean per-query
difference (percentile method, seeded).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ranking.metrics import average_precision, ndcg_at_k, reciprocal_rank


def query_metrics(ranked: Sequence[str], judgements: Mapping[str, float], k: int = 10) -> dict[str, float]:
    relevant = {d for d, r in judgements.items() if r > 0}
    return {f"ndcg@{k}": ndcg_at_k(ranked, judgements, k), "map": average_precision(ranked, relevant),
            f"mrr@{k}": reciprocal_rank(ranked, relevant, k)}


def evaluate_ranker(rank: Callable[[str], Sequence[str]], truth: Mapping[str, Mapping[str, float]],
                    queries: Sequence[str], k: int = 10) -> dict[str, Any]:
    per_query = {q: query_metrics(list(rank(q))[:max(k, 100)], truth[q], k) for q in queries}
    names = next(iter(per_query.values())).keys() if per_query else []
    summary = {m: round(float(np.mean([v[m] for v in per_query.values()])), 4) for m in names}
    return {**summary, "queries": len(per_query), "per_query": per_query}


def bootstrap_ci(deltas: Sequence[float], *, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0
                 ) -> tuple[float, float]:
    d = np.asarray(deltas, dtype=np.float64)
    if len(d) == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    return float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2))


def compare(baseline: Mapping[str, Any], candidate: Mapping[str, Any], metrics: Sequence[str] | None = None,
            *, seed: int = 0) -> dict[str, Any]:
    """Paired per-query deltas (candidate - baseline) with mean and 95 % bootstrap CI per metric."""
    queries = sorted(set(baseline["per_query"]) & set(candidate["per_query"]))
    metrics = metrics or list(next(iter(baseline["per_query"].values())).keys())
    out: dict[str, Any] = {}
    for m in metrics:
        deltas = [candidate["per_query"][q][m] - baseline["per_query"][q][m] for q in queries]
        lo, hi = bootstrap_ci(deltas, seed=seed)
        out[m] = {"delta": round(float(np.mean(deltas)) if deltas else 0.0, 4), "ci95": [round(lo, 4), round(hi, 4)],
                  "wins": int(sum(d > 1e-12 for d in deltas)), "losses": int(sum(d < -1e-12 for d in deltas)),
                  "per_query": dict(zip(queries, (round(d, 4) for d in deltas)))}
    return out
