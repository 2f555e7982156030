"""What OpenSearch's request parsers do with each JSON value: Jackson tokens and XContentParser accessors.

Every search-body element is read by OpenSearch through ``XContentParser``: the parser first looks
at the *token* a value starts with (``VALUE_NUMBER``, ``START_ARRAY`` ...) and then reads it with a
typed accessor (``intValue()``, ``floatValue()``, ``booleanValue()``, ``text()``). Each accessor has
its own rules and its own failures, and the failure decides the HTTP status and error type:

* ``intValue()`` of a string parses it with ``Double.parseDouble`` (``"1.7"`` is 1, ``"x"`` is a
  ``number_format_exception``, ``"1e30"`` is "out of range for an integer"); of a JSON number outside
  the int range Jackson throws ``InputCoercionException`` -- an HTTP **500** in OpenSearch 2.19
  (``input_coercion_exception``), as is ``text()`` of an object or array (``illegal_state_exception``);
* ``floatValue()`` of ``1e39`` is ``Infinity``, of ``"NaN"`` is NaN (no error: the value is checked,
  or not, where it is used);
* numeric accessors on a boolean, and ``booleanValue()`` on a number, are Jackson
  ``json_parse_exception``s.

:func:`decode_body` reads a request body as Jackson would tokenise it: it accepts what orjson
rejects but Jackson reads (``1e400``, integers beyond 64 bits, nesting deeper than 1024), and turns
the non-standard literals ``NaN``/``Infinity`` -- which Jackson rejects only when the parser *reaches*
them -- into :class:`NonStandardToken` values that fail on first access, so that an error the parser
meets earlier in the document still wins, as it does on a cluster.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import orjson

from localnode.errors import IllegalArgumentError, NumberFormatError, OpenSearchError
from localnode.ltr.xcontent import (IllegalStateError, JsonParseError, NonStandardToken, XContentParseError,
                                    f32_from_text, token_name)

INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1
LONG_MIN, LONG_MAX = -(2 ** 63), 2 ** 63 - 1

#: Deepest JSON nesting a request body may have. OpenSearch 2.19 has no such limit: its parsers
#: recurse until the JVM stack overflows (a ``bool`` nested ~1000 deep drops the connection). Past
#: this depth the embedded engine answers a 400 instead; below it, it answers what OpenSearch does.
MAX_JSON_DEPTH = 4000


class InputCoercionError(OpenSearchError):
    """Jackson's ``InputCoercionException`` (a number outside the range the accessor returns):
    not an ``IllegalArgumentException``, so OpenSearch answers it with a 500."""
    status = 500
    error_type = "input_coercion_exception"


class NullPointerError(OpenSearchError):
    status = 500
    error_type = "null_pointer_exception"


class BodyTooDeep(OpenSearchError):
    status = 400
    error_type = "illegal_argument_exception"


def _decoder() -> json.JSONDecoder:
    return json.JSONDecoder(parse_constant=NonStandardToken)


_FALLBACK = _decoder()
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def json_depth(data: bytes) -> int:
    """Deepest bracket nesting of JSON text (strings skipped), without recursion."""
    stripped = _STRING.sub(b'""', data)
    opens = np.frombuffer(stripped, dtype=np.uint8)
    steps = (opens == ord("[")).astype(np.int32) + (opens == ord("{"))
    steps -= (opens == ord("]")).astype(np.int32) + (opens == ord("}"))
    return int(np.cumsum(steps).max()) if len(steps) else 0


def decode_body(data: bytes) -> Any:
    """A request body as Jackson reads it (see the module docstring); raises ``json_parse_exception``."""
    return decode_body_checked(data)[0]


def decode_body_checked(data: bytes) -> tuple[Any, bool]:
    """:func:`decode_body`, and whether the value may hold :class:`NonStandardToken` literals (only
    a body orjson refused can: the caller then checks that the parse read them all)."""
    try:
        return orjson.loads(data), False
    except orjson.JSONDecodeError as exc:
        first_error = exc
    depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        raise BodyTooDeep(f"the request body is nested {depth} levels deep, more than the embedded engine's limit "
                          f"of {MAX_JSON_DEPTH} (OpenSearch has no limit and fails with a stack overflow)")
    text = data.decode("utf-8", errors="replace")
    try:
        # the stdlib decoder recurses once per level: MAX_JSON_DEPTH is within the recursion limit
        # localnode.search.query sets
        value, end = _FALLBACK.raw_decode(text, len(text) - len(text.lstrip(" \t\r\n")))
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip(" \t\r\n")):
            raise OpenSearchError(f"Unexpected end-of-input: {exc.msg}", status=400,
                                  error_type="json_e_o_f_exception") from None
        raise JsonParseError(f"Failed to parse request body: {first_error}") from None
    if text[end:].strip(" \t\r\n"):
        raise JsonParseError(f"Failed to parse request body: {first_error}")
    return value, True


# -- tokens -----------------------------------------------------------------------------------------
VALUE_TOKENS = frozenset({"VALUE_STRING", "VALUE_NUMBER", "VALUE_BOOLEAN"})


# The XContent token a value starts with: the one definition, in the LTR plugin's reader this module
# builds on (a non-standard literal raises Jackson's error when reached).
token = token_name

def jackson_token(value: Any) -> str:
    """Jackson's own token name (``VALUE_NUMBER_INT``, ``VALUE_TRUE`` ...), as its messages print it."""
    kind = token(value)
    if kind == "VALUE_NUMBER":
        return "VALUE_NUMBER_FLOAT" if isinstance(value, float) else "VALUE_NUMBER_INT"
    if kind == "VALUE_BOOLEAN":
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    return kind


def walk_tokens(value: Any) -> None:
    """Read every token of ``value`` (``parser.skipChildren()``/``map()``): a non-standard literal fails."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, NonStandardToken):
            raise item.error()


check_no_tokens_left = walk_tokens


# -- accessors --------------------------------------------------------------------------------------
def _not_numeric(value: Any) -> JsonParseError:
    return JsonParseError(f"Current token ({jackson_token(value)}) not numeric, can not use numeric value accessors")


def number_text(value: Any) -> str:
    """The text Jackson keeps for a number token (as a client's JSON writer printed it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return repr(float(value)).replace("inf", "Infinity")


def text(value: Any) -> str:
    """``XContentParser.text()``: a string, a number's or boolean's text; anything else is Jackson's
    ``IllegalStateException`` (a 500 in OpenSearch)."""
    kind = token(value)
    if kind == "VALUE_STRING":
        return value
    if kind in ("VALUE_NUMBER", "VALUE_BOOLEAN"):
        return number_text(value)
    raise IllegalStateError(f"Can't get text on a {kind}")


def text_or_null(value: Any) -> str | None:
    return None if token(value) == "VALUE_NULL" else text(value)


_JAVA_DOUBLE = re.compile(r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?|"
                          r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+[fFdD]?)")
_JAVA_TRIM = "".join(chr(c) for c in range(33))


def java_parse_double(raw: str) -> float:
    """``Double.parseDouble``: Java's grammar (``1d``, ``0x1p3``, ``Infinity``) and its errors."""
    trimmed = raw.strip(_JAVA_TRIM)
    if not trimmed:
        raise NumberFormatError("empty String")
    if not _JAVA_DOUBLE.fullmatch(trimmed):
        raise NumberFormatError(f'For input string: "{raw}"')
    if "x" in trimmed or "X" in trimmed:
        return float.fromhex(trimmed.rstrip("fFdD"))
    return float(trimmed.rstrip("fFdD").replace("Infinity", "inf"))


def java_parse_float(raw: str) -> np.float32:
    """``Float.parseFloat``: the same grammar, rounded straight to float."""
    trimmed = raw.strip(_JAVA_TRIM)
    number = java_parse_double(raw)
    if not math.isfinite(number) or "x" in trimmed or "X" in trimmed:
        with np.errstate(over="ignore"):
            return np.float32(number)
    return f32_from_text(trimmed.rstrip("fFdD"))


def java_int_cast(number: float) -> int:
    """``(int) d`` / ``(long) d`` truncation, NaN as 0 (the caller range-checks first)."""
    return 0 if math.isnan(number) else int(number)


def int_value(value: Any) -> int:
    """``XContentParser.intValue()`` (coercing): see the module docstring."""
    kind = token(value)
    if kind == "VALUE_STRING":
        number = java_parse_double(value)
        if number < INT_MIN or number > INT_MAX:
            raise IllegalArgumentError(f"Value [{value}] is out of range for an integer")
        return java_int_cast(number)
    if kind == "VALUE_NUMBER":
        if isinstance(value, float) and not math.isnan(value) and INT_MIN <= value <= INT_MAX:
            return int(value)
        if isinstance(value, int) and INT_MIN <= value <= INT_MAX:
            return int(value)
        raise InputCoercionError(f"Numeric value ({number_text(value)}) out of range of int ({INT_MIN} - {INT_MAX})")
    raise _not_numeric(value)


def long_value(value: Any) -> int:
    """``XContentParser.longValue()``: strings through ``Numbers.toLong`` (BigDecimal, truncating)."""
    kind = token(value)
    if kind == "VALUE_STRING":
        try:
            return int(value) if re.fullmatch(r"[+-]?\d+", value) and LONG_MIN <= int(value) <= LONG_MAX else \
                _long_from_decimal(value)
        except ValueError:
            raise IllegalArgumentError(f'For input string: "{value}"') from None
    if kind == "VALUE_NUMBER":
        if isinstance(value, float) and not math.isnan(value) and LONG_MIN <= value <= LONG_MAX:
            return int(value)
        if isinstance(value, int) and LONG_MIN <= value <= LONG_MAX:
            return int(value)
        raise InputCoercionError(f"Numeric value ({number_text(value)}) out of range of long "
                                 f"({LONG_MIN} - {LONG_MAX})")
    raise _not_numeric(value)


def _long_from_decimal(raw: str) -> int:
    try:
        exact = Decimal(raw)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not exact.is_finite():
        raise ValueError(raw)
    if exact >= LONG_MAX + 1 or exact <= LONG_MIN - 1:
        raise IllegalArgumentError(f"Value [{raw}] is out of range for a long")
    return int(exact)


def float_value(value: Any) -> np.float32:
    """``XContentParser.floatValue()``: ``Float.parseFloat`` for strings, a narrowing cast for numbers."""
    kind = token(value)
    if kind == "VALUE_STRING":
        return java_parse_float(value)
    if kind == "VALUE_NUMBER":
        with np.errstate(over="ignore"):
            return np.float32(float(value)) if not isinstance(value, int) or abs(value) < 2 ** 1000 else \
                np.float32(math.copysign(math.inf, value))
    raise _not_numeric(value)


def double_value(value: Any) -> float:
    kind = token(value)
    if kind == "VALUE_STRING":
        return java_parse_double(value)
    if kind == "VALUE_NUMBER":
        try:
            return float(value)
        except OverflowError:
            return math.copysign(math.inf, value)
    raise _not_numeric(value)


def boolean_value(value: Any) -> bool:
    """``XContentParser.booleanValue()``: ``true``/``false`` (strings too; ``""`` is false)."""
    kind = token(value)
    if kind == "VALUE_BOOLEAN":
        return bool(value)
    if kind == "VALUE_STRING":
        if value == "true":
            return True
        if value in ("false", ""):
            return False
        raise IllegalArgumentError(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")
    raise JsonParseError(f"Current token ({jackson_token(value)}) not of boolean type")


def is_boolean_text(value: Any) -> bool:
    """``Booleans.isBoolean``: the strings ``true`` and ``false``."""
    return value in ("true", "false")


# -- ObjectParser -------------------------------------------------------------------------------------
STRING = frozenset({"VALUE_STRING"})
STRING_OR_NULL = frozenset({"VALUE_STRING", "VALUE_NULL"})
NUMBER = frozenset({"VALUE_NUMBER", "VALUE_STRING"})          # FLOAT / DOUBLE / INT / LONG
NUMBER_OR_NULL = NUMBER | {"VALUE_NULL"}
BOOLEAN = frozenset({"VALUE_BOOLEAN", "VALUE_STRING"})
OBJECT = frozenset({"START_OBJECT"})
OBJECT_OR_NULL = frozenset({"START_OBJECT", "VALUE_NULL"})
OBJECT_ARRAY = frozenset({"START_OBJECT", "START_ARRAY"})
OBJECT_ARRAY_OR_NULL = OBJECT_ARRAY | {"VALUE_NULL"}
STRING_ARRAY = frozenset({"START_ARRAY", "VALUE_STRING"})
VALUE = frozenset({"VALUE_BOOLEAN", "VALUE_NULL", "VALUE_NUMBER", "VALUE_STRING"})
VALUE_ARRAY = VALUE | {"START_ARRAY"}
VALUE_OBJECT_ARRAY = VALUE_ARRAY | {"START_OBJECT"}
ANY = VALUE_OBJECT_ARRAY


def failed_to_parse_field(parser: str, field: str, cause: OpenSearchError) -> XContentParseError:
    return XContentParseError(f"[{parser}] failed to parse field [{field}]", caused_by=cause)


def expect_supported(parser: str, field: str, value: Any, accepted: frozenset[str]) -> str:
    """``FieldParser.assertSupports``: the value's token must be one the field declares."""
    kind = token(value)
    if kind not in accepted:
        raise XContentParseError(f"[{parser}] {field} doesn't support values of type: {kind}")
    return kind


def parse_array(value: Any, item: Any) -> list[Any]:
    """``AbstractObjectParser.parseArray``: one value (or object, or null) is a list of one; an array
    of arrays is ``IllegalStateException`` "expected value but got [START_ARRAY]"."""
    if token(value) != "START_ARRAY":
        return [item(value)]
    out = []
    for element in value:
        if token(element) == "START_ARRAY":
            raise IllegalStateError("expected value but got [START_ARRAY]")
        out.append(item(element))
    return out


def parse_list(value: Any) -> list[Any]:
    """``XContentParser.list()``: reads every token of an array (anything else is an error)."""
    if token(value) != "START_ARRAY":
        raise XContentParseError(f"Failed to parse list:  expecting START_ARRAY but got {token(value)}")
    walk_tokens(value)
    return list(value)


def parse_map(value: Any) -> dict[str, Any]:
    """``XContentParser.map()`` of an object value: reads every token."""
    walk_tokens(value)
    return dict(value)


def wrap_as_parsing(error: OpenSearchError, parsing_error: type[OpenSearchError]) -> OpenSearchError:
    """``catch (IllegalArgumentException e) { throw new ParsingException(..., e.getMessage(), e) }``:
    the builders that do this turn every IAE (``XContentParseException`` is one) into a parsing error."""
    if error.error_type in ("illegal_argument_exception", "x_content_parse_exception", "number_format_exception"):
        return parsing_error(error.reason, caused_by=error)
    return error


# -- a pull parser over a decoded body ------------------------------------------------------------------
_END = {"START_OBJECT": "END_OBJECT", "START_ARRAY": "END_ARRAY"}


class TokenStream:
    """``XContentParser``'s token loop over an already decoded JSON value.

    The hand-written OpenSearch parsers (``TermQueryBuilder.fromXContent``, ``SearchSourceBuilder``
    ...) are loops over ``nextToken()`` whose odd inputs take odd paths -- an array where an object
    was expected is walked into, a ``null`` is silently skipped -- and the error a request gets is
    the one those paths lead to. Writing their ports against this stream keeps those paths.
    ``subtree()`` hands the value under a ``START_OBJECT``/``START_ARRAY`` to a tree-based parser and
    :meth:`skip_children` moves past it.
    """

    __slots__ = ("_frames", "_pending", "current", "value", "name")

    def __init__(self, value: Any, *, started: bool = False) -> None:
        # frame: [container, iterator, is_object, pending value (objects), field name]
        self._frames: list[list[Any]] = []
        self._pending: list[Any] = [] if started else [value]
        self.current: str | None = None
        self.value: Any = None
        self.name: str | None = None
        if started:
            self._enter(value)

    def _enter(self, value: Any) -> str:
        kind = token(value)
        self.current, self.value = kind, value
        # Jackson's currentName(): a container reports the field it is the value of; anything else
        # the field of the object it is in (nothing inside an array)
        frames = self._frames
        self.name = frames[-1][4] if frames else None
        if kind == "START_OBJECT":
            frames.append([value, iter(value.items()), True, _NOTHING, None])
        elif kind == "START_ARRAY":
            frames.append([value, iter(value), False, _NOTHING, None])
        return kind

    def next_token(self) -> str | None:
        if self._pending:
            return self._enter(self._pending.pop())
        frames = self._frames
        if not frames:
            self.current = self.value = None
            return None
        frame = frames[-1]
        if frame[2]:
            pending = frame[3]
            if pending is not _NOTHING:
                frame[3] = _NOTHING
                return self._enter(pending)
            for key, value in frame[1]:
                if isinstance(value, NonStandardToken):
                    raise value.error()    # Jackson reads a field's value token with its name
                frame[3], frame[4] = value, key
                self.current, self.value, self.name = "FIELD_NAME", key, key
                return "FIELD_NAME"
            self._frames.pop()
            self.current, self.value = "END_OBJECT", frame[0]
            self.name = self._frames[-1][4] if self._frames else None
            return "END_OBJECT"
        for value in frame[1]:
            return self._enter(value)
        self._frames.pop()
        self.current, self.value = "END_ARRAY", frame[0]
        self.name = self._frames[-1][4] if self._frames else None
        return "END_ARRAY"

    def current_name(self) -> str | None:
        """``currentName()``: the field name the current token belongs to (None inside arrays)."""
        return self.name

    def is_value(self) -> bool:
        return self.current in VALUE_TOKENS

    def subtree(self) -> Any:
        """The whole value the current ``START_OBJECT``/``START_ARRAY`` (or scalar) token starts."""
        return self.value

    def skip_children(self) -> None:
        """``skipChildren()``: past the end of the current object or array, reading every token."""
        if self.current not in _END:
            return
        walk_tokens(self.value)
        self.finish_subtree()

    def finish_subtree(self) -> None:
        """After a tree-based parser consumed the current container: stand on its end token."""
        if self.current in _END:
            self._frames.pop()
            self.current = _END[self.current]
            self.name = self._frames[-1][4] if self._frames else None


_NOTHING = object()
