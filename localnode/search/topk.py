"""Top-k by score without scoring every match: MaxScore over BM25 term clauses.

Scoring every posting of a frequent term is what made a ``match`` on a million documents slow;
most of those documents cannot reach the top k. A weight takes part by describing its scores as a
:class:`ScoreTree`: leaves are BM25 term clauses (their postings, weight, norms table and exact
maximum score in the segment), sums are bools of should clauses, max nodes are dis_max. The tree
is compiled to a small post-order program and run by the document-at-a-time MaxScore kernel in
:mod:`localnode.search.daat`, which gives the same top k and the same float32 scores as scoring
everything, ties included (a document is skipped only when its bound cannot beat the k-th score).

The total hit count is computed apart from scoring: a disjunction matches the union of its
clauses' postings, which one cheap pass over them counts (stopping past the request's
``track_total_hits`` threshold, when the response truthfully says ``gte``, as Lucene's collector
does). The kernel therefore always prunes, whether or not the request counts its hits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import numpy as np

from localnode.search import daat
from localnode.search.matches import seen_scratch
from localnode.search.query import Weight

if TYPE_CHECKING:
    from localnode.index.segment import Segment
    from localnode.search.query import Searcher, SegmentContext


@dataclass(slots=True, eq=False)
class Leaf:
    """One BM25 term clause in one segment: postings ``[start, end)`` of its field's arrays."""

    field: str
    start: int
    end: int
    weight: np.float32        # boost * 2.2 * idf
    inv_norms: np.ndarray     # float32[256]
    upper_bound: float        # exact maximum score of the clause in the segment
    block_x: np.ndarray       # float32, per POSTINGS_BLOCK postings: the largest freq * inv_norm

    @property
    def doc_freq(self) -> int:
        return self.end - self.start


@dataclass(slots=True, eq=False)
class SumNode:
    """A disjunction whose score is the sum of the matching clauses' scores (bool should, msm <= 1)."""
    children: list[ScoreTree]


@dataclass(slots=True, eq=False)
class MaxNode:
    """Dis-max: the best clause's score plus ``tie`` times the others'."""
    children: list[ScoreTree]
    tie: float = 0.0


ScoreTree = Union[Leaf, SumNode, MaxNode]  # noqa: UP007  (a runtime alias, used before 3.12)


def leaves(tree: ScoreTree) -> list[Leaf]:
    if isinstance(tree, Leaf):
        return [tree]
    return [leaf for child in tree.children for leaf in leaves(child)]


def compile_tree(tree: ScoreTree, found: list[Leaf]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tree as the kernel's post-order program (ops, args, ties); fills ``found`` with leaves."""
    ops: list[int] = []
    args: list[int] = []
    ties: list[float] = []

    def emit(node: ScoreTree) -> None:
        if isinstance(node, Leaf):
            ops.append(daat.OP_LEAF)
            args.append(len(found))
            ties.append(0.0)
            found.append(node)
            return
        for child in node.children:
            emit(child)
        ops.append(daat.OP_SUM if isinstance(node, SumNode) else daat.OP_MAX)
        args.append(len(node.children))
        ties.append(node.tie if isinstance(node, MaxNode) else 0.0)

    emit(tree)
    return np.array(ops, dtype=np.int64), np.array(args, dtype=np.int64), np.array(ties, dtype=np.float64)


def _readonly(array: np.ndarray) -> np.ndarray:
    """Same-typed arrays for the kernel's tuples (segments loaded from disk are read-only)."""
    view = array.view()
    view.flags.writeable = False
    return view


class _Heap:
    """The k best across segments, shared by the kernel calls (worst at the root)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.scores = np.zeros(k, dtype=np.float32)
        self.docs = np.zeros(k, dtype=np.int64)
        self.size = 0

    def ranked(self) -> tuple[np.ndarray, np.ndarray]:
        docs, scores = self.docs[:self.size], self.scores[:self.size]
        order = np.lexsort((docs, -scores.astype(np.float64)))
        return docs[order], scores[order]


def pruned_top_k(searcher: Searcher, weight: Weight, k: int, track_total_hits: int | bool
                 ) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(global docs, float32 scores, hit count) of the k best, or None when the query is not a
    disjunction of BM25 terms. The count is exact while it is at most the ``track_total_hits``
    threshold (all of it for ``true``); past the threshold it is a lower bound above it."""
    if k <= 0 or type(weight).score_tree is Weight.score_tree:   # a weight that never describes its scores
        return None
    contexts = list(searcher.segment_contexts())
    trees = []
    for ctx in contexts:
        tree = weight.score_tree(ctx)
        if tree is None:
            return None
        trees.append(tree)
    total = _hit_count(contexts, trees, track_total_hits)
    heap = _Heap(k)
    for ctx, tree in zip(contexts, trees):
        _collect_segment(ctx, tree, heap)
    docs, scores = heap.ranked()
    return docs, scores, total


def _hit_count(contexts: list[SegmentContext], trees: list[ScoreTree], track_total_hits: int | bool) -> int:
    """What ``hits.total`` needs. A disjunction matches the union of its clauses' postings, so the
    count is a union count, separate from scoring: the top-k kernel then always prunes, counting
    or not. When one clause alone passes the threshold no counting is needed at all; otherwise
    the union is counted only until it passes the threshold (Lucene's collector counts exactly up
    to it too, then reports ``gte``)."""
    lower_bound = sum(max((_live_count(ctx, leaf) for leaf in leaves(tree)), default=0)
                      for ctx, tree in zip(contexts, trees))
    if track_total_hits is False or (track_total_hits is not True and lower_bound > int(track_total_hits)):
        return lower_bound
    limit = -1 if track_total_hits is True else int(track_total_hits)
    total = 0
    for ctx, tree in zip(contexts, trees):
        total += _count_segment(ctx, leaves(tree), -1 if limit < 0 else limit - total)
        if 0 <= limit < total:
            break
    return total


def _count_segment(ctx: SegmentContext, found: list[Leaf], limit: int) -> int:
    nonempty = [leaf for leaf in found if leaf.doc_freq]
    if len(nonempty) <= 1:
        return _live_count(ctx, nonempty[0]) if nonempty else 0
    fields, leaf_field, leaf_start, leaf_end = _leaf_postings(nonempty)
    segment = ctx.segment
    live = ctx.live if ctx.live is not None else np.ones(1, dtype=bool)
    return int(daat.count_matches(
        _field_arrays(segment, fields, "docs"), leaf_field, leaf_start, leaf_end,
        live, ctx.live is not None, np.int64(limit), seen_scratch(segment.max_doc)))


_NO_POSTINGS = np.zeros(0, dtype=np.int32)
_NO_POSTINGS.flags.writeable = False


def _field_arrays(segment: "Segment", fields: list[str], which: str) -> tuple[np.ndarray, ...]:
    """The fields' ``docs`` or ``freqs`` arrays; a field the segment has no postings for (none of
    its documents has it) reads as empty: its leaves match nothing there."""
    out = []
    for name in fields:
        postings = segment.postings.get(name)
        out.append(_NO_POSTINGS if postings is None else _readonly(getattr(postings, which)))
    return tuple(out)


def _leaf_postings(found: list[Leaf]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The kernels' view of the leaves' postings: the fields read (sorted) and, per leaf, its
    field's number among them and its ``[start, end)`` in that field's arrays."""
    fields = sorted({leaf.field for leaf in found})
    field_index = {name: i for i, name in enumerate(fields)}
    return (fields, np.array([field_index[leaf.field] for leaf in found], dtype=np.int64),
            np.array([leaf.start for leaf in found], dtype=np.int64),
            np.array([leaf.end for leaf in found], dtype=np.int64))


def _live_count(ctx: SegmentContext, leaf: Leaf) -> int:
    if ctx.live is None:
        return leaf.doc_freq
    docs = ctx.segment.postings[leaf.field].docs[leaf.start:leaf.end]
    return int(np.count_nonzero(ctx.live[docs]))


def _collect_segment(ctx: SegmentContext, tree: ScoreTree, heap: _Heap) -> None:
    found: list[Leaf] = []
    ops, args, ties = compile_tree(tree, found)
    found_nonempty = [leaf for leaf in found if leaf.doc_freq]
    if not found_nonempty:
        return
    fields, leaf_field, leaf_start, leaf_end = _leaf_postings(found)
    segment = ctx.segment
    ones = None
    norms = []
    for name in fields:
        column = segment.norms.get(name)
        if column is None:
            ones = ones if ones is not None else np.ones(segment.max_doc, dtype=np.uint8)
            column = ones
        norms.append(_readonly(column))
    live = ctx.live if ctx.live is not None else np.ones(1, dtype=bool)
    block_counts = np.array([len(leaf.block_x) for leaf in found], dtype=np.int64)
    block_start = np.zeros(len(found), dtype=np.int64)
    np.cumsum(block_counts[:-1], out=block_start[1:])
    block_x = np.concatenate([leaf.block_x for leaf in found]).astype(np.float32, copy=False)
    heap.size = daat.maxscore_segment(
        _field_arrays(segment, fields, "docs"), _field_arrays(segment, fields, "freqs"),
        tuple(norms), block_x, block_start, leaf_field, leaf_start, leaf_end,
        np.array([leaf.weight for leaf in found], dtype=np.float32),
        np.stack([leaf.inv_norms for leaf in found]).astype(np.float32, copy=False),
        np.array([leaf.upper_bound for leaf in found], dtype=np.float64),
        ops, args, ties, live, ctx.live is not None, np.int64(ctx.base), heap.k,
        heap.scores, heap.docs, heap.size)
