"""Offline Related Pins quality: hide pins of boards, recover them from the visible ones.

For every board of the held-out file, the board's visible pins (its line in the training file) are
the seeds; each method ranks all other pins and we measure how many hidden pins come back:
``recall@20``, ``ndcg@20`` (binary gains, ideal = min(hidden, 20) hits) and ``hr@10`` (at least one
hidden pin in the top 10). Hidden pins never seen in training stay in the denominator (no method can
recover them; ``meta.heldout_unseen`` says how many there were).

Methods, all fitted on the same training boards in the same run:

* ``itempop`` -- pins by number of training boards.
* ``itemknn`` -- cosine item-item similarity over boards (top ``knn_neighbours`` per pin), summed
  over seeds: the classic ItemKNN baseline.
* ``cooccurrence`` -- raw shared-board counts of each seed's top ``top_n`` co-occurring pins (what
  the index stores in ``cooccur``), summed over seeds.
* ``pin2vec`` -- Word2Vec skip-gram over training boards as sentences (a board is a set: window
  ``board_window`` without shrinking), cosine to the mean unit vector of the seeds.
* ``blend`` -- co-occurrence and Pin2Vec, each divided by its best score for the board, summed
  (the engine's request adds the two sources the same way, on comparable [0, 1] scales).

Every method breaks ties and back-fills with popularity (1e-6 x normalised board count), so lists
are always complete. Scoring is batched: a (boards x pins) seed matrix times the neighbour matrix.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

from indexer.signals.cooccurrence import BoardCooccurrence, ItemIndex
from indexer.signals.pin2vec import Pin2Vec

METHODS = ("itempop", "itemknn", "cooccurrence", "pin2vec", "blend")


@dataclass(slots=True)
class RelatedEvalConfig:
    k: int = 20                  # recall@k, ndcg@k
    hr_k: int = 10               # hr@k
    top_n: int = 50              # co-occurring pins kept per pin (as indexed)
    knn_neighbours: int = 100    # ItemKNN neighbours per pin
    max_board_size: int = 1000
    vector_size: int = 128
    board_window: int = 10
    epochs: int = 5
    min_count: int = 2
    seed: int = 0
    workers: int = 1
    batch_rows: int = 0          # boards scored per batch (0: sized for ~20M dense scores)


def _binary_metrics(ranked: np.ndarray, relevant: set[int], k: int, hr_k: int) -> tuple[float, float, float]:
    hits = np.fromiter((int(i) in relevant for i in ranked[:k]), dtype=bool, count=min(k, len(ranked)))
    recall = hits.sum() / len(relevant)
    dcg = float((hits / np.log2(np.arange(2, len(hits) + 2))).sum())
    ideal = float((1 / np.log2(np.arange(2, min(len(relevant), k) + 2))).sum())
    return float(recall), dcg / ideal if ideal else 0.0, float(hits[:hr_k].any())


def evaluate_related(train: Sequence[tuple[str, Sequence[str]]], heldout: Sequence[tuple[str, Sequence[str]]],
                     config: RelatedEvalConfig | None = None,
                     progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Fit every method on ``train`` boards and score the hidden pins of ``heldout`` boards."""
    config = config or RelatedEvalConfig()
    timings: dict[str, float] = {}
    groups = [list(p) for _, p in train]
    index = ItemIndex.build(groups)
    n = len(index)

    t0 = time.perf_counter()
    cooc = BoardCooccurrence(top_n=config.top_n, measure="count", max_board_size=config.max_board_size,
                             seed=config.seed).fit(groups, index=index)
    timings["cooccurrence_fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    knn = BoardCooccurrence(top_n=config.knn_neighbours, measure="cosine", max_board_size=config.max_board_size,
                            seed=config.seed).fit(groups, index=index)
    timings["itemknn_fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    p2v = Pin2Vec(vector_size=config.vector_size, window=config.board_window, epochs=config.epochs,
                  min_count=config.min_count, shrink_windows=False, seed=config.seed, workers=config.workers,
                  deterministic=config.workers == 1).fit([g for g in groups if len(g) >= 2])
    timings["pin2vec_fit"] = time.perf_counter() - t0

    vectors = np.zeros((n, config.vector_size), dtype=np.float32)
    normed = p2v.normed_matrix()
    for row, pin in enumerate(p2v.ids):
        vectors[index.positions[pin]] = normed[row]
    pop = cooc.item_counts_.astype(np.float32)
    tiebreak = 1e-6 * pop / max(float(pop.max()), 1.0)

    train_pins = {board: list(p) for board, p in train}
    queries: list[tuple[list[int], set[int]]] = []
    unseen = skipped = total_hidden = 0
    for board, hidden in heldout:
        seeds = [index.positions[p] for p in train_pins.get(board, ()) if p in index.positions]
        if not seeds or not hidden:
            skipped += 1
            continue
        relevant = {index.positions.get(p, -1 - i) for i, p in enumerate(hidden)}
        unseen += sum(p not in index.positions for p in hidden)
        total_hidden += len(hidden)
        queries.append((seeds, relevant))

    t0 = time.perf_counter()
    sums = {m: np.zeros(3) for m in METHODS}
    batch = config.batch_rows or max(1, int(2e7 // max(n, 1)))
    for start in range(0, len(queries), batch):
        chunk = queries[start:start + batch]
        rows = np.repeat(np.arange(len(chunk)), [len(s) for s, _ in chunk])
        cols = np.concatenate([np.asarray(s) for s, _ in chunk])
        seeds = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(chunk), n))
        co = cooc.score(seeds)
        pv = (seeds @ vectors) / np.asarray(seeds.sum(axis=1)).reshape(-1, 1)
        pv = np.clip(pv @ vectors.T, 0.0, None).astype(np.float32)
        scores = {
            "itempop": np.broadcast_to(pop, (len(chunk), n)).astype(np.float32),
            "itemknn": knn.score(seeds),
            "cooccurrence": co,
            "pin2vec": pv,
            "blend": co / np.maximum(co.max(axis=1, keepdims=True), 1e-9)
                     + pv / np.maximum(pv.max(axis=1, keepdims=True), 1e-9),
        }
        mask = seeds.toarray() > 0
        for method, s in scores.items():
            s = s + tiebreak
            s[mask] = -np.inf
            top = np.argpartition(-s, min(config.k, n - 1), axis=1)[:, :config.k]
            order = np.take_along_axis(top, np.argsort(-np.take_along_axis(s, top, axis=1), axis=1, kind="stable"),
                                       axis=1)
            for row, (_, relevant) in enumerate(chunk):
                sums[method] += _binary_metrics(order[row], relevant, config.k, config.hr_k)
        if progress is not None:
            progress(min(start + batch, len(queries)), len(queries))
    timings["scoring"] = time.perf_counter() - t0
    count = max(len(queries), 1)
    k, hr = config.k, config.hr_k
    result: dict[str, Any] = {m: {f"recall@{k}": round(v[0] / count, 4), f"ndcg@{k}": round(v[1] / count, 4),
                                  f"hr@{hr}": round(v[2] / count, 4)} for m, v in sums.items()}
    result["meta"] = {"train_boards": len(train), "pins": n, "saves": int(sum(len(g) for g in groups)),
                      "boards_evaluated": len(queries), "boards_skipped": skipped, "heldout_pins": total_hidden,
                      "heldout_unseen": unseen, "capped_boards": int(cooc.capped_groups_),
                      "pin2vec_vocabulary": len(p2v.ids),
                      "seconds": {key: round(v, 2) for key, v in timings.items()}, "params": asdict(config)}
    return result
