"""k-NN plugin emulation: ``knn_vector`` mappings, 2.19 score translations and per-segment vector indexes.

The package mirrors the OpenSearch k-NN plugin (2.19) closely enough that a client cannot tell the
embedded engine from a cluster, except where the embedded engine says so explicitly:

* :mod:`localnode.knn.mapping` parses and validates a ``knn_vector`` field mapping into an immutable
  :class:`~localnode.knn.mapping.KnnFieldSpec` and validates document vectors.
* :mod:`localnode.knn.spaces` holds the exact float32 scoring functions and their 2.19 score
  translations (also the ``knn_score`` script variants and radial-search thresholds).
* :mod:`localnode.knn.ann` holds :class:`~localnode.knn.ann.VectorIndex`, the per-segment, per-field
  index (exact search, faiss HNSW search with pre-filtering, radial search, persistence). It imports
  faiss, so it is not imported here: mapping code stays cheap to load.
"""

from localnode.knn.mapping import KnnFieldSpec, parse_knn_mapping, validate_vector

__all__ = ["KnnFieldSpec", "parse_knn_mapping", "validate_vector"]
