"""Index settings: flattening, validation and defaults for the settings the embedded engine honours.

OpenSearch accepts settings nested (``{"index": {"knn": true}}``), flat (``{"index.knn": true}``)
or without the ``index.`` prefix; it stores them flat and returns strings. We do the same, and
refuse settings whose effect we would silently ignore in a way that changes results.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from localnode.errors import IllegalArgumentError

DEFAULT_REFRESH_INTERVAL = 1.0
DEFAULT_FLUSH_THRESHOLD_BYTES = 512 * 1024 * 1024

_PRIVATE = {"index.uuid", "index.creation_date", "index.version.created", "index.provided_name"}
_UPDATABLE = {"index.refresh_interval", "index.number_of_replicas", "index.max_result_window",
              "index.knn.algo_param.ef_search", "index.knn.advanced.approximate_threshold",
              "index.translog.durability", "index.blocks.write",
              "index.max_rescore_window", "index.translog.flush_threshold_size", "index.hidden",
              "index.auto_expand_replicas"}


def normalise(settings: dict[str, Any] | None) -> dict[str, Any]:
    """Flat ``index.*`` keys; ``analysis`` kept as one nested object under ``index.analysis``."""
    if not settings:
        return {}
    if not isinstance(settings, dict):
        raise IllegalArgumentError("settings must be an object")
    flat: dict[str, Any] = {}
    for key, value in _flatten_keep_analysis(settings).items():
        full = key if key.startswith("index.") else f"index.{key}"
        flat[full] = value
    return flat


def _flatten_keep_analysis(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        full = f"{prefix}{key}"
        bare = full[6:] if full.startswith("index.") else full
        if bare == "analysis" or bare.startswith("analysis."):
            node = out.setdefault("index.analysis", {})
            if bare == "analysis":
                _deep_merge(node, value if isinstance(value, dict) else {})
            else:
                path = bare.split(".")[1:]
                target = node
                for part in path[:-1]:
                    target = target.setdefault(part, {})
                target[path[-1]] = value
        elif isinstance(value, dict):
            out.update(_flatten_keep_analysis(value, full + "."))
        else:
            out[full] = value
    return out


def _deep_merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


def creation_settings(requested: dict[str, Any] | None, index_name: str) -> dict[str, Any]:
    flat = normalise(requested)
    for key in flat:
        if key in _PRIVATE:
            raise IllegalArgumentError(f"private index setting [{key}] can not be set explicitly")
    shards = int(_as_str(flat.get("index.number_of_shards", "1")))
    if shards != 1:
        raise IllegalArgumentError(
            f"index [{index_name}]: the embedded engine (localnode) serves one shard per index; "
            f"number_of_shards [{shards}] would change scores (BM25 statistics are per shard). "
            "Use --cluster URL for multi-shard indices.")
    flat.setdefault("index.number_of_shards", "1")
    flat.setdefault("index.number_of_replicas", "1")
    flat["index.uuid"] = uuid.uuid4().hex[:22]
    flat["index.creation_date"] = str(int(time.time() * 1000))
    flat["index.version.created"] = "136408127"  # OpenSearch 2.19.0's internal version id
    flat["index.provided_name"] = index_name
    validate(flat)
    return {k: (v if k == "index.analysis" else _as_str(v)) for k, v in flat.items()}


def apply_update(current: dict[str, Any], requested: dict[str, Any], index_name: str) -> dict[str, Any]:
    flat = normalise(requested)
    for key in flat:
        if key not in _UPDATABLE:
            if key in current or key in ("index.number_of_shards", "index.analysis"):
                raise IllegalArgumentError(
                    f"Can't update non dynamic settings [[{key}]] for open indices [[{index_name}/{current['index.uuid']}]]")
    updated = dict(current)
    for key, value in flat.items():
        if value is None:
            updated.pop(key, None)
        else:
            updated[key] = _as_str(value)
    validate(updated)
    return updated


def _int_bounds() -> dict[str, tuple[int, int]]:
    from localnode.knn.mapping import (APPROXIMATE_THRESHOLD_MAX, APPROXIMATE_THRESHOLD_MIN,
                                       APPROXIMATE_THRESHOLD_SETTING, EF_SEARCH_MIN, EF_SEARCH_SETTING)
    return {APPROXIMATE_THRESHOLD_SETTING: (APPROXIMATE_THRESHOLD_MIN, APPROXIMATE_THRESHOLD_MAX),
            EF_SEARCH_SETTING: (EF_SEARCH_MIN, 2**31 - 1)}


def _validate_int_setting(key: str, raw: Any, low: int, high: int) -> None:
    """``Setting.intSetting(key, default, min, max)``: Integer.parseInt, then the bounds, with its messages."""
    text = _as_str(raw)
    if not re.fullmatch(r"[+-]?\d+", text) or not -(2**31) <= int(text) <= 2**31 - 1:
        raise IllegalArgumentError(f"Failed to parse value [{text}] for setting [{key}]")
    value = int(text)
    if value < low:
        raise IllegalArgumentError(f"Failed to parse value [{text}] for setting [{key}] must be >= {low}")
    if value > high:
        raise IllegalArgumentError(f"Failed to parse value [{text}] for setting [{key}] must be <= {high}")


def validate(flat: dict[str, Any]) -> None:
    for key, (low, high) in _int_bounds().items():
        if flat.get(key) is not None:
            _validate_int_setting(key, flat[key], low, high)
    interval = flat.get("index.refresh_interval")
    if interval is not None:
        parse_time_value(interval, "index.refresh_interval")
    durability = flat.get("index.translog.durability")
    if durability is not None and str(durability).lower() not in ("request", "async"):
        raise IllegalArgumentError(f"translog durability must be [request] or [async], got [{durability}]")
    similarity = flat.get("index.similarity.default.type")
    if similarity is not None and similarity != "BM25":
        raise IllegalArgumentError(f"similarity [{similarity}] is not supported by the embedded engine")
    for key in flat:
        if key.startswith("index.similarity."):
            raise IllegalArgumentError(f"custom similarity settings [{key}] are not supported by the embedded engine")


def refresh_interval_seconds(flat: dict[str, Any]) -> float | None:
    """Seconds between scheduled refreshes, or None when disabled (``-1``)."""
    raw = flat.get("index.refresh_interval")
    if raw is None:
        return DEFAULT_REFRESH_INTERVAL
    return parse_time_value(raw, "index.refresh_interval")


def parse_time_value(raw: Any, name: str) -> float | None:
    text = str(raw).strip()
    if text == "-1":
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)", text)
    if not match:
        raise IllegalArgumentError(
            f"failed to parse setting [{name}] with value [{raw}] as a time value: unit is missing or unrecognized")
    number, unit = float(match.group(1)), match.group(2)
    return number * {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
                     "d": 86400.0}[unit]


def parse_byte_size(raw: Any, name: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)?", str(raw).strip().lower())
    if not match:
        raise IllegalArgumentError(f"failed to parse setting [{name}] with value [{raw}] as a size in bytes")
    factor = {"b": 1, None: 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}[match.group(2)]
    return int(float(match.group(1)) * factor)


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """The nested form GET _settings returns."""
    root: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        parts = key.split(".")
        node = root
        i = 0
        while i < len(parts) - 1:
            child = node.get(parts[i])
            if child is not None and not isinstance(child, dict):
                # "knn" is a value and a prefix: OpenSearch keeps the rest dotted ("knn.algo_param")
                parts = parts[:i] + [".".join(parts[i:i + 2])] + parts[i + 2:]
                continue
            node = node.setdefault(parts[i], {})
            i += 1
        node[parts[-1]] = value
    return root


def _as_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_truthy(value: Any) -> bool:
    return str(value).lower() == "true"
