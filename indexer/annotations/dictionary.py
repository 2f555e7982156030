"""The annotation dictionary: terms per language with stable ids, canonical mapping, metadata and
a curated add/delete list with a change log, stored as one versioned JSON file.

Why a JSON file: it is small (tens of thousands of terms), diffs well in review, and the change
log travels with it. Every save bumps ``version``; curated adds and deletes are kept apart from
the built terms so a rebuild from a new corpus re-applies them (curation survives rebuilds).

Ids: ``<lang>_<key tokens joined by _>`` where the key is the stemmed, accent-folded phrase
(``en_vegan_dinner``). The same phrase always gets the same id in every build (stable), ids never
contain dots (usable as ``rank_features`` keys), and singular/plural forms share one id because
they share a stem ("sloth" and "sloths" -> ``en_sloth``, text = the most frequent surface form).
Other variants (misspellings, curated synonyms) are alias entries whose ``canonical_id`` points
to the term they stand for; matching an alias annotates with the canonical term.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from indexer.text import analyze

__all__ = ["DICTIONARY_FORMAT", "Dictionary", "DictionaryError", "Entry", "make_id", "phrase_key"]

DICTIONARY_FORMAT = "pinsearch-annotation-dictionary/1"


class DictionaryError(ValueError):
    """A bad dictionary file or curation request; the message names the file/term and the fix."""


def phrase_key(text: str, lang: str) -> str:
    """The matching key of a phrase: stemmed, accent-folded tokens joined by spaces."""
    return analyze(text, lang).key_text()


def make_id(lang: str, key: str) -> str:
    """Stable id of a key: ``en_vegan_dinner`` (no dots; tokens never contain ``_``)."""
    return f"{lang}_{key.replace(' ', '_')}"


@dataclass
class Entry:
    """One dictionary term. ``canonical_id`` is ``None`` for a canonical term."""

    id: str
    lang: str
    text: str
    key: str
    canonical_id: str | None = None
    sources: dict[str, int] = field(default_factory=dict)
    df: int = 0
    search_freq: int = 0
    category_entropy: float | None = None
    n_categories: int = 0
    curated: bool = False

    @property
    def n_tokens(self) -> int:
        return self.key.count(" ") + 1


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Dictionary:
    """Terms by id and by ``(lang, key)``, plus the token spelling map, curation and log."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self._by_key: dict[tuple[str, str], str] = {}
        #: per language: misspelled token key -> corrected token key (applied before matching)
        self.spelling: dict[str, dict[str, str]] = {}
        self.curation: dict[str, list[dict[str, Any]]] = {"add": [], "delete": []}
        self.log: list[dict[str, Any]] = []
        self.version = 0
        self.built_from: dict[str, Any] = {}

    # -- lookups -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.entries

    def languages(self) -> list[str]:
        return sorted({e.lang for e in self.entries.values()})

    def get(self, entry_id: str) -> Entry | None:
        return self.entries.get(entry_id)

    def by_key(self, lang: str, key: str) -> Entry | None:
        eid = self._by_key.get((lang, key))
        return self.entries[eid] if eid else None

    def canonical(self, entry: Entry) -> Entry:
        """Follow ``canonical_id`` links (cycle-safe) to the canonical term."""
        seen = {entry.id}
        while entry.canonical_id and entry.canonical_id in self.entries:
            entry = self.entries[entry.canonical_id]
            if entry.id in seen:
                break
            seen.add(entry.id)
        return entry

    def lookup(self, text: str, lang: str) -> Entry | None:
        """The canonical entry a phrase maps to (spelling-corrected), or ``None``."""
        key = self.correct(lang, phrase_key(text, lang))
        entry = self.by_key(lang, key)
        return self.canonical(entry) if entry else None

    def correct(self, lang: str, key: str) -> str:
        fix = self.spelling.get(lang)
        if not fix:
            return key
        return " ".join(fix.get(t, t) for t in key.split(" "))

    # -- edits -------------------------------------------------------------------------------
    def put(self, entry: Entry) -> Entry:
        """Insert or replace a term (by ``(lang, key)``; the id follows from the key)."""
        old = self._by_key.get((entry.lang, entry.key))
        if old and old != entry.id:
            self.entries.pop(old, None)
        self.entries[entry.id] = entry
        self._by_key[(entry.lang, entry.key)] = entry.id
        return entry

    def remove(self, entry_id: str) -> Entry | None:
        entry = self.entries.pop(entry_id, None)
        if entry is not None:
            self._by_key.pop((entry.lang, entry.key), None)
            for other in self.entries.values():  # aliases of a deleted term go with it
                if other.canonical_id == entry_id:
                    other.canonical_id = None
        return entry

    def _apply_add(self, item: dict[str, Any]) -> Entry:
        lang, text = item["lang"], item["text"]
        key = phrase_key(text, lang)
        if not key:
            raise DictionaryError(f"cannot add {text!r} ({lang}): it has no word characters")
        canonical_id = None
        if item.get("canonical"):
            target = self.lookup(item["canonical"], lang)
            if target is None:
                raise DictionaryError(f"canonical term {item['canonical']!r} ({lang}) is not in "
                                      "the dictionary: add it first")
            canonical_id = target.id if target.key != key else None
        existing = self.by_key(lang, key)
        entry = existing or Entry(id=make_id(lang, key), lang=lang, text=text, key=key)
        entry.text = text if existing is None or not existing.sources else existing.text
        entry.canonical_id = canonical_id
        entry.curated = True
        entry.sources = {**entry.sources, "curated": 1}
        return self.put(entry)

    def _apply_delete(self, item: dict[str, Any]) -> Entry | None:
        entry = self.by_key(item["lang"], item["key"])
        return self.remove(entry.id) if entry else None

    def add(self, text: str, lang: str, *, canonical: str | None = None,
            note: str | None = None) -> Entry:
        """Curated add (kept across rebuilds), logged. ``canonical`` makes it an alias."""
        item = {"lang": lang, "text": text, "canonical": canonical, "note": note}
        entry = self._apply_add(item)
        key = entry.key
        self.curation["delete"] = [d for d in self.curation["delete"]
                                   if (d["lang"], d["key"]) != (lang, key)]
        self.curation["add"] = [a for a in self.curation["add"]
                                if (a["lang"], phrase_key(a["text"], a["lang"])) != (lang, key)]
        self.curation["add"].append(item)
        self._log("add", entry, note, canonical=canonical)
        return entry

    def delete(self, text_or_id: str, lang: str | None = None, *, note: str | None = None
               ) -> Entry:
        """Curated delete (kept across rebuilds), logged. Accepts an id or a phrase + lang."""
        entry = self.entries.get(text_or_id)
        if entry is None:
            if lang is None:
                raise DictionaryError(f"{text_or_id!r} is not a term id; give --lang to delete "
                                      "it as a phrase")
            entry = self.by_key(lang, phrase_key(text_or_id, lang))
        if entry is None:
            raise DictionaryError(f"{text_or_id!r} ({lang}) is not in the dictionary")
        self.remove(entry.id)
        self.curation["add"] = [a for a in self.curation["add"]
                                if (a["lang"], phrase_key(a["text"], a["lang"]))
                                != (entry.lang, entry.key)]
        self.curation["delete"].append({"lang": entry.lang, "key": entry.key,
                                        "text": entry.text, "note": note})
        self._log("delete", entry, note)
        return entry

    def apply_curation(self) -> None:
        """Re-apply the curated list after a rebuild: deletes first, then adds."""
        for item in self.curation["delete"]:
            self._apply_delete(item)
        for item in self.curation["add"]:
            try:
                self._apply_add(item)
            except DictionaryError:
                self._apply_add({**item, "canonical": None})

    def _log(self, action: str, entry: Entry | None, note: str | None, **extra: Any) -> None:
        self.log.append({"ts": _now(), "version": self.version + 1, "action": action,
                         "id": entry.id if entry else None, "lang": entry.lang if entry else None,
                         "text": entry.text if entry else None, "note": note,
                         **{k: v for k, v in extra.items() if v is not None}})

    # -- persistence -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"format": DICTIONARY_FORMAT, "version": self.version,
                "built_from": self.built_from,
                "n_terms": sum(1 for e in self.entries.values() if e.canonical_id is None),
                "entries": [asdict(e) for e in sorted(self.entries.values(), key=lambda e: e.id)],
                "spelling": self.spelling, "curation": self.curation, "log": self.log}

    def save(self, path: str | Path) -> Path:
        """Atomic write; bumps ``version``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.version += 1
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.to_json(), fh, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Dictionary":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DictionaryError(f"{path}: no dictionary file; build one with "
                                  "`pinsearch annotations dict build CORPUS`") from None
        except json.JSONDecodeError as exc:
            raise DictionaryError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from None
        if not isinstance(data, dict) or data.get("format") != DICTIONARY_FORMAT:
            raise DictionaryError(f"{path}: field 'format' must be {DICTIONARY_FORMAT!r}")
        d = cls()
        d.version = int(data.get("version", 0))
        d.built_from = data.get("built_from", {})
        for i, raw in enumerate(data.get("entries", [])):
            try:
                d.put(Entry(**raw))
            except TypeError as exc:
                raise DictionaryError(f"{path}: entries[{i}]: {exc}") from None
        d.spelling = data.get("spelling", {})
        d.curation = {"add": [], "delete": [], **data.get("curation", {})}
        d.log = list(data.get("log", []))
        return d
