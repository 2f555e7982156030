"""The ``rank_feature`` query (OpenSearch ``RankFeatureQueryBuilder`` over Lucene ``FeatureQuery``).

Why it is its own module: the score is a static function of a value stored in a term frequency,
and parity with a cluster depends on replaying Lucene's exact float arithmetic — including which
steps Java does in ``float`` and which in ``double`` — and on taking the default saturation pivot
from the same index statistics Lucene reads at rewrite time.

Storage (see :mod:`localnode.index.segment`): a ``rank_feature`` value is the term ``<field path>``
of the hidden field ``_feature``; a ``rank_features`` key is the term ``<key>`` of the field itself.
The term frequency is ``floatBits(value) >>> 15``, so the scorer sees S = the value truncated to 9
significant bits (1/value for ``positive_score_impact: false``, inverted at index time).

Scores with w = the (folded) boost, all float32 unless noted (Lucene ``FeatureField``):

* saturation: ``w * (1 - k / (S + k))``; default k = ``decode((int) (float) (ttf / df))`` over the
  whole reader, deleted docs included (``TermStates.build``), or 1 when no doc has the feature.
* log: ``(float) (w * Math.log(a + S))`` — ``a + S`` is a float sum, the log and product double.
* sigmoid: ``(float) (w * (1 - k^a / (S^a + k^a)))`` with the powers in double.
* linear: ``w * S``.

Errors follow OpenSearch: parser problems are ``x_content_parse_exception`` (ConstructingObjectParser
named ``feature``), build-time problems (``log`` on a negative-impact field, Lucene's argument checks,
non rank_feature fields) are ``query_shard_exception`` "failed to create query: ..." as
``QueryShardContext.toQuery`` wraps them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from localnode.errors import IllegalArgumentError, OpenSearchError
from localnode.index.segment import decode_features
from localnode.ltr.xcontent import (NUMBER, OBJECT, STRING, Field, ObjectParser, XContentParseError,
                                    java_float_to_string, x_float, x_text)
from localnode.mapping.fields import RANK_FEATURE, RANK_FEATURES
from localnode.search.matches import Matches, postings_in
from localnode.search.queries.term_level import MatchNoneWeight
from localnode.search.query import (Explanation, ParseContext, Query, Searcher, SegmentContext, Weight,
                                    checked_boost, query_parser)

_ONE = np.float32(1.0)
_FEATURE_FIELD = "_feature"
#: ``FeatureField.MAX_FREQ``: encoded values above it decode to Float.MAX_VALUE.
_PIVOT_TEXT = "k, pivot feature value that would give a score contribution equal to w/2"
_MAX_FREQ = int(np.array([np.finfo(np.float32).max], dtype=np.float32).view(np.int32)[0]) >> 15


def failed_to_create_query(searcher: Searcher, cause: OpenSearchError) -> OpenSearchError:
    """``QueryShardException`` "failed to create query: ..." wrapping a build-time failure."""
    return OpenSearchError(f"failed to create query: {cause.reason}", status=400, error_type="query_shard_exception",
                           caused_by=cause, index=searcher.index.name, index_uuid=searcher.index.uuid)


# -- score functions -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Saturation:
    pivot: np.float32 | None = None

    def validate(self, positive_impact: bool) -> None:
        if self.pivot is not None and (not self.pivot > 0 or not math.isfinite(self.pivot)):
            raise IllegalArgumentError(f"pivot must be > 0, got: {java_float_to_string(self.pivot)}")

    def scores(self, s: np.ndarray, w: np.float32) -> np.ndarray:
        assert self.pivot is not None, "the default pivot is resolved in create_weight"
        k = np.float32(self.pivot)
        # Lucene writes it 1 - k / (S + k) so the score cannot decrease with S through rounding.
        return (w * (_ONE - k / (s + k))).astype(np.float32)

    def explain(self) -> tuple[str, str, list[Explanation]]:
        return "Saturation function", "w * S / (S + k)", [Explanation(float(self.pivot or 0.0), _PIVOT_TEXT)]


@dataclass(frozen=True, slots=True)
class Log:
    scaling_factor: np.float32

    def validate(self, positive_impact: bool) -> None:
        if not positive_impact:
            raise IllegalArgumentError("Cannot use the [log] function with a field that has a negative score impact "
                                       "as it would trigger negative scores")
        if not self.scaling_factor >= 1 or not math.isfinite(self.scaling_factor):
            raise IllegalArgumentError(f"scalingFactor must be >= 1, got: {java_float_to_string(self.scaling_factor)}")

    def scores(self, s: np.ndarray, w: np.float32) -> np.ndarray:
        inner = (np.float32(self.scaling_factor) + s).astype(np.float32)  # float + float in Java
        return (float(w) * np.log(inner.astype(np.float64))).astype(np.float32)

    def explain(self) -> tuple[str, str, list[Explanation]]:
        return "Log function", "w * log(a + S)", [Explanation(float(self.scaling_factor), "a, scaling factor")]


@dataclass(frozen=True, slots=True)
class Sigmoid:
    pivot: np.float32
    exponent: np.float32

    def validate(self, positive_impact: bool) -> None:
        if not self.pivot > 0 or not math.isfinite(self.pivot):
            raise IllegalArgumentError(f"pivot must be > 0, got: {java_float_to_string(self.pivot)}")
        if not self.exponent > 0 or not math.isfinite(self.exponent):
            raise IllegalArgumentError(f"exp must be > 0, got: {java_float_to_string(self.exponent)}")

    def scores(self, s: np.ndarray, w: np.float32) -> np.ndarray:
        a = float(self.exponent)
        with np.errstate(over="ignore"):
            pivot_pa = float(np.power(np.float64(self.pivot), a))   # Math.pow: Infinity on overflow
        with np.errstate(over="ignore", invalid="ignore"):
            values = float(w) * (1.0 - pivot_pa / (np.power(s.astype(np.float64), a) + pivot_pa))
        return values.astype(np.float32)

    def explain(self) -> tuple[str, str, list[Explanation]]:
        return "Sigmoid function", "w * S^a / (S^a + k^a)", [
            Explanation(float(self.pivot), _PIVOT_TEXT),
            Explanation(float(self.exponent), "a, exponent, higher values make the function grow slower before k "
                                              "and faster after k")]


@dataclass(frozen=True, slots=True)
class Linear:
    def validate(self, positive_impact: bool) -> None:
        return None

    def scores(self, s: np.ndarray, w: np.float32) -> np.ndarray:
        return (w * s).astype(np.float32)

    def explain(self) -> tuple[str, str, list[Explanation]]:
        return "Linear function", "w * S", []


ScoreFunction = Saturation | Log | Sigmoid | Linear


def decode_feature_value(freq: float) -> np.float32:
    """``FeatureField.decodeFeatureValue`` for one (float) frequency."""
    if freq > _MAX_FREQ:
        return np.float32(np.finfo(np.float32).max)
    return np.float32(decode_features(np.array([int(freq)], dtype=np.int32))[0])


def default_pivot(searcher: Searcher, postings_field: str, term: str) -> np.float32:
    """``FeatureField.computePivotFeatureValue``: the mean of the encoded values, decoded.

    ``(float) ((double) totalTermFreq / docFreq)`` then ``(int)`` truncation inside the decoder;
    the statistics span every segment of the reader, deleted documents included, like Lucene's.
    """
    doc_freq, total_term_freq = searcher.reader.term_stats(postings_field, term)
    if doc_freq == 0:
        return np.float32(1.0)
    return decode_feature_value(float(np.float32(total_term_freq / doc_freq)))


# -- query and weight ------------------------------------------------------------------------------
class RankFeatureWeight(Weight):
    """Docs having the feature, scored by the function of their decoded value."""

    def __init__(self, postings_field: str, term: str, function: ScoreFunction, weight: np.float32) -> None:
        self.postings_field = postings_field
        self.term = term
        self.function = function
        self.weight = weight

    def _postings(self, ctx: SegmentContext) -> tuple[np.ndarray, np.ndarray] | None:
        fp = ctx.segment.postings.get(self.postings_field)
        found = None if fp is None else fp.postings(self.term)
        if found is None:
            return None
        docs, freqs = found
        if ctx.live is not None:
            keep = ctx.live[docs]
            docs, freqs = docs[keep], freqs[keep]
        return docs, freqs

    def matches(self, ctx: SegmentContext) -> Matches:
        found = self._postings(ctx)
        if found is None or not len(found[0]):
            return Matches.empty()
        docs, freqs = found
        return Matches(docs.astype(np.int32, copy=False), self.function.scores(decode_features(freqs), self.weight))

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        fp = ctx.segment.postings.get(self.postings_field)
        found = None if fp is None else fp.postings(self.term)
        if found is None:
            return Matches.empty()
        window, freqs = postings_in(found[0], found[1], docs.astype(np.int32, copy=False))
        return Matches(window, self.function.scores(decode_features(freqs), self.weight)) if len(window) \
            else Matches.empty()

    def explain(self, ctx: SegmentContext, doc: int) -> Explanation | None:
        found = self._postings(ctx)
        if found is None:
            return None
        docs, freqs = found
        idx = int(np.searchsorted(docs, doc))
        if idx >= len(docs) or docs[idx] != doc:
            return None
        value = decode_features(freqs[idx:idx + 1])
        score = float(self.function.scores(value, self.weight)[0])
        name, formula, parameters = self.function.explain()
        details = [Explanation(float(self.weight), "w, weight of this function"), *parameters,
                   Explanation(float(value[0]), "S, feature value")]
        return Explanation(score, f"{name} on the {self.postings_field} field for the {self.term} feature, "
                                  f"computed as {formula} from:", details)

    def describe(self) -> str:
        return f"FeatureQuery(field={self.postings_field}, feature={self.term})"


class RankFeatureQuery(Query):
    def __init__(self, field: str, function: ScoreFunction) -> None:
        self.field = field
        self.function = function

    def _target(self, searcher: Searcher) -> tuple[str, str, bool] | None:
        """(postings field, term, positive impact), None when unmapped; mirrors ``doToQuery``."""
        mapper = searcher.field(self.field)
        if mapper is not None:
            if mapper.type == RANK_FEATURE:
                return _FEATURE_FIELD, mapper.path, mapper.positive_score_impact
            raise IllegalArgumentError("[rank_feature] query only works on [rank_feature] fields and features of "
                                       f"[rank_features] fields, not [{mapper.type}]")
        parent_path, dot, key = self.field.rpartition(".")
        if dot:
            parent = searcher.field(parent_path)
            if parent is not None and parent.type == RANK_FEATURES:
                return parent.path, key, True  # rank_features are always positive in OpenSearch 2.x
        return None

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        try:
            target = self._target(searcher)
            if target is None:
                return MatchNoneWeight()
            postings_field, term, positive = target
            self.function.validate(positive)
        except IllegalArgumentError as exc:
            raise failed_to_create_query(searcher, exc) from None
        function = self.function
        if isinstance(function, Saturation) and function.pivot is None:
            function = Saturation(default_pivot(searcher, postings_field, term))
        return RankFeatureWeight(postings_field, term, function, np.float32(boost))


# -- parsing (ConstructingObjectParser "feature") ----------------------------------------------------
def _required(state: dict[str, Any], names: tuple[str, ...]) -> None:
    """``ConstructingObjectParser`` finish(): missing required arguments, named together."""
    missing = [n for n in names if n not in state]
    if missing:
        raise IllegalArgumentError(f"Required [{', '.join(missing)}]")


def _float_field(name: str) -> Field:
    return Field(NUMBER, lambda state, value: state.__setitem__(name, x_float(value)))


def _parse_log(value: Any) -> Log:
    state = ObjectParser("log", {"scaling_factor": _float_field("scaling_factor")}).parse(value, {})
    _required(state, ("scaling_factor",))
    return Log(state["scaling_factor"])


def _parse_saturation(value: Any) -> Saturation:
    state = ObjectParser("saturation", {"pivot": _float_field("pivot")}).parse(value, {})
    return Saturation(state.get("pivot"))


def _parse_sigmoid(value: Any) -> Sigmoid:
    state = ObjectParser("sigmoid", {"pivot": _float_field("pivot"),
                                     "exponent": _float_field("exponent")}).parse(value, {})
    _required(state, ("pivot", "exponent"))
    return Sigmoid(state["pivot"], state["exponent"])


def _parse_linear(value: Any) -> Linear:
    ObjectParser("linear", {}).parse(value, {})
    return Linear()


def _function_field(parse: Any) -> Field:
    return Field(OBJECT, lambda state, value: state.setdefault("functions", []).append(parse(value)))


_PARSER = ObjectParser("feature", {
    "field": Field(STRING, lambda state, value: state.__setitem__("field", x_text(value))),
    "boost": Field(NUMBER, lambda state, value: state.__setitem__("boost", checked_boost(value, "rank_feature"))),
    "_name": Field(STRING, lambda state, value: state.__setitem__("_name", x_text(value))),
    "log": _function_field(_parse_log),
    "saturation": _function_field(_parse_saturation),
    "sigmoid": _function_field(_parse_sigmoid),
    "linear": _function_field(_parse_linear),
})


@query_parser("rank_feature")
def parse_rank_feature(body: Any, ctx: ParseContext) -> Query:
    state: dict[str, Any] = _PARSER.parse(body, {})
    _required(state, ("field",))
    functions: list[ScoreFunction] = state.get("functions", [])
    if len(functions) > 1:
        raise XContentParseError(
            "Failed to build [feature] after last required field arrived",
            caused_by=IllegalArgumentError("Can only specify one of [log], [saturation], [sigmoid] and [linear]"))
    query = RankFeatureQuery(state["field"], functions[0] if functions else Saturation())
    if "boost" in state:
        query.boost = float(state["boost"])
    if "_name" in state:
        query.name = state["_name"]
    return query
