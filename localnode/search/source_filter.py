"""``_source`` filtering (includes/excludes with wildcards on dotted paths), as in OpenSearch."""

from __future__ import annotations

import fnmatch
from typing import Any

from localnode.errors import ParsingError


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

    @property
    def is_identity(self) -> bool:
        return self.enabled and not self.includes and not self.excludes

    def apply(self, source: dict[str, Any]) -> dict[str, Any]:
        if self.is_identity:
            return source
        return _filter(source, "", self.includes, self.excludes)


def _matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _could_match_below(path: str, patterns: list[str]) -> bool:
    prefix = path + "."
    return any(p.startswith(prefix) or fnmatch.fnmatchcase(prefix, p.split(".")[0] + ".*") or "*" in p.split(".")[0]
               and fnmatch.fnmatchcase(path, p.split(".")[0]) for p in patterns)


def _filter(node: dict[str, Any], prefix: str, includes: list[str], excludes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = prefix + key
        if excludes and _matches(path, excludes):
            continue
        included = not includes or _matches(path, includes)
        if isinstance(value, dict):
            if included:
                out[key] = _filter(value, path + ".", [], excludes) if excludes else value
            elif _could_match_below(path, includes):
                inner = _filter(value, path + ".", includes, excludes)
                if inner:
                    out[key] = inner
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value) and not included:
            if _could_match_below(path, includes):
                items = [_filter(v, path + ".", includes, excludes) for v in value if isinstance(v, dict)]
                items = [i for i in items if i]
                if items:
                    out[key] = items
        elif included:
            out[key] = value
    return out
