"""Feature logging, ``ext.ltr_log`` (opensearch-ltr 2.19 ``LoggingSearchExtBuilder`` + ``LoggingFetchSubPhase``).

For every returned hit, each log spec re-evaluates the features of one ``sltr`` -- found by
``_name`` in the main query, or as ``rescore[i]`` -- at boost 1.0 with no normalizers and no model,
and writes ``hit.fields._ltrlog = [{log_name: [{"name": f, "value": v} | {"name": f}, ...]}]``.

It runs in the fetch phase, so only the page's hits are evaluated (vectorised per segment). The
plugin's branch logic is kept as is, quirks included: when the main query has no named query at
all, named-query specs are silently skipped (the plugin's "inner hits" branch), and rescore specs
only run when rescorers exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from localnode.errors import IllegalArgumentError, OpenSearchError, ParsingError, SearchPhaseExecutionError
from localnode.ltr.sltr import SltrQuery
from localnode.ltr.xcontent import (BOOLEAN, NUMBER, OBJECT_ARRAY, STRING, Field, NumberFormatError, ObjectParser,
                                    XContentParseError, x_array, x_bool, x_int, x_text)
from localnode.search.execute import EXT_PARSERS, FETCH_EXTENSIONS
from localnode.search.query import Query, SegmentContext

if TYPE_CHECKING:
    from localnode.index.shard import LocalIndex
    from localnode.search.execute import SearchRequest, ShardResult

NAME = "ltr_log"
FIELD = "_ltrlog"

# Lucene class names the plugin's messages print for a named query that is not an sltr.
_LUCENE_NAMES = {
    "TermQuery": "TermQuery", "TermsQuery": "TermInSetQuery", "IdsQuery": "TermInSetQuery",
    "RangeQuery": "IndexOrDocValuesQuery", "ExistsQuery": "FieldExistsQuery", "BoolQuery": "BooleanQuery",
    "DisMaxQuery": "DisjunctionMaxQuery", "ConstantScoreQuery": "ConstantScoreQuery",
    "MatchAllQuery": "MatchAllDocsQuery", "MatchNoneQuery": "MatchNoDocsQuery", "MatchQuery": "TermQuery",
    "MatchPhraseQuery": "PhraseQuery", "MultiMatchQuery": "DisjunctionMaxQuery",
    "FunctionScoreQuery": "FunctionScoreQuery",
}


@dataclass
class LogSpec:
    name: str | None = None
    named_query: str | None = None
    rescore_index: int | None = None
    missing_as_zero: bool = False

    @property
    def logger_name(self) -> str:
        if self.name is not None:
            return self.name
        return self.named_query if self.named_query is not None else f"rescore[{self.rescore_index}]"


def _as_parsing(error: OpenSearchError) -> OpenSearchError:
    if isinstance(error, IllegalArgumentError | XContentParseError | NumberFormatError):
        return ParsingError(error.reason, caused_by=error)
    return error


def _setter(attribute: str, convert: Any) -> Any:
    return lambda state, value: setattr(state, attribute, convert(value))


_SPEC_PARSER = ObjectParser("spec", {
    "name": Field(STRING, _setter("name", x_text)),
    "named_query": Field(STRING, _setter("named_query", x_text)),
    "rescore_index": Field(NUMBER, _setter("rescore_index", x_int)),
    "missing_as_zero": Field(BOOLEAN, _setter("missing_as_zero", x_bool)),
})


def _parse_spec(value: Any) -> LogSpec:
    try:
        spec = _SPEC_PARSER.parse(value, LogSpec())
    except OpenSearchError as exc:
        raise _as_parsing(exc) from exc
    if spec.named_query is None and spec.rescore_index is None:
        raise ParsingError("Either [named_query] or [rescore_index] must be set.")
    if spec.rescore_index is not None and spec.rescore_index < 0:
        raise ParsingError("[rescore_index] must be a non-negative integer.")
    return spec


class _Ext:
    def __init__(self) -> None:
        self.log_specs: list[LogSpec] | None = None


_EXT_PARSER = ObjectParser(NAME, {
    "log_specs": Field(OBJECT_ARRAY, _setter("log_specs", lambda v: x_array(v, _parse_spec))),
})


def parse_ext(value: Any) -> list[LogSpec]:
    """``LoggingSearchExtBuilder.parse``: ``log_specs`` is a list or one object; at least one spec."""
    try:
        ext = _EXT_PARSER.parse(value, _Ext())
    except OpenSearchError as exc:
        raise _as_parsing(exc) from exc
    if not ext.log_specs:
        raise ParsingError(f"[{NAME}] should define at least one [log_specs]")
    return ext.log_specs


# --------------------------------------------------------------------------------------------------
# Finding the sltr queries

def _lucene_name(query: Query) -> str:
    return _LUCENE_NAMES.get(type(query).__name__, type(query).__name__)


def _named_queries(query: Query) -> dict[str, Query]:
    named: dict[str, Query] = {}
    for node in query.walk():
        if node.name is not None:
            named[node.name] = node
    return named


def _from_named(spec: LogSpec, named: dict[str, Query]) -> SltrQuery:
    assert spec.named_query is not None
    found = named.get(spec.named_query)
    if found is None:
        raise IllegalArgumentError(f"No query named [{spec.named_query}] found")
    if not isinstance(found, SltrQuery):
        raise IllegalArgumentError(f"Query named [{spec.named_query}] must be a [sltr] query [{_lucene_name(found)}] found")
    return found


def _from_rescore(spec: LogSpec, rescores: list[Query]) -> SltrQuery:
    assert spec.rescore_index is not None
    if spec.rescore_index >= len(rescores):
        raise IllegalArgumentError(f"rescore index [{spec.rescore_index}] is out of bounds, only [{len(rescores)}] "
                                   "rescore context(s) are available")
    found = rescores[spec.rescore_index]
    if not isinstance(found, SltrQuery):
        raise IllegalArgumentError(f"Expected a [sltr] query but found a [{_lucene_name(found)}] at index "
                                   f"[{spec.rescore_index}]")
    return found


def loggers(specs: list[LogSpec], result: "ShardResult") -> list[tuple[LogSpec, SltrQuery]]:
    """``LoggingFetchSubPhase.getProcessor``'s three branches, in its order (named specs first)."""
    named = _named_queries(result.query)
    out: list[tuple[LogSpec, SltrQuery]] = []
    if named:
        out += [(s, _from_named(s, named)) for s in specs if s.named_query is not None]
        out += [(s, _from_rescore(s, result.rescore_queries)) for s in specs if s.rescore_index is not None]
    elif not any(s.named_query is not None for s in specs) and result.rescore_queries:
        out += [(s, _from_rescore(s, result.rescore_queries)) for s in specs if s.rescore_index is not None]
    return out


class FetchPhaseFailure(SearchPhaseExecutionError):
    """A fetch sub-phase that cannot be built fails the shard; its root cause is the inner error."""

    def to_body(self) -> dict[str, Any]:
        body = super().to_body()
        root: OpenSearchError = self.shard_cause
        while root.caused_by is not None:
            root = root.caused_by
        body["error"]["root_cause"] = [{k: v for k, v in root.cause_dict().items() if k != "caused_by"}]
        return body


def _fetch_failure(error: OpenSearchError, index: "LocalIndex") -> OpenSearchError:
    wrapped = OpenSearchError("Error building fetch sub-phases", status=error.status,
                              error_type="fetch_phase_execution_exception", caused_by=error, index=index.name,
                              shard="0", index_uuid=index.uuid)
    return FetchPhaseFailure(wrapped, index.name)


# --------------------------------------------------------------------------------------------------
# Writing the logs

def _log_entries(names: list[str], values: np.ndarray, matched: np.ndarray, missing_as_zero: bool) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for ordinal, name in enumerate(names):
        entry: dict[str, Any] = {"name": name}
        if matched[ordinal]:
            entry["value"] = np.float32(values[ordinal])
        elif missing_as_zero:
            entry["value"] = np.float32(0.0)
        entries.append(entry)
    return entries


def log_hits(request: "SearchRequest", result: "ShardResult", hits: list[dict[str, Any]]) -> None:
    """The ``ltr_log`` fetch extension: add ``fields._ltrlog`` to every hit of this shard."""
    specs = parse_ext(request.body["ext"][NAME])
    try:
        chosen = loggers(specs, result)
    except OpenSearchError as exc:
        raise _fetch_failure(exc, result.index) from exc
    if not chosen:
        return
    searcher = result.searcher
    contexts: dict[int, SegmentContext] = {id(ctx.segment): ctx for ctx in searcher.segment_contexts()}
    by_segment: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for hit in hits:
        segment, local = searcher.reader.locate(int(hit["__doc"]))
        by_segment.setdefault(id(segment), []).append((local, hit))
    for key, members in by_segment.items():
        ctx = contexts[key]
        docs = np.unique(np.asarray([local for local, _ in members], dtype=np.int32))
        for spec, query in chosen:
            values, matched = query.log_vectors(searcher, ctx, docs)
            names = query.resolve(searcher).model.feature_names
            for local, hit in members:
                row = int(np.searchsorted(docs, local))
                logs = hit.setdefault("fields", {}).setdefault(FIELD, [{}])
                logs[0][spec.logger_name] = _log_entries(names, values[row], matched[row], spec.missing_as_zero)


FETCH_EXTENSIONS[NAME] = log_hits
EXT_PARSERS[NAME] = parse_ext

__all__ = ["LogSpec", "parse_ext", "loggers", "log_hits", "FetchPhaseFailure"]
