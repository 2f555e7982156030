"""Evaluate landing-page extraction against gold pages (Mozilla Readability's test-suite layout).

Layout: ``DIR/<id>/source.html`` plus the gold main content as ``expected.html`` (or
``expected.txt``) and optionally ``expected-metadata.json`` (``title``, ``excerpt``, ``lang``).

Metrics, per method (``pinsearch``, ``readability-lxml``, and ``trafilatura`` when installed):

* ``title_exact``: share of pages with a gold title whose extracted title is equal after HTML
  unescaping and whitespace collapsing (case kept: it is an exact match).
* ``description_match``: the same for the description against the gold ``excerpt``, compared
  case-insensitively. readability-lxml has no description extractor: reported as ``null``.
* ``precision`` / ``recall`` / ``f1``: body text against the gold text over word 4-gram shingles.
  Tokens are ``\\w+`` matches, lower-cased; shingles are counted with multiplicity, and the overlap
  of two multisets is the sum of per-shingle minima. P = overlap / extracted shingles,
  R = overlap / gold shingles, F1 their harmonic mean, each computed per document and then
  averaged over documents (a page whose text has < 4 tokens contributes its tokens as one
  shingle; an empty extraction scores 0, two empty texts score 1).
* ``errors``: pages where the method raised; they score 0 on everything.
* ``seconds_per_page``: mean wall time of the method's extraction.
"""

from __future__ import annotations

import html as _html
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["METHODS", "GoldPage", "evaluate_extraction", "load_gold_pages", "shingle_prf"]

_TOKEN = re.compile(r"\w+", re.UNICODE)
_WS = re.compile(r"\s+")


@dataclass(slots=True)
class GoldPage:
    id: str
    source: bytes
    text: str
    title: str | None
    description: str | None


def load_gold_pages(pages_dir: Path | str) -> Iterator[GoldPage]:
    """The gold pages of ``pages_dir`` in sorted id order; a directory without ``source.html`` or a
    gold body is skipped with a warning on the returned page's absence (see ``evaluate_extraction``)."""
    import lxml.html

    from indexer.pages.extract import html_to_text
    from indexer.pages.safety import decode_html

    root = Path(pages_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a directory of pages (<id>/source.html, <id>/expected.html)")
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        src = d / "source.html"
        if not src.is_file():
            continue
        if (d / "expected.html").is_file():
            text_html, _ = decode_html((d / "expected.html").read_bytes())
            text = html_to_text(lxml.html.document_fromstring(text_html)) if text_html.strip() else ""
        elif (d / "expected.txt").is_file():
            text = (d / "expected.txt").read_text("utf-8", "replace")
        else:
            continue
        title = desc = None
        meta_path = d / "expected-metadata.json"
        if meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text("utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{meta_path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
            title, desc = meta.get("title"), meta.get("excerpt")
        yield GoldPage(id=d.name, source=src.read_bytes(), text=text, title=title, description=desc)


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    toks = [t.lower() for t in _TOKEN.findall(text)]
    if not toks:
        return Counter()
    if len(toks) < n:
        return Counter([tuple(toks)])
    return Counter(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))


def shingle_prf(extracted: str, gold: str, n: int = 4) -> tuple[float, float, float]:
    """(precision, recall, F1) of ``extracted`` against ``gold`` over word ``n``-gram multisets."""
    a, b = _shingles(extracted, n), _shingles(gold, n)
    if not a and not b:
        return 1.0, 1.0, 1.0
    if not a or not b:
        return 0.0, 0.0, 0.0
    overlap = sum((a & b).values())
    p, r = overlap / sum(a.values()), overlap / sum(b.values())
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _norm(s: str | None, fold: bool = False) -> str:
    out = _WS.sub(" ", _html.unescape(s or "")).strip()
    return out.casefold() if fold else out


Extractor = Callable[[bytes], tuple[str, str | None, str | None]]  # -> (text, title, description)


def _pinsearch(data: bytes) -> tuple[str, str | None, str | None]:
    from indexer.pages.extract import extract_page

    page = extract_page(data, body="pinsearch", timeout=30)
    return page.text, page.title, page.description


def _readability(data: bytes) -> tuple[str, str | None, str | None]:
    import lxml.html
    from readability import Document

    from indexer.pages.extract import html_to_text
    from indexer.pages.safety import decode_html

    text_html, _ = decode_html(data)
    doc = Document(text_html)
    summary = doc.summary(html_partial=True)
    text = html_to_text(lxml.html.fragment_fromstring(summary, create_parent="div")) if summary.strip() else ""
    return text, doc.short_title(), None


def _trafilatura(data: bytes) -> tuple[str, str | None, str | None]:
    import trafilatura

    from indexer.pages.safety import decode_html

    text_html, _ = decode_html(data)
    doc = trafilatura.bare_extraction(text_html, include_comments=False, include_tables=True,
                                      deduplicate=False, fast=True, with_metadata=True)
    if doc is None:
        return "", None, None
    get = (lambda k: getattr(doc, k, None)) if not isinstance(doc, dict) else doc.get
    return get("text") or "", get("title"), get("description")


def _methods() -> dict[str, Extractor]:
    from indexer.pages.extract import trafilatura_available

    methods: dict[str, Extractor] = {"pinsearch": _pinsearch, "readability-lxml": _readability}
    if trafilatura_available():
        methods["trafilatura"] = _trafilatura
    return methods


METHODS = ("pinsearch", "readability-lxml", "trafilatura")


def evaluate_extraction(pages_dir: Path | str, methods: list[str] | None = None,
                        progress: bool = False, per_page: bool = False) -> dict:
    """Score every method on every gold page of ``pages_dir``; see the module doc for the metrics."""
    available = _methods()
    chosen = {m: available[m] for m in (methods or list(available)) if m in available}
    if not chosen:
        raise ValueError(f"no extraction method available among {methods}; known: {sorted(available)}")
    pages = list(load_gold_pages(pages_dir))
    if not pages:
        raise ValueError(f"{pages_dir}: no <id>/source.html with expected.html or expected.txt found")
    acc = {m: {"p": [], "r": [], "f": [], "title": [], "desc": [], "errors": 0, "secs": 0.0,
               "per": {}} for m in chosen}
    bar = _progress(progress, len(pages) * len(chosen))
    for page in pages:
        for name, fn in chosen.items():
            a = acc[name]
            t0 = time.perf_counter()
            try:
                text, title, desc = fn(page.source)
                err = None
            except Exception as exc:  # noqa: BLE001 - one bad page is an error, not the end
                text, title, desc, err = "", None, None, f"{type(exc).__name__}: {exc}"
                a["errors"] += 1
            a["secs"] += time.perf_counter() - t0
            p, r, f = shingle_prf(text, page.text)
            a["p"].append(p), a["r"].append(r), a["f"].append(f)
            if page.title:
                a["title"].append(float(_norm(title) == _norm(page.title)))
            if page.description and name != "readability-lxml":
                a["desc"].append(float(_norm(desc, True) == _norm(page.description, True)))
            if per_page:
                a["per"][page.id] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                                     "title": title, "error": err}
            if bar:
                bar.advance()
    if bar:
        bar.close()
    mean = lambda xs: round(sum(xs) / len(xs), 4) if xs else None
    out: dict = {"pages": len(pages), "dir": str(pages_dir), "shingle_n": 4, "methods": {}}
    for name, a in acc.items():
        row = {"f1": mean(a["f"]), "precision": mean(a["p"]), "recall": mean(a["r"]),
               "title_exact": mean(a["title"]), "title_pages": len(a["title"]),
               "description_match": mean(a["desc"]) if name != "readability-lxml" else None,
               "description_pages": len(a["desc"]), "errors": a["errors"],
               "seconds_per_page": round(a["secs"] / len(pages), 4)}
        if per_page:
            row["per_page"] = a["per"]
        out["methods"][name] = row
    return out


class _Bar:
    def __init__(self, total: int) -> None:
        from rich.progress import Progress

        self.p = Progress(transient=True)
        self.p.start()
        self.t = self.p.add_task("extracting", total=total)

    def advance(self) -> None:
        self.p.advance(self.t)

    def close(self) -> None:
        self.p.stop()


def _progress(enabled: bool, total: int) -> _Bar | None:
    return _Bar(total) if enabled else None
