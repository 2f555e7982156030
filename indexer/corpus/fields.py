"""Field-level checks shared by every record type.

Each check reads one field of a parsed JSON object, records a :class:`RecordError` when the value is
missing, of the wrong type, out of range or badly formatted, and returns the converted value (or a
default) so one pass reports every problem of a record instead of stopping at the first.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Sequence
from urllib.parse import urlsplit

from indexer.corpus.errors import ErrorCode, RecordError

__all__ = ["ISO_639_1", "FieldChecker", "describe", "parse_timestamp"]

#: ISO 639-1 two-letter language codes (all 183 assigned ones plus ``he``/``id``/``yi`` variants).
ISO_639_1: frozenset[str] = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de
dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id
ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu
lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu
rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr
ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())

_MISSING = object()


def describe(value: Any) -> str:
    """A short, safe description of a JSON value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return f"array of {len(value)}"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def parse_timestamp(text: str) -> datetime | None:
    """ISO 8601 date or date-time to an aware UTC ``datetime``; naive values are taken as UTC."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def is_http_url(text: str) -> bool:
    if not text or any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class FieldChecker:
    """Collects the errors of one record while converting its fields."""

    __slots__ = ("obj", "file", "line", "record_id", "errors")

    def __init__(self, obj: dict[str, Any], file: str, line: int, record_id: str | None) -> None:
        self.obj = obj
        self.file = file
        self.line = line
        self.record_id = record_id
        self.errors: list[RecordError] = []

    def error(self, field: str | None, code: str, reason: str) -> None:
        self.errors.append(RecordError(self.file, self.line, self.record_id, field, code, reason))

    # -- raw access -------------------------------------------------------------------------------
    def _get(self, obj: dict[str, Any], name: str, path: str, required: bool) -> Any:
        value = obj.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.error(path, ErrorCode.MISSING_FIELD,
                           "required field is missing" if value is _MISSING
                           else "required field is null")
            return _MISSING
        return value

    # -- scalars ----------------------------------------------------------------------------------
    def string(self, name: str, *, required: bool = False, default: Any = "",
               nonempty: bool = False, obj: dict[str, Any] | None = None,
               path: str | None = None) -> Any:
        path = path or name
        value = self._get(self.obj if obj is None else obj, name, path, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            self.error(path, ErrorCode.WRONG_TYPE, f"expected a string, got {describe(value)}")
            return default
        if nonempty and not value.strip():
            self.error(path, ErrorCode.OUT_OF_RANGE, "must be a non-empty string")
            return default
        return value

    def integer(self, name: str, *, required: bool = False, default: Any = 0,
                minimum: int | None = None, maximum: int | None = None,
                obj: dict[str, Any] | None = None, path: str | None = None) -> Any:
        path = path or name
        value = self._get(self.obj if obj is None else obj, name, path, required)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, ErrorCode.WRONG_TYPE, f"expected an integer, got {describe(value)}")
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            lo = "" if minimum is None else f"{minimum} <= "
            hi = "" if maximum is None else f" <= {maximum}"
            self.error(path, ErrorCode.OUT_OF_RANGE, f"must be {lo}value{hi}, got {value}")
            return default
        return value

    def choice(self, name: str, allowed: Sequence[Any], *, required: bool = False,
               default: Any = None, obj: dict[str, Any] | None = None,
               path: str | None = None) -> Any:
        """A value from a closed set (enums, 0/1 labels); booleans never match integers."""
        path = path or name
        value = self._get(self.obj if obj is None else obj, name, path, required)
        if value is _MISSING:
            return default
        for a in allowed:
            if value == a and type(value) is type(a):
                return value
        want = ", ".join(repr(a) for a in allowed)
        code = (ErrorCode.WRONG_TYPE if not isinstance(value, type(allowed[0]))
                or isinstance(value, bool) != isinstance(allowed[0], bool)
                else ErrorCode.OUT_OF_RANGE)
        self.error(path, code, f"must be one of {want}, got {describe(value)}")
        return default

    def boolean(self, name: str, *, required: bool = False, default: bool = False,
                obj: dict[str, Any] | None = None, path: str | None = None) -> Any:
        path = path or name
        value = self._get(self.obj if obj is None else obj, name, path, required)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.error(path, ErrorCode.WRONG_TYPE, f"expected true or false, got {describe(value)}")
            return default
        return value

    def timestamp(self, name: str, *, required: bool = False, obj: dict[str, Any] | None = None,
                  path: str | None = None) -> datetime | None:
        path = path or name
        value = self._get(self.obj if obj is None else obj, name, path, required)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.error(path, ErrorCode.WRONG_TYPE,
                       f"expected an ISO 8601 string, got {describe(value)}")
            return None
        dt = parse_timestamp(value)
        if dt is None:
            self.error(path, ErrorCode.BAD_FORMAT, f"not an ISO 8601 date-time: {describe(value)}")
        return dt

    def url(self, name: str, *, required: bool = False, obj: dict[str, Any] | None = None,
            path: str | None = None) -> str | None:
        value = self.string(name, required=required, default=None, obj=obj, path=path)
        if value is not None and not is_http_url(value):
            self.error(path or name, ErrorCode.BAD_FORMAT,
                       f"not an absolute http(s) URL: {describe(value)}")
            return None
        return value

    def lang(self, name: str, *, required: bool = False, obj: dict[str, Any] | None = None,
             path: str | None = None) -> str | None:
        value = self.string(name, required=required, default=None, obj=obj, path=path)
        if value is not None and value not in ISO_639_1:
            self.error(path or name, ErrorCode.BAD_FORMAT,
                       f"not an ISO 639-1 language code (two lowercase letters such as 'en'): "
                       f"{describe(value)}")
            return None
        return value

    # -- lists ------------------------------------------------------------------------------------
    def string_list(self, name: str, *, required: bool = False,
                    nonempty_items: bool = True) -> tuple[str, ...]:
        value = self._get(self.obj, name, name, required)
        if value is _MISSING:
            return ()
        if not isinstance(value, list):
            self.error(name, ErrorCode.WRONG_TYPE, f"expected an array of strings, got "
                       f"{describe(value)}")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.error(f"{name}[{i}]", ErrorCode.WRONG_TYPE,
                           f"expected a string, got {describe(item)}")
            elif nonempty_items and not item.strip():
                self.error(f"{name}[{i}]", ErrorCode.OUT_OF_RANGE, "must be a non-empty string")
            else:
                out.append(item)
        return tuple(out)

    def float_list(self, name: str) -> tuple[float, ...] | None:
        value = self._get(self.obj, name, name, False)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.error(name, ErrorCode.WRONG_TYPE, f"expected an array of numbers, got "
                       f"{describe(value)}")
            return None
        if not value:
            self.error(name, ErrorCode.OUT_OF_RANGE, "must not be empty (omit the field instead)")
            return None
        out: list[float] = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                self.error(f"{name}[{i}]", ErrorCode.WRONG_TYPE,
                           f"expected a number, got {describe(item)}")
                return None
            if not math.isfinite(item):
                self.error(f"{name}[{i}]", ErrorCode.OUT_OF_RANGE, "must be a finite number")
                return None
            out.append(float(item))
        return tuple(out)

    def object_list(self, name: str, *, required: bool = False,
                    nonempty: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """``[(path, object), ...]`` for an array of objects; bad items are reported."""
        value = self._get(self.obj, name, name, required)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.error(name, ErrorCode.WRONG_TYPE, f"expected an array of objects, got "
                       f"{describe(value)}")
            return []
        if nonempty and not value:
            self.error(name, ErrorCode.OUT_OF_RANGE, "must contain at least one item")
        out: list[tuple[str, dict[str, Any]]] = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.error(f"{name}[{i}]", ErrorCode.WRONG_TYPE,
                           f"expected an object, got {describe(item)}")
            else:
                out.append((f"{name}[{i}]", item))
        return out
