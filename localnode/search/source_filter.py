"""``_source`` filtering (includes/excludes with wildcards on dotted paths), as OpenSearch's ``XContentMapValues.filter``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from localnode.errors import ParsingError
from localnode.search.xcontent import text, token


class SourceFilter:
    def __init__(self, enabled: bool = True, includes: list[str] | None = None,
                 excludes: list[str] | None = None) -> None:
        self.enabled = enabled
        self.includes = includes or []
        self.excludes = excludes or []

    @staticmethod
    def parse(spec: Any, params: dict[str, str] | None = None) -> "SourceFilter":
        params = params or {}
        result = SourceFilter()
        if spec is not None:
            if isinstance(spec, bool):
                result.enabled = spec
            elif isinstance(spec, str):
                result.includes = [spec]
            elif isinstance(spec, list):
                result.includes = [str(s) for s in spec]
            elif isinstance(spec, dict):
                unknown = [k for k in spec if k not in ("includes", "excludes", "include", "exclude")]
                if unknown:
                    raise ParsingError(f"Unknown key for a START_ARRAY in [{unknown[0]}].")
                inc = spec.get("includes", spec.get("include", []))
                exc = spec.get("excludes", spec.get("exclude", []))
                result.includes = [inc] if isinstance(inc, str) else list(inc)
                result.excludes = [exc] if isinstance(exc, str) else list(exc)
            else:
                raise ParsingError("[_source] must be a boolean, string, array or object")
        raw = params.get("_source")
        if raw is not None:
            if raw in ("true", "false"):
                result.enabled = raw == "true"
            else:
                result.includes = raw.split(",")
        if params.get("_source_includes"):
            result.includes = params["_source_includes"].split(",")
        if params.get("_source_excludes"):
            result.excludes = params["_source_excludes"].split(",")
        return result

    @staticmethod
    def from_xcontent(spec: Any) -> "SourceFilter":
        """``FetchSourceContext.fromXContent``: the ``_source`` of a search body, with OpenSearch's
        checks and messages (a number or ``null`` inside the list form is read as text)."""
        result = SourceFilter()
        kind = token(spec)
        if kind == "VALUE_BOOLEAN":
            result.enabled = bool(spec)
        elif kind == "VALUE_STRING":
            result.includes = [spec]
        elif kind == "START_ARRAY":
            result.includes = [text(item) for item in spec]
        elif kind == "START_OBJECT":
            for key, value in spec.items():
                inner = token(value)
                target = "includes" if key in ("includes", "include") else \
                    "excludes" if key in ("excludes", "exclude") else None
                if inner == "START_ARRAY" and target is not None:
                    names = []
                    for item in value:
                        item_kind = token(item)
                        if item_kind != "VALUE_STRING":
                            raise ParsingError(f"Unknown key for a {item_kind} in [{key}].")
                        names.append(item)
                    setattr(result, target, names)
                elif inner == "VALUE_STRING" and target is not None:
                    setattr(result, target, [value])
                else:
                    raise ParsingError(f"Unknown key for a {inner} in [{key}].")
        else:
            raise ParsingError(f"Expected one of [VALUE_BOOLEAN, START_OBJECT] but found [{kind}]")
        return result

    def with_params(self, params: dict[str, str]) -> "SourceFilter":
        """``FetchSourceContext.parseFromRestRequest``: URL parameters override the body."""
        raw = params.get("_source")
        if raw is not None:
            if raw == "true":
                self.enabled = True
            elif raw == "false":
                self.enabled = False
            else:
                self.includes = [part for part in raw.split(",") if part]
        if params.get("_source_includes"):
            self.includes = params["_source_includes"].split(",")
        if params.get("_source_excludes"):
            self.excludes = params["_source_excludes"].split(",")
        return self

    @property
    def is_identity(self) -> bool:
        return self.enabled and not self.includes and not self.excludes

    def apply(self, source: dict[str, Any]) -> dict[str, Any]:
        if self.is_identity:
            return source
        return _filter(source, self.includes, self.excludes)


class _Glob:
    """A union of simple wildcard patterns (``*`` only, as ``Regex.simpleMatchToAutomaton``) run as an
    automaton one character at a time, with ``makeMatchDotsInFieldNames``: ``p`` also matches ``p.*``.

    A state is a frozenset of (pattern, position) pairs; the empty set is Lucene's dead state (-1)."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = list(patterns) + [p + ".*" for p in patterns]
        self._steps: dict[tuple[frozenset[tuple[int, int]], str], frozenset[tuple[int, int]]] = {}

    def start(self) -> frozenset[tuple[int, int]]:
        return self._closure({(i, 0) for i in range(len(self.patterns))})

    def _closure(self, states: set[tuple[int, int]]) -> frozenset[tuple[int, int]]:
        out: set[tuple[int, int]] = set()
        stack = list(states)
        while stack:
            i, pos = stack.pop()
            if (i, pos) in out:
                continue
            out.add((i, pos))
            pattern = self.patterns[i]
            if pos < len(pattern) and pattern[pos] == "*":
                stack.append((i, pos + 1))
        return frozenset(out)

    def step(self, states: frozenset[tuple[int, int]], text: str) -> frozenset[tuple[int, int]]:
        key = (states, text)
        cached = self._steps.get(key)
        if cached is not None:
            return cached
        current = states
        for ch in text:
            if not current:
                break
            following: set[tuple[int, int]] = set()
            for i, pos in current:
                pattern = self.patterns[i]
                if pos < len(pattern):
                    if pattern[pos] == "*":
                        following.add((i, pos))
                    elif pattern[pos] == ch:
                        following.add((i, pos + 1))
            current = self._closure(following)
        if len(self._steps) < 4096:
            self._steps[key] = current
        return current

    def accepts(self, states: frozenset[tuple[int, int]]) -> bool:
        return any(pos == len(self.patterns[i]) for i, pos in states)


_MATCH_ALL = _Glob(["*"])


@lru_cache(maxsize=256)
def _glob(patterns: tuple[str, ...]) -> _Glob:
    """One automaton per pattern list, shared by every hit and request that uses it: its step
    cache then holds the source's keys after the first document, instead of being rebuilt per hit."""
    return _Glob(list(patterns))


def _filter(source: dict[str, Any], includes: list[str], excludes: list[str]) -> dict[str, Any]:
    """``XContentMapValues.filter``: includes select paths (and everything below them), excludes drop
    them; objects inside arrays are filtered with the array's path, and an array or an array element
    left empty is dropped."""
    include = _glob(tuple(includes)) if includes else _MATCH_ALL
    exclude = _glob(tuple(excludes))
    return _filter_map(source, include, include.start(), exclude, exclude.start())


def _filter_map(node: dict[str, Any], include: _Glob, include_start: frozenset, exclude: _Glob,
                exclude_start: frozenset) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        include_state = include.step(include_start, key)
        if not include_state:
            continue
        exclude_state = exclude.step(exclude_start, key)
        if exclude_state and exclude.accepts(exclude_state):
            continue
        sub_include, sub_state = include, include_state
        if include.accepts(include_state):
            if not exclude_state or not exclude.step(exclude_state, "."):
                out[key] = value   # no exclude can match below: keep the whole value
                continue
            sub_include, sub_state = _MATCH_ALL, _MATCH_ALL.start()   # only excludes matter below
        if isinstance(value, dict):
            sub_state = sub_include.step(sub_state, ".")
            if not sub_state:
                continue
            filtered = _filter_map(value, sub_include, sub_state, exclude, exclude.step(exclude_state, "."))
            if include.accepts(include_state) or filtered:
                out[key] = filtered
        elif isinstance(value, list):
            items = _filter_list(value, sub_include, sub_state, exclude, exclude_state)
            if items:
                out[key] = items
        elif sub_include.accepts(sub_state):
            out[key] = value
    return out


def _filter_list(items: list[Any], include: _Glob, include_state: frozenset, exclude: _Glob,
                 exclude_state: frozenset) -> list[Any]:
    out: list[Any] = []
    accepted = include.accepts(include_state)
    for value in items:
        if isinstance(value, dict):
            filtered = _filter_map(value, include, include.step(include_state, "."), exclude,
                                   exclude.step(exclude_state, "."))
            if filtered:
                out.append(filtered)
        elif isinstance(value, list):
            nested = _filter_list(value, include, include_state, exclude, exclude_state)
            if nested:
                out.append(nested)
        elif accepted:
            out.append(value)
    return out
