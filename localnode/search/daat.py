"""Document-at-a-time MaxScore top-k over BM25 term clauses, compiled with numba.

Vectorised numpy scoring has to touch every posting of every clause; for a frequent term on a
million documents that is most of a query's time, while Lucene skips nearly all of them. This
kernel walks the postings of the clauses document by document, as Lucene's MaxScore scorer does:
clauses are ordered by their maximum score; the cheapest ones whose combined maximum cannot beat
the current k-th score become "non-essential" and are only looked up (by binary search) for
documents that the essential clauses make competitive. Scores use exactly the float32 operations
of :class:`localnode.search.similarity.TermWeight` and the double-then-float sums of
:mod:`localnode.search.matches`, so results are the same as scoring everything.

The query is passed as a post-order program over the clause scores: ``LEAF i`` pushes clause
i's score, ``SUM n`` pops n values and pushes their double sum cast to float (a bool of should
clauses), ``MAX n`` pushes max + tie × (sum of the others) (dis_max), matching only when one of
its inputs matched.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from localnode.index.segment import POSTINGS_BLOCK

OP_LEAF, OP_SUM, OP_MAX = 0, 1, 2
PLAN_INTERVAL = 64       # documents between re-plans of the essential clauses as theta rises
_REPLAN_GROWTH = 1.001   # ... and only once theta has grown by more than this factor
_NO_DOC = 2147483647
_SAFETY = 1.0 + 1e-6   # bounds are rounded up past the float32 cast of double sums


@njit(cache=True, nogil=True, inline="always")
def _score_of(weight: np.float32, x: np.float32) -> np.float32:
    """BM25 of a posting whose float32 ``freq * inv_norm`` is ``x`` (TermWeight's float32 steps)."""
    return np.float32(weight - np.float32(weight / np.float32(np.float32(1.0) + x)))


@njit(cache=True, nogil=True, inline="always")
def _term_score(weight: np.float32, inv: np.float32, freq: np.int32) -> np.float32:
    return _score_of(weight, np.float32(np.float32(freq) * inv))


@njit(cache=True, nogil=True, inline="always")
def _bound(pure_sum: bool, ops: np.ndarray, args: np.ndarray, ties: np.ndarray, values: np.ndarray,
           matched: np.ndarray, stack_v: np.ndarray, stack_m: np.ndarray) -> float:
    """The tree's value on ``values`` as a bound (no float32 casts); a flat sum is summed directly."""
    if pure_sum:
        total = 0.0
        for i in range(len(values)):
            if matched[i]:
                total += values[i]
        return total
    bound, _ = _evaluate(ops, args, ties, values, matched, stack_v, stack_m, False)
    return bound


@njit(cache=True, nogil=True, inline="always")
def _evaluate(ops: np.ndarray, args: np.ndarray, ties: np.ndarray, values: np.ndarray, matched: np.ndarray,
              stack_v: np.ndarray, stack_m: np.ndarray, exact: bool) -> tuple[float, bool]:
    """Run the program on per-clause ``values``; ``exact`` casts like the engine, else bounds."""
    top = 0
    for i in range(len(ops)):
        op = ops[i]
        if op == OP_LEAF:
            stack_v[top] = values[args[i]]
            stack_m[top] = matched[args[i]]
            top += 1
            continue
        n = args[i]
        base = top - n
        total = 0.0
        any_match = False
        best = -1.0
        for j in range(base, top):
            if stack_m[j]:
                total += stack_v[j]
                any_match = True
                if stack_v[j] > best:
                    best = stack_v[j]
        if op == OP_SUM:
            result = total
        else:
            result = best + (total - best) * ties[i] if any_match else 0.0
        if exact:
            result = float(np.float32(result))
        stack_v[base] = result if any_match else 0.0
        stack_m[base] = any_match
        top = base + 1
    return stack_v[0], stack_m[0]


@njit(cache=True, nogil=True, inline="always")
def _worse(s1: np.float32, d1: np.int64, s2: np.float32, d2: np.int64) -> bool:
    return s1 < s2 or (s1 == s2 and d1 > d2)


@njit(cache=True, nogil=True)
def _sift_down(scores: np.ndarray, docs: np.ndarray, size: int, i: int) -> None:
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        worst = left
        right = left + 1
        if right < size and _worse(scores[right], docs[right], scores[left], docs[left]):
            worst = right
        if _worse(scores[worst], docs[worst], scores[i], docs[i]):
            scores[i], scores[worst] = scores[worst], scores[i]
            docs[i], docs[worst] = docs[worst], docs[i]
            i = worst
        else:
            return


@njit(cache=True, nogil=True, inline="always")
def _push(scores: np.ndarray, docs: np.ndarray, size: int, k: int, score: np.float32, doc: np.int64) -> int:
    """Offer to the heap of the k best (worst at the root); returns the new size."""
    if size < k:
        for i in range(size):
            if docs[i] == doc:
                return size
        i = size
        scores[i] = score
        docs[i] = doc
        while i > 0:
            parent = (i - 1) // 2
            if _worse(scores[i], docs[i], scores[parent], docs[parent]):
                scores[i], scores[parent] = scores[parent], scores[i]
                docs[i], docs[parent] = docs[parent], docs[i]
                i = parent
            else:
                break
        return size + 1
    if _worse(scores[0], docs[0], score, doc):
        for i in range(size):  # a document seen in the first pass may come again
            if docs[i] == doc:
                return size
        scores[0] = score
        docs[0] = doc
        _sift_down(scores, docs, size, 0)
    return size


@njit(cache=True, nogil=True, inline="always")
def _advance(docs: np.ndarray, pos: int, end: int, target: int) -> int:
    """First position in [pos, end) whose doc is >= target (galloping, then binary search)."""
    step = 1
    hi = pos
    while hi < end and docs[hi] < target:
        pos = hi + 1
        hi = pos + step
        step *= 2
    if hi > end:
        hi = end
    lo = pos
    while lo < hi:
        mid = (lo + hi) // 2
        if docs[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def maxscore_segment(field_docs: tuple, field_freqs: tuple, field_norms: tuple,  # type: ignore[type-arg]
                     block_x: np.ndarray, leaf_block_start: np.ndarray,
                     leaf_field: np.ndarray, leaf_start: np.ndarray, leaf_end: np.ndarray,
                     leaf_weight: np.ndarray, leaf_inv: np.ndarray, leaf_ub: np.ndarray,
                     ops: np.ndarray, args: np.ndarray, ties: np.ndarray,
                     live: np.ndarray, has_deletions: bool, base: np.int64, k: int,
                     heap_scores: np.ndarray, heap_docs: np.ndarray, heap_size: int) -> int:
    """Collect one segment's top k into the heap (shared across segments); returns the heap's size.
    Hit counts are not this kernel's business (:func:`count_matches` gives them).

    ``block_x[leaf_block_start[j] + b]`` is clause j's largest ``freq * inv_norm`` over its postings
    ``[b * POSTINGS_BLOCK, (b + 1) * POSTINGS_BLOCK)`` (``FieldPostings.impacts``): block j's best score.

    Documents are visited in doc id order, so the k-th score starts low; plans are refreshed as it
    rises (every PLAN_INTERVAL documents), and frequent clauses become non-essential early. (A
    separate seeding pass over the best clause used to come first; with block bounds and cheap
    bound checks it no longer paid for visiting that clause twice.)
    """
    order = np.argsort(leaf_ub, kind="mergesort")          # ascending maximum score
    n_leaves = len(leaf_field)
    # The clauses' postings are read in place in their fields' arrays (a copy of a frequent term's
    # postings cost more than scoring the few documents pruning leaves).
    return _pass(field_docs, field_freqs, field_norms, block_x, leaf_block_start,
                 leaf_field, leaf_start, leaf_end, leaf_weight, leaf_inv, leaf_ub, ops, args, ties, live,
                 has_deletions, base, k, heap_scores, heap_docs, heap_size, order)


@njit(cache=True, nogil=True)
def _pass(field_docs: tuple, field_freqs: tuple, field_norms: tuple,  # type: ignore[type-arg]
          block_x: np.ndarray, leaf_block_start: np.ndarray,
          leaf_field: np.ndarray, leaf_start: np.ndarray, leaf_end: np.ndarray,
          leaf_weight: np.ndarray, leaf_inv: np.ndarray, leaf_ub: np.ndarray,
          ops: np.ndarray, args: np.ndarray, ties: np.ndarray,
          live: np.ndarray, has_deletions: bool, base: np.int64, k: int,
          heap_scores: np.ndarray, heap_docs: np.ndarray, heap_size: int, order: np.ndarray) -> int:
    """The MaxScore pass over one segment.

    ``leaf_start``/``leaf_end`` index the clause's field arrays (``field_docs[leaf_field[j]]``);
    blocks are counted from each clause's first posting. With one essential clause, a block whose
    bound cannot beat the k-th score is skipped whole; with several, a window up to the end of
    their current blocks is, when the blocks' bounds together cannot beat it."""
    n_leaves = len(leaf_start)
    pos = leaf_start.copy()
    values = np.zeros(n_leaves, dtype=np.float64)
    matched = np.zeros(n_leaves, dtype=np.bool_)
    stack_v = np.zeros(len(ops) + 1, dtype=np.float64)
    stack_m = np.zeros(len(ops) + 1, dtype=np.bool_)
    essential_from = 0   # order[:essential_from] are non-essential
    theta = float(heap_scores[0]) if heap_size >= k else -np.inf
    split_theta = -np.inf
    next_plan = 0
    # With a single essential clause the bound of a document is a monotone function of that
    # clause's score alone: below ``needed`` it cannot beat the k-th score (no tree evaluation).
    needed = -np.inf
    visited = 0
    block_checked = leaf_start.copy()   # per clause: postings before this were checked against their block bound
    hit_at = np.zeros(n_leaves, dtype=np.int64)   # per clause: the posting of the current document
    window_end = 0    # documents before this are inside the current block-bound window
    # A flat sum of the clauses (a bool of term clauses, most_fields): bounds are plain sums.
    pure_sum = len(ops) == n_leaves + 1 and ops[n_leaves] == OP_SUM and args[n_leaves] == n_leaves
    for j in range(n_leaves):
        if ops[j] != OP_LEAF or args[j] != j:
            pure_sum = False
    while True:
        # Re-planning (the essential split, the bisection for ``needed``) costs dozens of tree
        # evaluations; while the heap fills, theta rises on almost every document, so plans are
        # refreshed at most every PLAN_INTERVAL documents. A stale theta is a lower one: it only
        # skips less, never wrongly.
        if heap_size >= k and (split_theta == -np.inf
                               or (visited >= next_plan and theta > split_theta * _REPLAN_GROWTH)):
            split_theta = theta
            next_plan = visited + PLAN_INTERVAL
            while essential_from < n_leaves:   # grow the non-essential prefix while it alone cannot beat theta
                for j in range(n_leaves):
                    values[j] = 0.0
                    matched[j] = False
                for j in range(essential_from + 1):
                    values[order[j]] = leaf_ub[order[j]]
                    matched[order[j]] = True
                bound, _ = _evaluate(ops, args, ties, values, matched, stack_v, stack_m, False)
                if bound * _SAFETY <= theta:
                    essential_from += 1
                else:
                    break
            needed = -np.inf
            if essential_from == n_leaves - 1:
                if pure_sum:   # the bound is a plain sum: solve it (the safety factor covers rounding)
                    others = 0.0
                    for j in range(essential_from):
                        others += leaf_ub[order[j]]
                    needed = theta / _SAFETY - others
                else:
                    needed = _score_needed(order[essential_from], order, essential_from, leaf_ub, ops, args, ties,
                                           values, matched, stack_v, stack_m, theta)
        if essential_from >= n_leaves:
            break
        doc = _NO_DOC
        for j in range(essential_from, n_leaves):
            leaf = order[j]
            if pos[leaf] < leaf_end[leaf] and field_docs[leaf_field[leaf]][pos[leaf]] < doc:
                doc = field_docs[leaf_field[leaf]][pos[leaf]]
        if doc == _NO_DOC:
            break
        visited += 1
        if heap_size >= k and essential_from < n_leaves - 1 and doc >= window_end:
            # Several essential clauses: bound the window up to the first end of their current
            # blocks by the blocks' bounds (the non-essential clauses at their maximum); when even
            # that cannot beat theta, every essential clause jumps past the window at once.
            window_end = _NO_DOC
            for j in range(essential_from, n_leaves):
                leaf = order[j]
                if pos[leaf] < leaf_end[leaf]:
                    block = (pos[leaf] - leaf_start[leaf]) // POSTINGS_BLOCK
                    last = min(leaf_start[leaf] + (block + 1) * POSTINGS_BLOCK, leaf_end[leaf]) - 1
                    window_end = min(window_end, field_docs[leaf_field[leaf]][last] + 1)
            for j in range(n_leaves):
                values[j] = 0.0
                matched[j] = False
            for j in range(essential_from):
                values[order[j]] = leaf_ub[order[j]]
                matched[order[j]] = True
            for j in range(essential_from, n_leaves):
                leaf = order[j]
                if pos[leaf] < leaf_end[leaf] and field_docs[leaf_field[leaf]][pos[leaf]] < window_end:
                    block = leaf_block_start[leaf] + (pos[leaf] - leaf_start[leaf]) // POSTINGS_BLOCK
                    values[leaf] = _score_of(leaf_weight[leaf], block_x[block])
                    matched[leaf] = True
            if _bound(pure_sum, ops, args, ties, values, matched, stack_v, stack_m) * _SAFETY <= theta:
                for j in range(essential_from, n_leaves):
                    leaf = order[j]
                    pos[leaf] = _advance(field_docs[leaf_field[leaf]], pos[leaf], leaf_end[leaf], window_end)
                continue
        if essential_from == n_leaves - 1:  # one essential clause: the fast path
            leaf = order[essential_from]
            p = pos[leaf]
            if p >= block_checked[leaf]:
                block = (p - leaf_start[leaf]) // POSTINGS_BLOCK
                block_end = leaf_start[leaf] + (block + 1) * POSTINGS_BLOCK
                if block_end > leaf_end[leaf]:
                    block_end = leaf_end[leaf]
                bound = _score_of(leaf_weight[leaf], block_x[leaf_block_start[leaf] + block])
                if bound <= needed:      # no posting of the block can compete: skip it whole
                    pos[leaf] = block_end
                    continue
                block_checked[leaf] = block_end
            pos[leaf] = p + 1
            if has_deletions and not live[doc]:
                continue
            own = _term_score(leaf_weight[leaf], leaf_inv[leaf, field_norms[leaf_field[leaf]][doc]],
                               field_freqs[leaf_field[leaf]][p])
            if own <= needed:
                continue
            for j in range(n_leaves):
                values[j] = 0.0
                matched[j] = False
            values[leaf] = own
            matched[leaf] = True
        else:
            for j in range(n_leaves):
                values[j] = 0.0
                matched[j] = False
            for j in range(essential_from, n_leaves):
                leaf = order[j]
                p = pos[leaf]
                if p < leaf_end[leaf] and field_docs[leaf_field[leaf]][p] == doc:
                    values[leaf] = leaf_ub[leaf]     # at its maximum until scored below
                    matched[leaf] = True
                    hit_at[leaf] = p
                    pos[leaf] = p + 1
            if has_deletions and not live[doc]:
                continue
            if heap_size >= k:
                # Every clause at its maximum first: a document that cannot beat theta even so
                # is dropped before any clause is scored.
                for j in range(essential_from):
                    values[order[j]] = leaf_ub[order[j]]
                    matched[order[j]] = True
                if _bound(pure_sum, ops, args, ties, values, matched, stack_v, stack_m) * _SAFETY <= theta:
                    continue
            for j in range(essential_from, n_leaves):
                leaf = order[j]
                if matched[leaf]:
                    values[leaf] = _term_score(leaf_weight[leaf], leaf_inv[leaf, field_norms[leaf_field[leaf]][doc]],
                                               field_freqs[leaf_field[leaf]][hit_at[leaf]])
        # Non-essential clauses: looked up best first, each at its maximum until looked up; the
        # document is dropped as soon as its bound cannot beat theta (Lucene's MaxScore order).
        for j in range(essential_from):
            values[order[j]] = leaf_ub[order[j]]
            matched[order[j]] = True
        competitive = True
        for j in range(essential_from - 1, -1, -1):
            if heap_size >= k and _bound(pure_sum, ops, args, ties, values, matched, stack_v, stack_m) \
                    * _SAFETY <= theta:
                competitive = False
                break
            leaf = order[j]
            p = _advance(field_docs[leaf_field[leaf]], pos[leaf], leaf_end[leaf], doc)
            pos[leaf] = p
            if p < leaf_end[leaf] and field_docs[leaf_field[leaf]][p] == doc:
                values[leaf] = _term_score(leaf_weight[leaf], leaf_inv[leaf, field_norms[leaf_field[leaf]][doc]],
                                           field_freqs[leaf_field[leaf]][p])
            else:
                values[leaf] = 0.0
                matched[leaf] = False
        if not competitive:
            continue
        score, hit = _evaluate(ops, args, ties, values, matched, stack_v, stack_m, True)
        if not hit:
            continue
        heap_size = _push(heap_scores, heap_docs, heap_size, k, np.float32(score), base + doc)
        if heap_size >= k:
            theta = float(heap_scores[0])
    return heap_size


@njit(cache=True, nogil=True)
def _score_needed(leaf: int, order: np.ndarray, essential_from: int, leaf_ub: np.ndarray, ops: np.ndarray,
                  args: np.ndarray, ties: np.ndarray, values: np.ndarray, matched: np.ndarray,
                  stack_v: np.ndarray, stack_m: np.ndarray, theta: float) -> float:
    """The largest score of the one essential clause at which a document still cannot beat theta
    (the others at their maximum); found by bisection, since the bound grows with that score."""
    for j in range(len(values)):
        values[j] = 0.0
        matched[j] = False
    for j in range(essential_from):
        values[order[j]] = leaf_ub[order[j]]
        matched[order[j]] = True
    matched[leaf] = True
    lo = 0.0
    values[leaf] = lo
    bound, _ = _evaluate(ops, args, ties, values, matched, stack_v, stack_m, False)
    if bound * _SAFETY > theta:
        return -np.inf        # even a zero score may compete: score every document
    hi = leaf_ub[leaf]
    values[leaf] = hi
    bound, _ = _evaluate(ops, args, ties, values, matched, stack_v, stack_m, False)
    if bound * _SAFETY <= theta:
        return hi
    for _ in range(40):       # invariant: bound(lo) <= theta < bound(hi)
        mid = (lo + hi) / 2
        values[leaf] = mid
        bound, _ = _evaluate(ops, args, ties, values, matched, stack_v, stack_m, False)
        if bound * _SAFETY <= theta:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def count_matches(field_docs: tuple, leaf_field: np.ndarray, leaf_start: np.ndarray,  # type: ignore[type-arg]
                  leaf_end: np.ndarray, live: np.ndarray, has_deletions: bool, limit: np.int64,
                  seen: np.ndarray) -> np.int64:
    """Live documents in the union of the clauses' postings (the hit count of a disjunction);
    counting stops once it passes ``limit`` (when >= 0). ``seen`` is an all-False scratch of at
    least max_doc entries and is all-False again on return. One pass over the postings with a
    byte mark per document: several times cheaper than visiting the union document at a time."""
    count = np.int64(0)
    done = 0
    for j in range(len(leaf_field)):
        docs = field_docs[leaf_field[j]]
        for p in range(leaf_start[j], leaf_end[j]):
            d = docs[p]
            if not seen[d]:
                seen[d] = True
                if not has_deletions or live[d]:
                    count += 1
        done = j + 1
        if limit >= 0 and count > limit:
            break
    for j in range(done):
        docs = field_docs[leaf_field[j]]
        for p in range(leaf_start[j], leaf_end[j]):
            seen[docs[p]] = False
    return count


@njit(cache=True, nogil=True)
def block_max_tf_inv(docs: np.ndarray, freqs: np.ndarray, norms: np.ndarray, inv: np.ndarray,
                     block: int) -> np.ndarray:
    """Per block of ``block`` postings, the largest float32 ``freq * inv_norm``: the term's best
    posting in the block for every weight (BM25's score increases with it)."""
    n_blocks = (len(docs) + block - 1) // block
    out = np.zeros(n_blocks, dtype=np.float32)
    for i in range(len(docs)):
        x = np.float32(np.float32(freqs[i]) * inv[norms[docs[i]]])
        if x > out[i // block]:
            out[i // block] = x
    return out
