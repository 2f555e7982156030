"""The ``filter_path`` response parameter, as OpenSearch's ``FilterPath`` applies it to any JSON answer.

``filter_path=hits.hits._id,hits.total`` keeps those paths; ``*`` matches within one name, ``**``
any number of levels, a leading ``-`` excludes instead. Arrays are transparent (a path applies to
each element); objects and arrays left empty disappear, and a response with nothing left is ``{}``.
"""

from __future__ import annotations

import fnmatch
from typing import Any

_MISSING = object()


def parse(spec: str) -> tuple[list[list[str]], list[list[str]]]:
    includes: list[list[str]] = []
    excludes: list[list[str]] = []
    for raw in spec.split(","):
        raw = raw.strip()
        if not raw:
            continue
        target = excludes if raw.startswith("-") else includes
        target.append([segment for segment in raw.lstrip("-").split(".") if segment])
    return includes, excludes


def apply(body: Any, spec: str) -> Any:
    """``body`` filtered by ``spec`` (a comma-separated ``filter_path`` value)."""
    includes, excludes = parse(spec)
    if includes:
        kept = _include(body, includes)
        body = {} if kept is _MISSING else kept
    if excludes:
        kept = _exclude(body, excludes)
        body = {} if kept is _MISSING else kept
    return body


def _advance(patterns: list[list[str]], key: str) -> tuple[bool, list[list[str]]]:
    """After descending into ``key``: (some pattern is fully matched, the patterns still to match)."""
    done = False
    rest: list[list[str]] = []
    for pattern in patterns:
        if not pattern:
            continue
        head, tail = pattern[0], pattern[1:]
        if head == "**":
            rest.append(pattern)                      # ** swallows this key and may swallow more
            if tail:
                sub_done, sub_rest = _advance([tail], key)   # or matches nothing, tail matches key
                done = done or sub_done
                rest.extend(sub_rest)
            else:
                done = True
        elif fnmatch.fnmatchcase(key, head):
            if tail:
                rest.append(tail)
            else:
                done = True
    return done, rest


def _include(node: Any, patterns: list[list[str]]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            done, rest = _advance(patterns, str(key))
            if done:
                out[key] = value
            elif rest:
                kept = _include(value, rest)
                if kept is not _MISSING:
                    out[key] = kept
        return out if out else _MISSING
    if isinstance(node, list):
        items = [kept for kept in (_include(item, patterns) for item in node) if kept is not _MISSING]
        return items if items else _MISSING
    return _MISSING   # a scalar below an unfinished path


def _exclude(node: Any, patterns: list[list[str]]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            done, rest = _advance(patterns, str(key))
            if done:
                continue
            if rest:
                kept = _exclude(value, rest)
                if kept is _MISSING:
                    continue
                out[key] = kept
            else:
                out[key] = value
        return out if out else _MISSING
    if isinstance(node, list):
        items = [kept for kept in (_exclude(item, patterns) for item in node) if kept is not _MISSING]
        return items if items else _MISSING
    return node
