"""The search request: query phase per index (its single shard), rescore, merge, fetch phase.

OpenSearch runs the query phase on each shard (here: each index's current reader), keeps the top
``from + size`` (or the rescore window) per shard, merges by score (ties: shard, then doc id), and
fetches sources for the page. Features that only a request body can switch on (rescore, LTR
logging) plug in through :data:`FETCH_EXTENSIONS` and the rescorer registry, so this module stays
about the phases.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import orjson

from localnode.search import cancellation
from localnode.errors import (IllegalArgumentError, NumberFormatError, OpenSearchError, ParsingError,
                              SearchPhaseExecutionError, UnsupportedError, failed_to_create_query)
from localnode.ltr.xcontent import NUMBER, OBJECT, STRING, Field, ObjectParser
from localnode.search import queries as _registered_queries  # noqa: F401  (registers the parsers)
from localnode.search.query import ParseContext, Query, Searcher, Weight, parse_query, parse_query_stream
from localnode.search.queries.compound import MatchAllQuery, check_rewrite
from localnode.search.sorting import (SortSpec, check_search_after, check_sort, parse_sort_body, parse_sort_param,
                                     sort_values)
from localnode.search.source_filter import SourceFilter
from localnode.search.topk import pruned_top_k
from localnode.search.xcontent import (VALUE_TOKENS, NullPointerError, TokenStream, boolean_value, float_value,
                                       int_value, is_boolean_text, java_parse_double, text, token, walk_tokens)

if TYPE_CHECKING:
    from localnode.index.shard import LocalIndex

MAX_RESULT_WINDOW = 10_000
MAX_RESCORE_WINDOW = 10_000
TRACK_TOTAL_HITS_ACCURATE = 2 ** 31 - 1
#: Body keys OpenSearch knows that the embedded engine does not serve (by the token they start with).
_UNSUPPORTED_OBJECTS = {"script_fields", "indices_boost", "aggregations", "aggs", "highlight", "suggest", "slice",
                        "collapse", "pit", "search_pipeline", "derived"}
_UNSUPPORTED_ARRAYS = {"docvalue_fields", "fields", "indices_boost", "stats"}

FetchExtension = Callable[["SearchRequest", "ShardResult", list[dict[str, Any]]], None]
FETCH_EXTENSIONS: dict[str, FetchExtension] = {}
#: ``ext`` sections (``SearchExtBuilder`` parsers) by name: each validates its section when the
#: request is parsed, as the coordinating node does.
EXT_PARSERS: dict[str, Callable[[Any], Any]] = {}


@dataclass(slots=True)
class RescoreSpec:
    """A ``QueryRescorerBuilder``: the rescore query and its weights (float32 values, as Java floats)."""
    query: Query
    window_size: int | None = None
    query_weight: float = 1.0
    rescore_query_weight: float = 1.0
    score_mode: str = "total"

    @property
    def window(self) -> int:
        return 10 if self.window_size is None else self.window_size


@dataclass(slots=True)
class SearchRequest:
    body: dict[str, Any]
    params: dict[str, str]
    from_: int = 0
    size: int = 10
    timeout: float | None = None   # seconds (the body's or URL's ``timeout``); None: no limit
    sort: list[SortSpec] | None = None
    source: SourceFilter = field(default_factory=SourceFilter)
    track_total_hits: int | bool = 10_000
    explain: bool = False
    min_score: float | None = None
    version: bool = False
    seq_no_primary_term: bool = False
    track_scores: bool = False
    rescore: list[RescoreSpec] = field(default_factory=list)
    search_after: list[Any] | None = None
    query: Query | None = None
    post_filter: Query | None = None
    stored_fields: list[str] | None = None
    terminate_after: int = 0
    tth_given: bool = False


@dataclass(slots=True)
class ShardResult:
    """One index's query-phase output: its top candidates (global doc ids) and their scores."""
    index: "LocalIndex"
    searcher: Searcher
    query: Query
    weight: Weight
    docs: np.ndarray           # global doc ids within the reader, in rank order
    scores: np.ndarray         # float32
    sort_keys: list[list[Any]] | None
    total: int
    rescore_queries: list[Query] = field(default_factory=list)
    named_matches: dict[int, list[str]] | None = None   # page doc -> matched query names (fetch phase)
    max_score: float | None = None   # sorted requests with track_scores: best score of every match


def _unknown_key(kind: str, key: str) -> ParsingError:
    return ParsingError(f"Unknown key for a {kind} in [{key}].")


def parse_request(body: Any, params: dict[str, str], *, has_body: bool = True,
                  non_standard: bool = True) -> SearchRequest:
    """``RestSearchAction.parseSearchRequest``: the body as ``SearchSourceBuilder.parseXContent`` reads
    it (key by key, in document order, each by the token its value starts with), then the URL
    parameters. Everything here is the coordinating node's work: queries are parsed (not built)."""
    if body is None and has_body:
        raise ParsingError("Expected [START_OBJECT] but found [VALUE_NULL]")
    if body is not None and token(body) != "START_OBJECT":
        raise ParsingError(f"Expected [START_OBJECT] but found [{token(body)}]")
    body = body or {}
    request = SearchRequest(body=body, params=params)
    ctx = ParseContext()
    # one token stream over the whole body, as the Java parser is one: a query whose hand-written
    # parser stops early leaves the rest of its tokens to this loop, which then fails on them
    stream = TokenStream(body, started=True)
    key = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind is None:
            break
        if kind == "FIELD_NAME":
            key = stream.value
            continue
        value = stream.value
        if kind in VALUE_TOKENS:
            _parse_value_field(request, key, kind, value)
        elif kind == "START_OBJECT":
            if key in ("query", "post_filter"):
                parsed = parse_query_stream(stream, ctx)
                if key == "query":
                    request.query = parsed
                else:
                    request.post_filter = parsed
                continue
            if key == "_source":
                request.source = SourceFilter.from_xcontent(value)
            elif key == "sort":
                request.sort = parse_sort_body(value)
            elif key == "rescore":
                request.rescore = [_parse_rescorer(TokenStream(value, started=True), ctx)]
            elif key == "ext":
                _parse_ext(value)
            elif key in _UNSUPPORTED_OBJECTS:
                raise UnsupportedError(f"search request option [{key}]")
            else:
                raise _unknown_key(kind, key)
            stream.finish_subtree()
        elif kind == "START_ARRAY":
            if key == "stored_fields":
                request.stored_fields = _stored_fields(value)
            elif key == "sort":
                request.sort = parse_sort_body(value)
            elif key == "rescore":
                rescore_stream = TokenStream(value, started=True)
                request.rescore = []
                while rescore_stream.next_token() != "END_ARRAY":
                    request.rescore.append(_parse_rescorer(rescore_stream, ctx))
            elif key == "_source":
                request.source = SourceFilter.from_xcontent(value)
            elif key == "search_after":
                request.search_after = _search_after(value)
            elif key in _UNSUPPORTED_ARRAYS:
                raise UnsupportedError(f"search request option [{key}]")
            else:
                raise _unknown_key(kind, key)
            stream.finish_subtree()
        else:
            raise _unknown_key(kind, key)
    trailing = stream.next_token()
    if trailing is not None:
        raise ParsingError(f"Unexpected token [{trailing}] found after the main object.")
    _apply_params(request, params)
    if non_standard:   # a body with NaN/Infinity literals (see decode_body_checked)
        walk_tokens(body)   # a parse that never looked at a non-standard literal still read it
    if request.sort is not None and len(request.sort) == 1 and request.sort[0].field == "_score" \
            and request.sort[0].order == "desc":
        # SortBuilder.buildSort: a lone score-descending sort is the natural order and is dropped,
        # so the response is that of an unsorted request (real _score, max_score, no "sort")
        request.sort = None
    if request.track_total_hits == -1:
        request.track_total_hits = False
    return request


def _parse_value_field(request: SearchRequest, key: str, kind: str, value: Any) -> None:
    if key == "from":
        request.from_ = _checked_from(int_value(value))
    elif key == "size":
        request.size = _checked_size(int_value(value))
    elif key == "timeout":
        request.timeout = parse_time_value(text(value), "timeout")
    elif key == "terminate_after":
        request.terminate_after = int_value(value)
    elif key == "min_score":
        request.min_score = float(float_value(value))
    elif key == "version":
        request.version = boolean_value(value)
    elif key == "seq_no_primary_term":
        request.seq_no_primary_term = boolean_value(value)
    elif key == "explain":
        request.explain = boolean_value(value)
    elif key == "track_scores":
        request.track_scores = boolean_value(value)
    elif key == "include_named_queries_score":
        boolean_value(value)   # matched_queries are listed by name either way
    elif key == "track_total_hits":
        request.tth_given = True
        if kind == "VALUE_BOOLEAN" or (kind == "VALUE_STRING" and is_boolean_text(value)):
            request.track_total_hits = boolean_value(value)
        else:
            request.track_total_hits = int_value(value)
    elif key == "_source":
        request.source = SourceFilter.from_xcontent(value)
    elif key == "stored_fields":
        request.stored_fields = _stored_fields(value)
    elif key == "sort":
        name = text(value)   # SearchSourceBuilder.sort(String): a field (or _score) name, appended
        request.sort = (request.sort or []) + [SortSpec(name, "desc" if name == "_score" else "asc")]
    elif key == "profile":
        if boolean_value(value):
            raise UnsupportedError("search request option [profile]")
    elif key == "verbose_pipeline":
        boolean_value(value)
    elif key == "search_pipeline":
        text(value)
        raise UnsupportedError("search request option [search_pipeline]")
    else:
        raise _unknown_key(kind, key)


def _checked_from(value: int) -> int:
    if value < 0:
        raise IllegalArgumentError(f"[from] parameter cannot be negative, found [{value}]")
    return value


def _checked_size(value: int) -> int:
    if value < 0:
        raise IllegalArgumentError(f"[size] parameter cannot be negative, found [{value}]")
    return value


_TIME_UNITS = ("nanos", "micros", "ms", "s", "m", "h", "d")


_UNIT_SECONDS = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_time_value(raw: str, setting: str) -> float | None:
    """``TimeValue.parseTimeValue``: a whole number with a unit, ``-1`` or ``0``. Returns seconds,
    None for ``-1`` (no limit)."""
    normalized = raw.lower().strip()
    for unit in _TIME_UNITS:
        if normalized.endswith(unit):
            number = normalized[:-len(unit)].strip()
            if re.fullmatch(r"[+-]?\d+", number) and -(2 ** 63) <= int(number) < 2 ** 63:
                if int(number) < -1:
                    raise IllegalArgumentError(f"failed to parse setting [{setting}] with value [{raw}] as a time "
                                               "value: negative durations are not supported")
                return None if int(number) == -1 else int(number) * _UNIT_SECONDS[unit]
            try:
                java_parse_double(number)
            except OpenSearchError:
                raise IllegalArgumentError(f"failed to parse [{raw}]") from None
            raise IllegalArgumentError(f"failed to parse [{raw}], fractional time values are not supported")
    if re.fullmatch(r"-0*1|0+", normalized):
        return None if normalized.startswith("-") else 0.0
    raise IllegalArgumentError(f"failed to parse setting [{setting}] with value [{raw}] as a time value: unit is "
                               "missing or unrecognized")


def _stored_fields(value: Any) -> list[str]:
    """``StoredFieldsContext.fromXContent``: a name or an array of names (``_none_`` alone)."""
    kind = token(value)
    if kind == "VALUE_STRING":
        names = [value]
    elif kind == "START_ARRAY":
        names = [text(item) for item in value]
    else:
        raise ParsingError(f"Expected [VALUE_STRING] or [START_ARRAY] in [stored_fields] but found [{kind}]")
    if "_none_" in names and len(names) > 1:
        raise IllegalArgumentError("cannot combine _none_ with other fields")
    return names


def _search_after(value: list[Any]) -> list[Any]:
    """``SearchAfterBuilder.fromXContent``: numbers, strings, booleans and nulls, at least one."""
    for item in value:
        kind = token(item)
        if kind not in ("VALUE_STRING", "VALUE_NUMBER", "VALUE_BOOLEAN", "VALUE_NULL"):
            raise ParsingError(f"Expected [VALUE_STRING] or [VALUE_NUMBER] or [VALUE_BOOLEAN] or [VALUE_NULL] but "
                               f"found [{kind}] inside search_after.")
    if not value:
        raise IllegalArgumentError("Values must contains at least one value.")
    return list(value)


def _parse_ext(value: dict[str, Any]) -> None:
    """The ``ext`` object: each section is a named ``SearchExtBuilder``."""
    for name, section in value.items():
        token(section)
        parser = EXT_PARSERS.get(name)
        if parser is None:
            raise OpenSearchError(f"unknown field [{name}]", status=400, error_type="named_object_not_found_exception")
        parser(section)


_RESCORE_MODES = ("total", "multiply", "avg", "max", "min")


def _query_rescorer(value: Any, ctx: ParseContext) -> RescoreSpec:
    """``QueryRescorerBuilder.fromXContent`` (an ObjectParser named ``query``)."""
    def mode(state: dict[str, Any], raw: Any) -> None:
        name = text(raw)
        if name.lower() not in _RESCORE_MODES:
            raise IllegalArgumentError(f"illegal score_mode [{name}]")
        state["score_mode"] = name.lower()

    state: dict[str, Any] = ObjectParser("query", {
        "rescore_query": Field(OBJECT, lambda st, v: st.__setitem__("query", parse_query(v, ctx))),
        "query_weight": Field(NUMBER, lambda st, v: st.__setitem__("query_weight", float(float_value(v)))),
        "rescore_query_weight": Field(NUMBER, lambda st, v: st.__setitem__("rescore_query_weight",
                                                                           float(float_value(v)))),
        "score_mode": Field(STRING, mode),
    }).parse(value, {})
    if "query" not in state:
        raise IllegalArgumentError("rescore_query cannot be null")
    return RescoreSpec(state["query"], None, state.get("query_weight", 1.0), state.get("rescore_query_weight", 1.0),
                       state.get("score_mode", "total"))


def _parse_rescorer(stream: TokenStream, ctx: ParseContext) -> RescoreSpec:
    """``RescorerBuilder.parseFromXContent``: a token loop that does not check where it starts."""
    field_name: str | None = None
    window: int | None = None
    rescorer: RescoreSpec | None = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            field_name = stream.value
        elif stream.is_value():
            if field_name is None:
                raise NullPointerError("fieldName cannot be null")
            if field_name != "window_size":
                raise ParsingError(f"rescore doesn't support [{field_name}]")
            window = int_value(stream.value)
        elif kind == "START_OBJECT":
            if field_name != "query":
                raise OpenSearchError(f"unknown field [{field_name}]", status=400,
                                      error_type="named_object_not_found_exception")
            rescorer = _query_rescorer(stream.subtree(), ctx)
            stream.finish_subtree()
        else:
            raise ParsingError(f"unexpected token [{kind}] after [{field_name}]")
    if rescorer is None:
        raise ParsingError("missing rescore type")
    if window is not None:
        rescorer.window_size = window
    return rescorer


def _param_int(params: dict[str, str], name: str) -> int | None:
    """``RestRequest.paramAsInt``: ``Integer.parseInt`` or a 400 naming the parameter."""
    raw = params.get(name)
    if raw is None:
        return None
    if not re.fullmatch(r"[+-]?[0-9]+", raw) or not -(2 ** 31) <= int(raw) < 2 ** 31:
        raise IllegalArgumentError(f"Failed to parse int parameter [{name}] with value [{raw}]",
                                   caused_by=NumberFormatError(f'For input string: "{raw}"'))
    return int(raw)


def _param_bool(params: dict[str, str], name: str) -> bool | None:
    """``RestRequest.paramAsBoolean``: ``true``/``false``; empty means the default."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if raw not in ("true", "false"):
        raise IllegalArgumentError(f"Failed to parse value [{raw}] as only [true] or [false] are allowed.")
    return raw == "true"


def _apply_params(request: SearchRequest, params: dict[str, str]) -> None:
    """The URL parameters, in ``RestSearchAction``'s order (they override the body)."""
    if not params:
        return
    for name in ("batched_reduce_size", "pre_filter_shard_size", "max_concurrent_shard_requests"):
        _param_int(params, name)
    for name in ("allow_partial_search_results", "request_cache", "ccs_minimize_roundtrips"):
        _param_bool(params, name)
    if _param_bool(params, "rest_total_hits_as_int"):
        if not request.tth_given:
            request.track_total_hits = True
        elif request.track_total_hits is not True and request.track_total_hits not in (False, -1,
                                                                                          TRACK_TOTAL_HITS_ACCURATE):
            raise IllegalArgumentError("[rest_total_hits_as_int] cannot be used if the tracking of total hits is not "
                                       f"accurate, got {request.track_total_hits}")
    _param_bool(params, "include_named_queries_score")
    from_ = _param_int(params, "from")
    if from_ is not None:
        request.from_ = _checked_from(from_)
    size = _param_int(params, "size")
    if size is not None:
        request.size = _checked_size(size)
    for name in ("explain", "version", "seq_no_primary_term"):
        flag = _param_bool(params, name)
        if flag is not None:
            setattr(request, name, flag)
    if params.get("timeout") is not None:
        request.timeout = parse_time_value(params["timeout"], "timeout")
    terminate_after = _param_int(params, "terminate_after")
    if terminate_after is not None:
        if terminate_after < 0:
            raise IllegalArgumentError("terminateAfter must be > 0")
        request.terminate_after = terminate_after
    request.source.with_params(params)
    track_scores = _param_bool(params, "track_scores")
    if track_scores is not None:
        request.track_scores = track_scores
    raw_tth = params.get("track_total_hits")
    if raw_tth is not None:
        if is_boolean_text(raw_tth):
            request.track_total_hits = raw_tth == "true"
        else:
            value = _param_int(params, "track_total_hits")
            assert value is not None
            if value < -1:
                raise IllegalArgumentError(f"[track_total_hits] parameter must be positive or equals to -1, got {value}")
            request.track_total_hits = value
    if params.get("sort"):
        request.sort = (request.sort or []) + parse_sort_param(params["sort"])


# -- query phase -----------------------------------------------------------------------------------
def parse_for_index(index: "LocalIndex", body: dict[str, Any] | None, key: str = "query") -> Query:
    spec = (body or {}).get(key)
    if spec is None:
        return MatchAllQuery()
    return parse_query(spec, ParseContext(index))


def collect_matches(searcher: Searcher, weight: Weight) -> tuple[np.ndarray, np.ndarray]:
    """All matching docs of the reader as (global doc ids, float32 scores)."""
    doc_parts, score_parts = [], []
    for ctx in searcher.segment_contexts():
        found = weight.matches(ctx)
        if len(found):
            doc_parts.append(found.docs.astype(np.int64) + ctx.base)
            score_parts.append(found.scores)
    if not doc_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if len(doc_parts) == 1:
        return doc_parts[0], score_parts[0]
    return np.concatenate(doc_parts), np.concatenate(score_parts)


def top_by_score(docs: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (score desc, doc asc), as Lucene's TopScoreDocCollector orders them."""
    if k <= 0 or not len(docs):
        return docs[:0], scores[:0]
    if len(docs) > k * 4:
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= threshold
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores.astype(np.float64)))[:k]
    return docs[order], scores[order]


def with_alias_filters(index: "LocalIndex", query: Query, alias_filters: list[dict[str, Any]]) -> Query:
    """Searching through filtered aliases ANDs the (ORed) alias filters with the query."""
    if not alias_filters:
        return query
    from localnode.search.queries.compound import BoolQuery
    ctx = ParseContext(index)
    filters = [parse_query(spec["filter"], ctx) for spec in alias_filters]
    combined = filters[0] if len(filters) == 1 else BoolQuery([], filters, [], [], 1)
    return BoolQuery([query], [], [combined], [], None)


def build_weight(searcher: Searcher, query: Query, scoring: bool) -> Weight:
    """``QueryShardContext.toQuery``: build the query against the shard; what fails is reported as
    "failed to create query" (a ``query_shard_exception``) unless it already is a shard or parsing
    error, or a failure of the query phase's rewrite."""
    try:
        return query.weight(searcher, np.float32(1.0), scoring)
    except OpenSearchError as exc:
        if getattr(exc, "query_phase", False):
            raise
        raise failed_to_create_query(exc, searcher.index.name, searcher.index.uuid) from None


def query_phase(index: "LocalIndex", request: SearchRequest,
                alias_filters: list[dict[str, Any]] | None = None) -> ShardResult:
    """One shard's work, in ``SearchService.createContext`` / ``QueryPhase`` order: build the query,
    the post filter, the sort, the rescorers, check ``search_after`` and the windows
    (``DefaultSearchContext.preProcess``), then rewrite and run."""
    reader = index.reader
    searcher = Searcher(index, reader)
    query = with_alias_filters(index, request.query or MatchAllQuery(), alias_filters or [])
    try:
        needs_scores = request.sort is None or request.track_scores or any(s.field == "_score" for s in request.sort)
        weight = build_weight(searcher, query, needs_scores)
        post_filter = build_weight(searcher, request.post_filter, False) if request.post_filter is not None else None
        if request.sort is not None:
            check_sort(searcher, request.sort)
        rescore_weights = [build_weight(searcher, spec.query, True) for spec in request.rescore]
        if request.search_after is not None:
            _check_search_after(request)
            check_search_after(searcher, request.sort or [], request.search_after)
        if request.stored_fields == ["_none_"] and request.source.enabled and _source_requested(request):
            raise OpenSearchError("[stored_fields] cannot be disabled if [_source] is requested", status=500,
                                  error_type="search_exception")
        window = request.from_ + request.size
        if window > MAX_RESULT_WINDOW:
            raise IllegalArgumentError(
                f"Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but "
                f"was [{window}]. See the scroll api for a more efficient way to request large data sets. This "
                "limit can be set by changing the [index.max_result_window] index level setting.")
        if request.rescore:
            if request.sort is not None:
                raise IllegalArgumentError("Cannot use [sort] option in conjunction with [rescore].")
            for spec in request.rescore:
                if spec.window > MAX_RESCORE_WINDOW:
                    raise IllegalArgumentError(
                        f"Rescore window [{spec.window}] is too large. It must be less than [{MAX_RESCORE_WINDOW}]. "
                        "This prevents allocating massive heaps for storing the results to be rescored. This limit "
                        "can be set by changing the [index.max_rescore_window] index level setting.")
        check_rewrite(weight)
        if post_filter is not None:
            check_rewrite(post_filter)
        sort = request.sort
        by_score = request.search_after is None and sort is None
        k = max([request.from_ + request.size] + [spec.window for spec in request.rescore])
        pruned = None
        if by_score and post_filter is None and request.min_score is None:
            pruned = weight.top_docs(k) or pruned_top_k(searcher, weight, k, request.track_total_hits)
        if pruned is not None:
            docs, scores, total = pruned   # already the top k, total a lower bound past the threshold
        else:
            docs, scores = collect_matches(searcher, weight)
            if post_filter is not None:
                pf_docs, _ = collect_matches(searcher, post_filter)
                keep = np.isin(docs, pf_docs)
                docs, scores = docs[keep], scores[keep]
            if request.min_score is not None:
                keep = scores >= np.float32(request.min_score)
                docs, scores = docs[keep], scores[keep]
            total = len(docs)
        sort_keys = None
        max_score = None
        if by_score:
            if k > 0 and len(scores) and np.isnan(scores).any():
                # Lucene's TopScoreDocCollector cannot order NaN scores: its sentinel entries (doc
                # NO_MORE_DOCS) end up among the hits and OpenSearch 2.19 fails with this 500
                raise OpenSearchError(f"Index 2147483647 out of bounds for length {reader.max_doc}", status=500,
                                      error_type="index_out_of_bounds_exception")
            docs, scores = top_by_score(docs, scores, k)
            if request.rescore:
                from localnode.search.rescore import apply_rescores
                for rescore_weight in rescore_weights:
                    check_rewrite(rescore_weight)
                docs, scores = apply_rescores(searcher, docs, scores, request.rescore, rescore_weights)
        else:
            if request.track_scores and len(scores):
                max_score = float(scores.max())   # MaxScoreCollector sees every collected match
            docs, scores, sort_keys = sort_values(searcher, docs, scores, sort or [], request.from_ + request.size,
                                                  request.search_after)
        index.stats_counters["query_total"] += 1
    except OpenSearchError as exc:
        raise SearchPhaseExecutionError(exc, index.name) from None
    return ShardResult(index, searcher, query, weight, docs, scores, sort_keys, total,
                       [spec.query for spec in request.rescore], max_score=max_score)


def _source_requested(request: SearchRequest) -> bool:
    """``SearchContext.sourceRequested``: a fetch-source context given in the body or the URL."""
    return "_source" in request.body or any(name in request.params
                                            for name in ("_source", "_source_includes", "_source_excludes"))


def _check_search_after(request: SearchRequest) -> None:
    """``SearchService.parseSource`` / ``SearchAfterBuilder.buildFieldDoc``."""
    if request.from_ > 0:
        raise OpenSearchError("`from` parameter must be set to 0 when `search_after` is used.", status=500,
                              error_type="search_exception")
    if not request.sort:
        raise IllegalArgumentError("Sort must contain at least one field.")


# -- merge + fetch ---------------------------------------------------------------------------------
def search(targets: list[tuple["LocalIndex", list[dict[str, Any]]]], body: "dict[str, Any] | SearchRequest | None",
           params: dict[str, str]) -> dict[str, Any]:
    """Run a search: ``body`` is a request body, or a :class:`SearchRequest` already parsed from one."""
    started = time.perf_counter()
    request = body if isinstance(body, SearchRequest) else parse_request(body, params, has_body=body is not None)
    indices = [index for index, _ in targets]
    try:
        with cancellation.deadline(request.timeout) as budget:
            shard_results = [query_phase(index, request, filters) for index, filters in targets]
    except cancellation.Cancelled as exc:
        if exc.reason != "timeout" or budget.deadline is None or time.monotonic() <= budget.deadline:
            raise   # an outer budget ended (the caller gave up): not this request's timeout
        return _timed_out(targets, started)
    tth = request.track_total_hits
    if not isinstance(tth, bool) and tth < -1:
        raise ReducePhaseError(IllegalArgumentError(f"value must be >= 0, got {tth}"))
    ranked = _merge(shard_results, request)
    page = ranked[request.from_:request.from_ + request.size]
    for shard_i, result in enumerate(shard_results):
        _name_matches(result, [doc for s, doc, _, _ in page if s == shard_i])
    # SearchPhaseController.getHits: a sort on _score gives the hit its score from the sort value;
    # otherwise a field-sorted hit has a score only with track_scores
    scored = request.sort is None or request.track_scores or any(s.field == "_score" for s in request.sort)
    hits = [_fetch_hit(shard_results[shard_i], doc, score if scored else None, keys, request)
            for shard_i, doc, score, keys in page]
    ext = request.body.get("ext") or {}
    extensions = [extension for name, extension in FETCH_EXTENSIONS.items() if name in ext or name == "*"]
    if extensions and hits:
        for hit, (_, doc, _, _) in zip(hits, page):
            hit["__doc"] = doc   # the extensions' handle on the hit's document, removed below
        for extension in extensions:
            for shard_i, result in enumerate(shard_results):
                shard_hits = [h for (s, _, _, _), h in zip(page, hits) if s == shard_i]
                if shard_hits:
                    extension(request, result, shard_hits)
        for hit in hits:
            hit.pop("__doc", None)
    total = sum(r.total for r in shard_results)
    hits_obj: dict[str, Any] = {}
    tth = request.track_total_hits
    if tth is not False:
        if tth is True or total <= int(tth):
            hits_obj["total"] = {"value": total, "relation": "eq"}
        else:
            hits_obj["total"] = {"value": int(tth), "relation": "gte"}
    if request.sort is None:
        all_scores = [score for _, _, score, _ in ranked]
        hits_obj["max_score"] = float(max(all_scores)) if all_scores else None
    else:
        # a field sort tracks the max score only with track_scores (TopDocsCollectorContext)
        shard_max = [r.max_score for r in shard_results if r.max_score is not None]
        hits_obj["max_score"] = float(np.float32(max(shard_max))) if request.track_scores and shard_max else None
    hits_obj["hits"] = hits
    response: dict[str, Any] = {
        "took": int((time.perf_counter() - started) * 1000), "timed_out": False,
        "_shards": {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0},
        "hits": hits_obj}
    if params.get("rest_total_hits_as_int") == "true" and "total" in hits_obj:
        hits_obj["total"] = hits_obj["total"]["value"]
    return response


class ReducePhaseError(OpenSearchError):
    """A failure of the coordinating node after every shard answered (``SearchPhaseController``):
    ``search_phase_execution_exception`` of phase ``fetch`` with no shard failure to blame."""
    status = 400
    error_type = "search_phase_execution_exception"

    def __init__(self, cause: OpenSearchError) -> None:
        super().__init__("", phase="fetch", grouped=True, failed_shards=[], caused_by=cause)

    def to_body(self) -> dict[str, Any]:
        body = super().to_body()
        body["error"]["root_cause"] = []
        return body


def _timed_out(targets: list[Any], started: float) -> dict[str, Any]:
    """The answer of a search stopped by its ``timeout`` in the query phase: ``timed_out: true`` and
    nothing collected (a truthful lower bound, as OpenSearch's partial results are)."""
    return {"took": int((time.perf_counter() - started) * 1000), "timed_out": True,
            "_shards": {"total": len(targets), "successful": len(targets), "skipped": 0, "failed": 0},
            "hits": {"total": {"value": 0, "relation": "gte"}, "max_score": None, "hits": []}}


def _merge(results: list[ShardResult], request: SearchRequest) -> list[tuple[int, int, float, list[Any] | None]]:
    rows: list[tuple[int, int, float, list[Any] | None]] = []
    for shard_i, result in enumerate(results):
        # float32 values as Python floats, exactly: the hits' _score needs no further rounding
        for rank, (doc, score) in enumerate(zip(result.docs.tolist(), result.scores.astype(np.float32, copy=False).tolist())):
            keys = result.sort_keys[rank] if result.sort_keys is not None else None
            rows.append((shard_i, doc, score, keys))
    if request.sort is None:
        if len(results) > 1:
            rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    elif len(results) > 1:
        from localnode.search.sorting import merge_key
        rows.sort(key=lambda r: (merge_key(request.sort, r[3]), r[0], r[1]))  # type: ignore[arg-type]
    return rows


def _fetch_hit(result: ShardResult, doc: int, score: float | None, keys: list[Any] | None,
               request: SearchRequest) -> dict[str, Any]:
    """One hit of the page; ``score`` is already a float32 value (None when the hit has no score)."""
    segment, local = result.searcher.reader.locate(doc)
    hit: dict[str, Any] = {"_index": result.index.name, "_id": segment.ids[local]}
    if request.version:
        hit["_version"] = int(segment.versions[local])
    if request.seq_no_primary_term:
        hit["_seq_no"] = int(segment.seq_nos[local])
        hit["_primary_term"] = 1
    # SearchHit.toXContent: a NaN score is null; Jackson writes an infinite float as a string
    hit["_score"] = score if score is None or math.isfinite(score) else \
        None if math.isnan(score) else ("Infinity" if score > 0 else "-Infinity")
    if request.source.enabled:
        source = orjson.loads(segment.source_bytes(local))
        hit["_source"] = request.source.apply(source)
    if keys is not None:
        hit["sort"] = keys
    if result.named_matches:
        names = _matched_queries(result, doc)
        if names:
            hit["matched_queries"] = names
    if request.explain:
        hit["_shard"] = f"[{result.index.name}][0]"
        hit["_node"] = "localnode"
        hit["_explanation"] = _explain(result, doc)
    return hit


def _name_matches(result: ShardResult, page_docs: list[int]) -> None:
    """``matched_queries`` of the page's hits: each named query is evaluated on those documents only
    (as Lucene's named-query matching asks each sub-query about one hit), not over the whole index."""
    named = [query for query in result.query.walk() if query.name is not None]
    result.named_matches = {}
    if not named or not page_docs:
        return
    from localnode.search.rescore import evaluate_on_docs
    docs = np.asarray(page_docs, dtype=np.int64)
    for query in named:
        _, matched = evaluate_on_docs(result.searcher, query, docs)
        for doc in docs[matched].tolist():
            names = result.named_matches.setdefault(doc, [])
            if query.name not in names:
                names.append(query.name)


def _matched_queries(result: ShardResult, doc: int) -> list[str]:
    return list((result.named_matches or {}).get(doc, ()))


def _explain(result: ShardResult, doc: int) -> dict[str, Any]:
    segment, local = result.searcher.reader.locate(doc)
    for ctx in result.searcher.segment_contexts():
        if ctx.segment is segment:
            explanation = result.weight.explain(ctx, local)
            if explanation is not None:
                return explanation.to_dict()
    return {"value": 0.0, "description": "no matching term", "details": []}
