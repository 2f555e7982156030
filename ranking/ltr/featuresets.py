"""LTR feature sets: load the JSON files, validate them (offline and against the index), upload them.

The files in ``pinsearch/opensearch_plugin_config/`` (package data) are the plugin's exact request
bodies (``{"featureset": {...}, "validation": {...}}``), so they can also be sent with curl. This module
adds what the plugin cannot know: which fields a template touches (checked against the index
mapping, so a feature never silently scores 0 because of a typo), an upper bound per feature
(what the export uses to guarantee non-negative model scores), and the query-time params.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from opensearchpy import OpenSearch

from indexer.signals.cooccurrence import feature_key

FEATURESET_PACKAGE = "pinsearch.opensearch_plugin_config"
FEATURESET_FILES = {"search": "search_features.json", "related": "related_features.json"}
_TAG = re.compile(r"{{\s*[#^/]?\s*(?:toJson|join|url)?\s*}}|{{[{#^/]?\s*([\w.]+)\s*}?}}")
NONE_CLAUSE: dict[str, Any] = {"match_none": {}}
COSINE_BOUND = 1.01   # L2-normalised weights on both sides; 1 % margin for 9-bit / float32 rounding


class FeatureSetError(ValueError):
    """An invalid feature set (the message names the file, the feature and the fix)."""


@dataclass(slots=True)
class FeatureSet:
    name: str
    body: dict[str, Any]          # the plugin request body (with "featureset" and optional "validation")
    source: str

    @property
    def features(self) -> list[dict[str, Any]]:
        return self.body["featureset"]["features"]

    @property
    def feature_names(self) -> list[str]:
        return [f["name"] for f in self.features]

    def upper_bounds(self) -> dict[str, float | None]:
        """Per feature, the largest value it can take (None: unbounded, e.g. BM25)."""
        return {f["name"]: feature_upper_bound(f) for f in self.features}


def feature_upper_bound(feature: Mapping[str, Any]) -> float | None:
    """Bounds from the template's shape: saturation/cosine/constant features are bounded, BM25 is not."""
    template = feature["template"]
    text = template if isinstance(template, str) else json.dumps(template)
    if '"saturation"' in text or '"sigmoid"' in text:
        return 1.0
    if text.lstrip().startswith('{"constant_score"'):
        m = re.search(r'"boost":\s*([0-9.eE+-]+)\s*}\s*}?\s*$', text)
        return float(m.group(1)) if m else 1.0
    if "knn_score" in text:
        return 1.0                     # cosinesimil knn_score is (1 + cos) / 2 since 2.19
    if "_clauses" in text:
        return COSINE_BOUND
    if '"rank_feature"' in text and '"linear"' in text:
        return 1.0                     # cohesion and freshness are in (0, 1] by construction
    return None


def load_featureset(kind_or_path: str | Path) -> FeatureSet:
    """``"search"``, ``"related"`` or a path to a JSON file in the plugin's format; validated offline."""
    if str(kind_or_path) in FEATURESET_FILES:
        name = FEATURESET_FILES[str(kind_or_path)]
        source = f"{FEATURESET_PACKAGE}/{name}"
        text = resources.files(FEATURESET_PACKAGE).joinpath(name).read_text()
    else:
        source = str(kind_or_path)
        text = Path(kind_or_path).read_text()
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeatureSetError(f"{source}: not JSON (line {exc.lineno}: {exc.msg})") from None
    validate_body(body, source)
    return FeatureSet(name=body["featureset"]["name"], body=body, source=source)


def validate_body(body: Any, source: str) -> None:
    if not isinstance(body, dict) or set(body) - {"featureset", "validation"} or "featureset" not in body:
        raise FeatureSetError(f"{source}: the body must be {{\"featureset\": {{...}}, \"validation\"?: {{...}}}} "
                              "(the plugin rejects any other top-level key)")
    fs = body["featureset"]
    if not isinstance(fs.get("name"), str) or not fs["name"]:
        raise FeatureSetError(f"{source}: featureset.name must be a non-empty string")
    features = fs.get("features")
    if not isinstance(features, list) or not features:
        raise FeatureSetError(f"{source}: featureset.features must be a non-empty list")
    seen: set[str] = set()
    for i, f in enumerate(features):
        where = f"{source}: features[{i}]"
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            raise FeatureSetError(f"{where}: every feature needs a string 'name'")
        if f["name"] in seen:
            raise FeatureSetError(f"{where}: duplicate feature name {f['name']!r}")
        seen.add(f["name"])
        if "template" not in f:
            raise FeatureSetError(f"{where} ({f['name']}): missing 'template'")
        params = f.get("params", [])
        params = [params] if isinstance(params, str) else params
        text = f["template"] if isinstance(f["template"], str) else json.dumps(f["template"])
        used = {m for m in _TAG.findall(text) if m}
        undeclared = used - set(params)
        if undeclared:
            raise FeatureSetError(f"{where} ({f['name']}): template uses undeclared params {sorted(undeclared)}; "
                                  "add them to 'params'")
        if f.get("template_language", "mustache") != "mustache":
            raise FeatureSetError(f"{where} ({f['name']}): only mustache templates are used by pinsearch")
    if not any(feature_upper_bound(f) is not None and '"match_all"' in json.dumps(f["template"]) for f in features):
        raise FeatureSetError(f"{source}: needs an 'offset' feature (constant_score over match_all) so exported "
                              "models can be shifted to non-negative scores")


def referenced_fields(feature: Mapping[str, Any]) -> set[str]:
    """Index fields a template names (``field``/``fields``/match keys), without boosts or dynamic keys."""
    template = feature["template"]
    text = template if isinstance(template, str) else json.dumps(template)
    fields = set(re.findall(r'"field":\s*"([\w.]+)', text))
    for group in re.findall(r'"fields":\s*\[([^\]]*)\]', text):
        fields.update(f.split("^")[0] for f in re.findall(r'"([^"]+)"', group))
    fields.update(re.findall(r'"(?:match|term|terms)":\s*{\s*"([\w.]+)"', text))
    return {f for f in fields if "{{" not in f and f != "_id"}


def check_against_mapping(featureset: FeatureSet, mapping: Mapping[str, Any]) -> list[str]:
    """Problems (empty list: fine). rank_features keys (``annotations.x``) resolve to their parent field."""
    props = mapping.get("properties", {})
    known: set[str] = set()

    def walk(prefix: str, node: Mapping[str, Any]) -> None:
        for name, spec in node.items():
            full = f"{prefix}{name}"
            known.add(full)
            for sub in (spec.get("fields") or {}):
                known.add(f"{full}.{sub}")
            if "properties" in spec:
                walk(full + ".", spec["properties"])
    walk("", props)
    problems = []
    for f in featureset.features:
        for field in sorted(referenced_fields(f)):
            if field not in known and field.split(".")[0] not in known:
                problems.append(f"{featureset.source}: feature {f['name']!r} uses field {field!r} that the index "
                                "mapping does not declare")
    return problems


def _index_mapping(client: OpenSearch, index: str) -> dict[str, Any]:
    response = client.indices.get_mapping(index=index)
    first = next(iter(response.values()))
    return first.get("mappings", {})


def validation_params(featureset: FeatureSet, mapping: Mapping[str, Any]) -> dict[str, Any]:
    params = copy.deepcopy(featureset.body.get("validation", {}).get("params", {}))
    if "query_vector" in params and not params["query_vector"]:
        dim = int(mapping.get("properties", {}).get("pin2vec", {}).get("dimension", 128))
        params["query_vector"] = [1.0 / math.sqrt(dim)] * dim
    return params


def ensure_store(client: OpenSearch) -> None:
    """Create the default feature store unless it exists (PUT on an existing store is a 400)."""
    from opensearchpy.exceptions import RequestError
    try:
        client.transport.perform_request("PUT", "/_ltr")
    except RequestError as exc:
        if "already_exists" not in str(exc) and "already exists" not in str(exc):
            raise


def upload_featureset(client: OpenSearch, featureset: FeatureSet, *, index: str = "pins") -> dict[str, Any]:
    """Validate against the index mapping, then POST (create or overwrite) with the plugin's validation.

    Returns ``{"name", "version", "features", "index"}``; ``version`` is the store document version,
    which models record (and ``_createmodel?version=`` checks).
    """
    mapping = _index_mapping(client, index)
    problems = check_against_mapping(featureset, mapping)
    if problems:
        raise FeatureSetError("; ".join(problems))
    ensure_store(client)
    body = copy.deepcopy(featureset.body)
    body["validation"] = {"index": index, "params": validation_params(featureset, mapping)}
    response = client.transport.perform_request("POST", f"/_ltr/_featureset/{featureset.name}", body=body)
    return {"name": featureset.name, "version": int(response.get("_version", 1)), "index": index,
            "features": featureset.feature_names, "result": response.get("result")}


def stored_featureset_version(client: OpenSearch, name: str) -> int | None:
    from opensearchpy.exceptions import NotFoundError
    try:
        response = client.transport.perform_request("GET", f"/_ltr/_featureset/{name}")
    except NotFoundError:
        return None
    return int(response["_version"]) if response.get("found", True) else None


# -- query-time params -------------------------------------------------------------------------------

def weighted_clauses(field: str, weights: Mapping[str, float] | None) -> list[dict[str, Any]]:
    """``rank_feature`` linear clauses boosted by L2-normalised query weights: their sum is a cosine."""
    positive = {str(k): float(v) for k, v in (weights or {}).items() if v > 0}
    norm = math.sqrt(sum(v * v for v in positive.values()))
    if not positive or norm == 0:
        return [dict(NONE_CLAUSE)]     # an empty bool would match everything
    return [{"rank_feature": {"field": f"{field}.{key}", "linear": {}, "boost": round(v / norm, 6)}}
            for key, v in sorted(positive.items())]


@dataclass(slots=True)
class QuerySignals:
    """What the query understanding gives the features: instant annotations and Q2I interests per level."""
    annotations: Mapping[str, float] | None = None
    interests: Mapping[int, Mapping[str, float]] | None = None


def search_params(query: str, signals: QuerySignals | None = None) -> dict[str, Any]:
    signals = signals or QuerySignals()
    interests = signals.interests or {}
    return {"keywords": query,
            "annotation_clauses": weighted_clauses("annotations", signals.annotations),
            "interest_l1_clauses": weighted_clauses("interests_l1", interests.get(1)),
            "interest_l2_clauses": weighted_clauses("interests_l2", interests.get(2))}


def related_params(query_doc: Mapping[str, Any], query_pin: str) -> tuple[dict[str, Any], list[str] | None]:
    """Params from the query pin's own document, and the active features (pin2vec off without a vector)."""
    params: dict[str, Any] = {
        "annotation_clauses": weighted_clauses("annotations", query_doc.get("annotations")),
        "query_pin": feature_key(query_pin),       # the cooccur rank_features key, as indexed
        "board_ids": list(query_doc.get("board_ids") or []) or ["_none_"],
        "link_domain": query_doc.get("link_domain") or "_none_",
        "title": query_doc.get("title") or "_none_",
        "interest_ids": list(query_doc.get("interest_ids") or []) or ["_none_"],
        "image_annotations": list(query_doc.get("image_annotations") or []) or ["_none_"],
    }
    for level in (1, 2, 3, 4):
        params[f"interest_l{level}_clauses"] = weighted_clauses(f"interests_l{level}", query_doc.get(f"interests_l{level}"))
    active = None
    vector = query_doc.get("pin2vec")
    if vector and any(vector):
        params["query_vector"] = list(vector)
    else:
        featureset = load_featureset("related")
        active = [n for n in featureset.feature_names if n != "pin2vec_similarity"]
    return params, active
