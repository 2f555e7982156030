"""Field sorting: ``sort`` specs, per-document sort values from doc values, and merge keys.

Numeric and date fields sort on their doc values (``min`` for ascending, ``max`` for descending by
default, as OpenSearch), keyword fields on their terms in UTF-8 byte order; text fields refuse, as
they do without fielddata. Missing values go last unless ``missing`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from localnode.errors import IllegalArgumentError, ParsingError
from localnode.mapping.fields import BOOLEAN, DATE, KEYWORD, TEXT

if TYPE_CHECKING:
    from localnode.search.query import Searcher


@dataclass(slots=True)
class SortSpec:
    field: str
    order: str
    missing: Any = "_last"
    mode: str | None = None
    unmapped_type: str | None = None


def parse_sort(spec: Any) -> list[SortSpec]:
    items = spec if isinstance(spec, list) else [spec]
    result: list[SortSpec] = []
    for item in items:
        if isinstance(item, str):
            name, _, order = item.partition(":")
            result.append(SortSpec(name, order or ("desc" if name == "_score" else "asc")))
        elif isinstance(item, dict) and len(item) == 1:
            name, options = next(iter(item.items()))
            if isinstance(options, str):
                result.append(SortSpec(name, options.lower()))
            elif isinstance(options, dict):
                for key in options:
                    if key not in ("order", "missing", "mode", "unmapped_type", "numeric_type", "format"):
                        raise ParsingError(f"[{name}] unknown field [{key}]")
                result.append(SortSpec(name, str(options.get("order", "desc" if name == "_score" else "asc")).lower(),
                                       options.get("missing", "_last"), options.get("mode"),
                                       options.get("unmapped_type")))
            else:
                raise ParsingError(f"[sort] malformed for field [{name}]")
        else:
            raise ParsingError("[sort] must be a string, an object or an array of them")
    for spec_ in result:
        if spec_.order not in ("asc", "desc"):
            raise ParsingError(f"[sort] order must be asc or desc, got [{spec_.order}]",
                               error_type="illegal_argument_exception")
    return result


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
    value = float(spec.missing)
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
