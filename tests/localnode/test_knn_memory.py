"""Huge-page backing of faiss graphs changes where memory lives, never what a search returns."""

from __future__ import annotations

import numpy as np

from localnode.knn import memory


def test_advice_over_a_large_buffer_is_accepted_or_declined_cleanly() -> None:
    buffer = np.ones(48 << 20, dtype=np.uint8)          # anonymous memory, like faiss' arrays
    collapsed = memory.advise_huge_pages(buffer.ctypes.data, buffer.nbytes)
    assert collapsed in (True, False)                   # False where the kernel cannot (older, THP off)
    assert int(buffer.sum()) == buffer.nbytes           # contents untouched


def test_small_regions_are_left_alone() -> None:
    buffer = np.ones(1 << 20, dtype=np.uint8)
    assert memory.advise_huge_pages(buffer.ctypes.data, buffer.nbytes) is False


def test_graph_search_results_are_unchanged_by_the_backing() -> None:
    import faiss
    rng = np.random.default_rng(3)
    vectors = (rng.standard_normal((40_000, 16)) @ rng.standard_normal((16, 128))).astype(np.float32)
    queries = vectors[:50] + 0.01
    graph = faiss.IndexHNSWFlat(128, 16)
    graph.hnsw.efConstruction = 40
    graph.add(vectors)
    before = graph.search(queries, 10)
    memory.back_hnsw_with_huge_pages(graph)
    after = graph.search(queries, 10)
    assert np.array_equal(before[1], after[1])
    assert np.array_equal(before[0], after[0])
