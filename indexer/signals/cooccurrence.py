"""Board co-occurrence: PinJoin, BoardJoin, pair counts and the top-N co-occurring pins of each pin.

Why this shape:

* **PinJoin** -- pins with the same ``image_signature`` show one image, so they are counted as one
  item (their boards are unioned) and a Related Pins list never shows the same image twice. The
  representative pin of an image is its most saved pin (ties: smallest id).
* **BoardJoin** -- a binary boards x images incidence matrix ``X`` (CSR). Pair counts are the
  sparse product ``X.T @ X``: entry ``(i, j)`` = boards holding both. The product is computed in
  row blocks and only the top-N of each row is kept, so memory is ``O(block x items + items x N)``
  rather than the full square; blocks can run on joblib threads (scipy's sparse product releases
  no memory between blocks, each block is independent, so this is the partition a distributed
  engine would use too).
* **Huge boards** -- a board with more than ``max_board_size`` pins contributes
  ``max_board_size**2`` pairs on its own and says little about any pair ("things I like"). Such
  boards are down-sampled to ``max_board_size`` pins, drawn without replacement with probability
  proportional to pin popularity (boards per pin, or ``repin_count`` in a corpus) with a fixed seed,
  as Pinterest's Related Pins does for its largest boards.
* **Index layout** -- the engine answers Related Pins with ``rank_feature`` on ``cooccur.<query
  pin>``. That clause matches documents *holding* the key, so the co-occurrence of query pin ``q``
  and candidate ``c`` must be written on ``c``'s document keyed by ``q``. :func:`cooccurrence_candidates`
  therefore inverts the top-N lists: ``c``'s ``cooccur`` holds ``{q: shared boards}`` for every
  pin ``q`` whose top-N contains ``c`` (every pin of ``q``'s image, since duplicates are one item),
  capped at ``max_keys_per_pin`` keys (highest counts first) so a very popular pin's document stays
  small. One query then both generates and scores exactly ``q``'s top-N candidates inside the engine.
* ``rank_features`` keys must not contain dots (OpenSearch would read a path); :func:`feature_key`
  maps a pin id to its key and is used by both the indexer and the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

DEFAULT_TOP_N = 50
DEFAULT_MAX_BOARD_SIZE = 1000
DEFAULT_MAX_KEYS_PER_PIN = 1000


def feature_key(pin_id: str) -> str:
    """The ``rank_features`` key of a pin id (dots are not allowed in feature names)."""
    return pin_id.replace(".", "_")


@dataclass(slots=True)
class ItemIndex:
    """Dense integer positions for string item ids (the columns of the incidence matrix)."""
    ids: list[str]
    positions: dict[str, int]

    @classmethod
    def build(cls, groups: Iterable[Sequence[str]], extra: Iterable[str] = ()) -> "ItemIndex":
        positions: dict[str, int] = {}
        for group in groups:
            for item in group:
                if item not in positions:
                    positions[item] = len(positions)
        for item in extra:
            if item not in positions:
                positions[item] = len(positions)
        return cls(ids=list(positions), positions=positions)

    def __len__(self) -> int:
        return len(self.ids)


def incidence_matrix(groups: Sequence[Sequence[str]], index: ItemIndex) -> sp.csr_matrix:
    """Binary ``groups x items`` CSR matrix; unknown items are ignored, repeats collapsed."""
    indptr = [0]
    indices: list[int] = []
    for group in groups:
        cols = sorted({index.positions[i] for i in group if i in index.positions})
        indices.extend(cols)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
                         shape=(len(groups), len(index)))


def cap_group_sizes(groups: Sequence[Sequence[int]], popularity: np.ndarray, max_size: int,
                    seed: int = 0) -> list[list[int]]:
    """Down-sample groups longer than ``max_size`` to ``max_size`` items, drawn without replacement
    with probability proportional to ``popularity`` (item positions index into it)."""
    rng = np.random.default_rng(seed)
    capped: list[list[int]] = []
    for group in groups:
        if len(group) <= max_size:
            capped.append(list(group))
            continue
        members = np.asarray(group)
        weights = popularity[members].astype(np.float64) + 1e-9
        chosen = rng.choice(len(members), size=max_size, replace=False, p=weights / weights.sum())
        capped.append(sorted(members[chosen].tolist()))
    return capped


def _row_top_n(block: sp.csr_matrix, offset: int, top_n: int, norms: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-N (by value, then smaller column) of each row of a product block, diagonal removed."""
    block = block.tocsr()
    block.sum_duplicates()
    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    vals_out: list[np.ndarray] = []
    indptr, indices, data = block.indptr, block.indices, block.data
    for r in range(block.shape[0]):
        lo, hi = indptr[r], indptr[r + 1]
        if lo == hi:
            continue
        cols = indices[lo:hi]
        vals = data[lo:hi].astype(np.float32)
        keep = cols != r + offset
        cols, vals = cols[keep], vals[keep]
        if norms is not None:
            vals = vals / (norms[r + offset] * norms[cols])
        if cols.size > top_n:
            # lexsort: primary key -value, secondary column id -> deterministic ties
            order = np.lexsort((cols, -vals))[:top_n]
            cols, vals = cols[order], vals[order]
        rows_out.append(np.full(cols.size, r + offset, dtype=np.int64))
        cols_out.append(cols.astype(np.int64))
        vals_out.append(vals)
    if not rows_out:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    return np.concatenate(rows_out), np.concatenate(cols_out), np.concatenate(vals_out)


def top_n_neighbours(incidence: sp.csr_matrix, top_n: int = DEFAULT_TOP_N, *, measure: str = "count",
                     block_size: int = 4096, n_jobs: int = 1) -> sp.csr_matrix:
    """``items x items`` CSR with the top-N co-occurring items of each row.

    ``measure="count"``: shared groups (boards). ``measure="cosine"``: shared / sqrt(n_i * n_j),
    the classic ItemKNN similarity. Computed as ``X.T[block] @ X`` per row block.
    """
    if measure not in ("count", "cosine"):
        raise ValueError(f"measure must be 'count' or 'cosine', got {measure!r}")
    xt = incidence.T.tocsr()
    x = incidence.tocsr()
    n = xt.shape[0]
    norms = np.sqrt(np.asarray(xt.sum(axis=1)).ravel()).astype(np.float32) if measure == "cosine" else None
    if norms is not None:
        norms[norms == 0] = 1.0

    def run(start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _row_top_n(xt[start:start + block_size] @ x, start, top_n, norms)

    starts = range(0, n, block_size)
    if n_jobs == 1:
        parts = [run(s) for s in starts]
    else:
        from joblib import Parallel, delayed
        parts = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(run)(s) for s in starts)
    rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    cols = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    vals = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, dtype=np.float32)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


class BoardCooccurrence:
    """Co-occurrence over groups of items (boards, or sessions): a scikit-learn-style estimator.

    ``fit(groups)`` builds the incidence matrix (after capping huge groups) and the top-N
    neighbour matrix; :meth:`neighbours` and :meth:`score` read it. ``groups`` are sequences of item
    ids; PinJoin is applied before (see :func:`pin_join`), so ids here are image representatives.
    """

    def __init__(self, top_n: int = DEFAULT_TOP_N, measure: str = "count",
                 max_board_size: int = DEFAULT_MAX_BOARD_SIZE, seed: int = 0, n_jobs: int = 1,
                 block_size: int = 4096) -> None:
        self.top_n = top_n
        self.measure = measure
        self.max_board_size = max_board_size
        self.seed = seed
        self.n_jobs = n_jobs
        self.block_size = block_size

    def fit(self, groups: Sequence[Sequence[str]], popularity: Mapping[str, float] | None = None,
            index: ItemIndex | None = None) -> "BoardCooccurrence":
        self.index_ = index or ItemIndex.build(groups)
        positions = self.index_.positions
        as_pos = [[positions[i] for i in dict.fromkeys(g) if i in positions] for g in groups]
        counts = np.zeros(len(self.index_), dtype=np.float64)
        for g in as_pos:
            counts[g] += 1
        self.item_counts_ = counts
        if popularity is not None:
            pop = np.asarray([float(popularity.get(i, 0.0)) for i in self.index_.ids]) + counts * 1e-3
        else:
            pop = counts
        self.capped_groups_ = sum(len(g) > self.max_board_size for g in as_pos)
        as_pos = cap_group_sizes(as_pos, pop, self.max_board_size, self.seed)
        indptr = np.cumsum([0] + [len(g) for g in as_pos]).astype(np.int64)
        indices = np.fromiter((i for g in as_pos for i in sorted(g)), dtype=np.int32, count=int(indptr[-1]))
        x = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                          shape=(len(as_pos), len(self.index_)))
        self.neighbours_ = top_n_neighbours(x, self.top_n, measure=self.measure,
                                            block_size=self.block_size, n_jobs=self.n_jobs)
        return self

    def neighbours(self, item: str) -> list[tuple[str, float]]:
        """The top-N co-occurring items of ``item``, best first."""
        pos = self.index_.positions.get(item)
        if pos is None:
            return []
        row = self.neighbours_.getrow(pos)
        order = np.lexsort((row.indices, -row.data))
        return [(self.index_.ids[row.indices[k]], float(row.data[k])) for k in order]

    def score(self, seed_positions: sp.csr_matrix) -> np.ndarray:
        """Scores of every item for each row of a (queries x items) seed matrix: sum over seeds."""
        return np.asarray((seed_positions @ self.neighbours_).todense(), dtype=np.float32)


# -- corpus batch -------------------------------------------------------------------------------------
def pin_join(pins: Iterable[tuple[str, str | None, int]]) -> dict[str, str]:
    """``pin id -> representative pin id`` from ``(pin id, image_signature, repin_count)``: pins of the
    same image map to its most saved pin (ties: smallest id); pins without a signature to themselves."""
    best: dict[str, tuple[int, str]] = {}
    rows = list(pins)
    for pin_id, signature, repins in rows:
        if signature:
            current = best.get(signature)
            candidate = (-repins, pin_id)
            if current is None or candidate < current:
                best[signature] = candidate
    return {pin_id: (best[sig][1] if sig else pin_id) for pin_id, sig, _ in rows}


class CooccurrenceCandidates(Mapping[str, dict[str, float]]):
    """``pin id -> {query pin key: shared boards}``, kept as a CSR matrix and expanded on access, so
    1M pins x 50 candidates do not become 50M Python objects. Behaves as a read-only dict."""

    def __init__(self, pin_ids: list[str], matrix: sp.csr_matrix, key_ids: list[str]) -> None:
        self._pos = {p: i for i, p in enumerate(pin_ids)}
        self._pin_ids = pin_ids
        self._m = matrix
        self._keys = key_ids

    def __getitem__(self, pin_id: str) -> dict[str, float]:
        i = self._pos[pin_id]
        lo, hi = self._m.indptr[i], self._m.indptr[i + 1]
        if lo == hi:
            raise KeyError(pin_id)
        return {self._keys[c]: float(v) for c, v in zip(self._m.indices[lo:hi], self._m.data[lo:hi])}

    def __iter__(self) -> Iterator[str]:
        counts = np.diff(self._m.indptr)
        return (self._pin_ids[i] for i in np.flatnonzero(counts))

    def __len__(self) -> int:
        return int(np.count_nonzero(np.diff(self._m.indptr)))

    def __contains__(self, pin_id: object) -> bool:
        i = self._pos.get(pin_id)  # type: ignore[arg-type]
        return i is not None and self._m.indptr[i + 1] > self._m.indptr[i]


def cooccurrence_candidates(corpus_dir: str | Path, top_n: int = DEFAULT_TOP_N, *,
                            max_board_size: int = DEFAULT_MAX_BOARD_SIZE,
                            max_keys_per_pin: int = DEFAULT_MAX_KEYS_PER_PIN,
                            seed: int = 0, n_jobs: int = 1) -> Mapping[str, dict[str, float]]:
    """For every pin of the corpus, what its ``cooccur`` rank_features field holds:
    ``{feature_key(query pin): boards shared with the query pin}`` for the query pins whose
    top-``top_n`` co-occurring images include this pin's image (see the module docstring).

    Boards come from ``pins.jsonl`` ``board_ids`` (BoardJoin); PinJoin merges pins of one image and
    only the representative pin of an image carries keys (so duplicates are never candidates). Pins
    without co-occurring pins are absent. Returns a read-only mapping (a dict on access).
    """
    from indexer.corpus import iter_valid
    from indexer.corpus.reader import ValidationOptions

    pins = list(iter_valid(Path(corpus_dir), "pins", options=ValidationOptions(progress=False)))
    rep = pin_join((p.id, p.image_signature, p.repin_count) for p in pins)
    repins = {p.id: p.repin_count for p in pins}
    boards: dict[str, list[str]] = {}
    for p in pins:
        for b in p.board_ids:
            boards.setdefault(b, []).append(rep[p.id])
    images = sorted(set(rep.values()))
    index = ItemIndex(ids=images, positions={p: i for i, p in enumerate(images)})
    model = BoardCooccurrence(top_n=top_n, measure="count", max_board_size=max_board_size, seed=seed,
                              n_jobs=n_jobs).fit(list(boards.values()), popularity={i: repins[i] + 1 for i in images},
                                                 index=index)
    return invert_for_index(model.neighbours_, images, [p.id for p in pins], rep, max_keys_per_pin)


def invert_for_index(neighbours: sp.csr_matrix, images: list[str], pin_ids: list[str], rep: Mapping[str, str],
                     max_keys_per_pin: int = DEFAULT_MAX_KEYS_PER_PIN) -> CooccurrenceCandidates:
    """Turn per-query top-N rows (image x image) into per-candidate keys (pin x query pin).

    ``neighbours[i, j] = v`` (``j`` in ``i``'s top-N) becomes, on ``j``'s representative pin, the key
    of every pin of image ``i`` with value ``v``; each candidate keeps its ``max_keys_per_pin``
    highest keys.
    """
    pin_pos = {p: k for k, p in enumerate(pin_ids)}
    members: dict[int, list[int]] = {}
    image_pos = {p: i for i, p in enumerate(images)}
    for p in pin_ids:
        members.setdefault(image_pos[rep[p]], []).append(pin_pos[p])
    coo = neighbours.tocoo()
    # one row per (query pin of image i, candidate image j)
    sizes = np.asarray([len(members.get(int(i), ())) for i in coo.row], dtype=np.int64)
    query_pins = np.fromiter((q for i in coo.row for q in members.get(int(i), ())), dtype=np.int64,
                             count=int(sizes.sum()))
    cand_images = np.repeat(coo.col, sizes)
    values = np.repeat(coo.data, sizes)
    cand_pins = np.asarray([pin_pos[images[j]] for j in range(len(images))], dtype=np.int64)[cand_images]
    # cap keys per candidate: sort by (candidate, -value, query pin), keep the first max_keys_per_pin
    order = np.lexsort((query_pins, -values, cand_pins))
    cand_sorted = cand_pins[order]
    starts = np.searchsorted(cand_sorted, cand_sorted, side="left")
    rank = np.arange(len(cand_sorted)) - starts
    keep = order[rank < max_keys_per_pin]
    matrix = sp.csr_matrix((values[keep], (cand_pins[keep], query_pins[keep])),
                           shape=(len(pin_ids), len(pin_ids)))
    keys = [feature_key(p) for p in pin_ids]
    return CooccurrenceCandidates(pin_ids, matrix, keys)
