"""The text around a pin, by source: what candidates are extracted from.

Sources (names are feature names too): ``title``, ``description``, ``board`` (names of the
pin's boards), ``board_desc``, ``page_title`` and ``page_desc`` (the linked page's ``<title>`` /
meta description), ``query`` (search queries whose result page had a click on the pin) and
``image`` (image-classifier labels, English). A :class:`CorpusContext` loads the joins once for a
whole corpus; the instant path builds :class:`PinText` directly.
"""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.corpus import Board, CorpusReader, Page, Pin, ValidationOptions
from indexer.text import detect_language

__all__ = ["SOURCES", "CorpusContext", "PinText", "page_title_description"]

SOURCES: tuple[str, ...] = ("title", "description", "board", "board_desc", "page_title",
                            "page_desc", "query", "image")

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_META = re.compile(r"<meta\s+[^>]*(?:name|property)\s*=\s*[\"'](?:description|og:description)"
                   r"[\"'][^>]*content\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)
_TITLE_SUFFIX = re.compile(r"\s+[|\-–]\s+[^|\-–]{1,60}$")


def page_title_description(raw_html: str) -> tuple[str, str]:
    """``<title>`` (site suffix such as " | Site" removed) and the meta description."""
    head = raw_html[:20000]
    m = _TITLE.search(head)
    title = html.unescape(m.group(1)).strip() if m else ""
    title = _TITLE_SUFFIX.sub("", title)
    d = _META.search(head)
    return title, html.unescape(d.group(1)).strip() if d else ""


@dataclass
class PinText:
    """A pin's language and its texts per source."""

    pin_id: str
    lang: str
    texts: dict[str, list[str]] = field(default_factory=dict)
    repin_count: int = 0
    #: stemmed keys of title, description and board names, filled by candidate extraction
    keys: list[str] = field(default_factory=list)


def pin_language(pin: Pin) -> str:
    """The declared language, else detected from title + description (see ``indexer.text``)."""
    return pin.lang or detect_language(f"{pin.title}. {pin.description}")


def pin_text(pin: Pin, *, boards: list[Board] | tuple[Board, ...] = (),
             page: tuple[str, str] | None = None, queries: list[str] | tuple[str, ...] = (),
             lang: str | None = None) -> PinText:
    """Gather one pin's sources (the instant path; ``CorpusContext.pin_text`` for a corpus)."""
    texts: dict[str, list[str]] = {
        "title": [pin.title] if pin.title else [],
        "description": [pin.description] if pin.description else [],
        "board": [b.name for b in boards if b.name],
        "board_desc": [b.description for b in boards if b.description],
        "page_title": [page[0]] if page and page[0] else [],
        "page_desc": [page[1]] if page and page[1] else [],
        "query": list(queries),
        "image": list(pin.image_annotations),
    }
    return PinText(pin.id, lang or pin_language(pin), texts, pin.repin_count)


class CorpusContext:
    """Boards, landing pages and clicked queries of a corpus, joined to pins by id/url."""

    def __init__(self, corpus_dir: str | Path, *, pages: bool = True, queries: bool = True,
                 pins: list[Pin] | None = None, boards: dict[str, Board] | None = None,
                 reader: CorpusReader | None = None) -> None:
        """``pages=False`` skips the landing pages (``load_pages`` reads some later); ``pins`` and
        ``boards`` reuse records already read from the same corpus by ``reader`` (which must not
        read those files again: a reader accepts each id once)."""
        self.corpus_dir = Path(corpus_dir)
        reader = reader or CorpusReader(self.corpus_dir, options=ValidationOptions(progress=False))
        self.reader = reader
        self.boards: dict[str, Board] = {}
        if boards is not None:
            self.boards = boards
        elif (self.corpus_dir / "boards.jsonl").exists():
            self.boards = {b.id: b for b in reader.boards()}
        self.pages: dict[str, tuple[str, str]] = {}
        if pages and (self.corpus_dir / "pages.jsonl").exists():
            self.load_pages(reader.pages())
        self.queries: dict[str, list[str]] = defaultdict(list)
        self.query_counts: Counter[str] = Counter()
        if queries and (self.corpus_dir / "search_log.jsonl").exists():
            for entry in reader.search_log():
                self.query_counts[entry.query] += 1
                for imp in entry.impressions:
                    if imp.clicked or imp.saved:
                        qs = self.queries[imp.pin_id]
                        if entry.query not in qs:
                            qs.append(entry.query)

        self._declared: Counter[str] = Counter()
        self._pins: list[Pin] | None = None
        if pins is not None:
            self._pins = list(pins)
            self._declared = Counter(p.lang for p in self._pins if p.lang)

    def load_pages(self, pages: Iterable[Page]) -> None:
        """Title and description of the given ``pages.jsonl`` rows' HTML (fetched, 2xx only)."""
        for page in pages:
            if page.path and 200 <= page.status < 300:
                try:
                    raw = (self.corpus_dir / page.path).read_text("utf-8", errors="replace")
                except OSError:
                    continue
                self.pages[page.url] = page_title_description(raw)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages declared by the corpus's pins (detection is restricted to them: a corpus
        in five languages should not get Lithuanian from a two-word title)."""
        self.pins()
        return tuple(sorted(self._declared))

    def detect(self, text: str) -> str:
        langs = self.languages
        hint = self._declared.most_common(1)[0][0] if self._declared else None
        if not langs:
            return detect_language(text, hint=hint)
        if len(langs) == 1:
            return langs[0]
        return detect_language(text, hint=hint, languages=langs)

    def language_of(self, pin: Pin) -> str:
        return pin.lang or self.detect(f"{pin.title}. {pin.description}")

    def pins(self) -> list[Pin]:
        if self._pins is None:
            self._pins = list(self.reader.pins())
            self._declared = Counter(p.lang for p in self._pins if p.lang)
        return self._pins

    def pin_text(self, pin: Pin, lang: str | None = None) -> PinText:
        boards = [self.boards[b] for b in pin.board_ids if b in self.boards]
        page = self.pages.get(pin.link) if pin.link else None
        return pin_text(pin, boards=boards, page=page, queries=self.queries.get(pin.id, ()),
                        lang=lang or self.language_of(pin))
