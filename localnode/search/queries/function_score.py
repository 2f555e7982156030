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

from localnode.errors import IllegalArgumentError, OpenSearchError, ParsingError, UnsupportedError
from localnode.ltr.xcontent import java_double_to_string, java_float_to_string
from localnode.search.matches import Matches
from localnode.search.queries.compound import MatchAllQuery
from localnode.search.query import (ParseContext, Query, Searcher, SegmentContext, Weight, parse_inner_query,
                                    query_parser, set_boost)
from localnode.search.xcontent import TokenStream, double_value, float_value, text

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
            if self.missing is None:   # a plain OpenSearchException in the query phase: a 500
                raise FunctionScoreError(f"Missing value for field [{self.field}]", status=500)
            values[missing_mask] = self.missing
        with np.errstate(all="ignore"):
            scaled = values * float(np.float32(self.factor))
            result = _MODIFIERS[self.modifier](scaled)
        negative = result < 0   # FieldValueFactorFunction refuses negative scores; NaN fails later
        if negative.any():
            first = int(np.flatnonzero(negative)[0])
            hint = {"log": "; consider using log1p or log2p instead of log to avoid negative scores",
                    "ln": "; consider using ln1p or ln2p instead of ln to avoid negative scores"}.get(self.modifier, "")
            raise IllegalArgumentError(
                f"field value function must not produce negative scores, but got: "
                f"[{java_double_to_string(float(result[first]))}] for field value: "
                f"[{java_double_to_string(float(values[first]))}]{hint}")
        return result


class FunctionScoreWeight(Weight):
    def sub_weights(self) -> list[Weight]:
        return [self.inner]

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
        self.scoring = True

    def matches(self, ctx: SegmentContext) -> Matches:
        return self._apply(ctx, self.inner.matches(ctx))

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return self._apply(ctx, self.inner.matches_in(ctx, docs))

    def _apply(self, ctx: SegmentContext, base: Matches) -> Matches:
        if not len(base) or (not self.scoring and self.min_score is None):
            return base   # without scores (a filter, _count) the functions are not evaluated
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
        with np.errstate(over="ignore", invalid="ignore"):
            scores = final.astype(np.float32)
        invalid = np.isnan(scores) | (scores < 0)
        if invalid.any():   # FunctionScoreQuery refuses a NaN or negative score
            first = int(np.flatnonzero(invalid)[0])
            raise FunctionScoreError(f"function score query returned an invalid score: "
                                     f"{java_float_to_string(scores[first])} for doc: {int(docs[first])}", status=500)
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
                with np.errstate(invalid="ignore", over="ignore"):
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
        weight = FunctionScoreWeight(searcher, inner, self.functions, filters, self.score_mode, self.boost_mode,
                                     self.max_boost, self.min_score)
        weight.scoring = scoring
        return weight


_SCORE_FUNCTIONS = ("field_value_factor", "script_score", "random_score", "gauss", "linear", "exp")
_MISPLACED = "you can either define [functions] array or a single function, not both. "


def _misplaced(detail: str) -> ParsingError:
    return ParsingError(f"failed to parse [function_score] query. [{_MISPLACED}{detail}]")


def _weight(value: Any) -> float:
    """``ScoreFunctionBuilder.setWeight``: a float, never negative."""
    weight = float(float_value(value))
    if weight < 0:
        raise IllegalArgumentError("[weight] cannot be negative for a filtering function")
    return weight


def _score_function(stream: TokenStream, name: str) -> ScoreFunction:
    """``parser.namedObject(ScoreFunctionBuilder.class, name)`` at a ``START_OBJECT``."""
    if name == "field_value_factor":
        return _field_value_factor(stream)
    if name in _SCORE_FUNCTIONS:
        stream.skip_children()
        raise UnsupportedError(f"[function_score] function [{name}]")
    # parseInnerQueryBuilder reports a NamedObjectNotFoundException as an unknown *query*
    raise ParsingError("unknown query [function_score]", caused_by=OpenSearchError(
        f"unknown field [{name}]", status=400, error_type="named_object_not_found_exception"))


def _field_value_factor(stream: TokenStream) -> ScoreFunction:
    """``FieldValueFactorFunctionBuilder.fromXContent`` (a token loop)."""
    field = None
    factor = np.float32(1.0)
    modifier = "none"
    missing: float | None = None
    current: str | None = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            current = stream.value
        elif stream.is_value():
            if current == "field":
                field = text(stream.value)
            elif current == "factor":
                factor = float_value(stream.value)
            elif current == "modifier":
                raw = text(stream.value)
                modifier = raw.lower()
                if modifier not in _MODIFIERS:
                    raise IllegalArgumentError("No enum constant org.opensearch.common.lucene.search.function."
                                               f"FieldValueFactorFunction.Modifier.{raw.upper()}")
            elif current == "missing":
                missing = double_value(stream.value)
            elif current == "_name":
                text(stream.value)   # a function's name (named functions in explanations)
            else:
                raise ParsingError(f"field_value_factor query does not support [{current}]")
        elif current == "factor" and kind in ("START_ARRAY", "START_OBJECT"):
            raise ParsingError("[field_value_factor] field 'factor' does not support lists or objects")
    if field is None:
        raise ParsingError("[field_value_factor] required field 'field' missing")
    return ScoreFunction(None, None, field, float(factor), modifier, missing)


def _filters_and_functions(stream: TokenStream, ctx: ParseContext, functions: list[ScoreFunction]) -> str | None:
    """``parseFiltersAndFunctions``: the ``functions`` array, each entry a filter, a function, a weight."""
    current: str | None = None
    while (kind := stream.next_token()) != "END_ARRAY":
        filter_query: Query | None = None
        function: ScoreFunction | None = None
        function_name: str | None = None
        weight: float | None = None
        if kind != "START_OBJECT":
            raise ParsingError(f"failed to parse [START_OBJECT]. malformed query, expected a [{kind}] while parsing "
                               "functions but got a [function_score] instead")
        while (inner := stream.next_token()) != "END_OBJECT":
            if inner == "FIELD_NAME":
                current = stream.value
            elif inner == "START_OBJECT":
                if current == "filter":
                    filter_query = parse_inner_query(stream, ctx)
                else:
                    if function is not None:
                        raise ParsingError("failed to parse function_score functions. already found "
                                           f"[{function_name}], now encountering [{current}].")
                    function, function_name = _score_function(stream, current or ""), current
            elif stream.is_value():
                if current == "weight":
                    weight = float(float_value(stream.value))
                else:
                    raise ParsingError(f"failed to parse [function_score] query. field [{current}] is not supported")
        if weight is not None:
            weight = _weight(weight)
            if function is None:
                function = ScoreFunction(None, weight)
            else:
                function.weight = weight
        if function is None:
            raise ParsingError("failed to parse [function_score] query. an entry in functions list is missing a "
                               "function.")
        function.filter_query = filter_query
        functions.append(function)
    return current


def _mode(value: Any, modes: set[str], enum: str) -> str:
    raw = text(value)
    if raw.lower() not in modes:
        raise IllegalArgumentError(f"No enum constant org.opensearch.common.lucene.search.function.{enum}.{raw.upper()}")
    return raw.lower()


@query_parser("function_score", stream=True)
def parse_function_score(stream: TokenStream, ctx: ParseContext) -> Query:
    """``FunctionScoreQueryBuilder.fromXContent`` (a token loop)."""
    inner: Query | None = None
    functions: list[ScoreFunction] = []
    score_mode, boost_mode = "multiply", "multiply"
    max_boost = np.finfo(np.float32).max
    min_score: float | None = None
    boost, name = 1.0, None
    single: str | None = None
    array_found = False
    current: str | None = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            current = stream.value
        elif kind == "START_OBJECT":
            if current == "query":
                if inner is not None:
                    raise ParsingError("failed to parse [function_score] query. [query] is already defined.")
                inner = parse_inner_query(stream, ctx)
            else:
                if single is not None:
                    raise ParsingError(f"failed to parse [function_score] query. already found function [{single}], "
                                       f"now encountering [{current}]. use [functions] array if you want to define "
                                       "several functions.")
                if array_found:
                    raise _misplaced(f"already found [functions] array, now encountering [{current}].")
                single = current
                functions.append(_score_function(stream, current or ""))
        elif kind == "START_ARRAY":
            if current != "functions":
                raise ParsingError(f"failed to parse [function_score] query. array [{current}] is not supported")
            if single is not None:
                raise _misplaced(f"already found [{single}], now encountering [functions].")
            array_found = True
            current = _filters_and_functions(stream, ctx, functions)
        elif stream.is_value():
            if current == "score_mode":
                score_mode = _mode(stream.value, _SCORE_MODES, "FunctionScoreQuery.ScoreMode")
            elif current == "boost_mode":
                boost_mode = _mode(stream.value, _BOOST_MODES, "CombineFunction")
            elif current == "max_boost":
                max_boost = float_value(stream.value)
            elif current == "boost":
                boost = float(float_value(stream.value))
            elif current == "_name":
                name = text(stream.value)
            elif current == "min_score":
                min_score = float(float_value(stream.value))
            else:
                if single is not None:
                    raise ParsingError(f"failed to parse [function_score] query. already found function [{single}], "
                                       f"now encountering [{current}]. use [functions] array if you want to define "
                                       "several functions.")
                if array_found:
                    raise _misplaced(f"already found [functions] array, now encountering [{current}].")
                if current != "weight":
                    raise ParsingError(f"failed to parse [function_score] query. field [{current}] is not supported")
                functions.append(ScoreFunction(None, _weight(stream.value)))
                single = current
    query = FunctionScoreQuery(inner or MatchAllQuery(), functions, score_mode, boost_mode, float(max_boost), min_score)
    set_boost(query, boost, "function_score")
    query.name = name
    return query
