"""Instant signals for incremental reindex: new or changed pins only, with the models already trained.

A full reindex computes annotations, interests and cohesion in batch: it trains a model on the whole
corpus, saves it under ``<cache>/models/<signal>`` and scores every pin. When the corpus then changes
a little, ``pinsearch reindex --incremental`` does not retrain: each pin's value is kept from the
cache unless the inputs that value was computed from changed, and new or changed pins are scored
with the saved model (the same code the batch path runs, one pin at a time or in one small batch).

What "the inputs of a pin's value" are is a per-signal **pin key** (a hash), stored next to the cached
values (``<key>.pins.joblib``):

* ``interests``: the pin's ``content_hash`` (title, description, link, boards and board names, image
  annotations, language, saves -- exactly what the index document stores and compares); the pins
  are classified together with their board-mates, whose matches give the co-occurrence feature;
* ``annotations``: that, plus the board descriptions, the linked page's ``pages.jsonl`` row and HTML
  file content, and the queries with clicks on the pin (the annotator's other sources);
* ``cohesion``: the content hash, the image embedding and the linked page's ``pages.jsonl`` row (a
  re-fetched page gets a new ``fetched_at``) and HTML file content, so a pin whose page changed is
  re-scored too, even when only the HTML file was rewritten.

Pins are compared with the cache's own record, not with the index: the cached values are what is
being updated, and they stay right even if the index was rebuilt without signals in between.

Corpus-level statistics behind the models (dictionary document frequencies, BM25 statistics, word
vectors, board co-occurrence among the corpus' other pins) stay those of the last full run: instant
values are what the batch would give with the saved model, not with a retrained one. A full reindex
(or ``--full-signals``) retrains.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.corpus import Board, CorpusReader, Page, Pin, ValidationOptions
from indexer.documents import content_hash

__all__ = ["INSTANT", "CorpusState", "InstantSignal", "model_stamp"]


class CorpusState:
    """The corpus records instant signals and pin keys need, read once and shared by all signals.

    One validating reader reads boards, pins, ``pages.jsonl`` and (for annotations) the search log,
    each file once and in the order references need, so a record is kept or rejected exactly as the
    batch signals' own readers decide."""

    def __init__(self, corpus_dir: str | Path) -> None:
        self.corpus_dir = Path(corpus_dir)
        self._reader = CorpusReader(self.corpus_dir, options=ValidationOptions(progress=False))
        self._loaded = False
        self._pins: list[Pin] = []
        self._boards: dict[str, Board] = {}
        self._pages: dict[str, Page] = {}
        self._context: Any = None
        self._hashes: dict[str, str] | None = None
        self._page_files: dict[str, str] = {}

    def _load(self) -> None:
        if self._loaded:
            return
        if (self.corpus_dir / "boards.jsonl").is_file():
            self._boards = {b.id: b for b in self._reader.boards()}
        self._pins = list(self._reader.pins())
        if (self.corpus_dir / "pages.jsonl").is_file():
            self._pages = {p.url: p for p in self._reader.pages()}
        self._loaded = True

    @property
    def pins(self) -> list[Pin]:
        self._load()
        return self._pins

    @property
    def boards(self) -> dict[str, Board]:
        self._load()
        return self._boards

    @property
    def pages(self) -> dict[str, Page]:
        """``pages.jsonl`` rows by url (the HTML files are not read)."""
        self._load()
        return self._pages

    @property
    def annotation_context(self) -> Any:
        """An annotations ``CorpusContext`` over these pins and boards, landing pages not loaded."""
        if self._context is None:
            from indexer.annotations.sources import CorpusContext
            self._load()
            self._context = CorpusContext(self.corpus_dir, pages=False, pins=self._pins, boards=self._boards,
                                          reader=self._reader)
        return self._context

    def content_hashes(self) -> dict[str, str]:
        if self._hashes is None:
            self._hashes = {p.id: content_hash(p, self.boards) for p in self.pins}
        return self._hashes

    def page_row(self, pin: Pin) -> str:
        """The linked page's ``pages.jsonl`` row and a digest of its HTML file's content (what the
        page-reading signals see of it), or "" for a pin without a known page."""
        page = self.pages.get(pin.link) if pin.link else None
        if page is None:
            return ""
        return (f"{page.status}\x1f{page.path or ''}\x1f{page.fetched_at.isoformat() if page.fetched_at else ''}"
                f"\x1f{self.page_file_digest(page.path) if page.path else ''}")

    def page_file_digest(self, path: str) -> str:
        """sha1 of one page file's content (``<missing>`` when it cannot be read), once per run."""
        found = self._page_files.get(path)
        if found is None:
            try:
                found = hashlib.sha1((self.corpus_dir / path).read_bytes()).hexdigest()
            except OSError:
                found = "<missing>"
            self._page_files[path] = found
        return found


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1e".join(parts).encode()).hexdigest()


def model_stamp(model_dir: str | Path) -> str:
    """Names, sizes and mtimes of a model directory's files: changes whenever a model is retrained."""
    root = Path(model_dir)
    if not root.is_dir():
        return ""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return _digest(*(f"{p.relative_to(root)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files))


# -- pin keys ------------------------------------------------------------------------------------
def _interest_keys(state: CorpusState) -> dict[str, str]:
    return dict(state.content_hashes())


def _annotation_keys(state: CorpusState) -> dict[str, str]:
    hashes = state.content_hashes()
    ctx = state.annotation_context
    boards = state.boards
    out: dict[str, str] = {}
    for pin in state.pins:
        board_desc = [boards[b].description for b in pin.board_ids if b in boards]
        out[pin.id] = _digest(hashes[pin.id], json.dumps(board_desc), state.page_row(pin),
                              json.dumps(ctx.queries.get(pin.id, [])))
    return out


def _cohesion_keys(state: CorpusState) -> dict[str, str]:
    hashes = state.content_hashes()
    return {p.id: _digest(hashes[p.id], repr(p.image_embedding), state.page_row(p)) for p in state.pins}


# -- instant values --------------------------------------------------------------------------------
def _annotations_for(state: CorpusState, model_dir: Path, pins: list[Pin]) -> dict[str, Any]:
    from indexer.annotations.model import AnnotationModel

    model = AnnotationModel.load(model_dir)
    ctx = state.annotation_context
    ctx.load_pages(state.pages[p.link] for p in pins if p.link and p.link in state.pages)
    texts = [ctx.pin_text(p) for p in pins]
    results = model.annotate_many(texts) if texts else []  # annotate_corpus's top_k / threshold
    return {t.pin_id: {a.id: a.score for a in anns} for t, anns in zip(texts, results)}


def _interests_for(state: CorpusState, model_dir: Path, pins: list[Pin]) -> dict[str, Any]:
    from indexer.interests.classify import Pin2Interest, as_rank_features
    from indexer.interests.items import item_from_pin

    model = Pin2Interest.load(model_dir)
    names = {b.id: b.name for b in state.boards.values()}
    items = [item_from_pin(p, names) for p in pins]
    # board co-occurrence is computed within a batch: classify the pins with their board-mates (the
    # first ``board_mates_cap`` of each board, as the batch sees them), keep only the pins' results
    cap = model.generator_.board_mates_cap
    wanted = {b for p in pins for b in p.board_ids}
    members: dict[str, list[Pin]] = {}
    for other in state.pins:
        for b in other.board_ids:
            if b in wanted:
                members.setdefault(b, []).append(other)
    seen = {p.id for p in pins}
    mates: list[Pin] = []
    for p in pins:
        for b in p.board_ids:
            for other in members.get(b, [])[:cap + 1]:  # +1: the pin itself may be among them
                if other.id not in seen:
                    seen.add(other.id)
                    mates.append(other)
    scored = model.predict_items(items + [item_from_pin(m, names) for m in mates])
    return {it.id: as_rank_features(s) for it, s in zip(items, scored)}


def _cohesion_for(state: CorpusState, model_dir: Path, pins: list[Pin]) -> dict[str, Any]:
    from indexer.cohesion.batch import cohesion_for_pins

    names = {b.id: b.name for b in state.boards.values()}
    return cohesion_for_pins(state.corpus_dir, model_dir, pins, names, state.pages)


@dataclass(frozen=True, slots=True)
class InstantSignal:
    """How one signal is updated for some pins without retraining."""

    pin_keys: Callable[[CorpusState], dict[str, str]]
    compute: Callable[[CorpusState, Path, list[Pin]], dict[str, Any]]
    model_files: tuple[str, ...]   # files that must exist in the model directory

    def ready(self, model_dir: Path) -> bool:
        return all((model_dir / name).is_file() for name in self.model_files)


INSTANT: dict[str, InstantSignal] = {
    "annotations": InstantSignal(_annotation_keys, _annotations_for,
                                 ("manifest.json", "dictionary.json", "features.joblib")),
    "interests": InstantSignal(_interest_keys, _interests_for, ("pin2interest.joblib",)),
    "cohesion": InstantSignal(_cohesion_keys, _cohesion_for, ("cohesion.joblib", "features.joblib")),
}
