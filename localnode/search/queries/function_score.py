"""``function_score`` with ``field_value_factor`` and ``weight`` functions (OpenSearch FunctionScoreQuery).

The arithmetic mirrors OpenSearch: function values are doubles, combined per ``score_mode``; the
result is combined with the sub-query score per ``boost_mode`` in double and cast to float. The
query's own boost goes to the sub-query's weight (so with ``boost_mode: replace`` it is lost, as in
OpenSearch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from localnode.errors import OpenSearchError, ParsingError, UnsupportedError
from localnode.search.matches import Matches
from localnode.search.queries.compound import MatchAllQuery
from localnode.search.query import (ParseContext, Query, Searcher, SegmentContext, Weight, check_keys,
                                    common_options, parse_query, query_parser)

_MODIFIERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda v: v,
    "log": np.log10,
    "log1p": lambda v: np.log10(v + 1),
    "log2p": lambda v: np.log10(v + 2),
    "ln": np.log,
    "ln1p": np.log1p,
    "ln2p": lambda v: np.log(v + 2),
    "square": lambda v: v * v,
    "sqrt": np.sqrt,
    "reciprocal": lambda v: 1.0 / v,
}
_SCORE_MODES = {"multiply", "sum", "avg", "first", "max", "min"}
_BOOST_MODES = {"multiply", "replace", "sum", "avg", "max", "min"}
_UNSUPPORTED_FUNCTIONS = {"script_score", "random_score", "gauss", "linear", "exp", "decay"}


class FunctionScoreError(OpenSearchError):
    status = 400
    error_type = "exception"


@dataclass(slots=True)
class ScoreFunction:
    filter_query: Query | None
    weight: float | None
    field: str | None = None
    factor: float = 1.0
    modifier: str = "none"
    missing: float | None = None

    def values(self, searcher: Searcher, ctx: SegmentContext, docs: np.ndarray) -> np.ndarray:
        """Function value per doc (double), before the weight."""
        if self.field is None:
            return np.ones(len(docs), dtype=np.float64)
        dense = ctx.segment.first_values(self.field)
        values = np.full(len(docs), np.nan, dtype=np.float64)
        if dense is not None:
            has, first = dense
            values = np.where(has[docs], first[docs], np.nan)
        missing_mask = np.isnan(values)
        if missing_mask.any():
            if self.missing is None:
                raise FunctionScoreError(f"Missing value for field [{self.field}]")
            values[missing_mask] = self.missing
        scaled = values * float(np.float32(self.factor))
        with np.errstate(all="ignore"):
            result = _MODIFIERS[self.modifier](scaled)
        bad = ~np.isfinite(result)
        if bad.any():
            raise FunctionScoreError(
                f"Result of field modification [{self.modifier}({scaled[bad][0]})] must be a number")
        return result


class FunctionScoreWeight(Weight):
    def __init__(self, searcher: Searcher, inner: Weight, functions: list[ScoreFunction],
                 filter_weights: list[Weight | None], score_mode: str, boost_mode: str, max_boost: float,
                 min_score: float | None) -> None:
        self.searcher = searcher
        self.inner = inner
        self.functions = functions
        self.filter_weights = filter_weights
        self.score_mode = score_mode
        self.boost_mode = boost_mode
        self.max_boost = max_boost
        self.min_score = min_score

    def matches(self, ctx: SegmentContext) -> Matches:
        return self._apply(ctx, self.inner.matches(ctx))

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return self._apply(ctx, self.inner.matches_in(ctx, docs))

    def _apply(self, ctx: SegmentContext, base: Matches) -> Matches:
        if not len(base):
            return base
        docs = base.docs
        factor = self._factor(ctx, docs)
        sub = base.scores.astype(np.float64)
        bounded = np.minimum(factor, self.max_boost)
        mode = self.boost_mode
        if mode == "multiply":
            final = sub * bounded
        elif mode == "replace":
            final = bounded
        elif mode == "sum":
            final = sub + bounded
        elif mode == "avg":
            final = (bounded + sub) / 2.0
        elif mode == "min":
            final = np.minimum(sub, bounded)
        else:
            final = np.maximum(sub, bounded)
        scores = final.astype(np.float32)
        if self.min_score is not None:
            keep = scores >= np.float32(self.min_score)
            return Matches(docs[keep], scores[keep])
        return Matches(docs, scores)

    def _factor(self, ctx: SegmentContext, docs: np.ndarray) -> np.ndarray:
        n = len(docs)
        if not self.functions:
            return np.ones(n, dtype=np.float64)
        applies: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        weights: list[float] = []
        for function, filter_weight in zip(self.functions, self.filter_weights):
            if filter_weight is None:
                mask = np.ones(n, dtype=bool)
            else:
                mask = np.isin(docs, filter_weight.matches_in(ctx, docs).docs, assume_unique=True)
            value = np.ones(n, dtype=np.float64)
            if mask.any():
                value[mask] = function.values(self.searcher, ctx, docs[mask])
            if function.weight is not None:
                value = value * function.weight
            applies.append(mask)
            scores.append(value)
            weights.append(function.weight if function.weight is not None else 1.0)
        factor = np.ones(n, dtype=np.float64)
        mode = self.score_mode
        if mode == "first":
            done = np.zeros(n, dtype=bool)
            for mask, value in zip(applies, scores):
                take = mask & ~done
                factor[take] = value[take]
                done |= mask
        elif mode in ("max", "min"):
            init = -np.inf if mode == "max" else np.inf
            best = np.full(n, init)
            for mask, value in zip(applies, scores):
                candidate = np.where(mask, value, init)
                best = np.maximum(best, candidate) if mode == "max" else np.minimum(best, candidate)
            found = np.isfinite(best) | (best != init)
            factor[found] = best[found]
        elif mode == "multiply":
            for mask, value in zip(applies, scores):
                factor[mask] *= value[mask]
        else:  # sum / avg
            total = np.zeros(n, dtype=np.float64)
            weight_sum = np.zeros(n, dtype=np.float64)
            for mask, value, weight in zip(applies, scores, weights):
                total[mask] += value[mask]
                weight_sum[mask] += weight
            has = weight_sum != 0
            factor[has] = total[has] / weight_sum[has] if mode == "avg" else total[has]
        return factor


class FunctionScoreQuery(Query):
    def __init__(self, query: Query, functions: list[ScoreFunction], score_mode: str, boost_mode: str,
                 max_boost: float, min_score: float | None) -> None:
        self.query = query
        self.functions = functions
        self.score_mode = score_mode
        self.boost_mode = boost_mode
        self.max_boost = max_boost
        self.min_score = min_score

    def children(self) -> list[Query]:
        return [self.query] + [f.filter_query for f in self.functions if f.filter_query is not None]

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        for function in self.functions:
            if function.field is not None and searcher.field(function.field) is None and function.missing is None:
                raise FunctionScoreError(
                    f"Unable to find a field mapper for field [{function.field}]. No 'missing' value defined.")
        inner = self.query.weight(searcher, boost, scoring)
        filters = [f.filter_query.weight(searcher, np.float32(1.0), False) if f.filter_query is not None else None
                   for f in self.functions]
        return FunctionScoreWeight(searcher, inner, self.functions, filters, self.score_mode, self.boost_mode,
                                   self.max_boost, self.min_score)


def _java_float(value: Any) -> float:
    """A float-typed query parameter (Java ``float``), as the double the arithmetic then widens it to."""
    return float(np.float32(float(value)))


def _parse_function(spec: dict[str, Any], ctx: ParseContext, allow_filter: bool) -> ScoreFunction:
    for name in _UNSUPPORTED_FUNCTIONS:
        if name in spec:
            raise UnsupportedError(f"[function_score] function [{name}]")
    filter_query = parse_query(spec["filter"], ctx) if allow_filter and "filter" in spec else None
    weight = spec.get("weight")
    if weight is not None:
        weight = _java_float(weight)  # ScoreFunctionBuilder weights are floats (parser.floatValue())
    function = ScoreFunction(filter_query, weight)
    fvf = spec.get("field_value_factor")
    if fvf is not None:
        if not isinstance(fvf, dict) or "field" not in fvf:
            raise ParsingError("[field_value_factor] field is required")
        check_keys(fvf, {"field", "factor", "modifier", "missing"}, "field_value_factor")
        modifier = str(fvf.get("modifier", "none")).lower()
        if modifier not in _MODIFIERS:
            raise ParsingError(f"Illegal modifier: {modifier}", error_type="illegal_argument_exception")
        function.field = str(fvf["field"])
        function.factor = float(fvf.get("factor", 1.0))
        function.modifier = modifier
        function.missing = float(fvf["missing"]) if fvf.get("missing") is not None else None
    elif weight is None:
        unknown = [k for k in spec if k != "filter"]
        if unknown:
            raise ParsingError(f"failed to parse [function_score] query: unknown function [{unknown[0]}]")
        raise ParsingError("failed to parse [function_score] query: an entry in functions list is missing a function.")
    return function


@query_parser("function_score")
def parse_function_score(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict):
        raise ParsingError("[function_score] query malformed")
    allowed = {"query", "functions", "score_mode", "boost_mode", "max_boost", "min_score", "boost", "_name",
               "field_value_factor", "weight"} | _UNSUPPORTED_FUNCTIONS
    check_keys(body, allowed, "function_score")
    inner = parse_query(body["query"], ctx) if "query" in body else MatchAllQuery()
    functions: list[ScoreFunction] = []
    if "functions" in body:
        if "field_value_factor" in body or any(k in body for k in _UNSUPPORTED_FUNCTIONS):
            raise ParsingError("failed to parse [function_score] query. already found [functions] array, "
                               "now encountering [field_value_factor].")
        for spec in body["functions"]:
            if not isinstance(spec, dict):
                raise ParsingError("failed to parse [function_score] query: functions must be objects")
            functions.append(_parse_function(spec, ctx, allow_filter=True))
    elif "field_value_factor" in body or any(k in body for k in _UNSUPPORTED_FUNCTIONS):
        functions.append(_parse_function({k: v for k, v in body.items()
                                          if k in ("field_value_factor", "weight") or k in _UNSUPPORTED_FUNCTIONS},
                                         ctx, allow_filter=False))
    elif "weight" in body:
        functions.append(ScoreFunction(None, _java_float(body["weight"])))
    score_mode = str(body.get("score_mode", "multiply")).lower()
    boost_mode = str(body.get("boost_mode", "multiply")).lower()
    if score_mode not in _SCORE_MODES:
        raise ParsingError(f"failed to parse [function_score] query. illegal score_mode [{score_mode}]")
    if boost_mode not in _BOOST_MODES:
        raise ParsingError(f"failed to parse [function_score] query. illegal boost_mode [{boost_mode}]")
    max_boost = _java_float(body.get("max_boost", np.finfo(np.float32).max))
    min_score = float(body["min_score"]) if body.get("min_score") is not None else None
    query = FunctionScoreQuery(inner, functions, score_mode, boost_mode, max_boost, min_score)
    common_options(query, body, "function_score")
    return query

