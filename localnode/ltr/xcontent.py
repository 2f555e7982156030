"""Java, Jackson and OpenSearch-XContent behaviour that the LTR plugin's results depend on.

The plugin is Java: a parameter rendered into a feature template is written with ``toString()``
(``1.0E-5``, not Python's ``1e-05``), model weights are parsed with ``Float.parseFloat`` semantics,
stored maps come back in ``HashMap`` order, and every parse error is produced by OpenSearch's
``ObjectParser`` with its own wording and wrapping. This module reproduces those pieces once so the
template, element and ranker modules can stay about LTR itself.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

import numpy as np

from localnode.errors import NumberFormatError, OpenSearchError, QueryShardError

T = TypeVar("T")
S = TypeVar("S")

# --------------------------------------------------------------------------------------------------
# Error types the plugin produces that localnode.errors has no class for.


class XContentParseError(OpenSearchError):
    """``XContentParseException``: what ObjectParser throws (unknown field, wrong type, wrapping)."""
    status = 400
    error_type = "x_content_parse_exception"


class IllegalStateError(OpenSearchError):
    status = 500
    error_type = "illegal_state_exception"


class GenericOpenSearchError(OpenSearchError):
    """A bare ``OpenSearchException`` (the plugin throws these for some normalizer errors)."""
    status = 500
    error_type = "exception"


class NullPointerError(OpenSearchError):
    status = 500
    error_type = "null_pointer_exception"


class JsonParseError(OpenSearchError):
    """Jackson's ``JsonParseException`` (malformed JSON, duplicate field)."""
    status = 400
    error_type = "json_parse_exception"


class ScriptError(OpenSearchError):
    """``ScriptException``: derived expressions that do not compile."""
    status = 400
    error_type = "script_exception"


class JavaParseError(OpenSearchError):
    """``java.text.ParseException`` from the Lucene expression compiler."""
    status = 500
    error_type = "parse_exception"


def query_shard_error(feature_name: str, cause: OpenSearchError, index: str | None = None) -> QueryShardError:
    """The error the plugin raises when a feature's rendered query cannot be parsed or built."""
    metadata: dict[str, Any] = {}
    if index is not None:
        metadata = {"index": index, "index_uuid": "_na_"}
    return QueryShardError(f"Cannot create query while parsing feature [{feature_name}]", caused_by=cause, **metadata)


# --------------------------------------------------------------------------------------------------
# Tokens: OpenSearch names JSON values by their parser token in error messages.

class NonStandardToken(float):
    """A ``NaN`` / ``Infinity`` / ``-Infinity`` literal in a request body (not JSON).

    Jackson (without ``ALLOW_NON_NUMERIC_NUMBERS``) fails when its tokenizer *reaches* one; a parser
    that fails earlier in the document never gets there. The value is a float (NaN or infinite) so
    that code which does not look at it keeps working; :func:`token_name` (which every typed read
    goes through) raises the Jackson error on it. See :mod:`localnode.search.xcontent`.
    """
    text: str

    def __new__(cls, text: str) -> "NonStandardToken":
        value = super().__new__(cls, float(text.replace("Infinity", "inf")))
        value.text = text
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        return NonStandardToken, (self.text,)

    def error(self) -> "JsonParseError":
        return JsonParseError(f"Non-standard token '{self.text}': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` "
                              "to allow")


_TOKEN_OF_JSON_TYPE = {dict: "START_OBJECT", list: "START_ARRAY", str: "VALUE_STRING", int: "VALUE_NUMBER",
                       float: "VALUE_NUMBER", bool: "VALUE_BOOLEAN", type(None): "VALUE_NULL"}


def token_name(value: Any) -> str:
    """The XContent token a JSON value starts with (``VALUE_STRING``, ``START_OBJECT`` ...)."""
    token = _TOKEN_OF_JSON_TYPE.get(type(value))   # what a decoded JSON body holds: one dict lookup
    if token is not None:
        return token
    if isinstance(value, NonStandardToken):
        raise value.error()
    if value is None:
        return "VALUE_NULL"
    if isinstance(value, bool | np.bool_):
        return "VALUE_BOOLEAN"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, int | float | np.integer | np.floating):
        return "VALUE_NUMBER"
    if isinstance(value, Mapping):
        return "START_OBJECT"
    if isinstance(value, list | tuple):
        return "START_ARRAY"
    return "VALUE_EMBEDDED_OBJECT"


def is_json_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


# --------------------------------------------------------------------------------------------------
# Java number formatting (JDK 19+ Float/Double.toString, which OpenSearch 2.19's bundled JDK 21 uses).

def _decimal_digits(text: str) -> tuple[str, int]:
    """Significant digits (no trailing zeros) and exponent E such that value = d.ddd x 10^E."""
    _, digits, exponent = Decimal(text).as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits))
    return ds.rstrip("0") or "0", exponent + len(ds) - 1


def _round_trips(candidate: Decimal, target: float, single: bool) -> bool:
    if single:
        return bool(f32_from_text(str(candidate)) == np.float32(target))
    return float(candidate) == target


def _java_digits(x: float, single: bool) -> tuple[str, int]:
    """Digits and exponent Java prints for a finite, non-zero, positive value.

    Java picks the shortest decimal that rounds back to the value, like Python's repr, except that
    when one digit would do it considers two-digit decimals too and takes the closest to the exact
    value: ``Double.MIN_VALUE`` prints ``4.9E-324`` where Python prints ``5e-324``.
    """
    text = np.format_float_positional(np.float32(x), unique=True, trim="-") if single else repr(x)
    digits, exponent = _decimal_digits(text)
    if len(digits) > 1:
        return digits, exponent
    exact = Decimal(float(np.float32(x)) if single else x)
    magnitude = exact.adjusted()
    grid = Decimal(1).scaleb(magnitude - 1)
    low = int(exact / grid)
    best: tuple[Decimal, int] | None = None
    for candidate in (low, low + 1):
        value = Decimal(candidate) * grid
        if not _round_trips(value, x, single):
            continue
        distance = abs(value - exact)
        if best is None or distance < best[0] or (distance == best[0] and candidate % 2 == 0):
            best = (distance, candidate)
    if best is None:
        return digits, exponent
    return _decimal_digits(str(Decimal(best[1]) * grid))


def _java_number_string(x: float, single: bool) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    digits, e = _java_digits(abs(x), single)
    if -3 <= e < 7:
        if e >= 0:
            whole = digits[: e + 1].ljust(e + 1, "0")
            frac = digits[e + 1:] or "0"
        else:
            whole, frac = "0", "0" * (-e - 1) + digits
        return f"{sign}{whole}.{frac}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{e}"


def java_double_to_string(x: float) -> str:
    """``Double.toString(x)``: how a double parameter is written into a rendered template."""
    return _java_number_string(float(x), single=False)


def java_float_to_string(x: float | np.floating) -> str:
    """``Float.toString(x)``: how floats appear in the plugin's error messages and stored sources."""
    return _java_number_string(float(np.float32(x)), single=True)


def java_float_as_json_double(x: float | np.floating) -> float:
    """The double a JSON reader gets back from a Java float written by Jackson (``0.1f`` -> ``0.1``)."""
    return float(java_float_to_string(x))


# --------------------------------------------------------------------------------------------------
# Float parsing: Jackson/Float.parseFloat round decimal text straight to float32 (no double step).

def f32_from_text(text: str) -> np.float32:
    """Correctly rounded decimal -> float32, avoiding numpy's double-rounding through float64."""
    d = float(text)
    with np.errstate(over="ignore"):
        f = np.float32(d)
    if math.isfinite(d) and np.isfinite(f) and float(f) != d:
        toward = np.float32(np.inf) if d > float(f) else np.float32(-np.inf)
        g = np.nextafter(f, toward)
        if np.isfinite(g) and (float(f) + float(g)) / 2 == d:
            exact = Fraction(text.strip())
            if exact != Fraction(d) and (exact > Fraction(d)) == (float(g) > float(f)):
                f = g
    return f


class JsonFloat(float):
    """A float parsed from JSON that remembers its source text, so float32 parsing can be exact."""
    text: str

    def __new__(cls, text: str) -> "JsonFloat":
        value = super().__new__(cls, float(text))
        value.text = text
        return value


def json_number_to_f32(value: Any) -> np.float32:
    """``XContentParser.floatValue()`` for a JSON number token.

    An object-valued model definition reaches the plugin as JSON re-serialised by Jackson (doubles
    written with ``Double.toString``), which is then parsed straight to float; emulate that text path.
    """
    if isinstance(value, NonStandardToken):
        raise value.error()
    if isinstance(value, np.float32):
        return value
    if isinstance(value, JsonFloat):
        return f32_from_text(value.text)
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return np.float32(v)
        return f32_from_text(java_double_to_string(v))
    return f32_from_text(str(int(value)))


def java_parse_float(text: str) -> np.float32:
    """``Float.parseFloat`` (numeric strings are accepted wherever the plugin declares a float)."""
    s = text.strip(" \t\n\r\x0b\x0c\x00")
    body = s[:-1] if s[-1:] in ("f", "F", "d", "D") else s
    if body.lstrip("+-") in ("NaN", "Infinity"):
        return np.float32(float(body.replace("Infinity", "inf").replace("NaN", "nan")))
    try:
        if not body or body.lower().lstrip("+-").startswith(("inf", "nan")) or "_" in body:
            raise ValueError(body)
        return f32_from_text(body)
    except ValueError:
        raise NumberFormatError(f'For input string: "{text}"') from None


# --------------------------------------------------------------------------------------------------
# JSON, the way Jackson reads and writes it inside OpenSearch.

def _reject_constant(name: str) -> Any:
    raise JsonParseError(f"Non-standard token '{name}': enable JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS to allow")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonParseError(f"Duplicate field '{key}'")
        out[key] = value
    return out


_DECODER = json.JSONDecoder(parse_float=JsonFloat, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
_PLAIN_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)


def parse_first_json_value(text: str, *, keep_float_text: bool = True) -> tuple[bool, Any]:
    """Parse the first JSON value of ``text`` as an XContent parser positioned on it would.

    Returns ``(False, None)`` when the text is empty (the parser's first token is null). Trailing
    content is ignored, as the plugin's parsers stop after the value they read. With
    ``keep_float_text`` floats keep their source text (:class:`JsonFloat`, for exact float32
    parsing); duplicate keys are rejected (OpenSearch's strict duplicate detection).
    """
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        return False, None
    try:
        value, _ = (_DECODER if keep_float_text else _PLAIN_DECODER).raw_decode(stripped)
    except json.JSONDecodeError as exc:
        raise JsonParseError(f"{exc.msg}: line {exc.lineno}, column {exc.colno}") from None
    return True, value


_JACKSON_ESCAPES: dict[int, str] = {i: f"\\u{i:04X}" for i in range(32)}
_JACKSON_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r",
                         ord('"'): '\\"', ord("\\"): "\\\\"})


def jackson_escape(text: str) -> str:
    """``JsonStringEncoder.quoteAsString``: the escaping of every ``{{var}}`` in a feature template."""
    return text.translate(_JACKSON_ESCAPES)


def jackson_dumps(value: Any, *, hashmap_order: bool = False) -> str:
    """Compact JSON as OpenSearch's XContentBuilder writes it.

    Doubles use ``Double.toString`` and float32 values ``Float.toString``; strings use Jackson's
    escaping (non-ASCII left as is). With ``hashmap_order`` maps are written in Java ``HashMap``
    iteration order, which is what the plugin does for request params (they are parsed into HashMaps).
    """
    if value is None:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + jackson_escape(value) + '"'
    if isinstance(value, np.float32):
        return _json_float(java_float_to_string(value))
    if isinstance(value, float | np.floating):
        return _json_float(java_double_to_string(float(value)))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, Mapping):
        keys = java_hashmap_order(list(value)) if hashmap_order else list(value)
        return "{" + ",".join(jackson_dumps(str(k)) + ":" + jackson_dumps(value[k], hashmap_order=hashmap_order)
                              for k in keys) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(jackson_dumps(v, hashmap_order=hashmap_order) for v in value) + "]"
    return jackson_dumps(str(value))


def _json_float(text: str) -> str:
    # Jackson quotes non-finite numbers (QUOTE_NON_NUMERIC_NUMBERS is on by default).
    return f'"{text}"' if text in ("NaN", "Infinity", "-Infinity") else text


# --------------------------------------------------------------------------------------------------
# Java hashing and toString, for HashMap iteration order and mustache's stringification.

def java_hash(value: Any) -> int:
    """``Object.hashCode()`` for JSON-ish values, as an unsigned 32-bit int."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1231 if value else 1237
    if isinstance(value, str):
        h = 0
        units = value.encode("utf-16-le", "surrogatepass")
        for i in range(0, len(units), 2):
            h = (31 * h + (units[i] | units[i + 1] << 8)) & 0xFFFFFFFF
        return h
    if isinstance(value, int):
        if -(2 ** 31) <= value < 2 ** 31:
            return value & 0xFFFFFFFF
        v = value & 0xFFFFFFFFFFFFFFFF
        return (v ^ (v >> 32)) & 0xFFFFFFFF
    if isinstance(value, float):
        bits = int(np.float64(value).view(np.uint64)) if not math.isnan(value) else 0x7FF8000000000000
        return (bits ^ (bits >> 32)) & 0xFFFFFFFF
    return hash(value) & 0xFFFFFFFF


def java_hashmap_order(keys: Sequence[T]) -> list[T]:
    """The iteration order of a ``java.util.HashMap`` filled with ``keys`` in this order.

    Buckets are visited in index order (index = spread hash & (capacity - 1)); inside a bucket
    entries keep insertion order. The capacity starts at 16 and doubles whenever size > 0.75 x
    capacity. (Bins treeified after 8 collisions are not modelled.)
    """
    distinct = list(dict.fromkeys(keys))
    capacity = 16
    while len(distinct) > capacity * 3 // 4:
        capacity *= 2

    def bucket(key: T) -> int:
        h = java_hash(key)
        return (h ^ (h >> 16)) & (capacity - 1)

    return [k for _, _, k in sorted((bucket(k), i, k) for i, k in enumerate(distinct))]


def java_to_string(value: Any) -> str:
    """``String.valueOf(value)`` for values parsed from JSON (lists and maps as Java prints them)."""
    if value is None:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, np.float32):
        return java_float_to_string(value)
    if isinstance(value, float | np.floating):
        return java_double_to_string(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{java_to_string(k)}={java_to_string(value[k])}"
                               for k in java_hashmap_order(list(value))) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(java_to_string(v) for v in value) + "]"
    return str(value)


# --------------------------------------------------------------------------------------------------
# A small ObjectParser: same checks, same messages, same exception wrapping as OpenSearch's.

STRING = frozenset({"VALUE_STRING"})
STRING_ARRAY = frozenset({"START_ARRAY", "VALUE_STRING"})
NUMBER = frozenset({"VALUE_NUMBER", "VALUE_STRING"})          # declareFloat / declareInt / declareLong
BOOLEAN = frozenset({"VALUE_BOOLEAN", "VALUE_STRING"})
OBJECT = frozenset({"START_OBJECT"})
OBJECT_ARRAY = frozenset({"START_OBJECT", "START_ARRAY"})
OBJECT_OR_STRING = frozenset({"START_OBJECT", "VALUE_STRING"})
OBJECT_ARRAY_OR_STRING = frozenset({"START_OBJECT", "START_ARRAY", "VALUE_STRING"})


@dataclass(frozen=True)
class Field:
    """One declared field: the tokens it accepts and what to do with the value."""
    accepts: frozenset[str]
    consume: Callable[[Any, Any], None]


def _similarity(a: str, b: str) -> float:
    """Lucene ``LevenshteinDistance.getDistance``: 1 - edits / max(len)."""
    if not a or not b:
        return 1.0 if a == b else 0.0
    previous = list(range(len(a) + 1))
    for j, cb in enumerate(b, 1):
        current = [j] + [0] * len(a)
        for i, ca in enumerate(a, 1):
            current[i] = min(current[i - 1] + 1, previous[i] + 1, previous[i - 1] + (ca != cb))
        previous = current
    return 1.0 - previous[len(a)] / max(len(a), len(b))


def unknown_field_message(parser_name: str, field: str, candidates: Iterable[str]) -> str:
    """OpenSearch's ``SuggestingErrorOnUnknown`` text, with its "did you mean" suggestions."""
    message = f"[{parser_name}] unknown field [{field}]"
    scored = [(_similarity(field, c), c) for c in candidates]
    keys = [c for _, c in sorted(((s, c) for s, c in scored if s > 0.5), key=lambda t: (-t[0], t[1]))]
    if not keys:
        return message
    if len(keys) == 1:
        return f"{message} did you mean [{keys[0]}]?"
    return f"{message} did you mean any of [{', '.join(keys)}]?"


class ObjectParser:
    """Parses a JSON object into a state object, field by field, in document order."""

    def __init__(self, name: str, fields: Mapping[str, Field], *, ignore_unknown: bool = False) -> None:
        self.name = name
        self.fields = dict(fields)
        self.ignore_unknown = ignore_unknown

    def parse(self, value: Any, state: S) -> S:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise XContentParseError(f"[{self.name}] Expected START_OBJECT but was: {token_name(value)}")
        for key, item in value.items():
            token = token_name(item)   # Jackson reads a field's value token with its name
            field = self.fields.get(key)
            if field is None:
                if self.ignore_unknown:
                    continue
                raise XContentParseError(unknown_field_message(self.name, key, self.fields))
            if token not in field.accepts:
                raise XContentParseError(f"[{self.name}] {key} doesn't support values of type: {token}")
            try:
                field.consume(state, item)
            except OpenSearchError as exc:
                if getattr(exc, "unwrapped", False):
                    raise
                raise XContentParseError(f"[{self.name}] failed to parse field [{key}]", caused_by=exc) from exc
        return state

    def apply(self, value: Any, state: S) -> S:
        """``ObjectParser.apply``: as :meth:`parse`, but a token the JSON reader itself refuses (an
        ``IOException`` such as a ``NaN`` literal) becomes "[name] failed to parse object"."""
        try:
            return self.parse(value, state)
        except JsonParseError as exc:
            raise XContentParseError(f"[{self.name}] failed to parse object", caused_by=exc) from exc


def x_text(value: Any) -> str:
    """``XContentParser.text()``: numbers and booleans give their text, containers are an error."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if is_json_number(value):
        if isinstance(value, JsonFloat):
            return value.text
        return repr(float(value)) if isinstance(value, float | np.floating) else str(int(value))
    raise IllegalStateError(f"Can't get text on a {token_name(value)}")


def x_float(value: Any) -> np.float32:
    """``XContentParser.floatValue()`` (numeric strings are coerced like the plugin does)."""
    if isinstance(value, str):
        return java_parse_float(value)
    if is_json_number(value):
        return json_number_to_f32(value)
    from localnode.search.xcontent import float_value   # the error a non-number gets (Jackson's)
    return float_value(value)


def x_int(value: Any) -> int:
    """``XContentParser.intValue()``: see :func:`localnode.search.xcontent.int_value`."""
    from localnode.search.xcontent import int_value
    return int_value(value)


def x_bool(value: Any) -> bool:
    """``XContentParser.booleanValue()``: see :func:`localnode.search.xcontent.boolean_value`."""
    from localnode.search.xcontent import boolean_value
    return boolean_value(value)


def x_array(value: Any, item: Callable[[Any], T]) -> list[T]:
    """``AbstractObjectParser.parseArray``: a lone value or object counts as a one-element list."""
    if not isinstance(value, list | tuple):
        return [item(value)]
    out: list[T] = []
    for element in value:
        if isinstance(element, list | tuple):
            raise IllegalStateError(f"expected value but got [{token_name(element)}]")
        out.append(item(element))
    return out
