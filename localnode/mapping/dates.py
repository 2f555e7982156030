"""Date parsing for ``date`` fields: OpenSearch's default format ``strict_date_optional_time||epoch_millis``.

Dates are indexed as epoch milliseconds (UTC), as OpenSearch does, so ranges and sorts compare
integers. Values without a zone are UTC.
"""

from __future__ import annotations

import re
from functools import lru_cache
from datetime import datetime, timezone

_ISO = re.compile(
    r"^(?P<y>[+-]?\d{4,9})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$")
_EPOCH = re.compile(r"^-?\d+(\.\d+)?$")


class DateParseError(ValueError):
    pass


def parse_date_millis(value: object, formats: str = "strict_date_optional_time||epoch_millis",
                      round_up: bool = False) -> int:
    """Epoch milliseconds for a date value; raises :class:`DateParseError` with OpenSearch's wording.

    ``round_up`` is the parser OpenSearch uses for the upper end of a range (``lte``, and ``gt``
    before it adds one millisecond): time fields missing from the text take their maximum
    (``JavaDateFormatter``'s round-up parser defaults hour 23, minute 59, second 59 and nano
    999,999,999), so ``2024-01-02`` becomes ``2024-01-02T23:59:59.999``. Missing month and day are
    still 1, as in OpenSearch (``2024`` rounds up to ``2024-01-01T23:59:59.999``)."""
    allow_epoch = "epoch_millis" in formats or "epoch_second" in formats
    epoch_seconds = "epoch_second" in formats and "epoch_millis" not in formats
    if isinstance(value, bool):
        raise DateParseError(f"failed to parse date field [{value}] with format [{formats}]")
    if isinstance(value, (int, float)):
        if not allow_epoch:
            raise DateParseError(f"failed to parse date field [{value}] with format [{formats}]")
        return int(value * 1000) if epoch_seconds else int(value)
    if not isinstance(value, str):
        raise DateParseError(f"failed to parse date field [{value}] with format [{formats}]")
    text = value.strip()
    match = _ISO.match(text)
    if match and ("strict_date_optional_time" in formats or "date_optional_time" in formats
                  or "date_time" in formats or "strict_date" in formats):
        try:
            return _iso_to_millis(match, round_up)
        except ValueError as exc:
            raise DateParseError(f"failed to parse date field [{value}] with format [{formats}]") from exc
    if allow_epoch and _EPOCH.match(text):
        number = float(text)
        return int(number * 1000) if epoch_seconds else int(number)
    for pattern in formats.split("||"):
        if pattern in _BUILTIN_FORMATS:
            continue
        custom = _java_pattern(pattern).match(text)
        if custom:
            try:
                return _fields_to_millis(custom.groupdict(), round_up)
            except ValueError as exc:
                raise DateParseError(f"failed to parse date field [{value}] with format [{formats}]") from exc
    raise DateParseError(f"failed to parse date field [{value}] with format [{formats}]")


_BUILTIN_FORMATS = frozenset({"strict_date_optional_time", "date_optional_time", "date_time", "strict_date",
                              "epoch_millis", "epoch_second", "strict_date_optional_time_nanos"})

#: Java ``DateTimeFormatter`` pattern letters understood here -> (group name, digits for width 1, 2, 3+).
_PATTERN_FIELDS = {"y": "y", "u": "y", "M": "m", "d": "d", "H": "H", "m": "M", "s": "S", "S": "frac"}


@lru_cache(maxsize=64)
def _java_pattern(pattern: str) -> re.Pattern[str]:
    """A regex for a custom ``format`` such as ``dd/MM/yyyy HH:mm`` (numeric fields and literals).

    A one-letter field takes one or more digits, a repeated letter exactly that many (a year
    takes four or more), as ``DateTimeFormatter`` parses them. Letters for names, zones or
    weeks are refused rather than guessed.
    """
    regex: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise DateParseError(f"Invalid format: [{pattern}]: unterminated quote")
            regex.append(re.escape(pattern[i + 1:end]) if end > i + 1 else "'")
            i = end + 1
            continue
        if char.isalpha():
            run = i
            while run < len(pattern) and pattern[run] == char:
                run += 1
            width = run - i
            group = _PATTERN_FIELDS.get(char)
            if group is None or (char == "M" and width > 2):
                raise DateParseError(f"Invalid format: [{pattern}]: the embedded engine (localnode) parses numeric "
                                     f"date fields only, not pattern letter [{char * width}]")
            if group == "y" and width == 2:
                group, digits = "yy", r"\d{2}"   # two-digit years are 2000-2099, as in java.time
            elif group == "y":
                digits = r"\d{4,9}" if width >= 4 else r"\d{1,9}"
            elif group == "frac":
                digits = rf"\d{{{width}}}"
            else:
                digits = r"\d{1,2}" if width == 1 else rf"\d{{{width}}}"
            regex.append(f"(?P<{group}>{digits})")
            i = run
            continue
        regex.append(re.escape(char))
        i += 1
    return re.compile("^" + "".join(regex) + "$")


def _fields_to_millis(parts: dict[str, str | None], round_up: bool) -> int:
    frac = parts.get("frac") or ""
    micros = int((frac + "000000")[:6]) if frac else (999_000 if round_up else 0)
    missing_time = 59 if round_up else 0
    hour = parts.get("H")
    year = int(parts["yy"]) + 2000 if parts.get("yy") else int(parts.get("y") or 1970)
    moment = datetime(year, int(parts.get("m") or 1), int(parts.get("d") or 1),
                      int(hour) if hour else (23 if round_up else 0), int(parts.get("M") or missing_time),
                      int(parts.get("S") or missing_time), micros, tzinfo=timezone.utc)
    return _exact_millis(moment)


def _iso_to_millis(match: re.Match[str], round_up: bool = False) -> int:
    parts = match.groupdict()
    frac = parts["frac"] or ""
    micros = int((frac + "000000")[:6]) if frac else (999_000 if round_up else 0)
    missing_time = 59 if round_up else 0
    moment = datetime(int(parts["y"]), int(parts["m"] or 1), int(parts["d"] or 1),
                      int(parts["H"] or (23 if round_up else 0)), int(parts["M"] or missing_time),
                      int(parts["S"] or missing_time), micros, tzinfo=timezone.utc)
    tz = parts["tz"]
    millis = _exact_millis(moment)  # integer arithmetic: float timestamps can lose the last millisecond
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset_minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
        millis -= sign * offset_minutes * 60_000
    return millis


def _exact_millis(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def looks_like_date(value: str) -> bool:
    """Dynamic date detection: only full ISO dates (``yyyy-MM-dd...``) or ``yyyy/MM/dd`` strings."""
    if len(value) < 10:
        return False
    if re.match(r"^\d{4}/\d{2}/\d{2}( \d{2}:\d{2}:\d{2})?( [+-]\d{4})?$", value):
        return True
    match = _ISO.match(value)
    if not match or match.group("d") is None:
        return False
    try:
        _iso_to_millis(match)
    except ValueError:
        return False
    return True


def format_millis(millis: int) -> str:
    moment = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


#: OpenSearch's named date formats (``FormatNames``), snake case; each also has a ``strict_`` form.
_NAMED_FORMATS = frozenset({
    "iso8601", "basic_date", "basic_date_time", "basic_date_time_no_millis", "basic_ordinal_date",
    "basic_ordinal_date_time", "basic_ordinal_date_time_no_millis", "basic_time", "basic_time_no_millis",
    "basic_t_time", "basic_t_time_no_millis", "basic_week_date", "basic_week_date_time",
    "basic_week_date_time_no_millis", "date", "date_hour", "date_hour_minute", "date_hour_minute_second",
    "date_hour_minute_second_fraction", "date_hour_minute_second_millis", "date_optional_time", "date_time",
    "date_time_no_millis", "hour", "hour_minute", "hour_minute_second", "hour_minute_second_fraction",
    "hour_minute_second_millis", "ordinal_date", "ordinal_date_time", "ordinal_date_time_no_millis", "time",
    "time_no_millis", "t_time", "t_time_no_millis", "week_date", "week_date_time", "week_date_time_no_millis",
    "weekyear", "weekyear_week", "weekyear_week_day", "year", "year_month", "year_month_day", "epoch_second",
    "epoch_millis", "date_optional_time_nanos", "rfc3339_lenient", "epoch_micros"})
#: Letters ``DateTimeFormatter.ofPattern`` knows; any other ASCII letter is refused.
_PATTERN_LETTERS = frozenset("GuyDMLdQqYwWEecFahKkHmsSAnNVvzOXxZp")


def validate_date_format(fmt: str) -> None:
    """``DateFormatter.forPattern``: each ``||`` part a named format or a valid Java pattern; raises
    ``DateParseError`` with OpenSearch's wording."""
    for part in fmt.split("||"):
        name = part[len("strict_"):] if part.startswith("strict_") else part
        if name in _NAMED_FORMATS or part in _NAMED_FORMATS:
            continue
        if not part:
            raise DateParseError(f"Invalid format: [{fmt}]: Pattern is empty")
        quoted = False
        for char in part:
            if char == "'":
                quoted = not quoted
            elif not quoted and (("a" <= char <= "z") or ("A" <= char <= "Z")) and char not in _PATTERN_LETTERS:
                raise DateParseError(f"Invalid format: [{part}]: Unknown pattern letter: {char}")
            elif not quoted and char in "#{}":
                raise DateParseError(f"Invalid format: [{part}]: Pattern includes reserved character: '{char}'")
