"""Compound queries: bool, dis_max, constant_score, match_all, match_none.

``bool`` follows Lucene's BooleanWeight: required clauses (must + filter) form a conjunction that sums
the must scores in double; optional clauses form a disjunction; with required clauses present the
optional score is added in float (ReqOptSumScorer); ``minimum_should_match`` turns the optional
clauses into a required min-should-match scorer. An empty bool is match_all and a bool made only of
``must_not`` clauses gets a match_all filter, as OpenSearch rewrites them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from localnode.errors import OpenSearchError, ParsingError
from localnode.search.matches import Matches, conjunction, dis_max, disjunction, req_opt
from localnode.search.query import (Explanation, ParseContext, Query, Searcher, SegmentContext, Weight,
                                    check_keys, common_options, parse_query, query_parser)

if TYPE_CHECKING:
    from localnode.search.topk import ScoreTree


# -- minimum_should_match ------------------------------------------------------------------------
def min_should_match(optional_count: int, spec: Any) -> int:
    """OpenSearch ``Queries.calculateMinShouldMatch``."""
    if spec is None:
        return 0
    text = str(spec).strip()
    result = optional_count
    if "<" in text:
        import re
        text = re.sub(r"\s*<\s*", "<", text)
        for part in text.split():
            upper, _, rest = part.partition("<")
            if optional_count <= int(upper):
                return result
            result = min_should_match(optional_count, rest)
        return result
    try:
        if text.endswith("%"):
            percent = int(text[:-1])
            calc = np.float32(np.float32(result * percent) * np.float32(1 / 100))
            result = result + int(calc) if calc < 0 else int(calc)
        else:
            calc_int = int(text)
            result = result + calc_int if calc_int < 0 else calc_int
    except ValueError:
        raise ParsingError(f"failed to parse [minimum_should_match] value [{spec}]",
                           error_type="illegal_argument_exception") from None
    return max(result, 0)


# -- bool ------------------------------------------------------------------------------------------
class BoolWeight(Weight):
    def __init__(self, must: list[Weight], should: list[Weight], filters: list[Weight], must_not: list[Weight],
                 min_should: int, match_all_score: np.float32 | None = None) -> None:
        self.must, self.should, self.filters, self.must_not = must, should, filters, must_not
        self.min_should = min_should
        self.match_all_score = match_all_score

    def matches(self, ctx: SegmentContext) -> Matches:
        return self._combine(ctx, lambda w: w.matches(ctx), ctx.live_all)

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return self._combine(ctx, lambda w: w.matches_in(ctx, docs), lambda: docs.astype(np.int32, copy=False))

    def score_tree(self, ctx: SegmentContext) -> "ScoreTree | None":
        """A pure disjunction (should clauses, at most one required) sums its clauses' scores."""
        if self.match_all_score is not None or self.must or self.filters or self.must_not or self.min_should > 1:
            return None
        from localnode.search.topk import SumNode
        children = [w.score_tree(ctx) for w in self.should]
        if any(child is None for child in children):
            return None
        return SumNode(children)  # type: ignore[arg-type]

    def _combine(self, ctx: SegmentContext, evaluate: Any, universe: Any) -> Matches:
        max_doc = ctx.segment.max_doc
        if self.match_all_score is not None:
            return Matches.constant(universe(), self.match_all_score)
        required = [evaluate(w) for w in self.must]
        scoring = [True] * len(required)
        for weight in self.filters:
            required.append(evaluate(weight))
            scoring.append(False)
        should_matches = [evaluate(w) for w in self.should]
        if self.min_should > len(self.should):
            return Matches.empty()
        if required:
            result = conjunction(required, scoring)
            if self.should and self.min_should > 0:
                opt = disjunction(should_matches, max_doc, self.min_should)
                result = conjunction([result, opt], [True, True])
            elif self.should:
                result = req_opt(result, disjunction(should_matches, max_doc, 1))
        elif self.should:
            result = disjunction(should_matches, max_doc, max(self.min_should, 1))
        else:
            result = Matches.constant(universe(), np.float32(0.0))
        for weight in self.must_not:
            if not len(result):
                break
            result = result.exclude(evaluate(weight).docs)
        return result

    def explain(self, ctx: SegmentContext, doc: int) -> Explanation | None:
        found = super().explain(ctx, doc)
        if found is None:
            return None
        details = []
        for label, weights in (("must", self.must), ("should", self.should), ("filter", self.filters)):
            for weight in weights:
                sub = weight.explain(ctx, doc)
                if sub is not None:
                    if label == "filter":
                        sub = Explanation(0.0, "match on required clause, product of:",
                                          [Explanation(0.0, "# clause"), sub])
                    details.append(sub)
        found.description = "sum of:"
        found.details = details
        return found


class BoolQuery(Query):
    def __init__(self, must: list[Query], should: list[Query], filters: list[Query], must_not: list[Query],
                 minimum_should_match: Any) -> None:
        self.must, self.should, self.filters, self.must_not = must, should, filters, must_not
        self.minimum_should_match = minimum_should_match

    def children(self) -> list[Query]:
        return [*self.must, *self.should, *self.filters, *self.must_not]

    def _min_should(self) -> int:
        """The absolute ``minimum_should_match`` OpenSearch computes when it builds the Lucene query."""
        return min_should_match(len(self.should), self.minimum_should_match) if self.should else 0

    def _is_pure_disjunction(self) -> bool:
        """Lucene's ``BooleanQuery.isPureDisjunction``, for a bool OpenSearch turns into a
        ``BooleanQuery`` as it is: SHOULD clauses only, at most one required, no boost (a boosted
        bool is a ``BoostQuery`` around it)."""
        return (bool(self.should) and not (self.must or self.filters or self.must_not)
                and self._min_should() <= 1 and self.boost == 1.0)

    def flattened_should(self) -> list[Query]:
        """SHOULD clauses after Lucene's rewrite "flatten nested disjunctions" (applied when this
        bool's minimum_should_match is at most 1): a SHOULD clause that is itself a pure
        disjunction is replaced by its own (flattened) clauses. It changes no match, but the
        scores: Lucene sums all clause scores of a disjunction in double and rounds once, so a
        nested bool's sum is no longer rounded to float on its own."""
        if self._min_should() > 1:
            return list(self.should)
        flat: list[Query] = []
        for clause in self.should:
            if isinstance(clause, BoolQuery) and clause._is_pure_disjunction():
                flat.extend(clause.flattened_should())
            else:
                flat.append(clause)
        return flat

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        if not (self.must or self.should or self.filters or self.must_not):
            return BoolWeight([], [], [], [], 0, match_all_score=boost)
        must = [q.weight(searcher, boost, scoring) for q in self.must]
        should = [q.weight(searcher, boost, scoring) for q in self.flattened_should()]
        filters = [q.weight(searcher, boost, False) for q in self.filters]
        must_not = [q.weight(searcher, boost, False) for q in self.must_not]
        return BoolWeight(must, should, filters, must_not, self._min_should())


def _clauses(value: Any, ctx: ParseContext, key: str) -> list[Query]:
    """A bool clause list as ``BoolQueryBuilder``'s ObjectParser reads it: an object or an array of
    objects; anything else is an ``x_content_parse_exception`` naming the JSON token type."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [parse_query(value, ctx)] if value else []
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, dict):
                raise OpenSearchError(f"[bool] failed to parse field [{key}]", status=400,
                                      error_type="x_content_parse_exception",
                                      caused_by=ParsingError("[_na] query malformed, must start with start_object"))
        return [parse_query(v, ctx) for v in value if v != {}]
    raise OpenSearchError(f"[bool] {key} doesn't support values of type: {_token_type(value)}", status=400,
                          error_type="x_content_parse_exception")


def _token_type(value: Any) -> str:
    """The Jackson token name OpenSearch's parser errors print for a JSON value."""
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, (int, float)):
        return "VALUE_NUMBER"
    if isinstance(value, str):
        return "VALUE_STRING"
    return "VALUE_NULL"


@query_parser("bool")
def parse_bool(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict):
        raise ParsingError("[bool] query malformed, no start_object after query name")
    check_keys(body, {"must", "should", "filter", "must_not", "minimum_should_match", "boost", "_name",
                      "adjust_pure_negative"}, "bool")
    query = BoolQuery(_clauses(body.get("must"), ctx, "must"), _clauses(body.get("should"), ctx, "should"),
                      _clauses(body.get("filter"), ctx, "filter"), _clauses(body.get("must_not"), ctx, "must_not"),
                      body.get("minimum_should_match"))
    common_options(query, body, "bool")
    return query


# -- dis_max ---------------------------------------------------------------------------------------
class DisMaxWeight(Weight):
    def __init__(self, weights: list[Weight], tie_breaker: float) -> None:
        self.weights = weights
        self.tie_breaker = tie_breaker

    def matches(self, ctx: SegmentContext) -> Matches:
        return dis_max([w.matches(ctx) for w in self.weights], self.tie_breaker, ctx.segment.max_doc)

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return dis_max([w.matches_in(ctx, docs) for w in self.weights], self.tie_breaker, ctx.segment.max_doc)

    def score_tree(self, ctx: SegmentContext) -> "ScoreTree | None":
        from localnode.search.topk import MaxNode
        children = [w.score_tree(ctx) for w in self.weights]
        if any(child is None for child in children):
            return None
        return MaxNode(children, float(np.float32(self.tie_breaker)))  # type: ignore[arg-type]

    def explain(self, ctx: SegmentContext, doc: int) -> Explanation | None:
        found = super().explain(ctx, doc)
        if found is None:
            return None
        found.description = f"max plus {self.tie_breaker} times others of:"
        found.details = [e for e in (w.explain(ctx, doc) for w in self.weights) if e is not None]
        return found


class DisMaxQuery(Query):
    def __init__(self, queries: list[Query], tie_breaker: float) -> None:
        self.queries = queries
        self.tie_breaker = tie_breaker

    def children(self) -> list[Query]:
        return list(self.queries)

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        if len(self.queries) == 1:
            return self.queries[0].weight(searcher, boost, scoring)
        return DisMaxWeight([q.weight(searcher, boost, scoring) for q in self.queries], self.tie_breaker)


@query_parser("dis_max")
def parse_dis_max(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict):
        raise ParsingError("[dis_max] query malformed")
    check_keys(body, {"queries", "tie_breaker", "boost", "_name"}, "dis_max")
    queries = body.get("queries")
    if not queries:
        raise ParsingError("[dis_max] requires 'queries' field with at least one clause")
    parsed = [parse_query(q, ctx) for q in (queries if isinstance(queries, list) else [queries])]
    query = DisMaxQuery(parsed, float(body.get("tie_breaker", 0.0)))
    common_options(query, body, "dis_max")
    return query


# -- constant_score, match_all, match_none ----------------------------------------------------------
class ConstantScoreWeight(Weight):
    def __init__(self, inner: Weight, score: np.float32) -> None:
        self.inner = inner
        self.score = score

    def matches(self, ctx: SegmentContext) -> Matches:
        return Matches.constant(self.inner.matches(ctx).docs, self.score)

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return Matches.constant(self.inner.matches_in(ctx, docs).docs, self.score)


class ConstantScoreQuery(Query):
    def __init__(self, filter_query: Query) -> None:
        self.filter_query = filter_query

    def children(self) -> list[Query]:
        return [self.filter_query]

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        return ConstantScoreWeight(self.filter_query.weight(searcher, np.float32(1.0), False), boost)


@query_parser("constant_score")
def parse_constant_score(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict) or "filter" not in body:
        raise ParsingError("[constant_score] requires a 'filter' element")
    check_keys(body, {"filter", "boost", "_name"}, "constant_score")
    query = ConstantScoreQuery(parse_query(body["filter"], ctx))
    common_options(query, body, "constant_score")
    return query


class MatchAllWeight(Weight):
    def __init__(self, score: np.float32) -> None:
        self.score = score

    def matches(self, ctx: SegmentContext) -> Matches:
        return Matches.constant(ctx.live_all(), self.score)

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return Matches.constant(docs, self.score)

    def describe(self) -> str:
        return "*:*"


class MatchAllQuery(Query):
    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        return MatchAllWeight(boost)


class MatchNoneQuery(Query):
    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        from localnode.search.queries.term_level import MatchNoneWeight
        return MatchNoneWeight()


@query_parser("match_all")
def parse_match_all(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict):
        raise ParsingError("[match_all] query malformed")
    check_keys(body, {"boost", "_name"}, "match_all")
    query = MatchAllQuery()
    common_options(query, body, "match_all")
    return query


@query_parser("match_none")
def parse_match_none(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict):
        raise ParsingError("[match_none] query malformed")
    check_keys(body, {"boost", "_name"}, "match_none")
    query = MatchNoneQuery()
    common_options(query, body, "match_none")
    return query
