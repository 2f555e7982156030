"""The k-NN plugin's ``knn`` query (2.19): parsing, validation and per-segment vector search.

Why the result set is computed for the whole reader at once: the plugin decides *which* documents
match before any scorer runs (Lucene rewrites ``KnnFloatVectorQuery`` into a doc-and-score query;
``NativeEngineKnnVectorQuery`` does the same for faiss), and some engines cut to the top ``k``
across segments. :class:`KnnWeight` therefore searches every segment on first use, applies the
shard-level cut, and then serves each segment its slice — which makes the query compose in
``bool`` (must/should/filter) exactly like any other scored query.

How many documents match (reference §2.2, k-NN 2.19):

* faiss / nmslib: top ``k`` **per segment** (a reader with n segments can return up to n·k), unless
  ``rescore`` (per segment ``firstPassK = clamp(ceil(k·oversample), 100, 10000)``, then top ``k``
  per shard) or ``expand_nested_docs`` (top ``k`` per shard) is given.
* lucene: top ``max(k, method_parameters.ef_search)`` per segment, then the same number per shard
  (Lucene ignores the ``index.knn.algo_param.ef_search`` setting).
* radial (``min_score`` / ``max_distance``): every document at or above the score threshold
  (faiss caps each segment at ``index.max_result_window``); always computed exactly.

Search per segment goes through the segment's cached :class:`localnode.knn.ann.VectorIndex` (kept
in ``VectorColumn.ann``; segments are immutable so the cache never goes stale, and merged segments
get new columns). The ``filter`` is evaluated per segment into an ``allowed`` mask and applied
*before* the top-k, with the plugin's exact-search fallbacks; deleted documents are removed after
the top-k for the native engines and inside the search for lucene, as on a cluster.

Segments with fewer than ``index.knn.advanced.approximate_threshold`` vectors (k-NN 2.18+ default
15,000; 0 = always build a graph, -1 = never) have no HNSW graph and are searched exactly, as the
plugin does for segments without native engine files (see :mod:`localnode.knn`).

Scores are the space's 2.19 translation (:mod:`localnode.knn.spaces`) times the boost, in float32.
Validation follows ``KNNQueryBuilder.doToQuery`` in order; its failures are reported the way
``QueryShardContext.toQuery`` wraps them (``query_shard_exception`` "failed to create query: ...").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from localnode.errors import IllegalArgumentError, OpenSearchError, ParsingError
from localnode.knn import spaces
from localnode.knn.mapping import (APPROXIMATE_THRESHOLD_SETTING, DEFAULT_APPROXIMATE_THRESHOLD, DEFAULT_EF_SEARCH,
                                   FAISS, LUCENE, NMSLIB, KnnFieldSpec)
from localnode.ltr.xcontent import (BOOLEAN, NUMBER, OBJECT, STRING, Field, ObjectParser, XContentParseError,
                                    java_float_to_string, token_name, x_array, x_bool, x_float, x_int, x_text)
from localnode.search.xcontent import walk_tokens
from localnode.mapping.fields import KNN_VECTOR
from localnode.search.matches import Matches
from localnode.search.queries.rank_feature import failed_to_create_query
from localnode.search.queries.term_level import MatchNoneWeight
from localnode.search.query import (ParseContext, Query, Searcher, SegmentContext, Weight, parse_query, query_parser,
                                    set_boost)

K_MAX = 10_000
MIN_OVERSAMPLE_FACTOR = 1.0
MAX_OVERSAMPLE_FACTOR = 100.0
MIN_FIRST_PASS_RESULTS = 100
MAX_FIRST_PASS_RESULTS = 10_000
_METHOD_PARAMETERS = ("ef_search", "nprobes")
_JAVA_INT = re.compile(r"[+-]?\d+")
_OBJECT_OR_BOOLEAN = frozenset({"START_OBJECT", "VALUE_BOOLEAN", "VALUE_STRING"})
_FLOAT_ARRAY = frozenset({"START_ARRAY", "VALUE_NUMBER", "VALUE_STRING"})
_F32_SMALLEST_NORMAL = float(np.finfo(np.float32).tiny)
_PLAIN_NUMBERS = frozenset({float, int})   # exact types: bool (an int subclass) takes the checked path


# -- the parsed request --------------------------------------------------------------------------
@dataclass(slots=True)
class KnnRequest:
    """A ``KNNQueryBuilder`` after ``build()``: exactly one of ``k``/``min_score``/``max_distance``."""
    field: str
    vector: np.ndarray
    k: int | None = None
    min_score: float | None = None
    max_distance: float | None = None
    method_parameters: dict[str, int] | None = None
    filter: Query | None = None
    ignore_unmapped: bool = False
    oversample_factor: float | None = None  # set when ``rescore`` is given (true or an object)
    expand_nested: bool | None = None

    @property
    def radial(self) -> bool:
        return self.k is None

    @property
    def query_type(self) -> str:
        return "max_distance" if self.max_distance is not None else "min_score" if self.min_score is not None else "k"


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """What the weight does per segment and per shard, resolved against the mapping and settings."""
    spec: KnnFieldSpec
    query: np.ndarray
    segment_k: int = 0
    shard_k: int | None = None          # cut across segments (lucene, rescore, nested expansion)
    ef_search: int = DEFAULT_EF_SEARCH
    threshold: np.float32 | None = None  # radial search: minimum engine score
    radial_limit: int | None = None
    approximate_threshold: int = DEFAULT_APPROXIMATE_THRESHOLD
    filtered_exact_threshold: int | None = None


# -- settings ------------------------------------------------------------------------------------
def _int_setting(settings: dict[str, Any], key: str) -> int | None:
    raw = settings.get(key)
    if raw is None:
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        raise IllegalArgumentError(f'Failed to parse value [{raw}] for setting [{key}]') from None


def first_pass_k(k: int, oversample_factor: float) -> int:
    """``RescoreContext.getFirstPassK`` with shard-level rescoring (the 2.19 default)."""
    return max(MIN_FIRST_PASS_RESULTS, min(MAX_FIRST_PASS_RESULTS, math.ceil(k * oversample_factor)))


def segment_vector_index(column: Any, spec: KnnFieldSpec, approximate_threshold: int) -> Any:
    """The segment's cached VectorIndex for ``column`` (built on first use; faiss loads lazily)."""
    from localnode.knn.ann import VectorIndex  # noqa: PLC0415 - faiss is heavy; load it when vectors are searched
    index = column.ann
    if not isinstance(index, VectorIndex) or (index.spec is not spec and index.spec != spec) \
            or index.approximate_threshold != approximate_threshold:
        index = VectorIndex(column.docs, column.vectors, spec, approximate_threshold=approximate_threshold)
        column.ann = index  # immutable segment: safe to keep for its lifetime
    return index


# -- query -----------------------------------------------------------------------------------------
class KnnQuery(Query):
    def __init__(self, request: KnnRequest) -> None:
        self.request = request
        # searcher -> the per-segment ranked result: a request evaluates the same knn query more
        # than once (query phase, then matched_queries / rescore windows); the graph search runs once
        self._searched: tuple[Searcher, list[tuple[SegmentContext, np.ndarray, np.ndarray]]] | None = None

    def children(self) -> list[Query]:
        return [self.request.filter] if self.request.filter is not None else []

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        try:
            plan = self._plan(searcher)
        except OpenSearchError as exc:
            raise failed_to_create_query(searcher, exc) from None
        if plan is None:
            return MatchNoneWeight()
        request = self.request
        filter_weight = request.filter.weight(searcher, np.float32(1.0), False) if request.filter is not None else None
        return KnnWeight(searcher, plan, filter_weight, np.float32(boost), request.field, query=self)

    def _plan(self, searcher: Searcher) -> SearchPlan | None:
        """``KNNQueryBuilder.doToQuery``: the same checks in the same order, then the search plan."""
        request = self.request
        mapper = searcher.field(request.field)
        if mapper is None and request.ignore_unmapped:
            return None
        if mapper is None or mapper.type != KNN_VECTOR:
            raise IllegalArgumentError(f"Field '{request.field}' is not knn_vector type.")
        spec: KnnFieldSpec = mapper.knn
        if not spec.ann_enabled:
            raise IllegalArgumentError(f"Field '{request.field}' is not built for ANN search.")
        finite = np.isfinite(request.vector)
        if not finite.all():
            bad = int(np.flatnonzero(~finite)[0])
            raise IllegalArgumentError(f"non-finite value at vector[{bad}]="
                                       f"{java_float_to_string(request.vector[bad])}")
        if spec.normalizes_vectors and not np.any(request.vector):
            # transformQueryVector: faiss cosinesimil normalises the query (Lucene VectorUtil.l2normalize)
            raise IllegalArgumentError("Cannot normalize a zero-length vector")
        params = request.method_parameters or {}
        if "nprobes" in params:
            raise IllegalArgumentError(
                f"Parameters not valid for [{spec.engine.upper()}]:[{spec.method_name}]:[{request.query_type}] "
                "combination: [Validation Failed: 1: Unknown parameter 'nprobes' found;]")
        threshold = None
        if request.radial:
            spaces.check_radial_supported(spec.engine)
            if request.max_distance is not None:
                threshold = spaces.score_threshold_for_max_distance(spec.space_type, request.max_distance,
                                                                    engine=spec.engine)
            else:
                assert request.min_score is not None
                threshold = spaces.score_threshold_for_min_score(spec.space_type, request.min_score,
                                                                 engine=spec.engine)
        query = spaces.validate_query_vector(spec, request.vector)
        if request.filter is not None and spec.engine == NMSLIB:
            raise IllegalArgumentError("Engine [NMSLIB] does not support filters")
        settings = searcher.index.settings
        common = {"approximate_threshold": _int_setting(settings, APPROXIMATE_THRESHOLD_SETTING)
                  if APPROXIMATE_THRESHOLD_SETTING in settings else DEFAULT_APPROXIMATE_THRESHOLD,
                  "filtered_exact_threshold": _int_setting(settings,
                                                           "index.knn.advanced.filtered_exact_search_threshold")}
        if threshold is not None:
            limit = None
            if spec.engine == FAISS:
                limit = _int_setting(settings, "index.max_result_window") or K_MAX
            return SearchPlan(spec, query, threshold=threshold, radial_limit=limit, **common)
        assert request.k is not None
        k = request.k
        if spec.engine == LUCENE:
            lucene_k = max(k, params["ef_search"]) if "ef_search" in params else k
            return SearchPlan(spec, query, segment_k=lucene_k, shard_k=lucene_k, ef_search=lucene_k, **common)
        ef_search = params.get("ef_search") or spec.ef_search_param \
            or _int_setting(settings, "index.knn.algo_param.ef_search") or DEFAULT_EF_SEARCH
        if request.oversample_factor is not None:
            return SearchPlan(spec, query, segment_k=first_pass_k(k, request.oversample_factor), shard_k=k,
                              ef_search=ef_search, **common)
        shard_k = k if request.expand_nested else None
        return SearchPlan(spec, query, segment_k=k, shard_k=shard_k, ef_search=ef_search, **common)


class KnnWeight(Weight):
    """Serves each segment its part of the reader-wide k-NN result (computed on first use)."""

    def __init__(self, searcher: Searcher, plan: SearchPlan, filter_weight: Weight | None, boost: np.float32,
                 field: str, query: KnnQuery | None = None) -> None:
        self.searcher = searcher
        self.plan = plan
        self.filter_weight = filter_weight
        self.boost = boost
        self.field = field
        self.query = query
        self._results: dict[str, Matches] | None = None

    def matches(self, ctx: SegmentContext) -> Matches:
        if self._results is None:
            self._results = self._boosted(self._unboosted())
        return self._results.get(ctx.segment.name, Matches.empty())

    def _unboosted(self) -> dict[str, Matches]:
        results: dict[str, Matches] = {}
        for ctx, docs, scores in self._ranked():
            if len(docs):
                order = np.argsort(docs, kind="stable")
                results[ctx.segment.name] = Matches(docs[order].astype(np.int32), scores[order].astype(np.float32))
        return results

    def _ranked(self) -> list[tuple[SegmentContext, np.ndarray, np.ndarray]]:
        """Per segment, the matching docs best first (after the shard-level cut); the graph search
        runs once per request, however many weights of the query ask."""
        cached = self.query._searched if self.query is not None else None
        if cached is not None and cached[0] is self.searcher:
            return cached[1]
        found = [(ctx, *self._search_segment(ctx)) for ctx in self.searcher.segment_contexts()]
        shard_k = self.plan.shard_k
        if shard_k is not None:
            found = _top_across_segments(found, shard_k)
        if self.query is not None:
            self.query._searched = (self.searcher, found)
        return found

    def top_docs(self, k: int) -> tuple[np.ndarray, np.ndarray, int] | None:
        """The request's top ``k`` straight from the per-segment ranked results, without building
        doc-sorted match sets only to sort them back by score (a plain top-level knn query)."""
        if self.boost != np.float32(1.0):
            return None   # a float32 product can tie scores that were distinct: the generic path orders those
        found = [(ctx, docs, scores) for ctx, docs, scores in self._ranked() if len(docs)]
        total = sum(len(docs) for _, docs, _ in found)
        if len(found) == 1:
            ctx, docs, scores = found[0]
            return (docs[:k].astype(np.int64) + ctx.base, scores[:k].astype(np.float32, copy=False), total)
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), 0
        docs = np.concatenate([d.astype(np.int64) + ctx.base for ctx, d, _ in found])
        scores = np.concatenate([sc for _, _, sc in found]).astype(np.float32, copy=False)
        keep = np.lexsort((docs, -scores.astype(np.float64)))[:k]
        return docs[keep], scores[keep], total

    def _boosted(self, found: dict[str, Matches]) -> dict[str, Matches]:
        if self.boost == np.float32(1.0):
            return found
        return {name: Matches(m.docs, (m.scores * self.boost).astype(np.float32)) for name, m in found.items()}

    def describe(self) -> str:
        return f"KNNQuery(field={self.field})"

    def _allowed(self, ctx: SegmentContext) -> np.ndarray | None:
        if self.filter_weight is None:
            return None
        mask = np.zeros(ctx.segment.max_doc, dtype=bool)
        mask[self.filter_weight.matches(ctx).docs] = True
        return mask

    def _search_segment(self, ctx: SegmentContext) -> tuple[np.ndarray, np.ndarray]:
        plan = self.plan
        column = ctx.segment.vectors.get(self.field)
        if column is None or not len(column.docs):
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        index = segment_vector_index(column, plan.spec, plan.approximate_threshold)
        allowed = self._allowed(ctx)
        if plan.threshold is not None:
            return index.search_radial(plan.query, plan.threshold, allowed, live=ctx.live, limit=plan.radial_limit)
        if allowed is None and plan.spec.engine == LUCENE and ctx.live is not None:
            allowed = ctx.live  # Lucene passes liveDocs as the accept bits of the graph search
        return index.search_ann(plan.query, plan.segment_k, plan.ef_search, allowed, live=ctx.live,
                                filtered_exact_threshold=plan.filtered_exact_threshold)


def _top_across_segments(found: list[tuple[SegmentContext, np.ndarray, np.ndarray]],
                         k: int) -> list[tuple[SegmentContext, np.ndarray, np.ndarray]]:
    """``TopDocs.merge``: the best ``k`` over all segments, ties by global doc id."""
    if not found:
        return found
    global_docs = np.concatenate([docs.astype(np.int64) + ctx.base for ctx, docs, _ in found])
    scores = np.concatenate([s for _, _, s in found]).astype(np.float32)
    keep = np.zeros(len(global_docs), dtype=bool)
    keep[np.lexsort((global_docs, -scores.astype(np.float64)))[:k]] = True
    out, start = [], 0
    for ctx, docs, seg_scores in found:
        part = keep[start:start + len(docs)]
        out.append((ctx, docs[part], seg_scores[part]))
        start += len(docs)
    return out


# -- parsing (KNNQueryBuilderParser, 2.19) ----------------------------------------------------------
def _java_int(value: Any, name: str) -> int:
    """``Integer.parseInt(String.valueOf(value))``: what ``MethodParameter.EF_SEARCH.parse`` does."""
    text = value if isinstance(value, str) else ("true" if value is True else "false" if value is False
                                                 else repr(value) if isinstance(value, float) else str(value))
    if not _JAVA_INT.fullmatch(text) or not -(2 ** 31) <= int(text) < 2 ** 31:
        raise ParsingError(f"{name} value must be an integer")
    return int(text)


def _parse_method_parameters(value: Any) -> dict[str, int]:
    if not value:
        raise ParsingError("method_parameters cannot be empty")
    parsed: dict[str, int] = {}
    for name, raw in value.items():
        if name not in _METHOD_PARAMETERS:
            raise ParsingError(f"[knn] unknown method parameter found [{name}]")
        parsed[name] = _java_int(raw, name)
    return parsed


def _parse_rescore(state: dict[str, Any], value: Any) -> None:
    if isinstance(value, bool):
        if value:
            state["oversample_factor"] = 1.0
        return
    parsed = ObjectParser("rescore", {"oversample_factor": Field(
        NUMBER, lambda s, v: s.__setitem__("oversample_factor", float(x_float(v))))}).parse(value, {})
    state["oversample_factor"] = parsed.get("oversample_factor", 1.0)


def _vector_from_floats(values: list[np.float32]) -> np.ndarray:
    if not values:
        raise IllegalArgumentError("[knn] field 'vector' requires to be non-null and non-empty")
    return np.asarray(values, dtype=np.float32)


def _setter(name: str, convert: Any) -> Any:
    return lambda state, value: state.__setitem__(name, convert(value))


_INTERNAL_FIELDS: dict[str, Field] = {
    "boost": Field(NUMBER, _setter("boost", x_float)),
    "_name": Field(STRING, _setter("_name", x_text)),
    "vector": Field(_FLOAT_ARRAY, _setter("vector", lambda v: _parse_vector_values(v))),
    "k": Field(NUMBER, _setter("k", x_int)),
    "ignore_unmapped": Field(BOOLEAN, _setter("ignore_unmapped", x_bool)),
    "max_distance": Field(NUMBER, _setter("max_distance", lambda v: float(x_float(v)))),
    "min_score": Field(NUMBER, _setter("min_score", lambda v: float(x_float(v)))),
    "method_parameters": Field(OBJECT, _setter("method_parameters", _parse_method_parameters)),
    "rescore": Field(_OBJECT_OR_BOOLEAN, _parse_rescore),
    "expand_nested_docs": Field(BOOLEAN, _setter("expand_nested", x_bool)),
}


def _parse_filter(state: dict[str, Any], value: Any) -> None:
    state["filter"] = parse_query(value, state[_CONTEXT])


_CONTEXT = "\0context"   # the parse context rides in the state (no JSON key can be this)
# The field-level ObjectParser, built once; ``filter`` is an inner query parsed against the index
# mapping found in the state.
_INTERNAL_PARSER = ObjectParser("knn", {**_INTERNAL_FIELDS, "filter": Field(OBJECT, _parse_filter)})


def _short_form_list(values: Any) -> list[Any]:
    """``parser.list()`` of the short form ``{"field": [..]}``: an array, or an x_content error."""
    kind = token_name(values)
    if kind != "START_ARRAY":
        raise XContentParseError(f"Failed to parse list:  expecting START_ARRAY but got {kind}")
    walk_tokens(values)
    return values


def _objects_to_floats(items: list[Any]) -> np.ndarray:
    """``objectsToFloats``: the short form's values, numbers only."""
    if not items:
        raise IllegalArgumentError("[knn] field 'vector' requires to be non-null and non-empty")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in items):
        raise IllegalArgumentError("[knn] field 'vector' requires to be an array of numbers")
    return np.asarray([np.float32(v) for v in items], dtype=np.float32)


def _validate(state: dict[str, Any]) -> None:
    """``KNNQueryBuilder.Builder.validate`` (messages verbatim)."""
    if "vector" not in state:
        raise IllegalArgumentError("[knn] requires query vector")
    given = [name for name in ("k", "min_score", "max_distance") if name in state]
    if len(given) != 1:
        raise IllegalArgumentError("[knn] requires exactly one of k, distance or score to be set")
    if "k" in state and not 0 < state["k"] <= K_MAX:
        raise IllegalArgumentError(f"[knn] requires k to be in the range (0, {K_MAX}]")
    if "min_score" in state and state["min_score"] <= 0:
        raise IllegalArgumentError("[knn] requires minScore to be greater than 0")
    params = state.get("method_parameters")
    if params:
        errors = [f"{name} should be greater than 0" for name, value in params.items() if value <= 0]
        if errors:
            detail = "Validation Failed: " + "".join(f"{i}: {e};" for i, e in enumerate(errors, 1))
            raise IllegalArgumentError(f"[knn] errors in method parameter [{detail}]")
    factor = state.get("oversample_factor")
    if factor is not None and not MIN_OVERSAMPLE_FACTOR <= factor <= MAX_OVERSAMPLE_FACTOR:
        low = factor < MIN_OVERSAMPLE_FACTOR
        bound, word = (MIN_OVERSAMPLE_FACTOR, "less") if low else (MAX_OVERSAMPLE_FACTOR, "more")
        raise IllegalArgumentError(f"[knn] errors in rescore parameter [Validation Failed: 1: Oversample factor "
                                   f"[{factor:f}] cannot be {word} than [{bound:f}];]")


@query_parser("knn")
def parse_knn(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict):
        raise ParsingError(f"[knn] query malformed, no start_object after query name, got {token_name(body)}")
    field_name: str | None = None
    state: dict[str, Any] | None = None
    short_form: Any = None
    for key, value in body.items():
        token_name(value)   # Jackson reads a field's value token with its name
        if field_name is not None:
            raise ParsingError(f"[knn] query doesn't support multiple fields, found [{field_name}] and [{key}]")
        field_name = key
        if isinstance(value, dict):
            state = _INTERNAL_PARSER.apply(value, {_CONTEXT: ctx})
            del state[_CONTEXT]
        else:   # the short form: parser.list() now, the numbers when the builder is built
            short_form = _short_form_list(value)
    if state is None and short_form is not None:
        state = {"vector": _objects_to_floats(short_form)}
    if field_name is None or state is None:
        raise IllegalArgumentError("[knn] field 'vector' requires to be non-null and non-empty")
    if not field_name:
        raise IllegalArgumentError("[knn] requires fieldName")
    _validate(state)
    request = KnnRequest(
        field=field_name, vector=state["vector"], k=state.get("k"), min_score=state.get("min_score"),
        max_distance=state.get("max_distance"), method_parameters=state.get("method_parameters"),
        filter=state.get("filter"),
        ignore_unmapped=state.get("ignore_unmapped", False), oversample_factor=state.get("oversample_factor"),
        expand_nested=state.get("expand_nested"))
    query = KnnQuery(request)
    if "boost" in state:
        set_boost(query, state["boost"], "knn")
    if "_name" in state:
        query.name = state["_name"]
    return query


@njit(cache=True, nogil=True)
def _narrow_to_float32(doubles: np.ndarray) -> tuple[np.ndarray, bool]:
    """Each double as float32, and whether any of them may round differently from its decimal
    text: a double sits on a float32 rounding midpoint only if its 29 low mantissa bits are 1
    followed by zeros (normal range), and float32 subnormals round on a coarser grid, so both are
    suspects. One compiled loop: the numpy formulation took six passes and most of the parse."""
    singles = np.empty(doubles.shape[0], dtype=np.float32)
    bits = doubles.view(np.uint64)
    suspect = False
    for i in range(doubles.shape[0]):
        singles[i] = np.float32(doubles[i])
        if bits[i] & np.uint64(0x1FFFFFFF) == np.uint64(0x10000000) or 0.0 < abs(doubles[i]) < _F32_SMALLEST_NORMAL:
            suspect = True
    return singles, suspect


def _parse_vector_values(value: Any) -> Any:
    """The query vector as float32, parsed as Jackson's ``floatValue()`` would.

    Vectorised: a double converts to the same float32 as its decimal text unless it sits exactly on
    a float32 rounding midpoint (the only case where double rounding can differ), and only those
    rare elements take the exact text path of :func:`x_float`.
    """
    if isinstance(value, list) and value and set(map(type, value)) <= _PLAIN_NUMBERS:
        doubles = np.asarray(value, dtype=np.float64)
        singles, suspect = _narrow_to_float32(doubles)
        if suspect:
            with np.errstate(over="ignore"):
                singles = doubles.astype(np.float32)
            inexact = np.flatnonzero(np.isfinite(singles) & (singles.astype(np.float64) != doubles))
            if len(inexact):
                near = singles[inexact]
                toward = np.where(doubles[inexact] > near.astype(np.float64), np.float32(np.inf), np.float32(-np.inf))
                midpoint = (near.astype(np.float64) + np.nextafter(near, toward).astype(np.float64)) / 2
                for i in inexact[midpoint == doubles[inexact]].tolist():
                    singles[i] = x_float(value[i])
        return singles
    return _vector_from_floats(x_array(value, x_float))
