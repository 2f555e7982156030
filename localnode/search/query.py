"""Query objects, weights and the parser registry (Lucene's Query/Weight split, OpenSearch's DSL names).

A request body is parsed once into :class:`Query` objects (one parser per DSL name, registered with
:func:`query_parser`); a query turns into a :class:`Weight` against one point-in-time reader, with
the boost folded in the way Lucene folds it; the weight then produces :class:`Matches` segment by
segment. Adding a query type means one new module that registers its parser.
"""

from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from localnode.search import cancellation
from localnode.errors import IllegalArgumentError, OpenSearchError, ParsingError
from localnode.ltr.xcontent import NUMBER, STRING, Field, java_float_to_string
from localnode.search.matches import Matches
from localnode.search.xcontent import TokenStream, float_value, text, token

if TYPE_CHECKING:
    from localnode.index.segment import Segment
    from localnode.index.shard import LocalIndex, Reader
    from localnode.mapping.fields import FieldMapper
    from localnode.search.topk import ScoreTree


@dataclass(slots=True)
class SegmentContext:
    reader: "Reader"
    segment: "Segment"
    live: np.ndarray | None
    base: int

    def live_all(self) -> np.ndarray:
        """All live local doc ids of the segment."""
        if self.live is None:
            return np.arange(self.segment.max_doc, dtype=np.int32)
        return np.flatnonzero(self.live).astype(np.int32)

    def keep_live(self, docs: np.ndarray) -> np.ndarray:
        return docs if self.live is None else docs[self.live[docs]]


@dataclass(slots=True)
class Explanation:
    value: float
    description: str
    details: list["Explanation"] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"value": float(np.float32(self.value)), "description": self.description,
                "details": [d.to_dict() for d in self.details]}


class Searcher:
    """What weights need: the index (mapping, analyzers), a reader, and per-request state."""

    def __init__(self, index: "LocalIndex", reader: "Reader") -> None:
        self.index = index
        self.reader = reader
        self.mapping = index.mapping
        self._contexts: list[SegmentContext] | None = None

    def field(self, name: str) -> "FieldMapper | None":
        return self.mapping.field(name)

    def segment_contexts(self) -> Iterator[SegmentContext]:
        """The reader's segments; built once per searcher (a request walks them several times)."""
        if self._contexts is None:
            self._contexts = [SegmentContext(self.reader, segment, live, base) for (segment, live), base
                              in zip(self.reader.segments, self.reader.bases[:-1].tolist())]
        return _checked(self._contexts)


def _checked(contexts: list[SegmentContext]) -> Iterator[SegmentContext]:
    """Each segment a loop visits is a point where an ended request budget stops the work."""
    for context in contexts:
        cancellation.check()
        yield context


class Weight(ABC):
    @abstractmethod
    def matches(self, ctx: SegmentContext) -> Matches:
        """Live matching docs of the segment with their float32 scores."""

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        """The same as ``matches`` restricted to ``docs`` (sorted live local ids).

        Rescoring and LTR feature evaluation only need a window of documents; weights whose score
        of a document does not depend on the others override this to work on the window alone.
        """
        return self.matches(ctx).restrict(docs)

    def top_docs(self, k: int) -> tuple[np.ndarray, np.ndarray, int] | None:
        """(global docs, float32 scores, hit count) of the best ``k``, ranked, when this weight can
        give them more cheaply than collecting every match; None otherwise (the default)."""
        return None

    def score_tree(self, ctx: SegmentContext) -> "ScoreTree | None":
        """How this weight's scores bound and combine in the segment, for top-k pruning
        (:mod:`localnode.search.topk`); None when it cannot say (the exhaustive path then runs)."""
        return None

    def sub_weights(self) -> list["Weight"]:
        """The weights this one combines (compound weights override it)."""
        return []

    def leaf_count(self) -> int:
        """How many leaf queries Lucene's clause-count visitor sees in this weight's query."""
        subs = self.sub_weights()
        return sum(sub.leaf_count() for sub in subs) if subs else 1

    def explain(self, ctx: SegmentContext, doc: int) -> Explanation | None:
        found = self.matches(ctx)
        idx = np.searchsorted(found.docs, doc)
        if idx < len(found.docs) and found.docs[idx] == doc:
            return Explanation(float(found.scores[idx]), self.describe())
        return None

    def describe(self) -> str:
        return type(self).__name__


class Query(ABC):
    """A parsed query. ``boost`` multiplies into the weight (Lucene BoostQuery); ``name`` is ``_name``."""

    boost: float = 1.0
    name: str | None = None

    @abstractmethod
    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        ...

    def children(self) -> list["Query"]:
        return []

    def walk(self) -> Iterator["Query"]:
        """This query and every query under it, depth first (iterative: queries nest deeply)."""
        stack: list[Query] = [self]
        while stack:
            query = stack.pop()
            yield query
            stack.extend(reversed(query.children()))

    def weight(self, searcher: Searcher, outer_boost: np.float32 = np.float32(1.0), scoring: bool = True) -> Weight:
        """Weight with this query's own boost folded into the outer one (float32 product).

        As ``AbstractQueryBuilder.toQuery`` wraps a query with a boost other than 1 in a Lucene
        ``BoostQuery`` (unless it matches nothing), a NaN, infinite or negative boost fails here,
        once the query itself is built."""
        with np.errstate(over="ignore", invalid="ignore"):
            folded = np.float32(outer_boost * np.float32(self.boost))
        weight = self.create_weight(searcher, folded, scoring)
        if self.boost != 1.0 and type(weight).__name__ != "MatchNoneWeight":
            check_boost(float(np.float32(self.boost)))
        return weight


Parser = Callable[[Any, "ParseContext"], Query]
_PARSERS: dict[str, tuple[Parser, bool]] = {}

#: Deepest query nesting served. OpenSearch 2.19 has no limit: its parsers recurse until the JVM
#: stack overflows (a ``bool`` ~1000 levels deep drops the connection without an answer); up to
#: this depth the embedded engine answers what OpenSearch answers, past it a 400.
MAX_QUERY_DEPTH = 1000
# Queries are parsed, built and run recursively (as in OpenSearch), a handful of Python frames per
# nesting level, and error causes nest as deep: Python's default limit of 1000 frames would stop a
# bool nested ~200 deep. Raised once, process-wide, to what MAX_QUERY_DEPTH needs (Python frames
# do not use the C stack on 3.11+; the JSON fallback decoder is bounded by MAX_JSON_DEPTH).
_RECURSION_NEEDED = MAX_QUERY_DEPTH * 16 + 2000


@contextmanager
def recursion_headroom() -> Iterator[None]:
    """Run a request with the recursion limit deep queries need, restoring a lower one afterwards
    (a caller may have lowered it after import: test runners do)."""
    before = sys.getrecursionlimit()
    if before >= _RECURSION_NEEDED:
        yield
        return
    sys.setrecursionlimit(_RECURSION_NEEDED)
    try:
        yield
    finally:
        if sys.getrecursionlimit() == _RECURSION_NEEDED:
            sys.setrecursionlimit(before)


if sys.getrecursionlimit() < _RECURSION_NEEDED:
    sys.setrecursionlimit(_RECURSION_NEEDED)


def query_parser(*names: str, stream: bool = False) -> Callable[[Parser], Parser]:
    """Register a query parser. A tree parser gets the query's object; a ``stream`` parser gets the
    :class:`~localnode.search.xcontent.TokenStream` standing on that object's ``START_OBJECT`` and
    must leave it on the matching ``END_OBJECT`` (the ports of hand-written token loops)."""
    def register(fn: Parser) -> Parser:
        for name in names:
            _PARSERS[name] = (fn, stream)
        return fn
    return register


KNOWN_UNSUPPORTED_QUERIES = {
    "fuzzy", "prefix", "wildcard", "regexp", "query_string", "simple_query_string", "nested", "has_child",
    "has_parent", "geo_distance", "geo_bounding_box", "geo_shape", "more_like_this", "span_term",
    "span_near", "span_or", "span_not", "span_first", "script", "percolate", "wrapper", "pinned",
    "distance_feature", "intervals", "match_bool_prefix", "match_phrase_prefix", "combined_fields",
    "neural", "hybrid", "terms_set", "parent_id", "boosting", "type", "neural_sparse", "template",
}


@dataclass(slots=True)
class ParseContext:
    """What query parsers may look at. Parsing is the coordinating node's work in OpenSearch and does
    not depend on an index: ``index`` is only set where a query is parsed against one (LTR feature
    templates, alias filters); ``depth`` is the current query nesting."""
    index: "LocalIndex | None" = None
    depth: int = 0

    def field(self, name: str) -> "FieldMapper | None":
        return self.index.mapping.field(name) if self.index is not None else None


class QueryTooDeep(OpenSearchError):
    status = 400
    error_type = "illegal_argument_exception"
    unwrapped = True   # reported as is, not once per enclosing query

def parse_query(body: Any, ctx: ParseContext) -> Query:
    """``AbstractQueryBuilder.parseInnerQueryBuilder`` of a query object: ``{"<name>": {...}}``."""
    if token(body) != "START_OBJECT":
        raise ParsingError("[_na] query malformed, must start with start_object")
    return parse_query_stream(TokenStream(body, started=True), ctx)


def parse_query_stream(stream: TokenStream, ctx: ParseContext) -> Query:
    """``parseInnerQueryBuilder`` on a token stream standing on (or just before) the query object."""
    if stream.current != "START_OBJECT" and stream.next_token() != "START_OBJECT":
        raise ParsingError("[_na] query malformed, must start with start_object")
    if stream.next_token() == "END_OBJECT":
        raise IllegalArgumentError("query malformed, empty clause found at [1:1]")
    name = stream.value
    if stream.next_token() != "START_OBJECT":
        raise ParsingError(f"[{name}] query malformed, no start_object after query name")
    entry = _PARSERS.get(name)
    if entry is None:
        if name in KNOWN_UNSUPPORTED_QUERIES:
            raise ParsingError(f"query [{name}] is not supported by the embedded engine (localnode); "
                               "use --cluster URL to run it on OpenSearch", name=name)
        raise ParsingError(f"unknown query [{name}]", caused_by=OpenSearchError(
            f"unknown field [{name}]", status=400, error_type="named_object_not_found_exception"))
    parser, streaming = entry
    ctx.depth += 1
    if ctx.depth > MAX_QUERY_DEPTH:
        raise QueryTooDeep(f"the query is nested more than {MAX_QUERY_DEPTH} levels deep, the embedded engine's "
                           "limit (OpenSearch has no limit and fails with a stack overflow)")
    try:
        if streaming:
            query = parser(stream, ctx)
        else:
            query = parser(stream.subtree(), ctx)
            stream.finish_subtree()
    finally:
        ctx.depth -= 1
    if stream.current != "END_OBJECT":
        raise ParsingError(f"[{name}] malformed query, expected [END_OBJECT] but found [{stream.current}]")
    following = stream.next_token()
    if following != "END_OBJECT":
        raise ParsingError(f"[{name}] malformed query, expected [END_OBJECT] but found [{following}]")
    return query


# -- what every builder shares ------------------------------------------------------------------------
def set_boost(query: Query, boost: Any, query_name: str) -> None:
    """``AbstractQueryBuilder.boost(float)``: negative boosts are refused when set (NaN is not
    negative: it fails later, when the query is built, as Lucene's ``BoostQuery`` refuses it)."""
    value = float(boost)
    if is_negative(value):
        raise IllegalArgumentError(f"negative [boost] are not allowed in [{{{query_name}}}], use a value between 0 "
                                   "and 1 to deboost")
    query.boost = value


def check_boost(boost: float) -> None:
    """Lucene ``BoostQuery``: a boost other than 1 must be finite and not negative."""
    if not math.isfinite(boost) or is_negative(boost):
        raise IllegalArgumentError(f"boost must be a positive float, got {java_float_to_string(boost)}")


def is_negative(value: float) -> bool:
    """``Float.compare(value, 0f) < 0``: -0.0 is negative, NaN is not."""
    return value < 0 or (value == 0 and math.copysign(1.0, value) < 0)


def checked_boost(value: Any, query_name: str) -> float:
    """A ``boost`` value as the builder's setter takes it (``floatValue()``, then the negative check)."""
    boost = float(float_value(value))
    if is_negative(boost):
        raise IllegalArgumentError(f"negative [boost] are not allowed in [{{{query_name}}}], use a value between 0 "
                                   "and 1 to deboost")
    return boost


def standard_fields(query_name: str) -> dict[str, Field]:
    """``declareStandardFields``: ``boost`` (a float, refused when negative) and ``_name`` (a string) of
    ObjectParser-built queries; the state is a dict of parsed values."""
    return {
        "boost": Field(NUMBER, lambda state, value: state.__setitem__("boost", checked_boost(value, query_name))),
        "_name": Field(STRING, lambda state, value: state.__setitem__("_name", text(value))),
    }


def apply_standard(query: Query, state: dict[str, Any]) -> Query:
    if "_name" in state:
        query.name = state["_name"]
    if "boost" in state:
        query.boost = state["boost"]
    return query


parse_inner_query = parse_query_stream


def multiple_fields(query_name: str, first: str, second: str | None) -> ParsingError:
    return ParsingError(f"[{query_name}] query doesn't support multiple fields, found [{first}] and [{second}]")
