"""The ``sltr`` rescore clauses that put the active LTR model into search and Related Pins requests.

Related Pins (``ranking/related.py``) and search only need the clause: they attach it as their
request's ``rescore``. ``query_weight`` is tiny, so the order inside the window is the model's and
the first-pass score only breaks ties.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from opensearchpy import OpenSearch

from ranking.ltr.featuresets import QuerySignals, related_params, search_params
from ranking.ltr.upload import active_model

SEARCH_FEATURESET = "pinsearch_search"
RELATED_FEATURESET = "pinsearch_related"
DEFAULT_WINDOW = 100
FIRST_PASS_WEIGHT = 1e-4


def sltr_rescore(model: str, params: Mapping[str, Any], *, window: int = DEFAULT_WINDOW,
                 active_features: Sequence[str] | None = None, query_weight: float = FIRST_PASS_WEIGHT
                 ) -> dict[str, Any]:
    sltr: dict[str, Any] = {"params": dict(params), "model": model}
    if active_features:
        sltr["active_features"] = list(active_features)
    return {"window_size": window, "query": {"rescore_query": {"sltr": sltr}, "query_weight": query_weight,
                                             "rescore_query_weight": 1.0, "score_mode": "total"}}


def search_rescore(client: OpenSearch, query: str, *, model: str | None = None, signals: QuerySignals | None = None,
                   window: int = DEFAULT_WINDOW) -> dict[str, Any] | None:
    """The rescore for ``query`` with ``model`` or the active search model; None when there is none."""
    if model is None:
        record = active_model(client, SEARCH_FEATURESET)
        if record is None:
            return None
        model = record["name"]
    return sltr_rescore(model, search_params(query, signals), window=window)


def related_rescore(client: OpenSearch, query_doc: Mapping[str, Any], query_pin: str, *, model: str | None = None,
                    window: int = DEFAULT_WINDOW) -> dict[str, Any] | None:
    """The rescore for a Related Pins request under ``query_pin`` (its ``_source`` as ``query_doc``)."""
    if model is None:
        record = active_model(client, RELATED_FEATURESET)
        if record is None:
            return None
        model = record["name"]
    params, active = related_params(query_doc, query_pin)
    return sltr_rescore(model, params, window=window, active_features=active)


def explain_search(client: OpenSearch, query: str, pin_ids: Sequence[str], *, index: str = "pins",
                   signals: QuerySignals | None = None, record: Mapping[str, Any] | None = None
                   ) -> dict[str, dict[str, Any]]:
    """Per pin: each feature's contribution (weight x normalised value) and their sum, the model score.

    The raw values are logged by the engine, so the sum equals the ``sltr`` score (parity-checked).
    """
    from ranking.ltr.export import LinearModel
    from ranking.ltr.feature_logging import log_features
    record = record or active_model(client, SEARCH_FEATURESET)
    if record is None:
        return {}
    model = LinearModel.from_dict(record["linear"])
    raw = log_features(client, index, record["featureset"], model.feature_names, search_params(query, signals), pin_ids)
    out: dict[str, dict[str, Any]] = {}
    for pin, vec in raw.items():
        contributions = model.contributions(vec)
        out[pin] = {"model": record["name"], "ltr_score": float(model.score(vec)[0]),
                    "contributions": {k: round(v, 6) for k, v in sorted(contributions.items(), key=lambda kv: -abs(kv[1]))}}
    return out
