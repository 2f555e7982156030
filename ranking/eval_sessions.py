"""Offline next-item prediction on click sessions: Pin2Vec vs ItemPop (and ItemKNN), P@20 / MRR@20.

Train: one session per line. Test: ``prefix items<TAB>next item``. For each test line every method
ranks items from the prefix and we check where the next item lands (``p@20`` = hit rate in the top
20, as in the SR-GNN paper; ``mrr@20`` = reciprocal rank, 0 beyond 20).

* ``itempop`` -- items by training frequency (the paper's POP).
* ``itemknn`` -- cosine similarity over sessions (items co-occurring in a session) to the last item
  of the prefix, top ``knn_neighbours`` per item (the paper's Item-KNN).
* ``pin2vec`` -- skip-gram over training sessions; the nearest items (cosine) to the last item's
  vector. Items of unknown vectors fall back to popularity.

The last prefix item itself is excluded from every list (a click repeated next is not a recommendation).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

from indexer.signals.cooccurrence import BoardCooccurrence, ItemIndex
from indexer.signals.pin2vec import Pin2Vec, session_sentence

METHODS = ("itempop", "itemknn", "pin2vec")


@dataclass(slots=True)
class SessionEvalConfig:
    k: int = 20
    vector_size: int = 128
    window: int = 3
    epochs: int = 10
    min_count: int = 1
    knn_neighbours: int = 100
    seed: int = 0
    workers: int = 1
    batch_rows: int = 0
    itemknn: bool = True


def evaluate_sessions(train: Sequence[Sequence[str]], tests: Sequence[tuple[Sequence[str], str]],
                      config: SessionEvalConfig | None = None,
                      progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    config = config or SessionEvalConfig()
    timings: dict[str, float] = {}
    sentences = [session_sentence(s) for s in train]
    index = ItemIndex.build(sentences)
    n = len(index)
    pop = np.zeros(n, dtype=np.float32)
    for s in train:
        for item in s:
            pop[index.positions[item]] += 1
    tiebreak = 1e-6 * pop / max(float(pop.max()), 1.0)

    t0 = time.perf_counter()
    p2v = Pin2Vec(vector_size=config.vector_size, window=config.window, epochs=config.epochs,
                  min_count=config.min_count, seed=config.seed, workers=config.workers,
                  deterministic=config.workers == 1).fit([s for s in sentences if len(s) >= 2])
    timings["pin2vec_fit"] = time.perf_counter() - t0
    vectors = np.zeros((n, config.vector_size), dtype=np.float32)
    normed = p2v.normed_matrix()
    for row, item in enumerate(p2v.ids):
        vectors[index.positions[item]] = normed[row]
    knn = None
    if config.itemknn:
        t0 = time.perf_counter()
        knn = BoardCooccurrence(top_n=config.knn_neighbours, measure="cosine", max_board_size=10_000,
                                seed=config.seed).fit(sentences, index=index)
        timings["itemknn_fit"] = time.perf_counter() - t0

    cases = [(index.positions.get(prefix[-1], -1), index.positions.get(target, -1)) for prefix, target in tests]
    methods = [m for m in METHODS if m != "itemknn" or knn is not None]
    sums = {m: np.zeros(2) for m in methods}
    batch = config.batch_rows or max(1, int(2e7 // max(n, 1)))
    t0 = time.perf_counter()
    k = config.k
    for start in range(0, len(cases), batch):
        chunk = cases[start:start + batch]
        last = np.asarray([c[0] for c in chunk])
        target = np.asarray([c[1] for c in chunk])
        known = last >= 0
        safe_last = np.where(known, last, 0)
        scores: dict[str, np.ndarray] = {"itempop": np.broadcast_to(pop, (len(chunk), n)).astype(np.float32)}
        pv = vectors[safe_last] @ vectors.T
        pv[~known] = 0
        scores["pin2vec"] = pv
        if knn is not None:
            seeds = sp.csr_matrix((known.astype(np.float32), (np.arange(len(chunk)), safe_last)), shape=(len(chunk), n))
            scores["itemknn"] = knn.score(seeds)
        for method in methods:
            s = scores[method] + tiebreak
            s[np.arange(len(chunk))[known], last[known]] = -np.inf
            target_score = s[np.arange(len(chunk)), np.where(target >= 0, target, 0)]
            rank = (s > target_score[:, None]).sum(axis=1) + 1  # 1-based rank of the target
            hit = (target >= 0) & (rank <= k) & np.isfinite(target_score)
            sums[method] += (hit.sum(), np.where(hit, 1.0 / rank, 0.0).sum())
        if progress is not None:
            progress(min(start + batch, len(cases)), len(cases))
    timings["scoring"] = time.perf_counter() - t0
    count = max(len(cases), 1)
    result: dict[str, Any] = {m: {f"p@{k}": round(100 * v[0] / count, 2), f"mrr@{k}": round(100 * v[1] / count, 2)}
                              for m, v in sums.items()}
    result["meta"] = {"train_sessions": len(train), "items": n, "tests": len(tests),
                      "tests_unknown_target": int(sum(c[1] < 0 for c in cases)),
                      "pin2vec_vocabulary": len(p2v.ids), "units": "percent",
                      "published_sr_gnn_test_split": {"itemknn": {"p@20": 35.75, "mrr@20": 11.57},
                                                      "itempop": {"p@20": 0.89, "mrr@20": 0.20}},
                      "seconds": {key: round(v, 2) for key, v in timings.items()}, "params": asdict(config)}
    return result
