"""OpenSearch date math for range queries: ``now``, ``now-1d/d``, ``2024-01-01||+1M/M``.

Rounding follows OpenSearch (``DateFieldMapper.rangeQuery`` + ``JavaDateMathParser``): an upper bound
that is inclusive (``lte``) or a lower bound that is exclusive (``gt``) is parsed with ``round_up``,
the others (``gte``, ``lt``) rounding down; ``gt`` then adds and ``lt`` subtracts one millisecond.
``round_up`` means two things: ``/unit`` goes to the last millisecond of the unit instead of its
first, and a plain date without a time (``2024-01-02``) fills the missing time fields with their
maximum (``23:59:59.999``). The anchor before ``||`` is always parsed rounding down, as OpenSearch does.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from localnode.errors import OpenSearchError
from localnode.mapping.dates import DateParseError, parse_date_millis

_OP = re.compile(r"([+-]\d+|/)([yMwdhHms])")


def resolve_date_math(expression: str, *, round_up: bool, date_format: str,
                      now_millis: int | None = None) -> int:
    if expression.startswith("now"):
        anchor = now_millis if now_millis is not None else int(time.time() * 1000)
        rest = expression[3:]
    elif "||" in expression:
        head, rest = expression.split("||", 1)
        try:
            anchor = parse_date_millis(head, date_format)
        except DateParseError as exc:
            raise OpenSearchError(str(exc), status=400, error_type="parse_exception") from None
    else:
        return parse_date_millis(expression, date_format, round_up=round_up)
    moment = datetime.fromtimestamp(anchor / 1000, tz=timezone.utc)
    position = 0
    for match in _OP.finditer(rest):
        if match.start() != position:
            break
        position = match.end()
        op, unit = match.group(1), match.group(2)
        if op == "/":
            moment = _round(moment, unit, round_up)
        else:
            moment = _add(moment, int(op), unit)
    if position != len(rest):
        raise OpenSearchError(f"failed to parse date field [{expression}]: invalid date math", status=400,
                              error_type="parse_exception")
    return int(moment.timestamp() * 1000)


def _add(moment: datetime, amount: int, unit: str) -> datetime:
    if unit == "y":
        return moment.replace(year=moment.year + amount)
    if unit == "M":
        month = moment.month - 1 + amount
        return moment.replace(year=moment.year + month // 12, month=month % 12 + 1)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return moment + timedelta(seconds=amount * seconds)


def _round(moment: datetime, unit: str, round_up: bool) -> datetime:
    if unit == "y":
        start = moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "M":
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "w":
        start = (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit == "d":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit in ("h", "H"):
        start = moment.replace(minute=0, second=0, microsecond=0)
    elif unit == "m":
        start = moment.replace(second=0, microsecond=0)
    else:
        start = moment.replace(microsecond=0)
    if not round_up:
        return start
    return _add(start, 1, unit) - timedelta(milliseconds=1)
