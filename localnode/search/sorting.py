"""Field sorting: ``sort`` specs, per-document sort values from doc values, and merge keys.

Numeric and date fields sort on their doc values (``min`` for ascending, ``max`` for descending by
default, as OpenSearch), keyword fields on their terms in UTF-8 byte order; text fields refuse, as
they do without fielddata. Missing values go last unless ``missing`` says otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from localnode.errors import IllegalArgumentError, NumberFormatError, OpenSearchError, ParsingError, UnsupportedError
from localnode.ltr.xcontent import Field, ObjectParser, XContentParseError
from localnode.mapping.fields import BOOLEAN, DATE, KEYWORD, TEXT
from localnode.search.xcontent import OBJECT, STRING, VALUE, TokenStream, text

if TYPE_CHECKING:
    from localnode.search.query import Searcher


@dataclass(slots=True)
class SortSpec:
    field: str
    order: str
    missing: Any = "_last"
    mode: str | None = None
    unmapped_type: str | None = None


def _sort_order(raw: str) -> str:
    """``SortOrder.fromString``."""
    if raw.lower() in ("asc", "desc"):
        return raw.lower()
    raise IllegalArgumentError(f"Unknown SortOrder [{raw}]")


def _field_or_score(name: str, order: str | None = None) -> SortSpec:
    """``SortBuilder.fieldOrScoreSort``: ``_score`` sorts descending by default, fields ascending."""
    return SortSpec(name, order or ("desc" if name == "_score" else "asc"))


_SORT_MODES = ("min", "max", "sum", "avg", "median")
_NUMERIC_TYPES = ("long", "double", "date", "date_nanos")


def _field_sort_parser(name: str) -> ObjectParser:
    def order(state: SortSpec, value: Any) -> None:
        state.order = _sort_order(text(value))

    def mode(state: SortSpec, value: Any) -> None:
        raw = text(value)
        if raw.lower() not in _SORT_MODES:
            raise IllegalArgumentError(f"Unknown SortMode [{raw}]")
        state.mode = raw.lower()

    def numeric_type(state: SortSpec, value: Any) -> None:
        if text(value) not in _NUMERIC_TYPES:
            raise IllegalArgumentError("invalid value for [numeric_type], must be [long, double, date, date_nanos], "
                                       f"got {text(value)}")

    def unsupported(option: str) -> Any:
        def consume(state: SortSpec, value: Any) -> None:
            raise UnsupportedError(f"sort option [{option}]")
        return consume

    if name == "_score":
        return ObjectParser("_score", {"order": Field(STRING, order)})
    return ObjectParser("field_sort", {
        "order": Field(STRING, order),
        "missing": Field(VALUE, lambda state, value: setattr(state, "missing", value if value is not None else "_last")),
        "unmapped_type": Field(STRING, lambda state, value: setattr(state, "unmapped_type", text(value))),
        "mode": Field(STRING, mode),
        "numeric_type": Field(STRING, numeric_type),
        "nested": Field(OBJECT, unsupported("nested")),
        "nested_path": Field(STRING, unsupported("nested_path")),
        "nested_filter": Field(OBJECT, unsupported("nested_filter")),
    })


def _compound_sort(stream: TokenStream, result: list[SortSpec]) -> None:
    """``SortBuilder.parseCompoundSortField``: ``{"field": "order"}`` or ``{"field": {options}}``."""
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind != "FIELD_NAME":
            continue
        name = stream.value
        kind = stream.next_token()
        if kind == "VALUE_STRING":
            result.append(_field_or_score(name, _sort_order(stream.value)))
            continue
        spec = _field_or_score(name)
        parser = _field_sort_parser(name)
        if kind != "START_OBJECT":
            # ObjectParser.parse: not on START_OBJECT, so it reads the next token, which must be one
            following = stream.next_token()
            if following != "START_OBJECT":
                raise XContentParseError(f"[{parser.name}] Expected START_OBJECT but was: {following}")
        parser.parse(stream.subtree(), spec)
        stream.finish_subtree()
        result.append(spec)


def parse_sort_body(value: Any) -> list[SortSpec]:
    """``SortBuilder.fromXContent``: the ``sort`` of a search body (a string, an object or an array)."""
    stream = TokenStream(value, started=True)
    result: list[SortSpec] = []
    kind = stream.current
    if kind == "START_ARRAY":
        while (kind := stream.next_token()) != "END_ARRAY":
            if kind == "START_OBJECT":
                _compound_sort(stream, result)
            elif kind == "VALUE_STRING":
                result.append(_field_or_score(stream.value))
            else:
                raise IllegalArgumentError("malformed sort format, within the sort array, an object, or an actual "
                                           "string are allowed")
    elif kind == "VALUE_STRING":
        result.append(_field_or_score(stream.value))
    elif kind == "START_OBJECT":
        _compound_sort(stream, result)
    else:
        raise IllegalArgumentError("malformed sort format, either start with array, object, or an actual string")
    return result


def parse_sort_param(param: str) -> list[SortSpec]:
    """The ``sort`` URL parameter: comma-separated ``field`` or ``field:asc|desc`` (another order is
    ignored along with its field, as ``RestSearchAction`` does)."""
    result: list[SortSpec] = []
    for item in (part.strip() for part in param.split(",")):
        if not item:
            continue
        name, colon, order = item.rpartition(":")
        if not colon:
            result.append(_field_or_score(item))
        elif order in ("asc", "desc"):
            result.append(_field_or_score(name, order))
    return result


def parse_sort(spec: Any) -> list[SortSpec]:
    """A sort given as the body gives it, or a URL parameter string."""
    return parse_sort_param(spec) if isinstance(spec, str) else parse_sort_body(spec)


_KNOWN_TYPES = ("text", "keyword", "long", "integer", "short", "byte", "double", "float", "half_float",
                "scaled_float", "unsigned_long", "date", "date_nanos", "boolean", "binary", "ip", "object", "nested",
                "geo_point", "geo_shape", "rank_feature", "rank_features", "knn_vector", "flat_object", "wildcard",
                "constant_keyword", "match_only_text", "search_as_you_type", "token_count", "completion", "alias",
                "integer_range", "float_range", "long_range", "double_range", "date_range", "ip_range")


def check_sort(searcher: "Searcher", specs: list[SortSpec]) -> None:
    """``SortBuilder.buildSort`` against the shard's mapping: the field errors come before the query runs."""
    for spec in specs:
        if spec.field in ("_score", "_doc"):
            continue
        mapper = searcher.field(spec.field)
        if mapper is None:
            if spec.unmapped_type is None:
                raise _shard_error(f"No mapping found for [{spec.field}] in order to sort on")
            if spec.unmapped_type not in _KNOWN_TYPES:
                raise IllegalArgumentError(f"No mapper found for type [{spec.unmapped_type}]")
            continue
        if mapper.type == TEXT:
            raise IllegalArgumentError(
                f"Text fields are not optimised for operations that require per-document field data like "
                f"aggregations and sorting, so these operations are disabled by default. Please use a keyword field "
                f"instead. Alternatively, set fielddata=true on [{spec.field}] in order to load field data by "
                "uninverting the inverted index. Note that this can use significant memory.")
        if mapper.type != KEYWORD and not (mapper.is_numeric or mapper.type in (DATE, BOOLEAN)):
            raise IllegalArgumentError(f"can't sort on field [{spec.field}] of type [{mapper.type}]")
        if spec.mode in ("sum", "avg", "median") and not (mapper.is_numeric or mapper.type in (DATE, BOOLEAN)):
            raise IllegalArgumentError("we only support AVG, MEDIAN and SUM on number based fields")
        if spec.missing not in ("_last", "_first") and mapper.type != KEYWORD:
            _check_missing(mapper, spec.missing)


def _check_missing(mapper: Any, missing: Any) -> None:
    """The comparator source parses ``missing`` for numeric, date and boolean sorts: a number, or text
    that ``Long.parseLong`` (``Double.parseDouble`` for floating point fields) reads."""
    if isinstance(missing, (int, float)) and not isinstance(missing, bool):
        return
    raw = "true" if missing is True else "false" if missing is False else str(missing)
    if mapper.type in ("float", "half_float", "double", "scaled_float"):
        from localnode.search.xcontent import java_parse_double
        java_parse_double(raw)
    elif not re.fullmatch(r"[+-]?[0-9]+", raw) or not -(2 ** 63) <= int(raw) < 2 ** 63:
        raise NumberFormatError(f'For input string: "{raw}"')


_INT_TYPES = {"integer", "short", "byte"}


def check_search_after(searcher: "Searcher", specs: list[SortSpec], values: list[Any]) -> None:
    """``SearchAfterBuilder.buildFieldDoc``: each value converted to its sort field's type."""
    if len(values) != len(specs):
        raise IllegalArgumentError(f"search_after has {len(values)} value(s) but sort has {len(specs)}.")
    from localnode.search.xcontent import java_parse_double, java_parse_float
    for spec, value in zip(specs, values):
        if spec.field == "_doc":
            kind, name = "int", None
        elif spec.field == "_score":
            kind, name = "float", spec.field
        else:
            mapper = searcher.field(spec.field)
            name = spec.field
            if mapper is None or mapper.type == KEYWORD:
                continue
            kind = "int" if mapper.type in _INT_TYPES else "float" if mapper.type in ("float", "half_float") else \
                "double" if mapper.type in ("double", "scaled_float") else "long"
        if value is None:
            boxed = {"int": "Integer", "float": "Float", "double": "Double", "long": "Long"}[kind]
            raise OpenSearchError(f'Cannot invoke "java.lang.{boxed}.{boxed.lower() if boxed != "Integer" else "int"}'
                                  f'Value()" because "value" is null', status=500, error_type="null_pointer_exception")
        if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)
                                        and -(2 ** 63) <= value < 2 ** 63):
            continue   # (a number beyond a long is a BigInteger, whose text no type parses)
        raw = "true" if value is True else "false" if value is False else str(value)
        try:
            if kind == "int":
                if not re.fullmatch(r"[+-]?[0-9]+", raw) or not -(2 ** 31) <= int(raw) < 2 ** 31:
                    raise NumberFormatError(raw)
            elif kind == "long":
                if not re.fullmatch(r"[+-]?[0-9]+", raw) or not -(2 ** 63) <= int(raw) < 2 ** 63:
                    java_parse_double(raw)   # DocValueFormat.RAW.parseLong: a double text is accepted too
            elif kind == "float":
                java_parse_float(raw)
            else:
                java_parse_double(raw)
        except OpenSearchError:
            raise IllegalArgumentError(f"Failed to parse search_after value for field [{name}].") from None


def sort_values(searcher: "Searcher", docs: np.ndarray, scores: np.ndarray, specs: list[SortSpec],
                window: int, search_after: list[Any] | None = None) -> tuple[np.ndarray, np.ndarray, list[list[Any]]]:
    """Sort matched docs by ``specs`` (doc id as the final tie-break) and keep the first ``window``.

    ``search_after`` keeps only docs that sort strictly after those sort values, as OpenSearch does
    (docs with exactly equal sort values are skipped: use a unique tie-breaker field to page)."""
    columns: list[tuple[np.ndarray, list[Any] | None]] = []  # (sortable float keys, display values)
    for spec in specs:
        columns.append(_column(searcher, docs, scores, spec))
    if search_after is not None:
        if len(search_after) != len(specs):
            raise IllegalArgumentError(
                f"search_after has {len(search_after)} value(s) but sort has {len(specs)}.")
        after = np.zeros(len(docs), dtype=bool)
        equal = np.ones(len(docs), dtype=bool)
        for spec, (keys_, display), value in zip(specs, columns, search_after):
            bound = _after_key(spec, value, display)
            after |= equal & (keys_ > bound)
            equal &= keys_ == bound
        docs, scores = docs[after], scores[after]
        columns = [(k[after], [d for d, keep in zip(disp, after.tolist()) if keep] if disp is not None else None)
                   for k, disp in columns]
    keys = [col[0] for col in reversed(columns)]
    order = np.lexsort([docs] + keys) if keys else np.argsort(docs)
    order = order[:window]
    rows = []
    for i in order.tolist():
        rows.append([col[1][i] if col[1] is not None else None for col in columns])
    return docs[order], scores[order], rows


def _column(searcher: "Searcher", docs: np.ndarray, scores: np.ndarray,
            spec: SortSpec) -> tuple[np.ndarray, list[Any]]:
    desc = spec.order == "desc"
    if spec.field == "_score":
        values = scores.astype(np.float64)
        return (-values if desc else values), [float(s) for s in scores]
    if spec.field == "_doc":
        values = docs.astype(np.float64)
        return (-values if desc else values), [int(d) for d in docs]
    mapper = searcher.field(spec.field)
    if mapper is None:
        if spec.unmapped_type is None:
            raise _shard_error(f"No mapping found for [{spec.field}] in order to sort on")
        missing = np.full(len(docs), np.inf)
        return missing, [None] * len(docs)
    if mapper.type == TEXT:
        raise IllegalArgumentError(
            f"Text fields are not optimised for operations that require per-document field data like "
            f"aggregations and sorting, so these operations are disabled by default. Please use a keyword field "
            f"instead. Alternatively, set fielddata=true on [{spec.field}] in order to load field data by "
            "uninverting the inverted index. Note that this can use significant memory.")
    mode = spec.mode or ("max" if desc else "min")
    if mapper.type == KEYWORD:
        return _keyword_column(searcher, docs, spec, mode, desc)
    if not (mapper.is_numeric or mapper.type in (DATE, BOOLEAN)):
        raise IllegalArgumentError(f"can't sort on field [{spec.field}] of type [{mapper.type}]")
    raw = np.full(len(docs), np.nan)
    for ctx in searcher.segment_contexts():
        column = ctx.segment.numbers.get(spec.field)
        in_seg = (docs >= ctx.base) & (docs < ctx.base + ctx.segment.max_doc)
        if column is None or not in_seg.any() or not len(column.docs):
            continue
        reduced = _reduce(column.docs, column.values.astype(np.float64), ctx.segment.max_doc, mode)
        raw[in_seg] = reduced[docs[in_seg] - ctx.base]
    display: list[Any] = []
    for value in raw.tolist():
        if np.isnan(value):
            display.append(None)
        elif mapper.is_integer or mapper.type in (DATE, BOOLEAN):
            display.append(int(value))
        else:
            display.append(float(value))
    keys = -raw if desc else raw.copy()
    missing = np.isnan(keys)
    if missing.any():
        keys[missing] = _missing_key(spec, desc)
        for i in np.flatnonzero(missing).tolist():
            if spec.missing not in ("_last", "_first"):
                display[i] = spec.missing
    return keys, display


def _after_key(spec: SortSpec, value: Any, display: list[Any] | None) -> float:
    """A search_after value in the float key space of its sort column."""
    desc = spec.order == "desc"
    if value is None:
        return np.inf if spec.missing != "_first" else -np.inf
    if isinstance(value, str) and not _is_number(value):
        present = sorted({v for v in (display or []) if isinstance(v, str)}, key=lambda t: t.encode())
        encoded = [t.encode() for t in present]
        import bisect
        position = bisect.bisect_left(encoded, value.encode())
        rank = float(position) if position < len(encoded) and encoded[position] == value.encode() else position - 0.5
        return -rank if desc else rank
    number = float(value)
    return -number if desc else number


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _missing_key(spec: SortSpec, desc: bool) -> float:
    if spec.missing == "_first":
        return -np.inf
    if spec.missing == "_last":
        return np.inf
    from localnode.search.xcontent import java_parse_double
    value = java_parse_double(spec.missing) if isinstance(spec.missing, str) else float(spec.missing)
    return -value if desc else value


def _reduce(col_docs: np.ndarray, values: np.ndarray, max_doc: int, mode: str) -> np.ndarray:
    out = np.full(max_doc, np.nan)
    if mode == "min":
        order = np.lexsort((-values, col_docs))  # last write wins → smallest
    elif mode == "max":
        order = np.lexsort((values, col_docs))
    else:
        sums = np.bincount(col_docs, weights=values, minlength=max_doc)
        counts = np.bincount(col_docs, minlength=max_doc)
        has = counts > 0
        if mode in ("sum",):
            out[has] = sums[has]
        elif mode in ("avg", "median"):
            out[has] = sums[has] / counts[has]
        else:
            raise ParsingError(f"Unknown sort mode [{mode}]")
        return out
    out[col_docs[order]] = values[order]
    return out


def _keyword_column(searcher: "Searcher", docs: np.ndarray, spec: SortSpec, mode: str,
                    desc: bool) -> tuple[np.ndarray, list[Any]]:
    per_doc: list[str | None] = [None] * len(docs)
    for ctx in searcher.segment_contexts():
        fp = ctx.segment.postings.get(spec.field)
        in_seg = np.flatnonzero((docs >= ctx.base) & (docs < ctx.base + ctx.segment.max_doc))
        if fp is None or not len(in_seg):
            continue
        wanted = {int(docs[i]) - ctx.base: i for i in in_seg.tolist()}
        for term in fp.term_list:
            found = fp.postings(term)
            if found is None:
                continue
            for local in found[0].tolist():
                i = wanted.get(local)
                if i is None:
                    continue
                current = per_doc[i]
                if current is None or (term.encode() < current.encode() if mode == "min" else term.encode() > current.encode()):
                    per_doc[i] = term
    distinct = sorted({v for v in per_doc if v is not None}, key=lambda t: t.encode())
    rank = {term: float(i) for i, term in enumerate(distinct)}
    keys = np.array([rank[v] if v is not None else np.nan for v in per_doc], dtype=np.float64)
    if desc:
        keys = -keys
    missing = np.isnan(keys)
    keys[missing] = -np.inf if spec.missing == "_first" else np.inf
    display = [v if v is not None else (spec.missing if spec.missing not in ("_last", "_first") else None)
               for v in per_doc]
    return keys, display


def merge_key(specs: list[SortSpec], values: list[Any]) -> tuple[Any, ...]:
    """A Python sort key for merging hits of several indices by their sort values."""
    key: list[Any] = []
    for spec, value in zip(specs, values):
        desc = spec.order == "desc"
        if value is None:
            key.append((1 if spec.missing != "_first" else -1, 0))
        elif isinstance(value, str):
            encoded = value.encode()
            key.append((0, tuple(-b for b in encoded) if desc else encoded))
        else:
            key.append((0, -value if desc else value))
    return tuple(key)


def _shard_error(reason: str) -> Exception:
    from localnode.errors import OpenSearchError
    return OpenSearchError(reason, status=400, error_type="query_shard_exception")
