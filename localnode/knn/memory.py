"""Memory layout of large faiss graphs: huge pages and a locality-preserving node order.

An HNSW search at a million 128-d vectors reads a few thousand vectors and neighbour lists spread
over ~0.6 GB: it is bound by memory latency, not arithmetic. Two layout changes shorten it, and
neither changes a result (``BENCHMARKS.md`` has the measurements, ~1.2x each at 1M vectors):

* huge pages (2 MB): with 4 KB pages nearly every read also misses the TLB. faiss allocates its
  arrays itself, so after a build or load the engine asks the kernel to collapse them into huge
  pages (``MADV_COLLAPSE``, Linux 6.1+), or at least to use them for later faults
  (``MADV_HUGEPAGE``); elsewhere (other systems, older kernels, THP disabled) nothing happens;
* node order: faiss numbers nodes in insertion order, so graph neighbours sit anywhere in memory.
  Renumbering by reverse Cuthill-McKee over the bottom layer puts neighbours close together, so a
  walk touches fewer distinct pages and cache lines. The graph is the same graph, renumbered;
  callers map node numbers back to their rows.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_HUGE_PAGE = 2 << 20
_MIN_REGION = 8 * _HUGE_PAGE        # below this the collapse costs more than it saves
_MADV_HUGEPAGE = 14
_MADV_COLLAPSE = 25
_libc: Any = None


def _madvise() -> Any:
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
                libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
                libc.madvise.restype = ctypes.c_int
                _libc = libc
            except (OSError, AttributeError):
                pass
    return _libc.madvise if _libc else None


def advise_huge_pages(address: int, nbytes: int) -> bool:
    """Ask for huge pages over the 2 MB-aligned interior of ``[address, address + nbytes)``;
    True when the kernel collapsed it now."""
    madvise = _madvise()
    start = (address + _HUGE_PAGE - 1) // _HUGE_PAGE * _HUGE_PAGE
    end = (address + nbytes) // _HUGE_PAGE * _HUGE_PAGE
    if madvise is None or end - start < _MIN_REGION:
        return False
    if madvise(start, end - start, _MADV_COLLAPSE) == 0:
        return True
    madvise(start, end - start, _MADV_HUGEPAGE)   # older kernels: at least for later faults
    return False


def back_hnsw_with_huge_pages(graph: Any) -> int:
    """Advise the vector storage and the neighbour lists of a faiss ``IndexHNSW*``; returns the
    number of bytes collapsed into huge pages."""
    import faiss  # noqa: PLC0415 - callers already hold a faiss index

    regions = []
    try:
        storage = faiss.downcast_index(graph.storage)
        codes = getattr(storage, "codes", None)
        if codes is not None:
            regions.append((int(codes.data()), codes.size()))
        neighbors = graph.hnsw.neighbors
        regions.append((int(neighbors.data()), neighbors.size() * 4))
    except (AttributeError, TypeError, RuntimeError) as exc:   # another faiss layout: leave it be
        logger.debug("huge pages not applied to the graph: %s", exc)
        return 0
    collapsed = 0
    for address, nbytes in regions:
        if advise_huge_pages(address, nbytes):
            collapsed += nbytes
    return collapsed


def locality_order(graph: Any) -> np.ndarray:
    """A renumbering of an ``IndexHNSW*``'s nodes (``order[new] = old``) that keeps bottom-layer
    neighbours close: reverse Cuthill-McKee over the symmetrised level-0 adjacency."""
    import faiss  # noqa: PLC0415
    import scipy.sparse as sparse  # noqa: PLC0415 - scikit-learn's dependency, loaded only for big graphs
    from scipy.sparse.csgraph import reverse_cuthill_mckee  # noqa: PLC0415

    hnsw = graph.hnsw
    n = graph.ntotal
    offsets = faiss.vector_to_array(hnsw.offsets).astype(np.int64)
    neighbors = faiss.vector_to_array(hnsw.neighbors)
    width = hnsw.cum_nb_neighbors(1)          # level-0 slots come first in each node's list
    slots = (offsets[:-1, None] + np.arange(width, dtype=np.int64)[None, :]).ravel()
    targets = neighbors[slots]
    sources = np.repeat(np.arange(n, dtype=np.int32), width)
    present = targets >= 0
    adjacency = sparse.csr_matrix((np.ones(int(present.sum()), dtype=np.int8),
                                   (sources[present], targets[present])), shape=(n, n))
    adjacency = (adjacency + adjacency.T).tocsr()
    return np.asarray(reverse_cuthill_mckee(adjacency, symmetric_mode=True), dtype=np.int64)
