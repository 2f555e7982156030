"""Turn a JSON ``_source`` into the values each mapped field indexes, adding dynamic mappings.

The parser runs once per document on the write path, so it returns plain lists grouped by what the
segment builder needs (texts to analyse, exact terms, numbers, rank features, vectors); analysis
itself happens in the builder, which owns the analyzers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from localnode.errors import MapperParsingError, OpenSearchError
from localnode.mapping.dates import DateParseError, looks_like_date, parse_date_millis
from localnode.mapping.fields import (BOOLEAN, DATE, FLOAT_TYPES, INTEGER_TYPES, KEYWORD, KNN_VECTOR,
                                      RANK_FEATURE, RANK_FEATURES, TEXT, FieldMapper)
from localnode.mapping.mapping import Mapping

FLOAT32_MIN_NORMAL = float(np.finfo(np.float32).tiny)


class StrictDynamicMappingError(OpenSearchError):
    status = 400
    error_type = "strict_dynamic_mapping_exception"


@dataclass(slots=True)
class ParsedDocument:
    texts: dict[str, list[str]] = field(default_factory=dict)
    keywords: dict[str, list[str]] = field(default_factory=dict)
    numbers: dict[str, list[float | int]] = field(default_factory=dict)
    features: dict[str, dict[str, float]] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)


class DocumentParser:
    """Parses sources against a :class:`Mapping`, collecting dynamic mapping additions first."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping

    def parse(self, source: Any, doc_id: str) -> ParsedDocument:
        if not isinstance(source, dict):
            raise MapperParsingError("failed to parse, document is empty" if source is None else
                                     "failed to parse", caused_by=MapperParsingError("Root document must be an object"))
        dynamic_additions: dict[str, Any] = {}
        fields = self.mapping.fields
        if not all(isinstance(k, str) and k in fields and "." not in k for k in source):  # fast path: all mapped
            self._collect_dynamic(source, "", dynamic_additions)
        if dynamic_additions:
            self.mapping.merge({"properties": dynamic_additions})
        parsed = ParsedDocument()
        self._parse_object(source, "", parsed, doc_id)
        return parsed

    # -- dynamic mapping ----------------------------------------------------------------------
    def _collect_dynamic(self, obj: dict[str, Any], prefix: str, additions: dict[str, Any]) -> None:
        for key, value in obj.items():
            if not isinstance(key, str) or key == "" or key.strip(".") != key or ".." in key:
                raise MapperParsingError("field name cannot be an empty string" if key == "" else
                                         f"Invalid field name [{key}]")
            if "." in key:
                head, rest = key.split(".", 1)
                self._collect_dynamic({head: {rest: value}}, prefix, additions)
                continue
            path = prefix + key
            mapper = self.mapping.field(path)
            if mapper is not None or value is None:
                continue
            if path in self.mapping.objects or (isinstance(value, dict) and self._object_known(path)):
                if isinstance(value, dict) and self.mapping.object_enabled(path):
                    self._collect_dynamic(value, path + ".", additions)
                elif isinstance(value, list):
                    for item in value:
                        if isinstance(item, dict):
                            self._collect_dynamic(item, path + ".", additions)
                continue
            sample = _first_non_null(value)
            if sample is None:
                continue
            policy = self.mapping.object_dynamic(prefix[:-1])
            if policy == "false":
                continue
            if policy == "strict":
                parent = prefix[:-1] or "_doc"
                raise StrictDynamicMappingError(
                    f"mapping set to strict, dynamic introduction of [{key}] within [{parent}] is not allowed")
            definition = self._infer(sample)
            target = _additions_node(additions, prefix)
            if definition.get("type") == "object":
                target[key] = {"properties": {}}
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict):
                        self._collect_dynamic_new_object(item, path + ".", target[key]["properties"])
            else:
                target.setdefault(key, definition)

    def _collect_dynamic_new_object(self, obj: dict[str, Any], prefix: str, props: dict[str, Any]) -> None:
        for key, value in obj.items():
            sample = _first_non_null(value)
            if sample is None:
                continue
            definition = self._infer(sample)
            if definition.get("type") == "object":
                node = props.setdefault(key, {"properties": {}})
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict):
                        self._collect_dynamic_new_object(item, prefix + key + ".", node["properties"])
            else:
                props.setdefault(key, definition)

    def _object_known(self, path: str) -> bool:
        return path in self.mapping.objects

    def _infer(self, sample: Any) -> dict[str, Any]:
        if isinstance(sample, bool):
            return {"type": "boolean"}
        if isinstance(sample, int):
            return {"type": "long"}
        if isinstance(sample, float):
            return {"type": "float"}
        if isinstance(sample, dict):
            return {"type": "object"}
        if isinstance(sample, str):
            if self.mapping.date_detection and looks_like_date(sample):
                return {"type": "date"}
            return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
        raise MapperParsingError(f"failed to parse, unsupported value [{sample!r}]")

    # -- value extraction -------------------------------------------------------------------
    def _parse_object(self, obj: dict[str, Any], prefix: str, parsed: ParsedDocument, doc_id: str) -> None:
        for key, value in obj.items():
            if "." in key:
                head, rest = key.split(".", 1)
                self._parse_object({head: {rest: value}}, prefix, parsed, doc_id)
                continue
            path = prefix + key
            mapper = self.mapping.field(path)
            if mapper is not None:
                self._parse_field(mapper, value, parsed, doc_id)
                continue
            if path in self.mapping.objects and self.mapping.object_enabled(path):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict):
                        self._parse_object(item, path + ".", parsed, doc_id)
                    elif item is not None:
                        raise MapperParsingError(
                            f"object mapping for [{path}] tried to parse field [{key}] as object, but found a concrete value")

    def _parse_field(self, mapper: FieldMapper, value: Any, parsed: ParsedDocument, doc_id: str) -> None:
        if type(value) is str and mapper.type == TEXT and not mapper.multi_fields:  # the common case, short
            if mapper.indexed:
                parsed.texts.setdefault(mapper.path, []).append(value)
            return
        if mapper.type == RANK_FEATURES:
            _parse_rank_features(mapper, value, parsed)
            return
        if mapper.type == KNN_VECTOR:
            _parse_vector(mapper, value, parsed, doc_id)
            return
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, list):
                self._parse_field(mapper, item, parsed, doc_id)
                continue
            if item is None:
                item = mapper.null_value
                if item is None:
                    continue
            if isinstance(item, dict):
                raise MapperParsingError(
                    f"failed to parse field [{mapper.path}] of type [{mapper.type}] in document with id '{doc_id}'. "
                    f"Preview of field's value: '{_preview(item)}'")
            self._parse_scalar(mapper, item, parsed, doc_id)
            for sub in mapper.multi_fields.values():
                self._parse_scalar(sub, item, parsed, doc_id)

    def _parse_scalar(self, mapper: FieldMapper, item: Any, parsed: ParsedDocument, doc_id: str) -> None:
        ftype = mapper.type
        if ftype == TEXT:
            if mapper.indexed:
                parsed.texts.setdefault(mapper.path, []).append(_as_text(item))
        elif ftype == KEYWORD:
            text = _as_text(item)
            if mapper.indexed and (mapper.ignore_above is None or len(text) <= mapper.ignore_above):
                parsed.keywords.setdefault(mapper.path, []).append(text)
        elif ftype == BOOLEAN:
            flag = _as_boolean(mapper, item, doc_id)
            parsed.keywords.setdefault(mapper.path, []).append("true" if flag else "false")
            parsed.numbers.setdefault(mapper.path, []).append(1 if flag else 0)
        elif ftype == DATE:
            try:
                millis = parse_date_millis(item, mapper.date_format)
            except DateParseError as exc:
                if mapper.ignore_malformed:
                    return
                raise _field_error(mapper, item, doc_id, "illegal_argument_exception", str(exc)) from None
            parsed.numbers.setdefault(mapper.path, []).append(millis)
        elif ftype in INTEGER_TYPES or ftype in FLOAT_TYPES:
            number = _as_number(mapper, item, doc_id)
            if number is not None:
                parsed.numbers.setdefault(mapper.path, []).append(number)
        elif ftype == RANK_FEATURE:
            feature_value = _as_feature_value(mapper.path, item)
            bucket = parsed.features.setdefault("_feature", {})
            if mapper.path in bucket:
                raise MapperParsingError(
                    f"failed to parse field [{mapper.path}] of type [rank_feature] in document with id '{doc_id}'. "
                    f"Preview of field's value: '{item}'",
                    caused_by=OpenSearchError(
                        f"[rank_feature] fields do not support indexing multiple values for the same field "
                        f"[{mapper.path}] in the same document", error_type="illegal_argument_exception", status=400))
            bucket[mapper.path] = feature_value if mapper.positive_score_impact else 1.0 / feature_value
        else:  # pragma: no cover - every mapped type is handled above
            raise MapperParsingError(f"cannot index field [{mapper.path}] of type [{ftype}]")


def _as_text(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, float) and item.is_integer() and abs(item) < 1e16:
        return repr(item)
    return str(item)


def _as_boolean(mapper: FieldMapper, item: Any, doc_id: str) -> bool:
    if isinstance(item, bool):
        return item
    if item in ("true", "false", ""):
        return item == "true"
    raise _field_error(mapper, item, doc_id, "illegal_argument_exception",
                       f"Failed to parse value [{item}] as only [true] or [false] are allowed.")


def _as_number(mapper: FieldMapper, item: Any, doc_id: str) -> int | float | None:
    value: float | int
    if isinstance(item, bool):
        if mapper.ignore_malformed:
            return None
        raise _field_error(mapper, item, doc_id, "illegal_argument_exception", f"Current token (VALUE_{str(item).upper()}) not numeric, can not use numeric value accessors")
    if isinstance(item, (int, float)):
        value = item
    elif isinstance(item, str) and mapper.coerce:
        try:
            value = int(item) if mapper.is_integer and item.strip().lstrip("+-").isdigit() else float(item)
        except ValueError:
            if mapper.ignore_malformed:
                return None
            raise _field_error(mapper, item, doc_id, "number_format_exception",
                               f'For input string: "{item}"') from None
    else:
        if mapper.ignore_malformed:
            return None
        raise _field_error(mapper, item, doc_id, "illegal_argument_exception", f"[{item}] is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _field_error(mapper, item, doc_id, "illegal_argument_exception",
                           f"[{mapper.type}] supports only finite values, but got [{value}]")
    if mapper.is_integer:
        low, high = INTEGER_TYPES[mapper.type]
        if isinstance(value, float):
            if not mapper.coerce and not value.is_integer():
                raise _field_error(mapper, item, doc_id, "illegal_argument_exception",
                                   f"Value [{value}] has a decimal part")
            value = int(value)  # coerce truncates toward zero
        if not low <= value <= high:
            raise _field_error(mapper, item, doc_id, "illegal_argument_exception",
                               f"Value [{item}] is out of range for {'a ' if mapper.type != 'integer' else 'an '}{mapper.type}")
        return int(value)
    if mapper.type == "float":
        return float(np.float32(value))
    if mapper.type == "half_float":
        return float(np.float16(value))
    return float(value)


def _as_feature_value(field_name: str, item: Any) -> float:
    if isinstance(item, bool) or not isinstance(item, (int, float, str)):
        raise MapperParsingError(
            f"[rank_feature] fields only support numbers, got [{item}] for field [{field_name}]")
    try:
        value = float(item)
    except ValueError:
        raise MapperParsingError(f"[rank_feature] fields only support numbers, got [{item}]") from None
    value32 = float(np.float32(value))
    if not math.isfinite(value32) or value32 < FLOAT32_MIN_NORMAL:
        raise MapperParsingError(
            f"failed to parse field [{field_name}] of type [rank_feature]",
            caused_by=OpenSearchError(
                f"featureValue must be a positive normal float, got: {value} for feature: {field_name} "
                f"which is less than the minimum positive normal float: 1.17549435E-38",
                error_type="illegal_argument_exception", status=400))
    return value32


def _parse_rank_features(mapper: FieldMapper, value: Any, parsed: ParsedDocument) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise MapperParsingError(
            f"[rank_features] fields must be json objects, expected a START_OBJECT but got: {_token_name(value)}")
    bucket = parsed.features.setdefault(mapper.path, {})
    for key, raw in value.items():
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise MapperParsingError(
                f"[rank_features] fields take hashes that map a feature to a strictly positive float, "
                f"but got unexpected token {_token_name(raw)}")
        bucket[str(key)] = _as_feature_value(f"{mapper.path}.{key}", raw)


def _parse_vector(mapper: FieldMapper, value: Any, parsed: ParsedDocument, doc_id: str) -> None:
    from localnode.knn.mapping import validate_vector  # knn is an optional layer
    if value is None:
        return
    vector = validate_vector(mapper.knn, value, doc_id=doc_id)
    if vector is not None:
        parsed.vectors[mapper.path] = vector


def _token_name(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, (int, float)):
        return "VALUE_NUMBER"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, list):
        return "START_ARRAY"
    if value is None:
        return "VALUE_NULL"
    return "START_OBJECT"


def _field_error(mapper: FieldMapper, item: Any, doc_id: str, cause_type: str, cause: str) -> MapperParsingError:
    return MapperParsingError(
        f"failed to parse field [{mapper.path}] of type [{mapper.type}] in document with id '{doc_id}'. "
        f"Preview of field's value: '{_preview(item)}'",
        caused_by=OpenSearchError(cause, error_type=cause_type, status=400))


def _preview(item: Any) -> str:
    if isinstance(item, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in item.items()) + "}"
    text = str(item)
    return text if len(text) <= 100 else text[:100] + "..."


def _first_non_null(value: Any) -> Any:
    if isinstance(value, list):
        for item in value:
            found = _first_non_null(item)
            if found is not None:
                return found
        return None
    return value


def _additions_node(additions: dict[str, Any], prefix: str) -> dict[str, Any]:
    node = additions
    if prefix:
        for part in prefix[:-1].split("."):
            node = node.setdefault(part, {"properties": {}}).setdefault("properties", {})
    return node
