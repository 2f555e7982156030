"""Per-index analyzer lookup: built-in analyzers plus custom ones from ``settings.analysis``."""

from __future__ import annotations

import threading
from typing import Any

from localnode.analysis import ANALYZER_NAMES, Analyzer, UnknownAnalyzerError, build_analyzer
from localnode.errors import IllegalArgumentError


class AnalyzerResolver:
    def __init__(self, analysis_settings: dict[str, Any] | None) -> None:
        self.analysis = analysis_settings or {}
        self._cache: dict[str, Analyzer] = {}
        self._lock = threading.Lock()
        custom = self.analysis.get("analyzer", {}) if isinstance(self.analysis, dict) else {}
        for name in custom:  # fail at index creation, not at the first document
            self.get(name)

    def known_names(self) -> set[str]:
        custom = self.analysis.get("analyzer", {}) if isinstance(self.analysis, dict) else {}
        return set(ANALYZER_NAMES) | set(custom)

    def get(self, name: str) -> Analyzer:
        analyzer = self._cache.get(name)
        if analyzer is None:
            with self._lock:
                try:
                    analyzer = build_analyzer(name, self.analysis)
                except UnknownAnalyzerError as exc:
                    raise IllegalArgumentError(str(exc)) from None
                self._cache[name] = analyzer
        return analyzer
