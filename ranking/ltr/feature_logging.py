"""Feature logging through the engine (``ext.ltr_log``): the only source of training features.

Why log through the engine instead of recomputing features in Python: the vectors the model is
trained on are then exactly the values ``sltr`` computes at serving time (same analyzers, BM25
statistics, rank_feature 9-bit truncation), which is what makes the parity check pass.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from opensearchpy import OpenSearch

LOG_NAME = "pinsearch_features"


def logging_body(featureset: str, params: Mapping[str, Any], pin_ids: Sequence[str], *,
                 active_features: Sequence[str] | None = None, model: str | None = None) -> dict[str, Any]:
    """Filters only (so logging does not change scores) plus a named ``sltr`` and one log spec.

    With ``model`` the sltr also scores (the query becomes ``bool.must``): the parity check reads
    the engine's model score and the raw features from one response.
    """
    sltr: dict[str, Any] = {"_name": LOG_NAME, "params": dict(params)}
    if model:
        sltr["model"] = model
    else:
        sltr["featureset"] = featureset
    if active_features:
        sltr["active_features"] = list(active_features)
    query: dict[str, Any] = {"bool": {"filter": [{"terms": {"_id": list(pin_ids)}}]}}
    if model:
        query["bool"]["must"] = [{"sltr": sltr}]
    else:
        query["bool"]["filter"].append({"sltr": sltr})
    return {"query": query, "size": len(pin_ids), "_source": False,
            "ext": {"ltr_log": {"log_specs": [{"name": LOG_NAME, "named_query": LOG_NAME, "missing_as_zero": True}]}}}


def parse_logged(hit: Mapping[str, Any], feature_names: Sequence[str]) -> np.ndarray:
    """The raw feature vector of one hit (float32; a feature that did not match is 0)."""
    entries = hit.get("fields", {}).get("_ltrlog", [{}])[0].get(LOG_NAME, [])
    values = {e["name"]: e.get("value", 0.0) for e in entries if isinstance(e.get("value", 0.0), (int, float))}
    return np.array([values.get(name, 0.0) for name in feature_names], dtype=np.float32)


def log_features(client: OpenSearch, index: str, featureset: str, feature_names: Sequence[str],
                 params: Mapping[str, Any], pin_ids: Sequence[str], *,
                 active_features: Sequence[str] | None = None, batch: int = 500) -> dict[str, np.ndarray]:
    """Raw feature vectors for ``pin_ids`` under one query's params; pins not in the index are absent."""
    out: dict[str, np.ndarray] = {}
    ids = list(dict.fromkeys(pin_ids))
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        response = client.search(index=index, body=logging_body(featureset, params, chunk,
                                                                 active_features=active_features))
        for hit in response["hits"]["hits"]:
            out[hit["_id"]] = parse_logged(hit, feature_names)
    return out


def score_with_model(client: OpenSearch, index: str, model: str, feature_names: Sequence[str],
                     params: Mapping[str, Any], pin_ids: Sequence[str], *,
                     active_features: Sequence[str] | None = None) -> dict[str, tuple[float, np.ndarray]]:
    """Per pin: the engine's ``sltr`` model score and the raw logged features (for the parity check)."""
    body = logging_body("", params, pin_ids, active_features=active_features, model=model)
    response = client.search(index=index, body=body)
    return {hit["_id"]: (float(hit["_score"]), parse_logged(hit, feature_names)) for hit in response["hits"]["hits"]}
