"""The search request: query phase per index (its single shard), rescore, merge, fetch phase.

OpenSearch runs the query phase on each shard (here: each index's current reader), keeps the top
``from + size`` (or the rescore window) per shard, merges by score (ties: shard, then doc id), and
fetches sources for the page. Features that only a request body can switch on (rescore, LTR
logging) plug in through :data:`FETCH_EXTENSIONS` and the rescorer registry, so this module stays
about the phases.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import orjson

from localnode.errors import IllegalArgumentError, OpenSearchError, ParsingError, SearchPhaseExecutionError, \
    UnsupportedError
from localnode.search import queries as _registered_queries  # noqa: F401  (registers the parsers)
from localnode.search.query import ParseContext, Query, Searcher, Weight, parse_query
from localnode.search.queries.compound import MatchAllQuery
from localnode.search.sorting import SortSpec, parse_sort, sort_values
from localnode.search.source_filter import SourceFilter
from localnode.search.topk import pruned_top_k

if TYPE_CHECKING:
    from localnode.index.shard import LocalIndex

MAX_RESULT_WINDOW = 10_000
_SUPPORTED_KEYS = {"query", "from", "size", "sort", "_source", "track_total_hits", "explain", "min_score",
                   "version", "seq_no_primary_term", "timeout", "track_scores", "rescore", "ext", "post_filter",
                   "stored_fields", "terminate_after", "search_after"}
_UNSUPPORTED_KEYS = {"aggs", "aggregations", "highlight", "suggest", "collapse", "profile",
                     "docvalue_fields", "fields", "script_fields", "indices_boost", "pit", "slice",
                     "runtime_mappings", "stats", "knn"}

FetchExtension = Callable[["SearchRequest", "ShardResult", list[dict[str, Any]]], None]
FETCH_EXTENSIONS: dict[str, FetchExtension] = {}


@dataclass(slots=True)
class SearchRequest:
    body: dict[str, Any]
    params: dict[str, str]
    from_: int = 0
    size: int = 10
    sort: list[SortSpec] | None = None
    source: SourceFilter = field(default_factory=SourceFilter)
    track_total_hits: int | bool = 10_000
    explain: bool = False
    min_score: float | None = None
    version: bool = False
    seq_no_primary_term: bool = False
    track_scores: bool = False
    rescore: list[dict[str, Any]] = field(default_factory=list)
    search_after: list[Any] | None = None


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


def parse_request(body: dict[str, Any] | None, params: dict[str, str]) -> SearchRequest:
    body = body or {}
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    for key in body:
        if key in _UNSUPPORTED_KEYS:
            raise UnsupportedError(f"search request option [{key}]")
        if key not in _SUPPORTED_KEYS:
            raise ParsingError(f"Unknown key for a START_OBJECT in [{key}].")
    request = SearchRequest(body=body, params=params)
    request.from_ = _int_param(params.get("from", body.get("from", 0)), "from")
    request.size = _int_param(params.get("size", body.get("size", 10)), "size")
    if request.from_ < 0:
        raise IllegalArgumentError(f"[from] parameter cannot be negative, found [{request.from_}]")
    if request.size < 0:
        raise IllegalArgumentError(f"[size] parameter cannot be negative, found [{request.size}]")
    if request.from_ + request.size > MAX_RESULT_WINDOW:
        raise IllegalArgumentError(
            f"Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was "
            f"[{request.from_ + request.size}]. See the scroll api for a more efficient way to request large data "
            "sets. This limit can be set by changing the [index.max_result_window] index level setting.")
    sort_spec = params.get("sort") or body.get("sort")
    if sort_spec is not None:
        request.sort = parse_sort(sort_spec.split(",") if isinstance(sort_spec, str) else sort_spec)
        if len(request.sort) == 1 and request.sort[0].field == "_score" and request.sort[0].order == "desc":
            # SortBuilder.buildSort: a lone score-descending sort is the natural order and is dropped,
            # so the response is that of an unsorted request (real _score, max_score, no "sort")
            request.sort = None
    request.source = SourceFilter.parse(body.get("_source"), params)
    tth = params.get("track_total_hits", body.get("track_total_hits"))
    if tth is not None:
        if str(tth).lower() in ("true", "false"):
            request.track_total_hits = str(tth).lower() == "true"
        else:
            request.track_total_hits = _int_param(tth, "track_total_hits")
    request.explain = _bool(params.get("explain", body.get("explain", False)))
    if body.get("min_score") is not None:
        request.min_score = float(body["min_score"])
    request.version = _bool(params.get("version", body.get("version", False)))
    request.seq_no_primary_term = _bool(params.get("seq_no_primary_term", body.get("seq_no_primary_term", False)))
    request.track_scores = _bool(body.get("track_scores", False))
    if body.get("search_after") is not None:
        if request.sort is None:
            raise IllegalArgumentError("Sort must contain at least one field.")
        if not isinstance(body["search_after"], list):
            raise ParsingError("[search_after] must be an array")
        if request.from_ not in (0, -1):
            raise IllegalArgumentError("[from] parameter must be set to 0 when [search_after] is used.")
        request.search_after = body["search_after"]
    rescore = body.get("rescore")
    if rescore is not None:
        request.rescore = rescore if isinstance(rescore, list) else [rescore]
        if request.sort and not all(s.field == "_score" and s.order == "desc" for s in request.sort):
            raise IllegalArgumentError("Cannot use [sort] option in conjunction with [rescore].")
    return request


def _int_param(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ParsingError(f"[{name}] must be an integer")
    try:
        return int(value.decode() if isinstance(value, bytes) else value)
    except (TypeError, ValueError):
        raise ParsingError(f"Failed to parse int parameter [{name}] with value [{value}]",
                           error_type="illegal_argument_exception") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"


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


def query_phase(index: "LocalIndex", request: SearchRequest,
                alias_filters: list[dict[str, Any]] | None = None) -> ShardResult:
    reader = index.reader
    searcher = Searcher(index, reader)
    query = with_alias_filters(index, parse_for_index(index, request.body), alias_filters or [])
    post_filter = parse_for_index(index, request.body, "post_filter") if request.body.get("post_filter") else None
    rescore_queries = [parse_rescore_query(index, spec) for spec in request.rescore]
    try:
        needs_scores = request.sort is None or request.track_scores or any(s.field == "_score" for s in request.sort)
        weight = query.weight(searcher, np.float32(1.0), needs_scores)
        by_score = request.search_after is None and request.sort is None
        k = max([request.from_ + request.size] + [int(spec.get("window_size", 10)) for spec in request.rescore])
        pruned = None
        if by_score and post_filter is None and request.min_score is None:
            pruned = weight.top_docs(k) or pruned_top_k(searcher, weight, k, request.track_total_hits)
        if pruned is not None:
            docs, scores, total = pruned   # already the top k, total a lower bound past the threshold
        else:
            docs, scores = collect_matches(searcher, weight)
            if post_filter is not None:
                pf_docs, _ = collect_matches(searcher, post_filter.weight(searcher, np.float32(1.0), False))
                keep = np.isin(docs, pf_docs)
                docs, scores = docs[keep], scores[keep]
            if request.min_score is not None:
                keep = scores >= np.float32(request.min_score)
                docs, scores = docs[keep], scores[keep]
            total = len(docs)
        sort_keys = None
        max_score = None
        if by_score:
            docs, scores = top_by_score(docs, scores, k)
            if request.rescore:
                from localnode.search.rescore import apply_rescores
                docs, scores = apply_rescores(searcher, docs, scores, request.rescore, rescore_queries)
        else:
            if request.track_scores and len(scores):
                max_score = float(scores.max())   # MaxScoreCollector sees every collected match
            docs, scores, sort_keys = sort_values(searcher, docs, scores, request.sort or [], request.from_ + request.size,
                                                  request.search_after)
        index.stats_counters["query_total"] += 1
    except OpenSearchError as exc:
        raise SearchPhaseExecutionError(exc, index.name) from None
    return ShardResult(index, searcher, query, weight, docs, scores, sort_keys, total, rescore_queries,
                       max_score=max_score)


def parse_rescore_query(index: "LocalIndex", spec: Any) -> Query:
    if not isinstance(spec, dict) or "query" not in spec:
        raise ParsingError("rescore doesn't support rescorer with name [" + (next(iter(spec)) if isinstance(spec, dict) and spec else "") + "]"
                           if isinstance(spec, dict) and spec and "query" not in spec else "[rescore] requires [query]")
    inner = spec["query"]
    if not isinstance(inner, dict) or "rescore_query" not in inner:
        raise ParsingError("[query] rescore requires [rescore_query]" if isinstance(inner, dict) else
                           "[rescore] query must be an object")
    for key in inner:
        if key not in ("rescore_query", "query_weight", "rescore_query_weight", "score_mode"):
            raise ParsingError(f"[query] unknown field [{key}]")
    for key in spec:
        if key not in ("query", "window_size"):
            raise ParsingError(f"rescore doesn't support [{key}]")
    return parse_query(inner["rescore_query"], ParseContext(index))


# -- merge + fetch ---------------------------------------------------------------------------------
def search(targets: list[tuple["LocalIndex", list[dict[str, Any]]]], body: dict[str, Any] | None,
           params: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    request = parse_request(body, params)
    indices = [index for index, _ in targets]
    shard_results = [query_phase(index, request, filters) for index, filters in targets]
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
    hit["_score"] = score
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
