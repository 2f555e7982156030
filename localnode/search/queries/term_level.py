"""Term-level queries: term, terms, ids, range, exists — and the BM25 term weight they share.

Scoring follows OpenSearch's field types: a ``term`` on text/keyword/boolean fields is a Lucene
TermQuery scored by BM25 (keyword fields have no norms and no freqs, so a single-valued keyword
scores its idf); numeric and date terms, ``terms``, ``ids``, ``range`` and ``exists`` are constant
score queries whose score is the boost.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from localnode.errors import (IllegalArgumentError, NumberFormatError, OpenSearchError, ParsingError,
                              UnsupportedError, failed_to_create_query)
from localnode.mapping.dates import DateParseError, parse_date_millis
from localnode.mapping.fields import (BOOLEAN, DATE, INTEGER_TYPES, KEYWORD, KNN_VECTOR, RANK_FEATURE, RANK_FEATURES,
                                      TEXT, FieldMapper)
from localnode.search.datemath import resolve_date_math
from localnode.search.matches import Matches, members, postings_in
from localnode.search.query import (Explanation, ParseContext, Query, Searcher, SegmentContext, Weight,
                                    check_keys, common_options, query_parser, single_field)
from localnode.search.similarity import LENGTH_TABLE, TermWeight

if TYPE_CHECKING:
    from localnode.search.topk import ScoreTree


# -- BM25 term weight ------------------------------------------------------------------------------
class TermScorerWeight(Weight):
    """Lucene TermWeight + BM25Scorer for one (field, term), stats taken from the whole reader."""

    def __init__(self, searcher: Searcher, field: str, term: str, boost: np.float32) -> None:
        self.field = field
        self.term = term
        reader = searcher.reader
        self.doc_freq, _ = reader.term_stats(field, term)
        doc_count, sum_ttf, _ = reader.field_stats(field)
        self.doc_count = doc_count
        self.sum_ttf = sum_ttf
        self.bm25 = TermWeight.create(float(boost), self.doc_freq, doc_count, sum_ttf) if self.doc_freq else None

    def postings(self, ctx: SegmentContext) -> tuple[np.ndarray, np.ndarray] | None:
        fp = ctx.segment.postings.get(self.field)
        if fp is None or self.bm25 is None:
            return None
        found = fp.postings(self.term)
        if found is None:
            return None
        docs, freqs = found
        if ctx.live is not None:
            keep = ctx.live[docs]
            docs, freqs = docs[keep], freqs[keep]
        return docs, freqs

    def norm_bytes(self, ctx: SegmentContext, docs: np.ndarray) -> np.ndarray:
        norms = ctx.segment.norms.get(self.field)
        if norms is None:
            return np.ones(len(docs), dtype=np.uint8)
        return norms[docs]

    def matches(self, ctx: SegmentContext) -> Matches:
        found = self.postings(ctx)
        if found is None or not len(found[0]):
            return Matches.empty()
        docs, freqs = found
        assert self.bm25 is not None
        return Matches(docs, self.bm25.score(freqs, self.norm_bytes(ctx, docs)))

    def score_tree(self, ctx: SegmentContext) -> "ScoreTree | None":
        from localnode.search.topk import Leaf
        fp = ctx.segment.postings.get(self.field)
        found = None if fp is None or self.bm25 is None else fp.term_range(self.term)
        if found is None or fp is None or self.bm25 is None:
            return Leaf(self.field, 0, 0, np.float32(0.0), np.zeros(256, dtype=np.float32), 0.0,
                        np.zeros(0, dtype=np.float32))
        norms = ctx.segment.norms.get(self.field)
        if norms is None:
            norms = np.ones(ctx.segment.max_doc, dtype=np.uint8)
        best, blocks = fp.impacts(self.term, norms, self.bm25.inv_norms)
        weight = self.bm25.weight
        upper = np.float32(weight - np.float32(weight / np.float32(np.float32(1.0) + best)))
        return Leaf(self.field, found[0], found[1], weight, self.bm25.inv_norms, float(upper), blocks)

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        fp = ctx.segment.postings.get(self.field)
        found = fp.postings(self.term) if fp is not None and self.bm25 is not None else None
        if found is None:
            return Matches.empty()
        window, freqs = postings_in(found[0], found[1], docs.astype(np.int32, copy=False))
        if not len(window):
            return Matches.empty()
        return Matches(window, self.bm25.score(freqs, self.norm_bytes(ctx, window)))  # type: ignore[union-attr]

    def explain(self, ctx: SegmentContext, doc: int) -> Explanation | None:
        found = self.postings(ctx)
        if found is None:
            return None
        docs, freqs = found
        idx = np.searchsorted(docs, doc)
        if idx >= len(docs) or docs[idx] != doc:
            return None
        assert self.bm25 is not None
        freq = float(freqs[idx])
        norm = self.norm_bytes(ctx, docs[idx:idx + 1])
        score = float(self.bm25.score(freqs[idx:idx + 1], norm)[0])
        dl = float(LENGTH_TABLE[int(norm[0])])
        k1, b = 1.2, 0.75
        tf_value = np.float32(freq / (freq + k1 * (1 - b + b * dl / float(self.bm25.avgdl))))
        return Explanation(score, f"weight({self.field}:{self.term} in {doc}) [PerFieldSimilarity], result of:", [
            Explanation(score, f"score(freq={freq}), computed as boost * idf * tf from:", [
                Explanation(float(np.float32(self.bm25.boost * np.float32(2.2))), "boost"),
                Explanation(float(self.bm25.idf),
                            "idf, computed as log(1 + (N - n + 0.5) / (n + 0.5)) from:", [
                                Explanation(self.doc_freq, "n, number of documents containing term"),
                                Explanation(self.doc_count, "N, total number of documents with field")]),
                Explanation(float(tf_value), "tf, computed as freq / (freq + k1 * (1 - b + b * dl / avgdl)) from:", [
                    Explanation(freq, "freq, occurrences of term within document"),
                    Explanation(k1, "k1, term saturation parameter"),
                    Explanation(b, "b, length normalization parameter"),
                    Explanation(dl, "dl, length of field" if ctx.segment.norms.get(self.field) is not None
                                else "dl, length of field (approximate)"),
                    Explanation(float(self.bm25.avgdl), "avgdl, average length of field")])])])

    def describe(self) -> str:
        return f"{self.field}:{self.term}"


class ConstantWeight(Weight):
    """Constant-score matching: ``docs_fn(ctx)`` gives the matching docs, the score is the boost."""

    def __init__(self, docs_fn: Any, score: np.float32, description: str) -> None:
        self.docs_fn = docs_fn
        self.score = score
        self.description = description

    def matches(self, ctx: SegmentContext) -> Matches:
        docs = ctx.keep_live(self.docs_fn(ctx))
        return Matches.constant(docs, self.score)

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        found = self.docs_fn(ctx)
        return Matches.constant(docs[members(docs, found)], self.score)

    def explain(self, ctx: SegmentContext, doc: int) -> Explanation | None:
        found = super().explain(ctx, doc)
        if found is not None:
            found.description = self.description
        return found


class MatchNoneWeight(Weight):
    def matches(self, ctx: SegmentContext) -> Matches:
        return Matches.empty()

    def score_tree(self, ctx: SegmentContext) -> "ScoreTree | None":
        from localnode.search.topk import SumNode
        return SumNode([])

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return Matches.empty()


# -- term ------------------------------------------------------------------------------------------
class TermQuery(Query):
    def __init__(self, field: str, value: Any) -> None:
        self.field = field
        self.value = value

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        mapper = searcher.field(self.field)
        if self.field == "_id":
            return _ids_weight([str(self.value)], boost)
        if mapper is None:
            return MatchNoneWeight()
        return term_weight_for(searcher, mapper, self.value, boost)


def term_weight_for(searcher: Searcher, mapper: FieldMapper, value: Any, boost: np.float32) -> Weight:
    """The weight OpenSearch's field type builds for an exact value (its ``termQuery``).

    A value the field type cannot take (``abc`` for a number, ``maybe`` for a boolean) fails the way
    ``QueryShardContext.toQuery`` reports it: a ``query_shard_exception`` "failed to create query: ..."
    caused by the field type's exception."""
    try:
        return _term_weight(searcher, mapper, value, boost)
    except OpenSearchError as exc:
        raise _query_failure(searcher, exc) from None


def _query_failure(searcher: Searcher, error: OpenSearchError) -> OpenSearchError:
    return failed_to_create_query(error, searcher.index.name, searcher.index.uuid)


def _term_weight(searcher: Searcher, mapper: FieldMapper, value: Any, boost: np.float32) -> Weight:
    ftype = mapper.type
    if ftype in (TEXT, KEYWORD):
        return TermScorerWeight(searcher, mapper.path, _term_text(value), boost)
    if ftype == BOOLEAN:
        return TermScorerWeight(searcher, mapper.path, _boolean_term(value, mapper.path), boost)
    if mapper.is_numeric or ftype == DATE:
        low, high = _term_bounds(mapper, value)
        return ConstantWeight(lambda ctx: _numeric_range_docs(ctx, mapper.path, low, high, True, True),
                              boost, f"{mapper.path}:[{low} TO {high}]")
    if ftype in (RANK_FEATURE, RANK_FEATURES):
        raise IllegalArgumentError(f"Queries on [{ftype}] fields are not supported")
    if ftype == KNN_VECTOR:
        raise IllegalArgumentError(f"Field [{mapper.path}] of type [knn_vector] does not support term queries")
    raise IllegalArgumentError(f"field [{mapper.path}] of type [{ftype}] does not support term queries")


def _term_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise ParsingError("[term] query does not support array of values")
    return str(value)


def _boolean_term(value: Any, field: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value in ("true", "false"):
        return value
    if value == "":
        return "false"
    raise IllegalArgumentError(f"Can't parse boolean value [{value}], expected [true] or [false]")


_JAVA_DOUBLE = re.compile(r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)")


def java_parse_double(value: Any) -> float:
    """``Double.parseDouble(value.toString())``, with Java's ``NumberFormatException`` messages.

    This is how OpenSearch's numeric field types read a query value (``objectToDouble``,
    ``hasDecimalPart``): a JSON boolean is the string ``true``/``false`` and fails like any other text."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        return float(value)
    else:
        text = str(value)
    trimmed = text.strip("".join(chr(c) for c in range(33)))  # String.trim(): every char <= ' '
    if not trimmed:
        raise NumberFormatError("empty String")
    if not _JAVA_DOUBLE.fullmatch(trimmed):
        raise NumberFormatError(f'For input string: "{trimmed}"')
    body = trimmed.rstrip("fFdD")
    return float(body.replace("Infinity", "inf"))


def _field_precision(mapper: FieldMapper, number: float) -> float:
    """A query value as the field type parses it: float32 for ``float``, binary16 for ``half_float``."""
    if mapper.type == "float":
        return float(np.float32(number))
    if mapper.type == "half_float":
        return float(np.float16(number))
    return number


def _numeric_point(mapper: FieldMapper, value: Any) -> float | int:
    """A numeric field's exact-match value (``NumberType.termQuery``); NaN for a fractional integer."""
    number = java_parse_double(value)  # hasDecimalPart / parse: non-numbers fail here
    if mapper.is_integer:
        if not number.is_integer():
            return math.nan  # "Value [..] has a decimal part": match no documents
        # longs are parsed exactly (objectToLong / BigDecimal), not through the double
        exact = value if isinstance(value, int) and not isinstance(value, bool) else \
            int(Decimal(str(value).strip().rstrip("fFdD"))) if math.isfinite(number) else None
        low, high = INTEGER_TYPES[mapper.type]
        if exact is None or not low <= exact <= high:
            raise IllegalArgumentError(
                f"Value [{value}] is out of range for {'an' if mapper.type == 'integer' else 'a'} {mapper.type}")
        return exact
    return _field_precision(mapper, number)


def _term_bounds(mapper: FieldMapper, value: Any) -> tuple[float | int, float | int]:
    """The inclusive interval a numeric or date ``term`` matches.

    A date ``term`` is OpenSearch's ``rangeQuery(value, value, true, true)``: the lower end parsed
    rounding down and the upper end rounding up, so ``2024-01-02`` matches the whole day."""
    if mapper.type == DATE:
        return (_date_bound(mapper, value, None, round_up=False), _date_bound(mapper, value, None, round_up=True))
    point = _numeric_point(mapper, value)
    return point, point


def _date_bound(mapper: FieldMapper, value: Any, fmt: str | None, round_up: bool) -> float:
    date_format = fmt or mapper.date_format
    if isinstance(value, str) and (value.startswith("now") or "||" in value):
        return float(resolve_date_math(value, round_up=round_up, date_format=date_format))
    try:
        return float(parse_date_millis(value, date_format, round_up=round_up))
    except DateParseError as exc:
        # JavaDateMathParser.parseDateTime: OpenSearchParseException around the formatter's error
        cause = IllegalArgumentError(str(exc))
        raise OpenSearchError(f"{exc}: [{exc}]", status=400, error_type="parse_exception", caused_by=cause) from None


def _numeric_range_docs(ctx: SegmentContext, field: str, low: float, high: float,
                        include_low: bool, include_high: bool) -> np.ndarray:
    column = ctx.segment.numbers.get(field)
    if column is None or math.isnan(low) or math.isnan(high):
        return np.zeros(0, dtype=np.int32)
    values = column.values
    mask = (values >= low) if include_low else (values > low)
    mask &= (values <= high) if include_high else (values < high)
    return np.unique(column.docs[mask]).astype(np.int32)


@query_parser("term")
def parse_term(body: Any, ctx: ParseContext) -> Query:
    field, spec = single_field(body, "term")
    if isinstance(spec, dict):
        check_keys(spec, {"value", "boost", "_name", "case_insensitive"}, "term")
        if spec.get("case_insensitive"):
            raise UnsupportedError("[term] query option [case_insensitive]")
        if "value" not in spec:
            raise ParsingError("[term] query requires a value")
        query = TermQuery(field, spec["value"])
        common_options(query, spec, "term")
    else:
        if isinstance(spec, list):
            raise ParsingError("[term] query does not support array of values")
        query = TermQuery(field, spec)
    common_options(query, body, "term")
    return query


# -- terms -----------------------------------------------------------------------------------------
class TermsQuery(Query):
    def __init__(self, field: str, values: list[Any]) -> None:
        self.field = field
        self.values = values

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        try:
            return self._create_weight(searcher, boost)
        except OpenSearchError as exc:
            raise _query_failure(searcher, exc) from None

    def _create_weight(self, searcher: Searcher, boost: np.float32) -> Weight:
        if self.field == "_id":
            return _ids_weight([str(v) for v in self.values], boost)
        mapper = searcher.field(self.field)
        if mapper is None:
            return MatchNoneWeight()
        if mapper.type in (TEXT, KEYWORD, BOOLEAN):
            terms = sorted({_boolean_term(v, mapper.path) if mapper.type == BOOLEAN else _term_text(v)
                            for v in self.values})
            field = mapper.path

            def docs(ctx: SegmentContext) -> np.ndarray:
                fp = ctx.segment.postings.get(field)
                if fp is None:
                    return np.zeros(0, dtype=np.int32)
                found = [p[0] for p in (fp.postings(t) for t in terms) if p is not None]
                return np.unique(np.concatenate(found)).astype(np.int32) if found else np.zeros(0, np.int32)
            return ConstantWeight(docs, boost, f"{field}:({' '.join(terms)})")
        if mapper.is_numeric or mapper.type == DATE:
            bounds = [_term_bounds(mapper, v) for v in self.values]
            field = mapper.path
            if mapper.type != DATE:
                lows = [low for low, _ in bounds]
                points = np.array([p for p in lows if not (isinstance(p, float) and math.isnan(p))],
                                  dtype=np.int64 if mapper.is_integer else np.float64)  # decimals match nothing

                def numeric_docs(ctx: SegmentContext) -> np.ndarray:
                    column = ctx.segment.numbers.get(field)
                    if column is None:
                        return np.zeros(0, dtype=np.int32)
                    return np.unique(column.docs[np.isin(column.values, points)]).astype(np.int32)
                return ConstantWeight(numeric_docs, boost, f"{field}:{list(points)}")

            def date_docs(ctx: SegmentContext) -> np.ndarray:  # one day-range (or instant) per value
                parts = [_numeric_range_docs(ctx, field, low, high, True, True) for low, high in bounds]
                return np.unique(np.concatenate(parts)).astype(np.int32) if parts else np.zeros(0, np.int32)
            return ConstantWeight(date_docs, boost, f"{field}:{bounds}")
        raise IllegalArgumentError(f"[{mapper.type}] fields do not support [terms] queries")


@query_parser("terms")
def parse_terms(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict):
        raise ParsingError("[terms] query malformed, no start_object after query name")
    fields = [k for k in body if k not in ("boost", "_name")]
    if len(fields) != 1:
        raise ParsingError("[terms] query does not support multiple fields" if fields else
                           "[terms] query malformed, no field specified")
    values = body[fields[0]]
    if isinstance(values, dict):
        raise UnsupportedError("[terms] lookup (terms from another document)")
    if not isinstance(values, list):
        raise ParsingError(f"[terms] query does not support [{fields[0]}]")
    if any(isinstance(v, (dict, list)) or v is None for v in values):
        raise ParsingError("[terms] query does not support null, object or array values")
    query = TermsQuery(fields[0], values)
    common_options(query, body, "terms")
    return query


# -- ids -------------------------------------------------------------------------------------------
def _ids_weight(ids: list[str], boost: np.float32) -> Weight:
    unique = sorted(set(ids))

    def docs(ctx: SegmentContext) -> np.ndarray:
        found = [ctx.segment.local_doc(i) for i in unique]
        return np.unique(np.array([d for d in found if d is not None], dtype=np.int32))
    return ConstantWeight(docs, boost, f"_id:({' '.join(unique)})")


class IdsQuery(Query):
    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        return _ids_weight(self.ids, boost)


@query_parser("ids")
def parse_ids(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict):
        raise ParsingError("[ids] query malformed, no start_object after query name")
    check_keys(body, {"values", "boost", "_name", "type", "types"}, "ids")
    values = body.get("values", [])
    if not isinstance(values, list):
        raise ParsingError("[ids] query [values] must be an array")
    query = IdsQuery([str(v) for v in values])
    common_options(query, body, "ids")
    return query


# -- range -----------------------------------------------------------------------------------------
class RangeQuery(Query):
    def __init__(self, field: str, spec: dict[str, Any]) -> None:
        self.field = field
        self.spec = spec

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        try:
            return self._create_weight(searcher, boost)
        except OpenSearchError as exc:
            raise _query_failure(searcher, exc) from None

    def _create_weight(self, searcher: Searcher, boost: np.float32) -> Weight:
        mapper = searcher.field(self.field)
        if mapper is None:
            return MatchNoneWeight()
        low, high, include_low, include_high = _range_bounds(self.spec)
        if mapper.is_numeric or mapper.type == DATE:
            fmt = self.spec.get("format")
            # DateFieldMapper.rangeQuery: gt/lte parse rounding up, gte/lt rounding down
            low_v = _range_number(mapper, low, fmt, round_up=not include_low) if low is not None else -math.inf
            high_v = _range_number(mapper, high, fmt, round_up=include_high) if high is not None else math.inf
            field = mapper.path
            return ConstantWeight(
                lambda ctx: _numeric_range_docs(ctx, field, low_v, high_v, include_low, include_high),
                boost, f"{field}:[{low_v} TO {high_v}]")
        if mapper.type in (KEYWORD, TEXT):
            field = mapper.path
            lo = None if low is None else _term_text(low)
            hi = None if high is None else _term_text(high)

            def docs(ctx: SegmentContext) -> np.ndarray:
                fp = ctx.segment.postings.get(field)
                if fp is None:
                    return np.zeros(0, dtype=np.int32)
                chosen = [fp.postings(t)[0] for t in fp.term_list  # type: ignore[index]
                          if _in_term_range(t, lo, hi, include_low, include_high)]
                return np.unique(np.concatenate(chosen)).astype(np.int32) if chosen else np.zeros(0, np.int32)
            return ConstantWeight(docs, boost, f"{field}:[{lo} TO {hi}]")
        raise IllegalArgumentError(f"Field [{mapper.path}] of type [{mapper.type}] does not support range queries")


def _in_term_range(term: str, low: str | None, high: str | None, include_low: bool, include_high: bool) -> bool:
    key = term.encode("utf-8")
    if low is not None:
        lo = low.encode("utf-8")
        if key < lo or (key == lo and not include_low):
            return False
    if high is not None:
        hi = high.encode("utf-8")
        if key > hi or (key == hi and not include_high):
            return False
    return True


def _range_bounds(spec: dict[str, Any]) -> tuple[Any, Any, bool, bool]:
    low = high = None
    include_low = include_high = True
    if "from" in spec:
        low = spec["from"]
        include_low = bool(spec.get("include_lower", True))
    if "to" in spec:
        high = spec["to"]
        include_high = bool(spec.get("include_upper", True))
    if "gt" in spec:
        low, include_low = spec["gt"], False
    if "gte" in spec:
        low, include_low = spec["gte"], True
    if "lt" in spec:
        high, include_high = spec["lt"], False
    if "lte" in spec:
        high, include_high = spec["lte"], True
    return low, high, include_low, include_high


def _range_number(mapper: FieldMapper, value: Any, fmt: str | None, round_up: bool) -> float:
    if mapper.type == DATE:
        return _date_bound(mapper, value, fmt, round_up)
    return _field_precision(mapper, java_parse_double(value))


@query_parser("range")
def parse_range(body: Any, ctx: ParseContext) -> Query:
    field, spec = single_field(body, "range")
    if not isinstance(spec, dict):
        raise ParsingError("[range] query malformed, after field missing start object")
    check_keys(spec, {"gt", "gte", "lt", "lte", "from", "to", "include_lower", "include_upper", "boost",
                      "_name", "format", "time_zone", "relation"}, "range")
    if spec.get("time_zone") not in (None, "UTC", "Z", "+00:00", "utc"):
        raise UnsupportedError("[range] query option [time_zone] other than UTC")
    if spec.get("relation") not in (None, "intersects", "INTERSECTS"):
        raise UnsupportedError("[range] query option [relation] other than intersects")
    query = RangeQuery(field, spec)
    common_options(query, spec, "range")
    common_options(query, body, "range")
    return query


# -- exists ----------------------------------------------------------------------------------------
class ExistsQuery(Query):
    def __init__(self, field: str) -> None:
        self.field = field

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        mapper = searcher.field(self.field)
        if mapper is None:
            prefix = self.field + "."
            children = [f for f in searcher.mapping.fields if f.startswith(prefix)]
            if not children:
                return MatchNoneWeight()
            child_mappers = [searcher.field(c) for c in children]

            def object_docs(ctx: SegmentContext) -> np.ndarray:
                parts = [_field_docs(ctx, m) for m in child_mappers if m is not None]
                return np.unique(np.concatenate(parts)).astype(np.int32) if parts else np.zeros(0, np.int32)
            return ConstantWeight(object_docs, boost, f"exists({self.field})")
        if mapper.type == RANK_FEATURES:
            raise IllegalArgumentError("[rank_features] fields do not support [exists] queries")
        return ConstantWeight(lambda ctx: _field_docs(ctx, mapper), boost, f"FieldExistsQuery [field={self.field}]")


def _field_docs(ctx: SegmentContext, mapper: FieldMapper) -> np.ndarray:
    if mapper.type == RANK_FEATURE:
        fp = ctx.segment.postings.get("_feature")
        found = fp.postings(mapper.path) if fp is not None else None
        return found[0] if found is not None else np.zeros(0, np.int32)
    return ctx.segment.docs_with_field(mapper.path)


@query_parser("exists")
def parse_exists(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict) or "field" not in body:
        raise ParsingError("[exists] must be provided with a [field]")
    check_keys(body, {"field", "boost", "_name"}, "exists")
    query = ExistsQuery(str(body["field"]))
    common_options(query, body, "exists")
    return query
