"""Exact float32 vector scoring with the k-NN plugin's 2.19 score translations.

Why a module of its own: every k-NN code path of the plugin (ANN, exact/filtered search, radial
search, the ``knn_score`` script) ends in the same small set of formulas, and score parity with a
real cluster depends on applying them in float32 exactly as the plugin does (Java ``float``
arithmetic). Everything here takes and returns ``numpy.float32`` arrays.

2.19 translations (``SpaceType``, ``Faiss.SCORE_TRANSLATIONS``, Lucene ``VectorSimilarityFunction``):

============== ===================================== ==========================================
space          raw value                             score
============== ===================================== ==========================================
l2             d² = Σ(q−v)²                          1/(1+d²)
cosinesimil    cos = q·v/(|q||v|)                    max((1+cos)/2, 0)
innerproduct   dot = q·v                             dot<0 → 1/(1−dot), else dot+1
l1 / linf      d = Σ|q−v| / max|q−v| (nmslib only)   1/(1+d)
============== ===================================== ==========================================

All engines agree on these in 2.19; the only version-dependent variant left is the ``knn_score``
script's cosine (``1+cos`` for indexes created before 2.19), see :func:`script_score`.

Summation order differs from Java's SIMD code, so results can differ from a cluster by about one
float32 ulp; compare with a tolerance (the reference spec §2.3 says the same).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from localnode.errors import IllegalArgumentError, OpenSearchError, UnsupportedError

if TYPE_CHECKING:  # pragma: no cover - typing only; mapping imports this module
    from localnode.knn.mapping import KnnFieldSpec

__all__ = [
    "L2", "COSINESIMIL", "INNER_PRODUCT", "L1", "LINF", "HAMMING", "SPACE_TYPES", "SCRIPT_SPACE_TYPES",
    "as_query_vector", "as_vector_matrix",
    "l2_squared", "inner_product", "squared_norms", "cosine_similarity", "l1_distance", "linf_distance",
    "raw_similarity", "translate", "translate_l2", "translate_cosine", "translate_inner_product",
    "translate_distance", "score", "script_score",
    "distance_to_score", "score_threshold_for_max_distance", "score_threshold_for_min_score",
    "check_radial_supported", "validate_query_vector", "check_not_zero_vector",
    "dimension_mismatch_message", "query_dimension_message", "zero_vector_message", "space_enum_name",
    "MAX_RADIAL_SCORE_FOR_NON_IP",
]

L2 = "l2"
COSINESIMIL = "cosinesimil"
INNER_PRODUCT = "innerproduct"
L1 = "l1"
LINF = "linf"
HAMMING = "hamming"

#: ``SpaceType`` values in enum order (used verbatim in the plugin's "Valid values are" messages).
SPACE_TYPES: tuple[str, ...] = (L2, COSINESIMIL, L1, LINF, INNER_PRODUCT, HAMMING)
#: Spaces the ``knn_score`` script accepts (``KNNScoringSpaceFactory``); hamming ones need binary data.
SCRIPT_SPACE_TYPES: tuple[str, ...] = (L2, L1, LINF, INNER_PRODUCT, COSINESIMIL, "hammingbit", HAMMING)

_ENUM_NAMES = {L2: "L2", COSINESIMIL: "COSINESIMIL", L1: "L1", LINF: "LINF", INNER_PRODUCT: "INNER_PRODUCT",
               HAMMING: "HAMMING"}

#: Radial ``min_score`` above this is rejected for every space but innerproduct (scores are ≤ 1 there).
MAX_RADIAL_SCORE_FOR_NON_IP = 1.0

_ONE = np.float32(1.0)
_TWO = np.float32(2.0)
_ZERO = np.float32(0.0)
#: From this dimension on, faiss' many-row l2 kernel computes each row as its one-row kernel does
#: (checked bit for bit in tests/localnode/test_knn.py); below it, some dimensions use batched kernels.
_FAISS_PER_ROW_DIMENSION = 16

_FAISS: Any = None


def _faiss() -> Any:
    """faiss, imported on first use: its SIMD kernels compute one-query distances ~7x faster than numpy."""
    global _FAISS
    if _FAISS is None:
        try:
            import faiss  # noqa: PLC0415 - heavy import kept lazy on purpose
            _FAISS = faiss
        except ImportError:  # pragma: no cover - faiss-cpu is a hard dependency; keep a numpy fallback
            _FAISS = False
    return _FAISS or None


# -- messages ------------------------------------------------------------------------------------
def space_enum_name(space_type: str) -> str:
    """The Java enum constant name (``INNER_PRODUCT``) that the plugin's ``%s`` formatting prints."""
    return _ENUM_NAMES.get(space_type, space_type.upper())


def dimension_mismatch_message(expected: int, given: int) -> str:
    """Index-time text of ``KNNValidationUtil.validateVectorDimension`` (float and byte data)."""
    return f"Vector dimension mismatch. Expected: {expected}, Given: {given}"


def query_dimension_message(given: int, expected: int) -> str:
    """Query-time text of ``KNNQueryBuilder.doToQuery``."""
    return f"Query vector has invalid dimension: {given}. Dimension should be: {expected}"


def zero_vector_message(space_type: str) -> str:
    """``SpaceType.COSINESIMIL.validateVector``: both documents and query vectors get this text."""
    return f"zero vector is not supported when space type is [{space_type}]"


# -- coercion ------------------------------------------------------------------------------------
def _is_ready(array: Any, ndim: int) -> bool:
    """Already a C-contiguous float32 array of ``ndim`` dimensions: nothing to convert (per-request
    paths call these helpers several times on the same arrays)."""
    return type(array) is np.ndarray and array.dtype == np.float32 and array.ndim == ndim \
        and array.flags.c_contiguous


def as_query_vector(query: Any) -> np.ndarray:
    """A 1-d, C-contiguous float32 copy-or-view of ``query`` (what faiss kernels and BLAS want)."""
    if _is_ready(query, 1):
        return query
    return np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(-1))


def as_vector_matrix(vectors: Any, dimension: int | None = None) -> np.ndarray:
    """A 2-d, C-contiguous float32 ``(n, d)`` matrix; an empty input becomes ``(0, d)``."""
    if _is_ready(vectors, 2):
        return vectors
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(-1, dimension) if dimension and matrix.size else matrix.reshape(0, dimension or 0)
    if matrix.ndim != 2:
        raise ValueError(f"expected a (n, d) matrix of vectors, got shape {matrix.shape}")
    return np.ascontiguousarray(matrix)


# -- raw metrics ---------------------------------------------------------------------------------
def l2_squared(query: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, summed directly (never via |v|²−2q·v+|q|², which cancels badly
    for near-duplicates and would turn an exact match's score 1.0 into 0.99999)."""
    q = as_query_vector(query)
    matrix = as_vector_matrix(vectors, q.shape[0])
    n = matrix.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.float32)
    faiss = _faiss()
    if faiss is not None and q.shape[0] >= _FAISS_PER_ROW_DIMENSION:
        out = np.empty(n, dtype=np.float32)
        faiss.fvec_L2sqr_ny(faiss.swig_ptr(out), faiss.swig_ptr(q), faiss.swig_ptr(matrix), q.shape[0], n)
        return out
    # Small dimensions: faiss batches rows through kernels whose rounding depends on a row's place
    # in the batch, so one document could score differently in a 10-row and a 3,000-row call
    # (ANN vs exact). Summed row by row instead, every call gives a row the same float32.
    diff = matrix - q
    return np.einsum("ij,ij->i", diff, diff, dtype=np.float32)


def inner_product(query: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Dot products in float32 (BLAS sgemv)."""
    q = as_query_vector(query)
    matrix = as_vector_matrix(vectors, q.shape[0])
    if matrix.shape[0] == 0:
        return np.empty(0, dtype=np.float32)
    return (matrix @ q).astype(np.float32, copy=False)


def squared_norms(vectors: np.ndarray) -> np.ndarray:
    """|v|² per row, float32 accumulation like Lucene's ``VectorUtil.dotProduct(v, v)``."""
    matrix = as_vector_matrix(vectors)
    return np.einsum("ij,ij->i", matrix, matrix, dtype=np.float32)


def cosine_similarity(query: np.ndarray, vectors: np.ndarray, sq_norms: np.ndarray | None = None) -> np.ndarray:
    """Cosines as Lucene computes them: float dot and norms, ``sum / sqrt((double) n1 * (double) n2)``.

    A zero-length document vector yields 0 (no NaN scores); such vectors cannot exist in a
    cosinesimil ANN field (rejected at index time), only in the ``knn_score`` script over other fields.
    """
    q = as_query_vector(query)
    matrix = as_vector_matrix(vectors, q.shape[0])
    dots = inner_product(q, matrix)
    vn = squared_norms(matrix) if sq_norms is None else np.asarray(sq_norms, dtype=np.float32)
    qn = np.float32(np.dot(q, q))
    denom = np.sqrt(np.float64(qn) * vn.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.where(denom > 0, dots.astype(np.float64) / np.where(denom > 0, denom, 1.0), 0.0)
    return cos.astype(np.float32)


def l1_distance(query: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Manhattan distances (nmslib's l1 space and the ``knn_score`` script)."""
    q = as_query_vector(query)
    matrix = as_vector_matrix(vectors, q.shape[0])
    return np.abs(matrix - q).sum(axis=1, dtype=np.float32)


def linf_distance(query: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Chebyshev distances (nmslib's linf space and the ``knn_score`` script)."""
    q = as_query_vector(query)
    matrix = as_vector_matrix(vectors, q.shape[0])
    if matrix.shape[0] == 0:
        return np.empty(0, dtype=np.float32)
    return np.abs(matrix - q).max(axis=1).astype(np.float32)


def raw_similarity(space_type: str, query: np.ndarray, vectors: np.ndarray,
                   sq_norms: np.ndarray | None = None, *, lucene: bool = False) -> np.ndarray:
    """The un-translated metric of a space: d², cos, dot, l1 or linf distance.

    ``lucene``: computed with Lucene's own operation order (:mod:`localnode.knn.lucene_math`), as
    the ``lucene`` engine and the ``knn_score`` script do on a cluster; otherwise as faiss does.
    """
    if lucene and space_type in (L2, COSINESIMIL, INNER_PRODUCT, L1):
        from localnode.knn import lucene_math
        q = as_query_vector(query)
        matrix = as_vector_matrix(vectors, q.shape[0])
        if matrix.shape[0] == 0:
            return np.empty(0, dtype=np.float32)
        if space_type == L2:
            return lucene_math.square_distance_rows(q, matrix)
        if space_type == INNER_PRODUCT:
            return lucene_math.dot_product_rows(q, matrix)
        if space_type == L1:
            return lucene_math.l1_rows(q, matrix)
        return lucene_math.cosine_rows(q, matrix)
    if space_type == L2:
        return l2_squared(query, vectors)
    if space_type == COSINESIMIL:
        return cosine_similarity(query, vectors, sq_norms)
    if space_type == INNER_PRODUCT:
        return inner_product(query, vectors)
    if space_type == L1:
        return l1_distance(query, vectors)
    if space_type == LINF:
        return linf_distance(query, vectors)
    raise IllegalArgumentError(f"Space type [{space_type}] is not supported with [float] data type")


# -- translations (float32, elementwise) ---------------------------------------------------------
def translate_l2(d2: np.ndarray | float) -> np.ndarray:
    """``1 / (1 + d²)`` in float."""
    return _ONE / (_ONE + (d2 if _is_ready(d2, 1) else np.asarray(d2, dtype=np.float32)))


def translate_cosine(cos: np.ndarray | float) -> np.ndarray:
    """``max((1 + cos) / 2, 0)``: Lucene's COSINE, used by every engine in 2.19."""
    return np.maximum((_ONE + np.asarray(cos, dtype=np.float32)) / _TWO, _ZERO)


def translate_inner_product(dot: np.ndarray | float) -> np.ndarray:
    """``dot < 0 → 1/(1 − dot)``, else ``dot + 1`` (Lucene ``scaleMaxInnerProductScore``; the faiss
    translation ``SpaceType.INNER_PRODUCT.scoreTranslation(-dot)`` is the same function)."""
    d = np.asarray(dot, dtype=np.float32)
    with np.errstate(divide="ignore", over="ignore"):
        return np.where(d < _ZERO, _ONE / (_ONE - d), d + _ONE).astype(np.float32)


def translate_distance(distance: np.ndarray | float) -> np.ndarray:
    """``1 / (1 + d)``: the generic translation (l1, linf, and l2 where d is already squared)."""
    return _ONE / (_ONE + np.asarray(distance, dtype=np.float32))


def translate(space_type: str, raw: np.ndarray) -> np.ndarray:
    """Turn :func:`raw_similarity` output into OpenSearch ``_score`` values (before ``boost``)."""
    if space_type == L2:
        return translate_l2(raw)
    if space_type == COSINESIMIL:
        return translate_cosine(raw)
    if space_type == INNER_PRODUCT:
        return translate_inner_product(raw)
    if space_type in (L1, LINF):
        return translate_distance(raw)
    raise IllegalArgumentError(f"Space type [{space_type}] is not supported with [float] data type")


def score(space_type: str, query: np.ndarray, vectors: np.ndarray,
          sq_norms: np.ndarray | None = None, *, engine: str = "faiss") -> np.ndarray:
    """2.19 k-NN scores of ``vectors`` for ``query`` (knn query, ANN and exact paths alike), with
    the arithmetic of ``engine``'s similarity code."""
    return translate(space_type, raw_similarity(space_type, query, vectors, sq_norms, lucene=engine == "lucene"))


def script_score(space_type: str, query: np.ndarray, vectors: np.ndarray, *,
                 legacy_cosine: bool = False) -> np.ndarray:
    """``{"lang": "knn", "source": "knn_score"}`` values (reference §2.4).

    Same formulas as :func:`score`, except that ``cosinesimil`` gives ``1 + cos`` when
    ``legacy_cosine`` is set (indexes created before 2.19). The hamming spaces need binary data,
    which the embedded engine does not store, so they are refused explicitly.
    """
    space = space_type.lower() if isinstance(space_type, str) else space_type
    if space not in SCRIPT_SPACE_TYPES:
        raise IllegalArgumentError("Invalid space type. Please refer to the available space types.")
    if space in ("hammingbit", HAMMING):
        raise UnsupportedError(f"knn_score with space_type [{space_type}]")
    q = as_query_vector(query)
    if space == COSINESIMIL:
        check_not_zero_vector(space, q)
        from localnode.knn import lucene_math
        matrix = as_vector_matrix(vectors, q.shape[0])
        cos = lucene_math.script_cosine_rows(q, matrix) if matrix.shape[0] else np.empty(0, dtype=np.float32)
        return (_ONE + cos) if legacy_cosine else translate_cosine(cos)
    # The script scores in Java with Lucene's VectorUtil (and the plugin's own l1 loop), whatever
    # engine indexed the field: Lucene's operation order, checked against a real node.
    return translate(space, raw_similarity(space, q, vectors, lucene=True))


# -- radial search -------------------------------------------------------------------------------
def distance_to_score(space_type: str, distance: float | np.ndarray, *, engine: str = "faiss") -> np.ndarray:
    """Score of a document at engine ``distance`` from the query; a ``max_distance`` becomes the
    ``min_score`` threshold through this function.

    Distance units per space (2.19, what ``max_distance`` means):

    * ``l2``: **squared** Euclidean distance d² (faiss' and Lucene's unit): score 1/(1+d²).
    * ``cosinesimil``: ``1 − cos`` (faiss turns it into the cos radius ``1 − d``; Lucene uses
      ``(2 − d)/2``): score ``max((2 − d)/2, 0)``.
    * ``innerproduct``: engine-dependent in 2.19. faiss: the distance is ``−dot`` (docs' table;
      the exact path computes ``SpaceType.INNER_PRODUCT.scoreTranslation(max_distance)``), so
      ``max_distance = D`` keeps docs with ``dot ≥ −D``. Lucene: the distance is ``dot`` itself,
      so ``D`` keeps ``dot ≥ D``. (k-NN #3335, fixed after 2.19, made faiss follow Lucene; a 2.19
      faiss *ANN* range search may disagree with both — the embedded engine runs radial search exactly.)
    * ``l1``/``linf``: the distance itself, score 1/(1+d) (only nmslib has these spaces, and nmslib
      has no radial search, so this is for completeness).
    """
    d = np.asarray(distance, dtype=np.float32)
    if space_type == L2 or space_type in (L1, LINF):
        return translate_distance(d)
    if space_type == COSINESIMIL:
        return translate_cosine(_ONE - d)  # cos = 1 − d, then the cosine translation
    if space_type == INNER_PRODUCT:
        return translate_inner_product(d if engine == "lucene" else -d)
    raise IllegalArgumentError(f"Space type [{space_type}] is not supported with [float] data type")


def check_radial_supported(engine: str) -> None:
    """nmslib has no radial search (``KNNQueryBuilder``: UnsupportedOperationException → HTTP 500)."""
    if engine not in ("faiss", "lucene"):
        raise OpenSearchError(f"Engine [{engine.upper()}] does not support radial search",
                              status=500, error_type="unsupported_operation_exception")


def score_threshold_for_max_distance(space_type: str, max_distance: float, *, engine: str = "faiss") -> np.float32:
    """Validate ``max_distance`` as ``KNNQueryBuilder.doToQuery`` does and return the minimum score.

    A document matches when its score (see :func:`score`) is ``>=`` the returned value; for l2 that
    is ``1/(1 + max_distance)`` with ``max_distance`` in squared-L2 units.
    """
    if max_distance < 0 and space_type != INNER_PRODUCT:
        raise IllegalArgumentError(
            f"[knn] requires distance to be non-negative for space type: {space_enum_name(space_type)}")
    return np.float32(distance_to_score(space_type, max_distance, engine=engine))


def score_threshold_for_min_score(space_type: str, min_score: float, *, engine: str = "faiss") -> np.float32:
    """Validate ``min_score`` and return the score threshold the exact path really applies.

    For faiss the plugin converts the score to an engine radius (``Faiss.scoreToRadialThreshold``)
    and the exact searcher converts it back; the round trip is replayed in float32 so the threshold
    carries the same rounding as on a cluster. Lucene uses the score as given.
    """
    if min_score > MAX_RADIAL_SCORE_FOR_NON_IP and space_type != INNER_PRODUCT:
        raise IllegalArgumentError(
            f"[knn] requires score to be in the range [0, 1] for space type: {space_enum_name(space_type)}")
    s = np.float32(min_score)
    if engine == "lucene":
        return s
    if space_type == L2:
        if s == 0:
            raise IllegalArgumentError(f"score cannot be 0 when space type is [{space_type}]")
        radius = _ONE / s - _ONE
        return np.float32(translate_distance(radius))
    if space_type == COSINESIMIL:
        cos_radius = _TWO * s - _ONE
        return np.float32(translate_cosine(cos_radius))
    if space_type == INNER_PRODUCT:
        with np.errstate(divide="ignore"):
            neg_dot = (_ONE - s) if s > _ONE else (_ONE / s - _ONE)
        return np.float32(translate_inner_product(-neg_dot))
    return s


# -- vector validation ---------------------------------------------------------------------------
def check_not_zero_vector(space_type: str, vector: np.ndarray) -> None:
    """Reject an all-zero vector for cosinesimil (its cosine is undefined)."""
    if space_type == COSINESIMIL and not np.any(vector):
        raise IllegalArgumentError(zero_vector_message(space_type))


def validate_query_vector(spec: "KnnFieldSpec", vector: Any) -> np.ndarray:
    """Check a knn query vector against its field: dimension first, then the zero-vector rule."""
    q = as_query_vector(vector)
    if q.shape[0] != spec.dimension:
        raise IllegalArgumentError(query_dimension_message(q.shape[0], spec.dimension))
    check_not_zero_vector(spec.space_type, q)
    return q
