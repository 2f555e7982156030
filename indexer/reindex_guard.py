"""The reindex guard: a new index (or an incremental change) must not make the live one worse.

``pinsearch reindex`` refuses to move the live alias, and ``--incremental`` refuses to change the
live index, when the result

* has no documents, or fewer than ``min_docs`` (``--min-docs N``; default 1, so an empty index is
  refused unless ``--min-docs 0``, and ``--allow-shrink`` too when it would replace a non-empty one);
* has fewer than ``min_share`` of the live index's documents (default 50 %; ``--allow-shrink``);
* lacks a signal: one that failed to compute, or whose coverage (the share of pins that carry it)
  fell to zero or to less than half of the live index's (``--allow-missing-signals``, which records
  the missing signals in the new index's ``_meta``).

**Coverage** is, per signal, the number of documents carrying its index field: ``pin2vec``,
``cohesion``, ``annotation_terms`` (annotations), ``interest_ids`` (interests) and ``cooccur``. It is
counted from the documents as they are built and stored in the index's ``_meta``
(``pinsearch.coverage``), so the next reindex compares against it without reading the index. For a
live index built before coverage was stored it is counted with ``_count`` + ``exists`` queries, which
both the embedded engine and OpenSearch answer; ``cooccur`` is a ``rank_features`` field, which
``exists`` does not support, so its live coverage is unknown there (shown as ``?``, not compared).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch

__all__ = ["COVERAGE_FIELDS", "Coverage", "GuardOptions", "Problem", "check_guard", "format_coverage",
           "index_meta", "live_coverage"]

# signal -> the document field whose presence means the pin carries it (in display order)
COVERAGE_FIELDS: dict[str, str] = {"pin2vec": "pin2vec", "cohesion": "cohesion", "annotations": "annotation_terms",
                                   "interests": "interest_ids", "cooccur": "cooccur"}
# fields an ``exists`` query can count (OpenSearch refuses ``exists`` on ``rank_features``)
EXISTS_COUNTABLE = frozenset({"pin2vec", "cohesion", "annotation_terms", "interest_ids"})
DEFAULT_MIN_SHARE = 0.5
SIGNAL_DROP = 0.5  # a signal whose coverage share falls below this fraction of the live one is missing
ERROR_SHOWN = 160  # characters of a signal's error quoted in a refusal


@dataclass(frozen=True, slots=True)
class GuardOptions:
    """What a reindex must achieve to replace the live index (module docstring)."""

    min_docs: int = 1
    min_share: float = DEFAULT_MIN_SHARE
    allow_shrink: bool = False
    allow_missing_signals: bool = False


@dataclass(slots=True)
class Coverage:
    """Documents, and per signal the documents carrying it (None: unknown). ``source``: ``built``
    (counted from the documents sent), ``meta`` (stored at build time), ``counted`` (``exists``
    queries on an index without stored coverage)."""

    pins: int = 0
    signals: dict[str, int | None] = field(default_factory=lambda: {name: 0 for name in COVERAGE_FIELDS})
    source: str = "built"
    index: str | None = None

    def add(self, doc: Mapping[str, Any]) -> None:
        """Count one index document."""
        self.pins += 1
        for name, doc_field in COVERAGE_FIELDS.items():
            if doc.get(doc_field) not in (None, [], {}):
                self.signals[name] = (self.signals.get(name) or 0) + 1

    def share(self, name: str) -> float | None:
        count = self.signals.get(name)
        if count is None:
            return None
        return count / self.pins if self.pins else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "source": self.source, "pins": self.pins, "signals": dict(self.signals)}

    def stored(self) -> dict[str, Any]:
        """What goes into ``_meta.pinsearch.coverage``."""
        return {"pins": self.pins, "signals": dict(self.signals)}

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any], index: str | None) -> Coverage | None:
        try:
            signals = {name: (None if stored["signals"].get(name) is None else int(stored["signals"][name]))
                       for name in COVERAGE_FIELDS}
            return cls(pins=int(stored["pins"]), signals=signals, source="meta", index=index)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason not to replace the live index, and the option that accepts it anyway."""

    code: str               # empty, min_docs, shrink, signal_failed, signal_dropped
    message: str
    override: str
    signal: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "signal": self.signal, "message": self.message, "override": self.override}

    def __str__(self) -> str:
        return f"{self.message} [override: {self.override}]"


def index_meta(client: OpenSearch, index: str) -> dict[str, Any]:
    """The mapping ``_meta`` of one index ({} when it has none)."""
    found = client.indices.get_mapping(index=index)
    body = found.get(index) or next(iter(found.values()), {})
    return dict(body.get("mappings", {}).get("_meta") or {})


def count_coverage(client: OpenSearch, index: str) -> Coverage:
    """Coverage of an index without stored coverage: ``_count`` with ``exists`` per signal field
    (``cooccur`` is unknown: ``exists`` does not work on ``rank_features``)."""
    from opensearchpy.exceptions import TransportError

    pins = int(client.count(index=index)["count"])
    signals: dict[str, int | None] = {}
    for name, doc_field in COVERAGE_FIELDS.items():
        signals[name] = None
        if doc_field in EXISTS_COUNTABLE:
            body = {"query": {"exists": {"field": doc_field}}}
            try:
                signals[name] = int(client.count(index=index, body=body)["count"])
            except TransportError:  # a cluster that cannot count this field: unknown, not compared
                pass
    return Coverage(pins=pins, signals=signals, source="counted", index=index)


def live_coverage(client: OpenSearch, alias: str, live: Iterable[str]) -> Coverage | None:
    """Coverage of what ``alias`` serves now: the stored coverage of its one index, or counted over
    the alias (no stored coverage, or an alias over several indices). None when there is no alias."""
    indices = sorted(live)
    if not indices:
        return None
    if len(indices) == 1:
        try:
            stored = index_meta(client, indices[0]).get("pinsearch", {}).get("coverage")
        except Exception:  # noqa: BLE001 - a mapping we cannot read: count instead
            stored = None
        if stored:
            coverage = Coverage.from_stored(stored, indices[0])
            if coverage is not None:
                return coverage
    counted = count_coverage(client, alias)
    counted.index = ",".join(indices)
    return counted


def check_guard(new: Coverage, live: Coverage | None, options: GuardOptions, *,
                signal_errors: Mapping[str, str] | None = None,
                computed: set[str] | None = None, rejects: int | None = None) -> tuple[list[Problem], dict[str, str]]:
    """``(problems, missing)``: the problems the options do not accept (empty: go ahead), and every
    signal the new index lacks with why (also when ``allow_missing_signals`` accepts it, so the caller
    can record it). ``computed``: the signals that were asked for, when known (a signal left out on
    purpose is named as such). ``rejects``: corpus records rejected while reading, for the message."""
    problems: list[Problem] = []
    signal_errors = dict(signal_errors or {})
    live_name = f"the live index [{live.index}]" if live is not None and live.index else "the live index"
    empty = new.pins == 0 and options.min_docs > 0
    shrinks = (live is not None and live.pins > 0 and not options.allow_shrink
               and new.pins < options.min_share * live.pins)
    if empty:  # emptying a live index is also a shrink: one problem, both options named
        why = f", {rejects} corpus records rejected (`pinsearch validate CORPUS` lists why)" if rejects else ""
        live_has = f"; {live_name} has {live.pins}" if live is not None else ""
        problems.append(Problem("empty", f"the new index has no documents: 0 valid pins{why}{live_has}",
                                "--min-docs 0" + (" and --allow-shrink" if shrinks else "")))
    elif new.pins < options.min_docs:
        problems.append(Problem("min_docs", f"the new index has {new.pins} documents, fewer than --min-docs "
                                            f"{options.min_docs}", "a lower --min-docs"))
    if shrinks and not empty:
        assert live is not None
        problems.append(Problem("shrink", f"the new index has {new.pins} documents, {new.pins / live.pins:.0%} of "
                                          f"the {live.pins} in {live_name} (at least {options.min_share:.0%} "
                                          "required)", "--allow-shrink"))
    missing: dict[str, str] = {}
    for name, error in signal_errors.items():
        text = error if len(error) <= ERROR_SHOWN else error[:ERROR_SHOWN] + "..."
        missing[name] = f"failed: {text}"
    if new.pins > 0 and live is not None and live.pins > 0:
        for name in COVERAGE_FIELDS:
            if name in missing:
                continue
            before, after = live.share(name), new.share(name)
            if not before or after is None:  # the live index lacks it too, or we cannot tell
                continue
            if after == 0 or after < SIGNAL_DROP * before:
                left_out = computed is not None and name not in computed
                missing[name] = (f"covers {new.signals[name]} of {new.pins} pins ({after:.0%}), {live_name} "
                                 f"{live.signals[name]} of {live.pins} ({before:.0%})"
                                 + ("; not computed (left out by --signals)" if left_out else ""))
    if not options.allow_missing_signals and not empty:  # with no pins at all, failing signals say nothing more
        for name, why in missing.items():
            code = "signal_failed" if name in signal_errors else "signal_dropped"
            override = "--allow-missing-signals" + (", or leave it out with --signals" if code == "signal_failed" and
                                                    not (live and live.signals.get(name)) else "")
            problems.append(Problem(code, f"signal [{name}] {why}", override, signal=name))
    return problems, missing


def format_coverage(new: Coverage | None, live: Coverage | None) -> str:
    """``pin2vec 142/150 (live 142/150), cohesion ...``: the per-signal line of the reindex summary."""
    if new is None:
        return ""
    parts = []
    for name in COVERAGE_FIELDS:
        part = f"{name} {_count(new.signals.get(name))}/{new.pins}"
        if live is not None:
            part += f" (live {_count(live.signals.get(name))}/{live.pins})"
        parts.append(part)
    return ", ".join(parts)


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)
