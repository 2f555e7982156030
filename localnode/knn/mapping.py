"""``knn_vector`` field mappings: parse and validate them as the k-NN plugin 2.19 does.

Why this is more than a schema check: a client learns about k-NN mistakes from the mapping error
(which parameter, which engine, which space), so the order of the checks and their wording follow
``KNNVectorFieldMapper.TypeParser`` (k-NN 2.19): parameters are parsed in the order the user wrote
them, then the flat/model/method branch validates, and method problems are collected into one
``validation_exception`` ("Validation Failed: 1: ...;") exactly as ``KNNMethodContext.validate`` does.

Error classes follow the Java exception the plugin throws: ``MapperParsingException`` →
:class:`MapperParsingError`, ``IllegalArgumentException`` → :class:`IllegalArgumentError`,
``ValidationException`` → an :class:`OpenSearchError` of type ``validation_exception``. On a real
cluster, *create index* wraps any of them in ``mapper_parsing_exception`` "Failed to parse mapping
[_doc]: <reason>" (``MapperService``) while ``PUT _mapping`` does not; that wrapping belongs to the
caller, which knows which API it serves.

Honest differences (explicit errors, never silent): ``data_type`` byte/binary, ``model_id``,
quantization (``mode: on_disk``, ``compression_level`` above 1x, ``sq``/``binary`` encoders) are
refused because the embedded engine stores float32 vectors only and trains no models.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from localnode.errors import IllegalArgumentError, MapperParsingError, OpenSearchError
from localnode.knn import spaces

__all__ = [
    "KnnFieldSpec", "parse_knn_mapping", "validate_vector", "FAISS", "LUCENE", "NMSLIB", "ENGINES",
    "DEFAULT_ENGINE", "HNSW", "IVF", "MAX_DIMENSION", "DEFAULT_M", "DEFAULT_EF_CONSTRUCTION",
    "DEFAULT_EF_SEARCH", "validation_error",
]

FAISS = "faiss"
LUCENE = "lucene"
NMSLIB = "nmslib"
ENGINES: tuple[str, ...] = (NMSLIB, FAISS, LUCENE)
#: The default engine is faiss for indexes created on 2.18 and later (nmslib before).
DEFAULT_ENGINE = FAISS
HNSW = "hnsw"
IVF = "ivf"
MAX_DIMENSION = 16000
DEFAULT_M = 16
#: ``ef_construction`` default for indexes created after 2.11 (512 before).
DEFAULT_EF_CONSTRUCTION = 100
#: ``ef_search`` default: faiss method parameter and ``index.knn.algo_param.ef_search``.
DEFAULT_EF_SEARCH = 100
#: ``index.knn.advanced.approximate_threshold`` (k-NN 2.18+, ``KNNSettings``): a segment gets an HNSW
#: graph only when it holds at least this many vectors; smaller segments are searched exactly.
#: 0 = always build, -1 = never; an int setting in [-1, Integer.MAX_VALUE - 2], index scope, dynamic.
APPROXIMATE_THRESHOLD_SETTING = "index.knn.advanced.approximate_threshold"
DEFAULT_APPROXIMATE_THRESHOLD = 15_000
APPROXIMATE_THRESHOLD_MIN = -1
APPROXIMATE_THRESHOLD_MAX = 2**31 - 1 - 2
EF_SEARCH_SETTING = "index.knn.algo_param.ef_search"
EF_SEARCH_MIN = 2

_DATA_TYPES = ("binary", "byte", "float")
_MODES = ("in_memory", "on_disk")
_COMPRESSION_LEVELS = ("1x", "2x", "4x", "8x", "16x", "32x")
_INT_PARAMS = ("m", "ef_construction", "ef_search", "nlist", "nprobes")
_ENCODER = "encoder"

# engine -> method -> accepted ``parameters`` keys (Faiss/Lucene/Nmslib HNSW & IVF method components)
_METHOD_PARAMS: dict[str, dict[str, frozenset[str]]] = {
    FAISS: {HNSW: frozenset({"m", "ef_construction", "ef_search", _ENCODER}),
            IVF: frozenset({"nlist", "nprobes", _ENCODER})},
    LUCENE: {HNSW: frozenset({"m", "ef_construction", _ENCODER})},
    NMSLIB: {HNSW: frozenset({"m", "ef_construction"})},
}
_METHOD_SPACES: dict[str, frozenset[str]] = {
    FAISS: frozenset({spaces.L2, spaces.INNER_PRODUCT, spaces.COSINESIMIL, spaces.HAMMING}),
    LUCENE: frozenset({spaces.L2, spaces.COSINESIMIL, spaces.INNER_PRODUCT}),
    NMSLIB: frozenset({spaces.L2, spaces.L1, spaces.LINF, spaces.COSINESIMIL, spaces.INNER_PRODUCT}),
}
# engine -> encoder name -> accepted encoder parameters; "pq" needs training, the rest but flat quantize.
_ENCODERS: dict[str, dict[str, frozenset[str]]] = {
    FAISS: {"flat": frozenset(), "sq": frozenset({"type", "clip"}), "pq": frozenset({"m", "code_size"}),
            "binary": frozenset({"bits", "random_rotation"})},
    LUCENE: {"flat": frozenset(), "sq": frozenset({"confidence_interval", "bits"})},
}
_TRAINED_ENCODERS = frozenset({"pq"})


@dataclass(frozen=True, slots=True)
class KnnFieldSpec:
    """Everything the engine needs to index and search one ``knn_vector`` field, resolved.

    ``engine``/``method_name``/``m``/``ef_construction`` hold the resolved HNSW configuration (empty
    and 0 for a flat field). ``ef_search_param`` is the faiss method parameter ``ef_search`` when the
    mapping sets it (the query's ``method_parameters.ef_search`` and the index setting are resolved by
    the caller). ``ann_enabled`` is False for a flat field (``index.knn`` false): doc values only,
    usable by ``knn_score`` scripts but not by the ``knn`` query.
    """

    dimension: int
    data_type: str = "float"
    space_type: str = spaces.L2
    engine: str = DEFAULT_ENGINE
    method_name: str = HNSW
    m: int = DEFAULT_M
    ef_construction: int = DEFAULT_EF_CONSTRUCTION
    ef_search_param: int | None = None
    ann_enabled: bool = True
    name: str = ""
    mapping_json: str = ""

    @property
    def is_flat(self) -> bool:
        return not self.ann_enabled

    @property
    def normalizes_vectors(self) -> bool:
        """faiss has no cosine metric: since 2.19 the plugin L2-normalises cosinesimil vectors at
        index time (``NormalizeVectorTransformer``), so the stored doc values change too."""
        return self.ann_enabled and self.engine == FAISS and self.space_type == spaces.COSINESIMIL

    def serialize(self) -> dict[str, Any]:
        """The field as ``GET _mapping`` shows it (resolved engine and space inside ``method``)."""
        if self.mapping_json:
            return json.loads(self.mapping_json)
        return {"type": "knn_vector", "dimension": self.dimension}


# -- errors --------------------------------------------------------------------------------------
def validation_error(errors: list[str]) -> OpenSearchError:
    """An ``org.opensearch.common.ValidationException`` as the REST layer renders it."""
    reason = "Validation Failed: " + "".join(f"{i}: {err};" for i, err in enumerate(errors, 1))
    return OpenSearchError(reason, status=400, error_type="validation_exception")


def _unsupported(what: str) -> MapperParsingError:
    return MapperParsingError(
        f"{what} is not supported by the embedded engine (localnode); "
        "run against an OpenSearch cluster with --cluster URL for this feature")


def _java_str(value: Any) -> str:
    """``String.valueOf`` for JSON values, so messages print ``null``/``true`` like Java."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- Java HashMap iteration order ----------------------------------------------------------------
def _java_string_hash(text: str) -> int:
    """``String.hashCode()`` (over UTF-16 code units) as an unsigned 32-bit value."""
    data = text.encode("utf-16-le")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] | (data[i + 1] << 8))) & 0xFFFFFFFF
    return h


def _java_hashmap_order(keys: list[str]) -> list[str]:
    """Order in which ``java.util.HashMap`` iterates ``keys`` (inserted in the given order).

    The plugin keeps method ``parameters`` in a HashMap, so both its validation messages and its
    ``GET _mapping`` output list them in bucket order, not in the order the user wrote them.
    """
    capacity = 16
    while len(keys) > capacity * 0.75:
        capacity *= 2

    def bucket(key: str) -> int:
        h = _java_string_hash(key)
        return (h ^ (h >> 16)) & (capacity - 1)

    return [key for _, _, key in sorted((bucket(key), i, key) for i, key in enumerate(keys))]


# -- method parsing (KNNMethodContext.parse / MethodComponentContext.parse) ---------------------
@dataclass(frozen=True, slots=True)
class _Component:
    """A ``MethodComponentContext``: a name plus parameters (None when given as JSON null)."""

    name: str
    parameters: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name}
        body["parameters"] = None if self.parameters is None else _params_json(self.parameters)
        return body


def _params_json(parameters: dict[str, Any]) -> dict[str, Any]:
    return {key: (value.to_json() if isinstance(value, _Component) else value)
            for key, value in ((k, parameters[k]) for k in _java_hashmap_order(list(parameters)))}


@dataclass(frozen=True, slots=True)
class _Method:
    engine: str | None
    space_type: str | None
    component: _Component


def _parse_space_name(value: Any) -> str | None:
    """``SpaceType.getSpace``: case-insensitive; "undefined" is a valid (unset) value."""
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in spaces.SPACE_TYPES:
            return lowered
        if lowered == "undefined":
            return None
    raise ValueError(value)


def _parse_component(value: Any) -> _Component:
    if not isinstance(value, dict):
        raise MapperParsingError("Unable to parse MethodComponent")
    name = ""
    parameters: dict[str, Any] | None = {}
    for key, item in value.items():
        if key == "name":
            if not isinstance(item, str):
                raise MapperParsingError("Component name should be a string")
            name = item
        elif key == "parameters":
            if item is None:
                parameters = None
                continue
            if not isinstance(item, dict):
                raise MapperParsingError("Unable to parse parameters for  method component")
            parameters = {k: (_parse_component(v) if isinstance(v, dict) else v) for k, v in item.items()}
        else:
            raise MapperParsingError(f"Invalid parameter for MethodComponentContext: {key}")
    if not name:
        raise MapperParsingError("name needs to be set")
    return _Component(name, parameters)


def _parse_method(value: Any) -> _Method:
    if not isinstance(value, dict):
        raise MapperParsingError('Unable to parse mapping into KNNMethodContext. Object not of type "Map"')
    engine: str | None = None
    space: str | None = None
    name = ""
    parameters: dict[str, Any] | None = {}
    for key, item in value.items():
        if key == "engine":
            if item is not None and not isinstance(item, str):
                raise MapperParsingError('"engine" must be a string')
            if item is not None and item.lower() != "undefined":  # KNNEngine.getEngine: case-insensitive
                if item.lower() not in ENGINES:
                    raise MapperParsingError(f"Invalid engine: {item}")
                engine = item.lower()
        elif key == "space_type":
            if item is not None and not isinstance(item, str):
                raise MapperParsingError('"space_type" must be a string')
            try:
                space = _parse_space_name(item)
            except ValueError:
                raise MapperParsingError(f"Invalid space_type: {_java_str(item)}") from None
        elif key == "name":
            if not isinstance(item, str):
                raise MapperParsingError("namehas to be a string")  # sic: the plugin's text
            name = item
        elif key == "parameters":
            if item is None:
                parameters = None
                continue
            if not isinstance(item, dict):
                raise MapperParsingError("Unable to parse parameters for main method component")
            parameters = {k: (_parse_component(v) if isinstance(v, dict) else v) for k, v in item.items()}
        else:
            raise MapperParsingError(f"Invalid parameter: {key}")
    if not name:
        raise MapperParsingError("name needs to be set")
    return _Method(engine, space, _Component(name, parameters))


# -- scalar parameters ---------------------------------------------------------------------------
_JAVA_INT = re.compile(r"[+-]?\d+")


def _to_int32(number: int) -> int:
    """``Number.intValue()`` wraps like Java's int narrowing."""
    return ((number + 2**31) % 2**32) - 2**31


def _parse_dimension(value: Any, name: str) -> int:
    if value is None:
        raise IllegalArgumentError("Dimension cannot be null")
    parsed: int | None = None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int):
        parsed = _to_int32(value)
    elif isinstance(value, float) and math.isfinite(value):
        parsed = _to_int32(int(value))  # XContentMapValues.nodeIntegerValue: Number.intValue() truncates
    elif isinstance(value, str) and _JAVA_INT.fullmatch(value) and -(2**31) <= int(value) < 2**31:
        parsed = int(value)
    if parsed is None:
        raise IllegalArgumentError(
            f"Unable to parse [dimension] from provided value [{_java_str(value)}] for vector [{name}]")
    if parsed <= 0:
        raise IllegalArgumentError(f"Dimension value must be greater than 0 for vector: {name}")
    return parsed


def _parse_data_type(value: Any) -> str:
    if value is None:
        raise IllegalArgumentError(
            f"[data_type] should not be null. Supported types are [{','.join(_DATA_TYPES)}]")
    if isinstance(value, str) and value.lower() in _DATA_TYPES:
        return value.lower()
    raise IllegalArgumentError(
        f"Invalid value provided for [data_type] field. Supported values are [{','.join(_DATA_TYPES)}]")


def _parse_restricted(value: Any, param: str, accepted: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in accepted:
        return value
    raise MapperParsingError(
        f"Unknown value [{_java_str(value)}] for field [{param}] - accepted values are [{', '.join(accepted)}]")


def _parse_top_space(value: Any, name: str) -> str | None:
    if value is None:
        raise MapperParsingError(f"[space_type] on mapper [{name}] of type [knn_vector] must not have a [null] value")
    try:
        return _parse_space_name(value)
    except ValueError:
        raise IllegalArgumentError(
            f"Unable to find space: {_java_str(value)} . Valid values are: [{', '.join(spaces.SPACE_TYPES)}]") from None


def _parse_bool(value: Any, param: str, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise MapperParsingError(
        f"Failed to parse value [{_java_str(value)}] as only [true] or [false] are allowed.")


# -- method validation (AbstractKNNMethod.validate / MethodComponent.validate) ------------------
def _is_java_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31


def _encoder_valid(engine: str, value: _Component) -> bool:
    encoders = _ENCODERS.get(engine, {})
    accepted = encoders.get(value.name)
    if accepted is None:
        return False
    return all(key in accepted for key in (value.parameters or {}))


def _method_errors(engine: str, method: str, space: str, parameters: dict[str, Any] | None,
                   dimension: int) -> list[str]:
    errors: list[str] = []
    if space not in _METHOD_SPACES[engine]:
        errors.append(f'"{method}" with "{engine}" configuration does not support space type: "{space}".')
    accepted = _METHOD_PARAMS[engine][method]
    for key in _java_hashmap_order(list(parameters or {})):
        value = (parameters or {})[key]
        if key not in accepted:
            errors.append(f"Unknown parameter '{key}' found")
        elif key == _ENCODER:
            if not isinstance(value, _Component):
                errors.append(f"value is not an instance of for MethodComponentContext parameter [{key}].")
            elif not _encoder_valid(engine, value):
                errors.append(f"parameter validation failed for MethodComponentContext parameter [{key}].")
        elif key in _INT_PARAMS:
            if not _is_java_int(value):
                errors.append(f"value is not an instance of Integer for Integer parameter [{key}].")
            elif value <= 0:
                errors.append(f"parameter validation failed for Integer parameter [{key}].")
    if dimension > MAX_DIMENSION:
        errors.append(f"Dimension value cannot be greater than {MAX_DIMENSION} for vector with engine: {engine}")
    return errors


def _requires_training(engine: str, method: str, parameters: dict[str, Any] | None) -> bool:
    if engine == FAISS and method == IVF:
        return True
    encoder = (parameters or {}).get(_ENCODER)
    return isinstance(encoder, _Component) and encoder.name in _TRAINED_ENCODERS and engine == FAISS


# -- the parser ----------------------------------------------------------------------------------
def parse_knn_mapping(path: str, definition: dict[str, Any], *, index_knn_enabled: bool) -> KnnFieldSpec:
    """Parse one ``knn_vector`` field definition (full dotted ``path``) into a :class:`KnnFieldSpec`.

    ``index_knn_enabled`` is the index setting ``index.knn``: when false the field is flat (no ANN
    structure) and a ``method`` or ``model_id`` is rejected, as on indexes created since 2.17.
    """
    name = path.rsplit(".", 1)[-1]
    dimension = -1
    data_type = "float"
    method: _Method | None = None
    model_id: Any = None
    mode: str | None = None
    compression: str | None = None
    top_space: str | None = None
    top_space_raw: Any = None
    doc_values: bool | None = None
    for key, value in definition.items():  # ParametrizedFieldMapper.Builder.parse: user's order
        if key == "type":
            continue
        if key == "dimension":
            dimension = _parse_dimension(value, name)
        elif key == "data_type":
            data_type = _parse_data_type(value)
        elif key == "method":
            method = _parse_method(value)
        elif key == "model_id":
            model_id = value
        elif key == "mode":
            mode = _parse_restricted(value, "mode", _MODES)
        elif key == "compression_level":
            compression = _parse_restricted(value, "compression_level", _COMPRESSION_LEVELS)
        elif key == "space_type":
            top_space = _parse_top_space(value, name)
            top_space_raw = value
        elif key == "doc_values":
            doc_values = _parse_bool(value, "doc_values", name)
        else:
            raise MapperParsingError(f"unknown parameter [{key}] on mapper [{name}] of type [knn_vector]")

    if data_type != "float":
        raise _unsupported(f"[data_type] [{data_type}] on field [{path}] (the embedded engine stores float vectors only)")
    if method is not None and model_id is not None:
        raise IllegalArgumentError(f"Method and model can not be both specified in the mapping: {name}")
    mode_configured = mode is not None or compression is not None

    if not index_knn_enabled:
        if model_id is not None or method is not None:
            raise IllegalArgumentError("Cannot set modelId or method parameters when index.knn setting is false")
        if dimension == -1:
            raise IllegalArgumentError(f"Dimension value missing for vector: {name}")
        if mode_configured:
            raise MapperParsingError(
                f"Compression and mode can not be specified in a flat mapping configuration for field: {name}")
        if dimension > MAX_DIMENSION:
            raise IllegalArgumentError(
                f"Dimension value cannot be greater than {MAX_DIMENSION} for vector: {name}")
        serialized = _serialize(dimension, doc_values, None, mode, compression, top_space_raw)
        return KnnFieldSpec(dimension=dimension, space_type=top_space or spaces.L2, engine="", method_name="",
                            m=0, ef_construction=0, ef_search_param=None, ann_enabled=False, name=path,
                            mapping_json=serialized)

    if model_id is not None:
        if top_space is not None:
            raise IllegalArgumentError("TopLevel Space type and model can not be both specified in the mapping")
        raise _unsupported(f"[model_id] on field [{path}] (trained k-NN models)")

    if mode_configured and method is not None:
        raise MapperParsingError(
            f'Compression and mode can not be specified in a "method" mapping configuration for field: {name}')
    if method is not None and method.space_type is not None and top_space is not None \
            and method.space_type != top_space:
        raise MapperParsingError(
            'Space type in "method" and top level space type should be same or one of them should be defined')
    if mode == "on_disk" or compression not in (None, "1x"):
        raise _unsupported(f"[mode]/[compression_level] quantization on field [{path}]")

    engine = method.engine if method is not None and method.engine is not None else DEFAULT_ENGINE
    space = (method.space_type if method is not None and method.space_type is not None else None) \
        or top_space or spaces.L2
    component = method.component if method is not None else _Component(HNSW, {})
    if space == spaces.HAMMING:
        raise IllegalArgumentError(f"Space type [{space}] is not supported with [{data_type}] data type")
    if component.name not in _METHOD_PARAMS[engine]:
        raise IllegalArgumentError(f"Invalid method name: {component.name}")
    if _requires_training(engine, component.name, component.parameters):
        raise validation_error(['"method" requires training.'])
    errors = _method_errors(engine, component.name, space, component.parameters, dimension)
    if errors:
        raise validation_error(errors)
    if dimension == -1:
        raise IllegalArgumentError(f"Dimension value missing for vector: {name}")
    params = component.parameters or {}
    encoder = params.get(_ENCODER)
    if isinstance(encoder, _Component) and encoder.name != "flat":
        raise _unsupported(f"[encoder] [{encoder.name}] (vector quantization) on field [{path}]")

    resolved_method = None
    if method is not None:
        resolved_method = {"engine": engine, "space_type": space, **component.to_json()}
    serialized = _serialize(dimension, doc_values, resolved_method, mode, compression, top_space_raw)
    return KnnFieldSpec(
        dimension=dimension, data_type="float", space_type=space, engine=engine, method_name=component.name,
        m=int(params.get("m", DEFAULT_M)), ef_construction=int(params.get("ef_construction", DEFAULT_EF_CONSTRUCTION)),
        ef_search_param=int(params["ef_search"]) if engine == FAISS and "ef_search" in params else None,
        ann_enabled=True, name=path, mapping_json=serialized)


def _serialize(dimension: int, doc_values: bool | None, method: dict[str, Any] | None,
               mode: str | None, compression: str | None, top_space_raw: Any) -> str:
    """``GET _mapping`` body: ``type`` then configured, non-default parameters in the mapper's order
    (stored, doc_values, dimension, data_type, meta, method, model_id, mode, compression_level,
    space_type). ``data_type: float`` equals the default and is therefore not shown."""
    body: dict[str, Any] = {"type": "knn_vector"}
    if doc_values is False:
        body["doc_values"] = False
    if dimension != -1:
        body["dimension"] = dimension
    if method is not None:
        body["method"] = method
    if mode is not None:
        body["mode"] = mode
    if compression is not None:
        body["compression_level"] = compression
    if isinstance(top_space_raw, str) and top_space_raw.lower() != "undefined":
        body["space_type"] = top_space_raw
    return json.dumps(body)


# -- document vectors ----------------------------------------------------------------------------
_JAVA_FLOAT = re.compile(r"[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?)")


class _Wrapped(Exception):
    """A vector failure plus the field-value preview OpenSearch prints for it (the parser's token)."""

    def __init__(self, error: OpenSearchError, preview: str) -> None:
        super().__init__(error.reason)
        self.error = error
        self.preview = preview


def _java_double_text(value: float) -> str:
    """``Double.toString``: shortest digits, plain between 1e-3 and 1e7, else ``d.dddE±n``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign, digits, exponent = Decimal(repr(float(value))).as_tuple()
    text_digits = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + int(exponent)  # position of the decimal point within the digit string
    prefix = "-" if sign else ""
    if 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            return f"{prefix}0.{'0' * -point}{text_digits}"
        whole = text_digits[:point].ljust(point, "0")
        return f"{prefix}{whole}.{text_digits[point:] or '0'}"
    stripped = text_digits.lstrip("0")
    lead = len(text_digits) - len(stripped)
    return f"{prefix}{stripped[0]}.{stripped[1:] or '0'}E{point - lead - 1}"


def _float_value(item: Any) -> float:
    """``XContentParser.floatValue()`` (coercing): numbers and numeric strings, nothing else."""
    if isinstance(item, bool) or item is None or isinstance(item, (list, dict)):
        token = ("VALUE_TRUE" if item else "VALUE_FALSE") if isinstance(item, bool) else \
            "VALUE_NULL" if item is None else "START_ARRAY" if isinstance(item, list) else "START_OBJECT"
        raise _Wrapped(OpenSearchError(f"Current token ({token}) not numeric, can not use numeric value accessors",
                                          status=400, error_type="json_parse_exception"), _java_str(item))
    if isinstance(item, (int, float)):
        try:
            return float(np.float32(item))
        except OverflowError:
            return math.copysign(math.inf, item)
    if isinstance(item, str):
        text = item.strip()
        if not _JAVA_FLOAT.fullmatch(text):
            reason = "empty String" if not text else f'For input string: "{item}"'
            raise _Wrapped(OpenSearchError(reason, status=400, error_type="number_format_exception"), item)
        text = text.rstrip("fFdD") if not text.endswith("Infinity") else text
        return float(np.float32(float(text.replace("Infinity", "inf"))))
    raise _Wrapped(OpenSearchError("failed to parse", status=400, error_type="parsing_exception"), str(item))


def _vector_values(value: Any) -> np.ndarray:
    """Only a JSON array or a single number yields values; any other token leaves the vector empty
    (the plugin then reports a dimension mismatch with ``Given: 0``)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    items = list(value) if isinstance(value, (list, tuple)) else \
        [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []
    if items and all(type(x) in (int, float) for x in items):
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                vector = np.asarray(items, dtype=np.float32)
        except OverflowError:  # an int beyond float range: take the slow path for the exact error
            vector = None
        if vector is not None:
            bad = ~np.isfinite(vector)
            if bad.any():
                i = int(np.argmax(bad))
                _raise_non_finite(float(vector[i]), items[i])
            return vector
    vector = np.empty(len(items), dtype=np.float32)
    for i, item in enumerate(items):
        number = _float_value(item)
        if not math.isfinite(number):
            _raise_non_finite(number, item)
        vector[i] = number
    return vector


def _raise_non_finite(number: float, item: Any) -> None:
    preview = item if isinstance(item, str) else _java_double_text(float(item)) \
        if isinstance(item, float) else str(item)
    reason = "KNN vector values cannot be NaN" if math.isnan(number) else "KNN vector values cannot be infinity"
    raise _Wrapped(IllegalArgumentError(reason), preview)


def _l2_normalize(vector: np.ndarray) -> np.ndarray:
    """Lucene ``VectorUtil.l2normalize``: float sum of squares, division in double, cast to float."""
    square_sum = np.float32(np.dot(vector, vector))
    length = math.sqrt(float(square_sum))
    return (vector.astype(np.float64) / length).astype(np.float32)


def validate_vector(spec: KnnFieldSpec, value: Any, *, doc_id: str | None = None) -> np.ndarray | None:
    """Parse and validate one document value of a ``knn_vector`` field; return the stored vector.

    Checks, in the plugin's order: each value is a finite number (NaN/infinity rejected), the length
    equals ``dimension``, and (ANN fields) cosinesimil vectors are not all zero. For faiss +
    cosinesimil the returned vector is L2-normalised, as the plugin stores it.

    With ``doc_id`` the failure is the full ``mapper_parsing_exception`` "failed to parse field
    [...] of type [knn_vector] in document with id '...'" with the plugin's error as ``caused_by``;
    without it the plugin's error itself is raised (the caller wraps it).
    """
    if value is None:
        return None
    try:
        vector = _vector_values(value)
        if vector.shape[0] != spec.dimension:
            raise _Wrapped(IllegalArgumentError(spaces.dimension_mismatch_message(spec.dimension, vector.shape[0])),
                           "null" if isinstance(value, (list, tuple, np.ndarray)) else _preview_scalar(value))
        if spec.ann_enabled:
            try:
                spaces.check_not_zero_vector(spec.space_type, vector)
            except IllegalArgumentError as error:
                raise _Wrapped(error, "null") from None
    except _Wrapped as wrapped:
        if doc_id is None:
            raise wrapped.error from None
        raise MapperParsingError(
            f"failed to parse field [{spec.name}] of type [knn_vector] in document with id '{doc_id}'. "
            f"Preview of field's value: '{wrapped.preview}'", caused_by=wrapped.error) from None
    if spec.normalizes_vectors:
        vector = _l2_normalize(vector)
    return vector


def _preview_scalar(value: Any) -> str:
    if isinstance(value, float):
        return _java_double_text(value)
    return _java_str(value)
