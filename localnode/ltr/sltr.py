"""The ``sltr`` query (opensearch-ltr 2.19 ``StoredLtrQueryBuilder`` + ``RankerQuery``), vectorised.

Semantics (reference §1.5): the query matches every live document. Per document the feature vector
starts at zeros; every active feature whose query matches sets its slot to that query's score
(computed with the sltr boost folded into the feature's weight); derived features are computed
from the slots before them; normalizers run on the whole vector; the ranker gives the score.

Why vectorised: a rescore window or a 1M-doc scan must not pay Python per document. Each feature
weight is evaluated once per segment (``Weight.matches``), its scores are scattered into an
``(n_docs, n_features)`` float32 matrix and the ranker scores all rows at once (``score_many``
keeps Java's float32 operation order). ``matches_in`` does the same for only the given docs, which
is what keeps a 100-doc rescore over a large index cheap.

Loading (store lookup, mustache rendering, parsing the rendered queries) happens when the weight
is first created -- on the "shard", as the plugin's ``doToQuery`` -- so its failures come out as
search-phase failures worded like the plugin's, while body errors are parse errors up front.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from localnode.errors import (IllegalArgumentError, OpenSearchError, ParsingError, SearchPhaseExecutionError,
                              UnsupportedError)
from localnode.ltr import elements, rankers, store, templates
from localnode.ltr.elements import FEATURESET, MODEL, CompiledLtrModel
from localnode.ltr.xcontent import (BOOLEAN, NUMBER, OBJECT, STRING, STRING_ARRAY, Field, NumberFormatError,
                                    ObjectParser, QueryShardError, XContentParseError, java_hashmap_order,
                                    query_shard_error, x_array, x_bool, x_float, x_text)
from localnode.search.matches import Matches
from localnode.search.query import (Explanation, ParseContext, Query, Searcher, SegmentContext, Weight, parse_query,
                                    query_parser)

if TYPE_CHECKING:
    from localnode.index.shard import LocalIndex
    from localnode.node import Node

FeatureSlot = Query | templates.DerivedFeature | None   # None: inactive feature (matches nothing)
VALIDATION_MAX_DOCS = 1000                               # the validation search's terminate_after
# Queries whose score for a document never depends on which other documents are live: a feature
# built only from these can be evaluated on a context whose live mask is just the wanted docs.
# Anything else (k-NN's top-k, rank_feature pivots, new query types) runs on the whole segment.
PER_DOC_QUERIES = frozenset({
    "TermQuery", "TermsQuery", "IdsQuery", "RangeQuery", "ExistsQuery", "FunctionScoreQuery", "BoolQuery",
    "DisMaxQuery", "ConstantScoreQuery", "MatchAllQuery", "MatchNoneQuery", "MatchQuery", "MatchPhraseQuery",
    "MultiMatchQuery"})


def _per_doc(query: Query) -> bool:
    return all(type(node).__name__ in PER_DOC_QUERIES for node in query.walk())


def window_context(ctx: SegmentContext, docs: np.ndarray) -> SegmentContext:
    """The segment seen through a live mask holding only ``docs`` (already live, sorted)."""
    live = np.zeros(ctx.segment.max_doc, dtype=bool)
    live[docs] = True
    return SegmentContext(ctx.reader, ctx.segment, live, ctx.base)


# --------------------------------------------------------------------------------------------------
# Errors

def _as_parsing_error(error: OpenSearchError) -> OpenSearchError:
    """``fromXContent``: ``catch (IllegalArgumentException iae) { throw new ParsingException(...) }``."""
    if isinstance(error, IllegalArgumentError | XContentParseError | NumberFormatError):
        return ParsingError(error.reason, caused_by=error)
    return error


def shard_failure(error: OpenSearchError, index: "LocalIndex") -> OpenSearchError:
    """``QueryShardContext.toQuery``: anything but a query-shard or parsing error is wrapped."""
    if isinstance(error, QueryShardError | ParsingError):
        return error
    return QueryShardError(f"failed to create query: {error.reason}", caused_by=error, index=index.name,
                           index_uuid=index.uuid)


def _feature_query(feature: templates.CompiledFeature, params: Mapping[str, Any], index: "LocalIndex",
                   context: ParseContext) -> FeatureSlot:
    """``Feature.doToQuery``: render, parse and build the feature's query against the searched index."""
    if isinstance(feature, templates.DerivedFeature):
        feature.param_values(params)          # missing / non-numeric params fail now, as in the plugin
        return feature
    body = feature.to_query(params, index.name)
    try:
        return parse_query(body, context)
    except UnsupportedError:
        raise
    except (ParsingError, IllegalArgumentError, XContentParseError, NumberFormatError) as exc:
        raise query_shard_error(feature.name, exc, index.name) from exc


# --------------------------------------------------------------------------------------------------
# The query

@dataclass
class ResolvedSltr:
    """The model an sltr runs on one index, with one query (or derived feature) per ordinal."""
    index: "LocalIndex"
    model: CompiledLtrModel
    features: list[FeatureSlot]


class SltrQuery(Query):
    """A parsed ``sltr``; ``compiled`` runs an element that is not stored (store-time validation)."""

    def __init__(self, *, model: str | None = None, featureset: str | None = None, store_name: str | None = None,
                 params: dict[str, Any] | None = None, active_features: list[str] | None = None,
                 cache: bool | None = None, compiled: CompiledLtrModel | None = None) -> None:
        self.model = model
        self.featureset = featureset
        self.store_name = store_name
        self.params: dict[str, Any] = params if params is not None else {}
        self.active_features = active_features
        self.cache = cache
        self._compiled = compiled
        self._resolved: ResolvedSltr | None = None
        # Feature matches per (segment, boost, ordinal), shared by the rescore and the logging of a request.
        self._memo: dict[tuple[int, float, int], Matches] = {}
        self._window_memo: dict[tuple[int, float, int], tuple[np.ndarray, Matches]] = {}
        # ``cache: true``: raw feature values per segment (NaN = no match), reused by logging.
        self._vectors: dict[int, tuple[np.ndarray, np.ndarray]] | None = {} if cache else None

    def resolve(self, searcher: Searcher) -> ResolvedSltr:
        """Load the model or set, check ``active_features``, build every active feature's query."""
        index = searcher.index
        if self._resolved is not None and self._resolved.index is index:
            return self._resolved
        node = store.node_for_index(index)
        ltr = store.state(node)
        ltr.request_total += 1
        try:
            model = self._compiled or self._load(node)
            active = list(self.active_features or [])
            for name in java_hashmap_order(list(dict.fromkeys(active))):
                if not model.feature_set.has_feature(name):
                    raise IllegalArgumentError(f"Feature: [{name}] provided in active_features does not exist")
            context = ParseContext(index)
            slots: list[FeatureSlot] = []
            for feature in model.features:
                if active and feature.name not in active:
                    slots.append(None)
                else:
                    slots.append(_feature_query(feature, self.params, index, context))
        except OpenSearchError as exc:
            ltr.request_errors += 1
            raise shard_failure(exc, index) from exc
        self._resolved = ResolvedSltr(index, model, slots)
        return self._resolved

    def _load(self, node: "Node") -> CompiledLtrModel:
        index_name = store.index_name(self.store_name)
        if self.model is not None:
            return store.load_compiled(node, index_name, MODEL, self.model)
        assert self.featureset is not None
        return store.load_compiled(node, index_name, FEATURESET, self.featureset)

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        resolved = self.resolve(searcher)
        if not scoring:
            return AllDocsWeight(boost)
        return SltrWeight(self, resolved, searcher, boost, resolved.model.ranker)

    def feature_weight(self, searcher: Searcher) -> "SltrWeight":
        """Raw feature values at boost 1, no normalizers, no model: what ``ext.ltr_log`` reports."""
        return SltrWeight(self, self.resolve(searcher), searcher, np.float32(1.0), None)

    def log_vectors(self, searcher: Searcher, ctx: SegmentContext, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values, matched) for sorted local ``docs``; with ``cache: true`` scored docs reuse their vector."""
        values, matched = self.feature_weight(searcher).vectors(ctx, docs, dense=False)
        cached = self._vectors.get(ctx.base) if self._vectors is not None else None
        if cached is not None and len(docs):
            cached_docs, cached_values = cached
            pos = np.minimum(np.searchsorted(cached_docs, docs), len(cached_docs) - 1)
            hit = cached_docs[pos] == docs
            rows = cached_values[pos[hit]]
            values[hit] = np.nan_to_num(rows, nan=0.0)
            matched[hit] = ~np.isnan(rows)
        return values, matched

    def remember(self, ctx: SegmentContext, docs: np.ndarray, values: np.ndarray, matched: np.ndarray) -> None:
        """Keep the vectors a scoring pass computed (the plugin's per-query feature score cache)."""
        if self._vectors is None or not len(docs):
            return
        raw = np.where(matched, values, np.float32(np.nan)).astype(np.float32)
        previous = self._vectors.get(ctx.base)
        if previous is not None:
            all_docs = np.concatenate([docs, previous[0]])
            all_rows = np.concatenate([raw, previous[1]])
            docs, first = np.unique(all_docs, return_index=True)
            raw = all_rows[first]
        self._vectors[ctx.base] = (docs.astype(np.int32, copy=True), raw)

    def window_memo(self, ctx: SegmentContext, boost: np.float32, ordinal: int, docs: np.ndarray) -> Matches | None:
        """A feature's matches over an earlier window that covers ``docs`` (logging after a rescore)."""
        found = self._window_memo.get((id(ctx.segment), float(boost), ordinal))
        if found is None or not np.isin(docs, found[0], assume_unique=True).all():
            return None
        return found[1]

    def remember_window(self, ctx: SegmentContext, boost: np.float32, ordinal: int, docs: np.ndarray,
                        found: Matches) -> Matches:
        self._window_memo[(id(ctx.segment), float(boost), ordinal)] = (docs.copy(), found)
        return found

    def memo(self, ctx: SegmentContext, boost: np.float32, ordinal: int,
             compute: Callable[[], Matches] | None) -> Matches | None:
        """A feature's whole-segment matches, computed once (``compute=None``: only look)."""
        key = (id(ctx.segment), float(boost), ordinal)
        found = self._memo.get(key)
        if found is None and compute is not None:
            found = self._memo[key] = compute()
        return found


class AllDocsWeight(Weight):
    """Filter context: the plugin's ``ConstantScoreWeight`` over every document (no feature runs)."""

    def __init__(self, score: np.float32) -> None:
        self.score = np.float32(score)

    def matches(self, ctx: SegmentContext) -> Matches:
        return Matches.constant(ctx.live_all(), self.score)

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return Matches.constant(ctx.keep_live(docs), self.score)

    def describe(self) -> str:
        return "ConstantScore(rankerquery:)"


class SltrWeight(Weight):
    """``RankerWeight``: feature weights created with the sltr boost, then the ranker on the vectors."""

    def __init__(self, query: SltrQuery, resolved: ResolvedSltr, searcher: Searcher, boost: np.float32,
                 ranker: rankers.Ranker | None) -> None:
        self.query = query
        self.boost = np.float32(boost)
        self.ranker = ranker
        self.names = resolved.model.feature_names
        self.slots: list[Weight | templates.DerivedFeature | None] = [
            slot.weight(searcher, self.boost, True) if isinstance(slot, Query) else slot for slot in resolved.features]
        self.windowable = [isinstance(slot, Query) and _per_doc(slot) for slot in resolved.features]

    def vectors(self, ctx: SegmentContext, docs: np.ndarray, *, dense: bool) -> tuple[np.ndarray, np.ndarray]:
        """Feature matrix and match mask for sorted live local ``docs`` (``dense``: all live docs)."""
        values = np.zeros((len(docs), len(self.slots)), dtype=np.float32)
        matched = np.zeros(values.shape, dtype=bool)
        window: SegmentContext | None = None
        for ordinal, slot in enumerate(self.slots):
            if slot is None:
                continue
            if isinstance(slot, templates.DerivedFeature):
                values[:, ordinal] = slot.values(self.query.params, self.names, values)
                matched[:, ordinal] = True
                continue
            found = self.query.memo(ctx, self.boost, ordinal, None)
            if found is None and not dense and hasattr(slot, "matches_in"):
                found = slot.matches_in(ctx, docs)
            elif found is None and not dense and self.windowable[ordinal]:
                found = self.query.window_memo(ctx, self.boost, ordinal, docs)
                if found is None:
                    window = window if window is not None else window_context(ctx, docs)
                    found = self.query.remember_window(ctx, self.boost, ordinal, docs, slot.matches(window))
            elif found is None:
                found = self.query.memo(ctx, self.boost, ordinal, lambda w=slot: w.matches(ctx))
            assert found is not None
            if not len(found) or not len(docs):
                continue
            if dense and ctx.live is None:     # docs == arange(max_doc): a doc id is its row
                values[found.docs, ordinal] = found.scores
                matched[found.docs, ordinal] = True
            elif dense:
                rows = np.minimum(np.searchsorted(docs, found.docs), len(docs) - 1)
                ok = docs[rows] == found.docs
                values[rows[ok], ordinal] = found.scores[ok]
                matched[rows[ok], ordinal] = True
            else:
                pos = np.minimum(np.searchsorted(found.docs, docs), len(found.docs) - 1)
                hit = found.docs[pos] == docs
                values[hit, ordinal] = found.scores[pos[hit]]
                matched[hit, ordinal] = True
        if self.ranker is not None:
            self.query.remember(ctx, docs, values, matched)
        return values, matched

    def _score(self, ctx: SegmentContext, docs: np.ndarray, dense: bool) -> Matches:
        if not len(docs):
            return Matches.empty()
        assert self.ranker is not None
        values, _ = self.vectors(ctx, docs, dense=dense)
        return Matches(docs.astype(np.int32, copy=False), np.asarray(self.ranker.score_many(values), dtype=np.float32))

    def matches(self, ctx: SegmentContext) -> Matches:
        return self._score(ctx, ctx.live_all(), dense=True)

    def matches_in(self, ctx: SegmentContext, docs: np.ndarray) -> Matches:
        return self._score(ctx, ctx.keep_live(np.asarray(docs, dtype=np.int32)), dense=False)

    def explain(self, ctx: SegmentContext, doc: int) -> Explanation | None:
        """``RankerWeight.explain``: one line per feature, then the model score on the raw vector."""
        if ctx.live is not None and not ctx.live[doc]:
            return None
        vector = np.zeros(len(self.slots), dtype=np.float32)
        details: list[Explanation] = []
        for ordinal, slot in enumerate(self.slots):
            label = f"Feature {ordinal}({self.names[ordinal]}):"
            found: Explanation | None = None
            if isinstance(slot, templates.DerivedFeature):
                value = slot.values(self.query.params, self.names, vector[None, :])[0]
                found = Explanation(float(value), f"derived expression [{slot.expression.source}]")
            elif slot is not None:
                found = slot.explain(ctx, doc)
            if found is None:
                details.append(Explanation(0.0, f"{label} [no match, default value 0.0 used]"))
            else:
                vector[ordinal] = np.float32(found.value)
                details.append(Explanation(found.value, label, [found]))
        ranker = self.ranker
        score = ranker.score(vector) if ranker is not None else np.float32(0.0)
        return Explanation(float(score), f" LtrModel: {ranker.name if ranker else 'null'} using features:", details)

    def describe(self) -> str:
        return "rankerquery:"


# --------------------------------------------------------------------------------------------------
# Parser

class _Body:
    def __init__(self) -> None:
        self.model: str | None = None
        self.featureset: str | None = None
        self.store: str | None = None
        self.params: dict[str, Any] | None = None
        self.active_features: list[str] | None = None
        self.cache: bool | None = None
        self.boost: float = 1.0
        self.name: str | None = None


def _set(attribute: str, convert: Callable[[Any], Any]) -> Callable[[Any, Any], None]:
    return lambda state, value: setattr(state, attribute, convert(value))


def _boost(value: Any) -> float:
    boost = x_float(value)
    if boost < 0:   # AbstractQueryBuilder.checkNegativeBoost
        raise IllegalArgumentError("negative [boost] are not allowed.")
    return float(boost)


_PARSER = ObjectParser("sltr", {
    "model": Field(STRING, _set("model", x_text)),
    "cache": Field(BOOLEAN, _set("cache", x_bool)),
    "featureset": Field(STRING, _set("featureset", x_text)),
    "store": Field(STRING, _set("store", x_text)),
    "params": Field(OBJECT, _set("params", lambda v: copy.deepcopy(dict(v)))),
    "active_features": Field(STRING_ARRAY, _set("active_features", lambda v: x_array(v, x_text))),
    "boost": Field(NUMBER, _set("boost", _boost)),
    "_name": Field(STRING, _set("name", x_text)),
})


@query_parser("sltr")
def parse_sltr(body: Any, ctx: ParseContext) -> Query:
    """``StoredLtrQueryBuilder.fromXContent``: only the body is checked here; loading is per shard."""
    if not isinstance(body, dict):
        raise ParsingError("[sltr] query malformed, no start_object after query name")
    state = _Body()
    try:
        _PARSER.parse(body, state)
    except OpenSearchError as exc:
        raise _as_parsing_error(exc) from exc
    if state.model is None and state.featureset is None:
        raise ParsingError("Either [model] or [featureset] must be set.")
    if state.params is None:
        raise ParsingError("Field [params] is mandatory.")
    query = SltrQuery(model=state.model, featureset=state.featureset, store_name=state.store, params=state.params,
                      active_features=state.active_features, cache=state.cache)
    query.boost = state.boost
    query.name = state.name
    return query


# --------------------------------------------------------------------------------------------------
# Store-time validation (ValidatingLtrQueryBuilder + the test search of TransportFeatureStoreAction)

class FeatureValidationQuery(Query):
    """A lone feature is validated with its own query (a derived feature with ``match_all``)."""

    def __init__(self, feature: elements.StoredFeature, params: dict[str, Any]) -> None:
        self.feature = feature
        self.params = params
        self._query: tuple["LocalIndex", Query] | None = None

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        index = searcher.index
        if self._query is None or self._query[0] is not index:
            ltr = store.state(store.node_for_index(index))
            ltr.request_total += 1
            try:
                compiled = self.feature.compile()
                if isinstance(compiled, templates.DerivedFeature):
                    from localnode.search.queries.compound import MatchAllQuery
                    built: Query = MatchAllQuery()
                else:
                    slot = _feature_query(compiled, self.params, index, ParseContext(index))
                    assert isinstance(slot, Query)
                    built = slot
            except OpenSearchError as exc:
                ltr.request_errors += 1
                raise shard_failure(exc, index) from exc
            self._query = (index, built)
        return self._query[1].weight(searcher, boost, scoring)


def validation_query(element: elements.StorableElement, params: dict[str, Any]) -> Query:
    if isinstance(element, elements.StoredFeature):
        return FeatureValidationQuery(element, params)
    if isinstance(element, elements.StoredFeatureSet):
        compiled = CompiledLtrModel("validation", element, element.compile(),
                                    rankers.LinearRanker(np.zeros(element.size(), dtype=np.float32)))
        return SltrQuery(params=params, compiled=compiled)
    assert isinstance(element, elements.StoredLtrModel)
    return SltrQuery(params=params, compiled=element.compile())


def validate_element(node: "Node", element: elements.StorableElement, validation: elements.FeatureValidation) -> None:
    """Run the element on ``validation.index`` (first 1000 docs) before storing it; any failure refuses it."""
    from localnode.search.execute import with_alias_filters
    try:
        for index, filters in node.resolve(validation.index, allow_no_indices=False):
            searcher = Searcher(index, index.reader)
            query = with_alias_filters(index, validation_query(element, validation.params), filters)
            try:
                weight = query.weight(searcher, np.float32(1.0), True)
                remaining = VALIDATION_MAX_DOCS
                for ctx in searcher.segment_contexts():
                    if remaining <= 0:
                        break
                    docs = ctx.live_all()[:remaining]
                    remaining -= len(docs)
                    if hasattr(weight, "matches_in"):
                        weight.matches_in(ctx, docs)
                    else:
                        weight.matches(ctx)
            except OpenSearchError as exc:
                raise SearchPhaseExecutionError(exc, index.name) from exc
    except OpenSearchError as exc:
        raise IllegalArgumentError("Cannot store element, validation failed.", caused_by=exc) from exc


__all__ = ["SltrQuery", "SltrWeight", "AllDocsWeight", "ResolvedSltr", "parse_sltr", "shard_failure",
           "validation_query", "validate_element", "FeatureValidationQuery"]
