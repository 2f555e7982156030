"""``script_score`` with the k-NN plugin's ``knn_score`` script (exact k-NN, reference §2.4).

Why only ``lang: knn``: it is the one script whose value is a closed formula of stored data, so the
embedded engine can compute it to the bit (float32, 2.19 translations in
:mod:`localnode.knn.spaces`). Painless and the other script languages would need a script engine;
they are refused with a 400 rather than approximated.

Semantics (OpenSearch ``ScriptScoreQuery`` + k-NN ``KNNScoreScript``):

* the documents are those of the inner ``query``; its score is ignored (``needs_score`` is false);
* per document: the space's ``knn_score`` value of the field's stored vector, ``0.0`` when the
  document has no vector; ``_score = (float) value * boost``;
* ``min_score`` drops documents whose boosted score is below it (``MinScoreScorer``);
* without scores and without ``min_score`` (filter context) it is just the inner query;
* works on any ``knn_vector`` field, flat ones (``index.knn`` false) included;
* ``cosinesimil`` gives ``max((1 + cos) / 2, 0)`` for indexes created on 2.19.0 or later and
  ``1 + cos`` before.

Parameter and field problems are found when the query is built on the shard, so they are reported
as ``query_shard_exception`` "failed to create query: ..." with the plugin's own message as cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from localnode.errors import IllegalArgumentError, OpenSearchError, UnsupportedError
from localnode.knn import spaces
from localnode.ltr.xcontent import NUMBER, OBJECT, STRING, Field, ObjectParser, x_float, x_text
from localnode.mapping.fields import KNN_VECTOR
from localnode.search.matches import Matches
from localnode.search.queries.rank_feature import failed_to_create_query
from localnode.search.query import (ParseContext, Query, Searcher, SegmentContext, Weight, checked_boost, parse_query,
                                    query_parser)
from localnode.search.xcontent import parse_map

KNN_LANG = "knn"
KNN_SOURCE = "knn_score"
DEFAULT_LANG = "painless"
#: Script languages OpenSearch ships (besides ``knn``) that the embedded engine does not run.
_KNOWN_LANGS = {"painless", "expression", "mustache"}
#: ``Version.V_2_19_0.id``: ``knn_score`` cosine changed to (1 + cos) / 2 for indexes created since.
_V_2_19_0 = 136408127
#: Names the plugin's ``KNNScoringSpace`` classes use in "Incompatible field_type for X space".
_SPACE_WORDS = {spaces.L2: "l2", spaces.L1: "l1", spaces.LINF: "l-inf", spaces.INNER_PRODUCT: "innerproduct",
                spaces.COSINESIMIL: "cosine"}


@dataclass(frozen=True, slots=True)
class Script:
    """An inline script as ``Script.parse`` builds it."""
    lang: str
    source: str
    params: dict[str, Any]


def _knn_params(params: dict[str, Any]) -> tuple[str, str, Any]:
    """``KNNScoreScriptFactory.getValue`` order: field, space_type, query_value."""
    values = []
    for name in ("field", "space_type", "query_value"):
        value = params.get(name)
        if value is None:
            raise IllegalArgumentError(f"Missing parameter [{name}]")
        values.append(value)
    return _java_string(values[0]), _java_string(values[1]), values[2]


def _java_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query_value(value: Any, dimension: int) -> np.ndarray:
    """``KNNScoringSpaceUtil.parseToFloatArray``: a list of numbers (``Double.floatValue``) of the
    field's dimension (the plugin throws IllegalStateException otherwise)."""
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
        raise IllegalArgumentError(f"Object cannot be parsed as a float array: {value}")
    with np.errstate(over="ignore"):   # Double.floatValue: out of range is infinite
        vector = np.asarray([np.float32(float(v)) for v in value], dtype=np.float32)
    if vector.shape[0] != dimension:
        raise OpenSearchError(f"Object's dimension={vector.shape[0]} does not match the expected "
                              f"dimension={dimension}.",
                              status=500, error_type="illegal_state_exception")
    return vector


class KnnScoreWeight(Weight):
    """Docs of the inner weight, scored by the ``knn_score`` of their stored vector."""

    def __init__(self, inner: Weight, field: str, space: str, query: np.ndarray, legacy_cosine: bool,
                 boost: np.float32, min_score: np.float32 | None) -> None:
        self.inner = inner
        self.field = field
        self.space = space
        self.query = query
        self.legacy_cosine = legacy_cosine
        self.boost = boost
        self.min_score = min_score

    def sub_weights(self) -> list[Weight]:
        return [self.inner]

    def matches(self, ctx: SegmentContext) -> Matches:
        return self._scored(ctx, self.inner.matches(ctx))

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        """Only the window's documents: a rescore or an LTR feature over 100 hits computes 100
        distances, not one per vector in the segment (a document's score needs its vector alone)."""
        return self._scored(ctx, self.inner.matches_in(ctx, docs))

    def _scored(self, ctx: SegmentContext, base: Matches) -> Matches:
        if not len(base):
            return base
        docs = base.docs
        values = np.zeros(len(docs), dtype=np.float32)
        column = ctx.segment.vectors.get(self.field)
        if column is not None and len(column.docs):
            pos = np.minimum(np.searchsorted(column.docs, docs), len(column.docs) - 1)
            has = column.docs[pos] == docs
            if has.any():
                values[has] = spaces.script_score(self.space, self.query, column.vectors[pos[has]],
                                                  legacy_cosine=self.legacy_cosine)
        scores = (values * self.boost).astype(np.float32)
        if self.min_score is not None:
            keep = scores >= self.min_score
            return Matches(docs[keep], scores[keep])
        return Matches(docs, scores)

    def describe(self) -> str:
        return f'script score function, computed with script:"knn_score" on [{self.field}] ({self.space})'


class ScriptScoreQuery(Query):
    def __init__(self, query: Query, script: Script, min_score: float | None) -> None:
        self.query = query
        self.script = script
        self.min_score = min_score

    def children(self) -> list[Query]:
        return [self.query]

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        try:
            field, space, query = self._knn_score_factory(searcher)
        except OpenSearchError as exc:
            raise failed_to_create_query(searcher, exc) from None
        if not scoring and self.min_score is None:
            return self.query.weight(searcher, boost, False)
        inner = self.query.weight(searcher, np.float32(1.0), False)
        created = str(searcher.index.settings.get("index.version.created", _V_2_19_0))
        legacy = created.isdigit() and int(created) < _V_2_19_0
        min_score = np.float32(self.min_score) if self.min_score is not None else None
        return KnnScoreWeight(inner, field, space, query, legacy, np.float32(boost), min_score)

    def _knn_score_factory(self, searcher: Searcher) -> tuple[str, str, np.ndarray]:
        """``KNNScoreScriptFactory`` + ``KNNScoringSpaceFactory.create``: params, space, field, vector."""
        _compile(self.script)
        field, space_type, raw_query = _knn_params(self.script.params)
        space = space_type.lower()
        if space not in _SPACE_WORDS:
            raise IllegalArgumentError("Invalid space type. Please refer to the available space types.")
        mapper = searcher.field(field)
        if mapper is None or mapper.type != KNN_VECTOR:
            raise IllegalArgumentError(f"Incompatible field_type for {_SPACE_WORDS[space]} space. "
                                       "The field type must be knn_vector.")
        query = _query_value(raw_query, mapper.knn.dimension)
        spaces.check_not_zero_vector(space, query)
        return mapper.path, space, query


# -- parsing -------------------------------------------------------------------------------------
def _parse_script(value: Any) -> dict[str, Any]:
    """``Script.parse``'s object form: source or id, lang, params, options."""
    fields = {
        "source": Field(frozenset({"VALUE_STRING", "START_OBJECT"}),
                        lambda s, v: s.__setitem__("source", v if isinstance(v, dict) else x_text(v))),
        "id": Field(STRING, lambda s, v: s.__setitem__("id", x_text(v))),
        "lang": Field(STRING, lambda s, v: s.__setitem__("lang", x_text(v))),
        "params": Field(OBJECT, lambda s, v: s.__setitem__("params", parse_map(v))),
        "options": Field(OBJECT, lambda s, v: s.__setitem__("options", parse_map(v))),
    }
    state: dict[str, Any] = ObjectParser("script", fields).parse(value, {})
    if "source" in state and "id" in state:
        raise IllegalArgumentError("must only use one of [source, id]")
    if "source" not in state and "id" not in state:
        raise IllegalArgumentError("must specify either [source] for an inline script or [id] for a stored script")
    return state


def _check_supported(state: dict[str, Any]) -> Script:
    """Only inline ``lang: knn`` scripts run here; say so plainly for the others (HTTP 400).

    Scripts of an unknown language or source are accepted here and fail when the query is built,
    as the cluster's ScriptService compiles them only then.
    """
    if "id" in state:
        raise UnsupportedError("[script_score] with a stored script")
    lang = state.get("lang", DEFAULT_LANG)
    if lang in _KNOWN_LANGS:
        raise UnsupportedError(f"[script_score] script lang [{lang}]")
    params = state.get("params", {})
    space = str(params.get("space_type", "")).lower() if lang == KNN_LANG else ""
    if space in ("hamming", "hammingbit"):
        raise UnsupportedError(f"knn_score with space_type [{params.get('space_type')}]")
    return Script(lang, state["source"], params)


def _compile(script: Script) -> None:
    """``ScriptService.compile`` for the languages the embedded engine knows about."""
    if script.lang != KNN_LANG:
        raise IllegalArgumentError(f"script_lang not supported [{script.lang}]")
    if script.source != KNN_SOURCE:
        source = script.source if isinstance(script.source, str) else str(script.source)
        raise OpenSearchError(f"Failed to compile inline script [{source}] using lang [{KNN_LANG}]", status=400,
                              error_type="general_script_exception",
                              caused_by=IllegalArgumentError(f"Unknown script name {source}"))


@query_parser("script_score")
def parse_script_score(body: Any, ctx: ParseContext) -> Query:
    fields = {
        "query": Field(OBJECT, lambda s, v: s.__setitem__("query", parse_query(v, ctx))),
        "script": Field(OBJECT, lambda s, v: s.__setitem__("script", _parse_script(v))),
        "min_score": Field(NUMBER, lambda s, v: s.__setitem__("min_score", float(x_float(v)))),
        "boost": Field(NUMBER, lambda s, v: s.__setitem__("boost", checked_boost(v, "script_score"))),
        "_name": Field(STRING, lambda s, v: s.__setitem__("_name", x_text(v))),
    }
    state: dict[str, Any] = ObjectParser("script_score", fields).apply(body, {})
    missing = [name for name in ("query", "script") if name not in state]
    if missing:
        raise IllegalArgumentError(f"Required [{', '.join(missing)}]")
    query = ScriptScoreQuery(state["query"], _check_supported(state["script"]), state.get("min_score"))
    if "boost" in state:
        query.boost = state["boost"]
    if "_name" in state:
        query.name = state["_name"]
    return query
