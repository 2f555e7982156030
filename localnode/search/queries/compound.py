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

from localnode.errors import IllegalArgumentError, NumberFormatError, OpenSearchError, ParsingError
from localnode.ltr.xcontent import BOOLEAN, Field, IllegalStateError, ObjectParser
from localnode.search import limits
from localnode.search.matches import Matches, conjunction, dis_max, disjunction, req_opt
from localnode.search.query import (Explanation, ParseContext, Query, Searcher, SegmentContext, Weight,
                                    apply_standard, parse_inner_query, parse_query, query_parser, set_boost,
                                    standard_fields)
from localnode.search.xcontent import (OBJECT_ARRAY_OR_NULL, VALUE, TokenStream, boolean_value, float_value, text,
                                       text_or_null, token, wrap_as_parsing)

if TYPE_CHECKING:
    from localnode.search.topk import ScoreTree


# -- minimum_should_match ------------------------------------------------------------------------
def min_should_match(optional_count: int, spec: Any) -> int:
    """OpenSearch ``Queries.calculateMinShouldMatch`` (``Integer.parseInt`` and its failures)."""
    if spec is None:
        return 0
    text = str(spec).strip()
    result = optional_count
    if "<" in text:
        import re
        text = re.sub(r"\s*<\s*", "<", text)
        for part in text.split():
            pieces = [p for p in part.split("<")]
            while pieces and pieces[-1] == "":   # String.split drops trailing empty strings
                pieces.pop()
            upper = java_parse_int(pieces[0] if pieces else "")
            if optional_count <= upper:
                return result
            if len(pieces) < 2:
                raise OpenSearchError("Index 1 out of bounds for length 1", status=500,
                                      error_type="array_index_out_of_bounds_exception")
            result = min_should_match(optional_count, pieces[1])
        return result
    if "%" in text:
        percent = java_parse_int(text[:-1])
        calc = np.float32(np.float32(result * percent) * np.float32(1 / 100))
        result = result + int(calc) if calc < 0 else int(calc)
    else:
        calc_int = java_parse_int(text)
        result = result + calc_int if calc_int < 0 else calc_int
    return max(result, 0)


def java_parse_int(text: str) -> int:
    """``Integer.parseInt``: ASCII digits with an optional sign, in the int range."""
    import re
    if not re.fullmatch(r"[+-]?[0-9]+", text) or not -(2 ** 31) <= int(text) < 2 ** 31:
        raise NumberFormatError(f'For input string: "{text}"')
    return int(text)


class TooManyClauses(OpenSearchError):
    """Lucene ``IndexSearcher.TooManyClauses``: a BooleanQuery with more than ``max_clause_count``
    clauses. Building one (``toQuery``) is a 400 ``query_shard_exception`` around it; when the query
    phase's rewrite flattens nested disjunctions past the limit it is a 500 of its own."""
    status = 500
    error_type = "too_many_clauses"

    def __init__(self, at_rewrite: bool = False) -> None:
        super().__init__(f"maxClauseCount is set to {limits.max_clause_count()}")
        self.query_phase = at_rewrite


class TooManyNestedClauses(TooManyClauses):
    """``IndexSearcher.TooManyNestedClauses``: more leaf queries in the whole query than the limit
    (counted by the visitor ``IndexSearcher.rewrite`` runs); a 500 in OpenSearch."""
    error_type = "too_many_nested_clauses"

    def __init__(self) -> None:
        OpenSearchError.__init__(self, "Query contains too many nested clauses; maxClauseCount is set to "
                                       f"{limits.max_clause_count()}")
        self.query_phase = True


def check_rewrite(weight: Weight) -> None:
    """What ``IndexSearcher.rewrite`` refuses in the query phase: a nested disjunction flattened past
    the clause limit, then (the clause-count visitor) more leaf queries than the limit + 1."""
    stack = [weight]
    while stack:
        current = stack.pop()
        if getattr(current, "flatten_overflow", False):
            raise TooManyClauses(at_rewrite=True)
        stack.extend(current.sub_weights())
    if weight.leaf_count() > limits.max_clause_count() + 1:
        raise TooManyNestedClauses()


# -- bool ------------------------------------------------------------------------------------------
class BoolWeight(Weight):
    def __init__(self, must: list[Weight], should: list[Weight], filters: list[Weight], must_not: list[Weight],
                 min_should: int, match_all_score: np.float32 | None = None) -> None:
        self.must, self.should, self.filters, self.must_not = must, should, filters, must_not
        self.min_should = min_should
        self.match_all_score = match_all_score
        self.flatten_overflow = False

    def matches(self, ctx: SegmentContext) -> Matches:
        return self._combine(ctx, lambda w: w.matches(ctx), ctx.live_all)

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return self._combine(ctx, lambda w: w.matches_in(ctx, docs), lambda: docs.astype(np.int32, copy=False))

    def sub_weights(self) -> list[Weight]:
        return [*self.must, *self.should, *self.filters, *self.must_not]

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
        """The absolute ``minimum_should_match`` OpenSearch computes when it builds the Lucene query
        (``Queries.applyMinimumShouldMatch``: for any bool with clauses, should clauses or not)."""
        if self.minimum_should_match is None or not self.children():
            return 0
        return min_should_match(len(self.should), self.minimum_should_match)

    def clause_count(self) -> int:
        return len(self.must) + len(self.should) + len(self.filters) + len(self.must_not)

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
                if clause.clause_count() > limits.max_clause_count():
                    raise TooManyClauses()            # building the nested BooleanQuery fails first
                flat.extend(clause.flattened_should())
            else:
                flat.append(clause)
        if len(flat) > limits.max_clause_count():    # the rewrite's BooleanQuery.Builder refuses it
            raise TooManyClauses(at_rewrite=True)
        return flat

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        if not (self.must or self.should or self.filters or self.must_not):
            return BoolWeight([], [], [], [], 0, match_all_score=boost)
        limit = limits.max_clause_count()
        if self.clause_count() > limit:
            # BoolQueryBuilder.doToQuery builds each clause (must, must_not, should, filter) and adds
            # it; the add after the limit fails
            for query in [*self.must, *self.must_not, *self.should, *self.filters][:limit + 1]:
                query.weight(searcher, boost, False)
            raise TooManyClauses()
        must = [q.weight(searcher, boost, scoring) for q in self.must]
        must_not = [q.weight(searcher, boost, False) for q in self.must_not]
        plain_should = [q.weight(searcher, boost, scoring) for q in self.should]
        filters = [q.weight(searcher, boost, False) for q in self.filters]
        min_should = self._min_should()
        try:
            flat = self.flattened_should()
        except TooManyClauses as exc:
            if not exc.query_phase:
                raise
            weight = BoolWeight(must, plain_should, filters, must_not, min_should)
            weight.flatten_overflow = True   # the query phase's rewrite fails on it
            return weight
        should = plain_should if flat == self.should else [q.weight(searcher, boost, scoring) for q in flat]
        return BoolWeight(must, should, filters, must_not, min_should)


def _clause_list(value: Any, ctx: ParseContext) -> list[Query]:
    """``declareObjectArrayOrNull`` + ``parseInnerQueryBuilder``: an object, an array of objects or null.

    ``parseArray`` hands each array element to the query parser; an element that is not an object
    makes it read the *next* token, so ``[1, {...}]`` parses the object (and ``[null]`` fails)."""
    if value is None:
        return []
    if token(value) == "START_OBJECT":
        return [parse_query(value, ctx)]
    clauses: list[Query] = []
    items = list(value)
    i = 0
    while i < len(items):
        item = items[i]
        kind = token(item)
        if kind == "START_ARRAY":
            raise IllegalStateError("expected value but got [START_ARRAY]")
        if kind != "START_OBJECT":
            i += 1
            if i >= len(items) or token(items[i]) != "START_OBJECT":
                raise ParsingError("[_na] query malformed, must start with start_object")
            item = items[i]
        clauses.append(parse_query(item, ctx))
        i += 1
    return clauses


def _clauses(key: str) -> Field:
    return Field(OBJECT_ARRAY_OR_NULL, lambda state, value: state[key].extend(_clause_list(value, state["ctx"])))


_BOOL = ObjectParser("bool", {
    "must": _clauses("must"), "should": _clauses("should"), "must_not": _clauses("must_not"),
    "filter": _clauses("filter"),
    "adjust_pure_negative": Field(BOOLEAN, lambda state, value: state.__setitem__("adjust", boolean_value(value))),
    "minimum_should_match": Field(VALUE, lambda state, value: state.__setitem__("msm", text_or_null(value))),
    **standard_fields("bool"),
})


@query_parser("bool")
def parse_bool(body: Any, ctx: ParseContext) -> Query:
    """``BoolQueryBuilder`` (an ObjectParser: wrong types and unknown keys are x_content_parse_exceptions)."""
    state: dict[str, Any] = _BOOL.parse(body, {"must": [], "should": [], "must_not": [], "filter": [], "ctx": ctx})
    query = BoolQuery(state["must"], state["should"], state["filter"], state["must_not"], state.get("msm"))
    return apply_standard(query, state)


# -- dis_max ---------------------------------------------------------------------------------------
class DisMaxWeight(Weight):
    def __init__(self, weights: list[Weight], tie_breaker: float) -> None:
        self.weights = weights
        self.tie_breaker = tie_breaker

    def matches(self, ctx: SegmentContext) -> Matches:
        return dis_max([w.matches(ctx) for w in self.weights], self.tie_breaker, ctx.segment.max_doc)

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return dis_max([w.matches_in(ctx, docs) for w in self.weights], self.tie_breaker, ctx.segment.max_doc)

    def sub_weights(self) -> list[Weight]:
        return list(self.weights)

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


def check_tie_breaker(tie_breaker: float) -> None:
    """Lucene ``DisjunctionMaxQuery``: the tie breaker must be in [0, 1] (NaN passes the check)."""
    if tie_breaker < 0 or tie_breaker > 1:
        raise IllegalArgumentError("tieBreakerMultiplier must be in [0, 1]")


class DisMaxQuery(Query):
    def __init__(self, queries: list[Query], tie_breaker: float) -> None:
        self.queries = queries
        self.tie_breaker = tie_breaker

    def children(self) -> list[Query]:
        return list(self.queries)

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        weights = [q.weight(searcher, boost, scoring) for q in self.queries]
        if not weights:
            from localnode.search.queries.term_level import MatchNoneWeight
            return MatchNoneWeight()
        check_tie_breaker(self.tie_breaker)
        if len(weights) == 1:
            return weights[0]
        return DisMaxWeight(weights, self.tie_breaker)


@query_parser("dis_max", stream=True)
def parse_dis_max(stream: TokenStream, ctx: ParseContext) -> Query:
    """``DisMaxQueryBuilder.fromXContent`` (a token loop)."""
    boost, tie_breaker, name = 1.0, np.float32(0.0), None
    queries: list[Query] = []
    found = False
    field = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            field = stream.value
        elif kind == "START_OBJECT":
            if field != "queries":
                raise ParsingError(f"[dis_max] query does not support [{field}]")
            found = True
            queries.append(parse_inner_query(stream, ctx))
        elif kind == "START_ARRAY":
            if field != "queries":
                raise ParsingError(f"[dis_max] query does not support [{field}]")
            found = True
            while kind != "END_ARRAY":
                queries.append(parse_inner_query(stream, ctx))
                kind = stream.next_token()
        elif field == "boost":
            boost = float(float_value(stream.value))
        elif field == "tie_breaker":
            tie_breaker = float_value(stream.value)
        elif field == "_name":
            name = text(stream.value)
        else:
            raise ParsingError(f"[dis_max] query does not support [{field}]")
    if not found:
        raise ParsingError("[dis_max] requires 'queries' field with at least one clause")
    query = DisMaxQuery(queries, float(tie_breaker))
    query.name = name
    set_boost(query, boost, "dis_max")
    return query


# -- constant_score, match_all, match_none ----------------------------------------------------------
class ConstantScoreWeight(Weight):
    def __init__(self, inner: Weight, score: np.float32) -> None:
        self.inner = inner
        self.score = score

    def sub_weights(self) -> list[Weight]:
        return [self.inner]

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


@query_parser("constant_score", stream=True)
def parse_constant_score(stream: TokenStream, ctx: ParseContext) -> Query:
    """``ConstantScoreQueryBuilder.fromXContent`` (a token loop)."""
    inner: Query | None = None
    boost, name = 1.0, None
    field = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            field = stream.value
        elif kind == "START_OBJECT":
            if field != "filter":
                raise ParsingError(f"[constant_score] query does not support [{field}]")
            inner = parse_inner_query(stream, ctx)
        elif stream.is_value():
            if field == "_name":
                name = text(stream.value)
            elif field == "boost":
                boost = float(float_value(stream.value))
            else:
                raise ParsingError(f"[constant_score] query does not support [{field}]")
        else:
            raise ParsingError(f"unexpected token [{kind}]")
    if inner is None:
        raise ParsingError("[constant_score] requires a 'filter' element")
    query = ConstantScoreQuery(inner)
    set_boost(query, boost, "constant_score")
    query.name = name
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


def _standard_only(body: Any, query_name: str, query: Query) -> Query:
    """``match_all``: an ObjectParser of the standard fields, whose ``IllegalArgumentException``s
    (parse errors included) become parsing errors."""
    try:
        state = ObjectParser(query_name, standard_fields(query_name)).apply(body, {})
    except OpenSearchError as exc:
        raise wrap_as_parsing(exc, ParsingError) from None
    return apply_standard(query, state)


@query_parser("match_all")
def parse_match_all(body: Any, ctx: ParseContext) -> Query:
    return _standard_only(body, "match_all", MatchAllQuery())


@query_parser("match_none", stream=True)
def parse_match_none(stream: TokenStream, ctx: ParseContext) -> Query:
    """``MatchNoneQueryBuilder.fromXContent`` (a token loop, unlike ``match_all``)."""
    boost, name = 1.0, None
    field = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            field = stream.value
        elif stream.is_value():
            if field == "_name":
                name = text(stream.value)
            elif field == "boost":
                boost = float(float_value(stream.value))
            else:
                raise ParsingError(f"[match_none] query does not support [{field}]")
        else:
            raise ParsingError(f"[match_none] unknown token [{kind}] after [{field}]")
    query = MatchNoneQuery()
    set_boost(query, boost, "match_none")
    query.name = name
    return query
