"""Model upload, parity check and activation, with a small registry index.

Why a registry: the engine stores models but not which one serves, nor what they were trained on.
The registry (index ``pinsearch-ltr-registry``, one document per feature set) records every
uploaded model with the concrete index and feature-set version it was trained against and its
offline metrics, and names the active one. It lives in the cluster, so the embedded engine and a
real cluster behave the same and every client sees the same active model.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np
from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError

from ranking.ltr.export import LinearModel, check_non_negative
from ranking.ltr.feature_logging import score_with_model

REGISTRY_INDEX = "pinsearch-ltr-registry"


class ActivationRefused(RuntimeError):
    """Parity failed or the candidate is worse than the active model (the message says which)."""


def concrete_index(client: OpenSearch, index: str) -> str:
    """The index an alias points to (models are versioned with it), or the name itself."""
    try:
        aliases = client.indices.get_alias(name=index)
        return sorted(aliases)[-1]
    except NotFoundError:
        return index


def _ensure_registry(client: OpenSearch) -> None:
    if not client.indices.exists(index=REGISTRY_INDEX):
        client.indices.create(index=REGISTRY_INDEX, body={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"dynamic": False, "properties": {"featureset": {"type": "keyword"},
                                                          "active": {"type": "keyword"}}}})


def registry(client: OpenSearch, featureset: str) -> dict[str, Any]:
    try:
        return client.get(index=REGISTRY_INDEX, id=featureset)["_source"]
    except NotFoundError:
        return {"featureset": featureset, "active": None, "models": {}}


def _save_registry(client: OpenSearch, doc: Mapping[str, Any]) -> None:
    _ensure_registry(client)
    client.index(index=REGISTRY_INDEX, id=doc["featureset"], body=dict(doc), refresh=True)


def active_model(client: OpenSearch, featureset: str) -> dict[str, Any] | None:
    doc = registry(client, featureset)
    return doc["models"].get(doc["active"]) if doc.get("active") else None


def active_models_summary(client: OpenSearch) -> dict[str, Any]:
    """Per feature set, the active model's name, index and feature-set version, as ``reindex``
    records them in an index's ``_meta``; ``{"unavailable": reason}`` when they cannot be read."""
    from ranking.ltr.rescore import RELATED_FEATURESET, SEARCH_FEATURESET
    models: dict[str, Any] = {}
    try:
        for featureset in (SEARCH_FEATURESET, RELATED_FEATURESET):
            record = active_model(client, featureset)
            if record is not None:
                models[featureset] = {key: record.get(key) for key in ("name", "index", "featureset_version")}
    except Exception as exc:  # noqa: BLE001 (no registry yet, or a cluster refusing the read: record why)
        return {"unavailable": f"{type(exc).__name__}: {exc}"}
    return models


def model_name(featureset: str, index: str, featureset_version: int) -> str:
    return f"{featureset}-{index}-fs{featureset_version}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"


def create_model(client: OpenSearch, featureset: str, featureset_version: int, name: str, model: LinearModel,
                 *, index: str, validation_params: Mapping[str, Any] | None = None,
                 metrics: Mapping[str, Any] | None = None, training: Mapping[str, Any] | None = None
                 ) -> dict[str, Any]:
    """Check non-negativity, then ``_createmodel?version=N`` (fails if the set changed since training)."""
    low = check_non_negative(model)
    body = model.to_model_body(name)
    if validation_params is not None:
        body["validation"] = {"index": index, "params": dict(validation_params)}
    client.transport.perform_request("POST", f"/_ltr/_featureset/{featureset}/_createmodel",
                                     params={"version": featureset_version}, body=body)
    record = {"name": name, "featureset": featureset, "featureset_version": featureset_version,
              "index": concrete_index(client, index), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "score_lower_bound": low, "linear": model.to_dict(), "metrics": dict(metrics or {}),
              "training": dict(training or {})}
    doc = registry(client, featureset)
    doc["models"][name] = record
    _save_registry(client, doc)
    return record


def parity_check(client: OpenSearch, index: str, model_name_: str, model: LinearModel,
                 samples: Sequence[tuple[Any, ...]], *,
                 active_features: Sequence[str] | None = None, rel_tol: float = 1e-5) -> dict[str, Any]:
    """The engine's ``sltr`` score must equal the offline float32 score for every sampled (params, pin).

    A sample is ``(params, pins)`` or ``(params, pins, active_features)``: Related Pins switches
    features off per query pin (no Pin2Vec vector), and parity must hold under exactly the
    ``active_features`` serving sends. A sample's own value wins over the ``active_features`` argument.
    """
    diffs: list[float] = []
    exact = 0
    worst: dict[str, Any] = {}
    for sample in samples:
        params, pins = sample[0], sample[1]
        active = sample[2] if len(sample) > 2 and sample[2] is not None else active_features
        scored = score_with_model(client, index, model_name_, model.feature_names, params, pins,
                                  active_features=active)
        for pin, (engine, raw) in scored.items():
            offline = float(model.score(raw)[0])
            diff = abs(engine - offline)
            exact += int(np.float32(engine) == np.float32(offline))
            rel = diff / max(1.0, abs(offline))
            diffs.append(rel)
            if not worst or rel > worst["rel_diff"]:
                worst = {"pin_id": pin, "engine": engine, "offline": offline, "rel_diff": rel}
    passed = bool(diffs) and max(diffs) <= rel_tol
    return {"passed": passed, "checked": len(diffs), "exact_float32": exact,
            "max_rel_diff": max(diffs) if diffs else None, "worst": worst, "rel_tol": rel_tol}


def activate(client: OpenSearch, featureset: str, name: str, *, parity: Mapping[str, Any],
             candidate_metric: float | None, active_metric: float | None, metric: str = "ndcg@10",
             force: bool = False) -> dict[str, Any]:
    """Make ``name`` the active model unless parity failed or it is worse than the active model."""
    if not parity.get("passed"):
        raise ActivationRefused(f"model {name}: parity check failed ({parity.get('checked')} docs, worst "
                                f"{parity.get('worst')}); not activated")
    if not force and active_metric is not None and candidate_metric is not None and candidate_metric < active_metric:
        raise ActivationRefused(f"model {name}: offline {metric} {candidate_metric:.4f} is worse than the active "
                                f"model's {active_metric:.4f}; not activated (use force to override)")
    doc = registry(client, featureset)
    if name not in doc["models"]:
        raise ActivationRefused(f"model {name} is not in the registry for feature set {featureset}")
    previous = doc.get("active")
    doc["active"] = name
    doc["models"][name]["parity"] = dict(parity)
    doc["models"][name]["activated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    _save_registry(client, doc)
    return {"active": name, "previous": previous, metric: candidate_metric, "previous_" + metric: active_metric}
