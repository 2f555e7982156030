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
from localnode.mapping.dates import DateParseError, parse_date_millis, validate_date_format
from localnode.mapping.fields import (BOOLEAN, DATE, INTEGER_TYPES, KEYWORD, KNN_VECTOR, RANK_FEATURE, RANK_FEATURES,
                                      TEXT, FieldMapper)
from localnode.search.datemath import resolve_date_math
from localnode.search.matches import Matches, members, postings_in
from localnode.ltr.xcontent import NUMBER, STRING, Field, ObjectParser, java_double_to_string
from localnode.search.query import (Explanation, ParseContext, Query, Searcher, SegmentContext, Weight,
                                    apply_standard, multiple_fields, query_parser, set_boost, standard_fields)
from localnode.search.xcontent import (STRING_ARRAY, TokenStream, boolean_value, float_value, parse_array, text,
                                       wrap_as_parsing)
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
    """The term a value stands for (``BytesRefs.toBytesRef``): a JSON float is a Java ``Double``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double_to_string(value)
    if isinstance(value, (dict, list)):
        raise ParsingError("[term] query does not support array of values")
    return str(value)


def _boolean_term(value: Any, field: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value in ("true", "false"):
        return value
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
    with np.errstate(over="ignore"):   # out of the type's range: infinite, as Java's cast
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
    point = _field_precision(mapper, number)
    if mapper.type in ("float", "half_float", "double"):
        check_finite(mapper, point)
    return point


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
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # a JSON number is parsed as its Java text: 1e12 is "1.0E12", which no date format reads
        value = java_double_to_string(value) if isinstance(value, float) else str(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()) and \
            abs(float(value)) >= 2 ** 63:   # epoch millis beyond a long
        error = f"failed to parse date field [{value}] with format [{date_format}]"
        raise OpenSearchError(f"{error}: [{error}]", status=400, error_type="parse_exception",
                              caused_by=IllegalArgumentError(error))
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


def object_bytes(stream: TokenStream) -> Any:
    """``XContentParser.objectBytes()``: a value token's value; for a structural token, its text
    (``{``, ``[`` ...) -- the parser does *not* skip the object or array, the loop walks into it."""
    kind = stream.current
    if kind == "VALUE_NULL":
        return None
    if kind in ("VALUE_STRING", "VALUE_NUMBER", "VALUE_BOOLEAN"):
        return stream.value
    if kind == "FIELD_NAME":
        return stream.value
    return {"START_OBJECT": "{", "END_OBJECT": "}", "START_ARRAY": "[", "END_ARRAY": "]"}[kind]


_MISSING = object()


@query_parser("term", stream=True)
def parse_term(stream: TokenStream, ctx: ParseContext) -> Query:
    """``TermQueryBuilder.fromXContent`` (a token loop)."""
    field_name: str | None = None
    value: Any = None
    boost, name, case_insensitive = 1.0, None, False
    current: str | None = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            current = stream.value
        elif kind == "START_OBJECT":
            if field_name is not None:
                raise multiple_fields("term", field_name, current)
            field_name = current
            while (inner := stream.next_token()) != "END_OBJECT":
                if inner == "FIELD_NAME":
                    current = stream.value
                elif current in ("term", "value"):
                    value = object_bytes(stream)
                elif current == "_name":
                    name = text(stream.value)
                elif current == "boost":
                    boost = float(float_value(stream.value))
                elif current == "case_insensitive":
                    case_insensitive = boolean_value(stream.value)
                else:
                    raise ParsingError(f"[term] query does not support [{current}]")
        elif stream.is_value():
            if field_name is not None:
                raise multiple_fields("term", field_name, current)
            field_name = current
            value = object_bytes(stream)
        elif kind == "START_ARRAY":
            raise ParsingError("[term] query does not support array of values")
    if not field_name:
        raise IllegalArgumentError("field name is null or empty")
    if value is None:
        raise IllegalArgumentError("value cannot be null")
    query = TermQuery(field_name, value)
    set_boost(query, boost, "term")
    query.name = name
    if case_insensitive:
        raise UnsupportedError("[term] query option [case_insensitive]")
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


_LOOKUP_FIELDS = ("index", "id", "path", "routing", "store")


@query_parser("terms", stream=True)
def parse_terms(stream: TokenStream, ctx: ParseContext) -> Query:
    """``TermsQueryBuilder.fromXContent`` (a token loop)."""
    field_name: str | None = None
    values: list[Any] | None = None
    boost, name, value_type = 1.0, None, "default"
    current: str | None = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            current = stream.value
        elif kind == "START_ARRAY":
            if field_name is not None:
                raise ParsingError("[terms] query does not support multiple fields")
            field_name = current
            values = []
            while stream.next_token() != "END_ARRAY":
                item = object_bytes(stream)
                if item is None:
                    raise ParsingError("No value specified for terms query")
                values.append(item)
        elif kind == "START_OBJECT":
            if field_name is not None:
                raise ParsingError(f"[terms] query does not support more than one field. Already got: [{field_name}] "
                                   f"but also found [{current}]")
            field_name = current
            _parse_terms_lookup(stream.subtree())
            stream.finish_subtree()
        elif stream.is_value():
            if current == "boost":
                boost = float(float_value(stream.value))
            elif current == "_name":
                name = text(stream.value)
            elif current == "value_type":
                value_type = text(stream.value)
            else:
                raise ParsingError(f"[terms] query does not support [{current}]")
        else:
            raise ParsingError(f"[terms] unknown token [{kind}] after [{current}]")
    if field_name is None:
        raise ParsingError("[terms] query requires a field name, followed by array of terms or a document lookup "
                           "specification")
    if value_type not in ("default", "bitmap"):
        raise IllegalArgumentError(f"[terms] query does not support value_type [{value_type}]")
    if value_type == "bitmap":
        raise UnsupportedError("[terms] query with [value_type] bitmap")
    if not field_name:
        raise IllegalArgumentError("field name cannot be null.")
    query = TermsQuery(field_name, values or [])
    set_boost(query, boost, "terms")
    query.name = name
    return query


def _parse_terms_lookup(value: Any) -> None:
    """``TermsLookup.parseTermsLookup``; a well-formed lookup is not served by the embedded engine."""
    state = ObjectParser("terms_lookup", {
        key: Field(NUMBER | {"VALUE_BOOLEAN"} if key == "store" else STRING,
                   lambda st, v, key=key: st.__setitem__(key, text(v)))
        for key in _LOOKUP_FIELDS}).parse(value, {})
    missing = [key for key in ("index", "id", "path") if key not in state]
    if missing:
        raise IllegalArgumentError(f"Required [{', '.join(missing)}]")
    raise UnsupportedError("[terms] lookup (terms from another document)")


# -- ids -------------------------------------------------------------------------------------------
def _ids_weight(ids: list[str], boost: np.float32) -> Weight:
    if "" in ids:   # Uid.encodeId
        raise IllegalArgumentError("Ids can't be empty")
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


def _ids_parser() -> ObjectParser:
    def add(state: dict[str, Any], value: Any) -> None:
        state["values"].extend(parse_array(value, text))
    return ObjectParser("ids", {"values": Field(STRING_ARRAY, add), **standard_fields("ids")})


_IDS = _ids_parser()


@query_parser("ids")
def parse_ids(body: Any, ctx: ParseContext) -> Query:
    """``IdsQueryBuilder``: an ObjectParser whose ``IllegalArgumentException``s become parsing errors."""
    try:
        state = _IDS.apply(body, {"values": []})
    except OpenSearchError as exc:
        raise wrap_as_parsing(exc, ParsingError) from None
    return apply_standard(IdsQuery(state["values"]), state)


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
            if mapper.is_integer:
                bounds = _integer_range(mapper, low, high, include_low, include_high)
                if bounds is None:
                    return MatchNoneWeight()
                (low_v, high_v), include_low, include_high = bounds, True, True
            else:
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
    number = _field_precision(mapper, java_parse_double(value))
    if mapper.type in ("float", "half_float"):
        check_finite(mapper, number)
    return number


def check_finite(mapper: FieldMapper, number: float) -> None:
    """``NumberType.parse`` of the floating point types: only finite values are valid."""
    if not math.isfinite(number):
        raise IllegalArgumentError(f"[{mapper.type}] supports only finite values, but got "
                                   f"[{java_double_to_string(number)}]")


def _integer_value(mapper: FieldMapper, value: Any) -> tuple[int, bool, float]:
    """``NumberType.parse`` (``objectToLong``) of a range bound on an integer field: the truncated
    value, whether the bound has a decimal part (NaN has one and is 0), and its double value."""
    if isinstance(value, int) and not isinstance(value, bool):
        number, exact = float(value), value
    else:
        number = java_parse_double(value)
        exact = 0 if math.isnan(number) else int(number) if math.isfinite(number) else None
    low, high = INTEGER_TYPES[mapper.type]
    if exact is None or not low <= exact <= high:
        raise IllegalArgumentError(
            f"Value [{value}] is out of range for {'an' if mapper.type == 'integer' else 'a'} {mapper.type}")
    has_decimal = math.isnan(number) or (math.isfinite(number) and number % 1 != 0)
    return exact, has_decimal, number


def _integer_range(mapper: FieldMapper, low: Any, high: Any, include_low: bool,
                   include_high: bool) -> tuple[int, int] | None:
    """The inclusive bounds ``IntegerType/LongType.rangeQuery`` computes (None: matches nothing)."""
    lowest, highest = INTEGER_TYPES[mapper.type]
    lo, hi = lowest, highest
    if low is not None:
        lo, decimal, number = _integer_value(mapper, low)
        if (not decimal and not include_low) or (decimal and number > 0):
            if lo == highest:
                return None
            lo += 1
    if high is not None:
        hi, decimal, number = _integer_value(mapper, high)
        if (not decimal and not include_high) or (decimal and number < 0):
            if hi == lowest:
                return None
            hi -= 1
    return lo, hi


_RELATIONS = ("intersects", "disjoint", "within", "contains")


@query_parser("range", stream=True)
def parse_range(stream: TokenStream, ctx: ParseContext) -> Query:
    """``RangeQueryBuilder.fromXContent`` (a token loop)."""
    field_name: str | None = None
    low: Any = None
    high: Any = None
    include_low = include_high = True
    boost, name = 1.0, None
    time_zone = fmt = relation = None
    current: str | None = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            current = stream.value
        elif kind == "START_OBJECT":
            if field_name is not None:
                raise multiple_fields("range", field_name, current)
            field_name = current
            while (inner := stream.next_token()) != "END_OBJECT":
                if inner == "FIELD_NAME":
                    current = stream.value
                elif current == "from":
                    low = object_bytes(stream)
                elif current == "to":
                    high = object_bytes(stream)
                elif current == "include_lower":
                    include_low = boolean_value(stream.value)
                elif current == "include_upper":
                    include_high = boolean_value(stream.value)
                elif current == "boost":
                    boost = float(float_value(stream.value))
                elif current == "gt":
                    low, include_low = object_bytes(stream), False
                elif current == "gte":
                    low, include_low = object_bytes(stream), True
                elif current == "lt":
                    high, include_high = object_bytes(stream), False
                elif current == "lte":
                    high, include_high = object_bytes(stream), True
                elif current == "time_zone":
                    time_zone = text(stream.value)
                elif current == "format":
                    fmt = text(stream.value)
                elif current == "relation":
                    relation = text(stream.value)
                elif current == "_name":
                    name = text(stream.value)
                else:
                    raise ParsingError(f"[range] query does not support [{current}]")
        elif stream.is_value():
            raise ParsingError(f"[range] query does not support [{current}]")
    if not field_name:
        raise IllegalArgumentError("field name is null or empty")
    spec: dict[str, Any] = {"from": low, "to": high, "include_lower": include_low, "include_upper": include_high}
    if time_zone is not None:
        if time_zone not in ("UTC", "Z", "+00:00", "utc"):
            raise UnsupportedError("[range] query option [time_zone] other than UTC")
    if fmt is not None:
        try:
            validate_date_format(fmt)   # RangeQueryBuilder.format(String): DateFormatter.forPattern
        except DateParseError as exc:
            raise IllegalArgumentError(str(exc)) from None
        spec["format"] = fmt
    query = RangeQuery(field_name, spec)
    set_boost(query, boost, "range")
    query.name = name
    if relation is not None:
        if relation.lower() not in _RELATIONS:
            raise IllegalArgumentError(f"[range] query does not support relation [{relation}]")
        if relation.lower() != "intersects":
            raise UnsupportedError("[range] query option [relation] other than intersects")
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


@query_parser("exists", stream=True)
def parse_exists(stream: TokenStream, ctx: ParseContext) -> Query:
    """``ExistsQueryBuilder.fromXContent`` (a token loop)."""
    field_pattern: str | None = None
    boost, name = 1.0, None
    current: str | None = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            current = stream.value
        elif stream.is_value():
            if current == "field":
                field_pattern = text(stream.value)
            elif current == "_name":
                name = text(stream.value)
            elif current == "boost":
                boost = float(float_value(stream.value))
            else:
                raise ParsingError(f"[exists] query does not support [{current}]")
        else:
            raise ParsingError(f"[exists] unknown token [{kind}] after [{current}]")
    if field_pattern is None:
        raise ParsingError("[exists] must be provided with a [field]")
    if not field_pattern:
        raise IllegalArgumentError("field name is null or empty")
    query = ExistsQuery(field_pattern)
    query.name = name
    set_boost(query, boost, "exists")
    return query
