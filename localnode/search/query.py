"""Query objects, weights and the parser registry (Lucene's Query/Weight split, OpenSearch's DSL names).

A request body is parsed once into :class:`Query` objects (one parser per DSL name, registered with
:func:`query_parser`); a query turns into a :class:`Weight` against one point-in-time reader, with
the boost folded in the way Lucene folds it; the weight then produces :class:`Matches` segment by
segment. Adding a query type means one new module that registers its parser.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from localnode.errors import ParsingError
from localnode.search.matches import Matches

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
        return iter(self._contexts)


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
        yield self
        for child in self.children():
            yield from child.walk()

    def weight(self, searcher: Searcher, outer_boost: np.float32 = np.float32(1.0), scoring: bool = True) -> Weight:
        """Weight with this query's own boost folded into the outer one (float32 product)."""
        return self.create_weight(searcher, np.float32(outer_boost * np.float32(self.boost)), scoring)


Parser = Callable[[Any, "ParseContext"], Query]
_PARSERS: dict[str, Parser] = {}


def query_parser(*names: str) -> Callable[[Parser], Parser]:
    def register(fn: Parser) -> Parser:
        for name in names:
            _PARSERS[name] = fn
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
    """Mapping lookups the parsers need; one per index because queries resolve against its mapping."""
    index: "LocalIndex"

    def field(self, name: str) -> "FieldMapper | None":
        return self.index.mapping.field(name)


def parse_query(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict):
        raise ParsingError("query malformed, must start with start_object")
    if len(body) != 1:
        if not body:
            raise ParsingError("query malformed, empty clause found")
        keys = list(body)
        raise ParsingError(f"[{keys[0]}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]")
    name, inner = next(iter(body.items()))
    parser = _PARSERS.get(name)
    if parser is None:
        if name in KNOWN_UNSUPPORTED_QUERIES:
            raise ParsingError(f"query [{name}] is not supported by the embedded engine (localnode); "
                               "use --cluster URL to run it on OpenSearch", name=name)
        raise ParsingError(f"unknown query [{name}]", error_type="parsing_exception")
    return parser(inner, ctx)


def common_options(query: Query, body: dict[str, Any], query_name: str) -> None:
    """Read ``boost`` and ``_name`` (every query accepts them) with OpenSearch's type checks."""
    if "boost" in body:
        boost = body["boost"]
        if isinstance(boost, bool) or not isinstance(boost, (int, float, str)):
            raise ParsingError(f"[{query_name}] boost must be a number")
        try:
            query.boost = float(boost)
        except ValueError:
            raise ParsingError(f"[{query_name}] failed to parse field [boost]") from None
        if query.boost < 0:
            raise ParsingError(f"[{query_name}] negative [boost] are not allowed.", error_type="illegal_argument_exception")
    if "_name" in body:
        query.name = str(body["_name"])


def check_keys(body: dict[str, Any], allowed: set[str], query_name: str) -> None:
    for key in body:
        if key not in allowed:
            raise ParsingError(f"[{query_name}] query does not support [{key}]")


def single_field(body: Any, query_name: str) -> tuple[str, Any]:
    """The ``{"field": value-or-object}`` shape of term-level and full-text queries."""
    if not isinstance(body, dict):
        raise ParsingError(f"[{query_name}] query malformed, no start_object after query name")
    fields = [k for k in body if k not in ("boost", "_name")]
    if len(fields) != 1:
        if not fields:
            raise ParsingError(f"[{query_name}] query malformed, no field specified")
        raise ParsingError(f"[{query_name}] query doesn't support multiple fields, found [{fields[0]}] and [{fields[1]}]")
    return fields[0], body[fields[0]]
