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

When a segment is searched approximately: the index setting ``index.knn.advanced.approximate_threshold``
(k-NN 2.18+; default **15,000**, an integer in ``[-1, 2147483645]``, dynamic) decides whether a segment
gets an HNSW graph: a segment with at least that many vectors does, smaller segments are searched
exactly (no graph is built); ``0`` always builds one and ``-1`` never does. An ANN ``knn`` query on a
segment without a graph runs the exact search, as the plugin does for segments without native engine
files, so indices below the threshold return exact neighbours and scores. A value outside the range
or not an integer is refused when the index is created or its settings updated ("Failed to parse
value [x] for setting [index.knn.advanced.approximate_threshold] must be >= -1"). The embedded engine
builds graphs lazily on the first approximate search and applies the threshold current at that
moment; a cluster decides at flush/merge time, so after a dynamic update a cluster's existing
segments keep (or lack) their graphs until they are merged.
"""

from localnode.knn.mapping import KnnFieldSpec, parse_knn_mapping, validate_vector

__all__ = ["KnnFieldSpec", "parse_knn_mapping", "validate_vector"]
