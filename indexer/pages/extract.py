"""Extract what cohesion needs from a landing page: title, description, main text, language, images.

Metadata comes from one lxml parse of the whole page. The order of sources follows Mozilla
Readability's (the reference the evaluation data was made with), because publishers fill the
social tags more carefully than ``<title>``, which often carries the site name:

* **title**: ``dc:title``, ``dcterm:title``, ``og:title``, ``twitter:title``, meta ``title``, then
  ``<title>`` with a trailing/leading `` | Site`` / `` - Site`` part removed when what is left has at
  least 3 words (Readability's rule), then the first ``<h1>``.
* **description**: ``dc:description``, ``dcterm:description``, ``og:description``, meta
  ``description``, ``twitter:description``, then the first paragraph of the main text.

**Main text** (the choose rule, measured in ``benchmarks/results/cohesion.md``): readability-lxml's
article, always, when it yields any text. trafilatura (optional, not a dependency) is used only when
readability-lxml raises or returns no text; without it the whole ``<body>`` text is the fallback.
Measured on Mozilla's 130 test pages, taking trafilatura's text whenever readability's is shorter
than r x trafilatura's lowered mean F1 for every r tried (0.3: 0.9586, 0.5: 0.9609, 0.7: 0.9613
vs 0.9633 for readability alone), so no length-based merge is done.

Every page goes through :mod:`indexer.pages.safety` (byte cap, binary sniffing, encoding choice,
time limit), and :func:`extract_batch` turns a failure into a per-page error and goes on.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Literal
from urllib.parse import urljoin

from indexer.pages.language import detect_language, normalise_lang
from indexer.pages.safety import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT_S,
    PageError,
    decode_html,
    sniff_binary,
    time_limit,
)

__all__ = [
    "BODY_METHODS",
    "ExtractedPage",
    "PageImage",
    "extract_batch",
    "extract_page",
    "html_to_text",
    "trafilatura_available",
]

BodyMethod = Literal["pinsearch", "readability", "trafilatura"]
BODY_METHODS: tuple[str, ...] = ("pinsearch", "readability", "trafilatura")
MAX_IMAGES = 50

_BLOCK = frozenset(["p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section", "article", "header", "footer", "blockquote", "pre", "figure", "figcaption", "dd", "dt", "dl", "aside", "nav", "main", "form", "hr", "td", "th"])
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")
_NL = re.compile(r"\s*\n\s*")


@dataclass(slots=True)
class PageImage:
    src: str
    alt: str = ""


@dataclass(slots=True)
class ExtractedPage:
    """What one landing page says about itself. ``error`` is set (and the rest empty) on failure."""

    url: str | None = None
    title: str = ""
    description: str = ""
    text: str = ""
    lang: str | None = None
    images: list[PageImage] = field(default_factory=list)
    site_name: str = ""
    body_method: str = ""
    truncated: bool = False
    encoding: str = ""
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def trafilatura_available() -> bool:
    try:
        import trafilatura  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


def _clean(text: str | None) -> str:
    if not text:
        return ""
    return _WS.sub(" ", _html.unescape(text)).strip()


def html_to_text(node) -> str:  # type: ignore[no-untyped-def]
    """Visible text of an lxml element, one line per block element, whitespace collapsed."""
    from lxml import etree

    parts: list[str] = []

    def walk(el) -> None:  # iterative would be nicer, but the parser caps depth at 256
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in ("script", "style", "noscript", "template") or not isinstance(el.tag, str):
            if el.tail:
                parts.append(el.tail)
            return
        block = tag.lower() in _BLOCK
        if block:
            parts.append("\n")
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
        if block:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    if isinstance(node, etree._ElementTree):
        node = node.getroot()
    tail, node.tail = node.tail, None
    walk(node)
    node.tail = tail
    text = _WS.sub(" ", "".join(parts))
    return _NL.sub("\n", text).strip()


def _meta(doc) -> dict[str, str]:  # type: ignore[no-untyped-def]
    values: dict[str, str] = {}
    for m in doc.iter("meta"):
        content = m.get("content")
        if content is None:
            continue
        for attr in ("property", "name", "itemprop"):
            key = m.get(attr)
            if not key:
                continue
            for k in key.lower().split():
                k = k.strip()
                k = re.sub(r"^(dc|dcterm|og|twitter|weibo:(?:article|webpage))\s*[.:]\s*", r"\1:", k)
                if k and content.strip():
                    values[k] = _clean(content)  # a later tag wins, as in Readability
        equiv = (m.get("http-equiv") or "").lower()
        if equiv == "content-language" and "content-language" not in values:
            values["content-language"] = content
    return values


def _strip_site(raw: str, doc) -> str:  # type: ignore[no-untyped-def]
    """``"Article title | Site"`` -> ``"Article title"``: Readability's ``_getArticleTitle`` rule."""
    sep = re.compile(r" [|\-\\/>\u00bb] ")
    had_hier = False
    cur = raw
    if sep.search(raw):
        had_hier = bool(re.search(r" [\\/>\u00bb] ", raw))
        cur = re.sub(r"(.*)[|\-\\/>\u00bb] .*", r"\1", raw, flags=re.DOTALL)
        if len(cur.split()) < 3:
            cur = re.sub(r"^[^|\-\\/>\u00bb]*[|\-\\/>\u00bb](.*)", r"\1", raw, flags=re.DOTALL)
    elif ": " in raw:
        headings = {_clean(h.text_content()) for tag in ("h1", "h2") for h in doc.iter(tag)}
        if raw.strip() not in headings:
            cur = raw[raw.rfind(":") + 1:]
            if len(cur.split()) < 3:
                cur = raw[raw.find(":") + 1:]
            elif len(raw[: raw.find(":")].split()) > 5:
                cur = raw
    elif len(raw) > 150 or len(raw) < 15:
        h1s = list(doc.iter("h1"))
        if len(h1s) == 1:
            cur = _clean(h1s[0].text_content())
    cur = _clean(cur)
    n = len(cur.split())
    if n <= 4 and (not had_hier or n != len(re.sub(r"[|\-\\/>\u00bb]+", "", raw).split()) - 1):
        cur = raw
    return cur


_ARTICLE_TYPES = re.compile(r"Article|Posting|Report|Blog|NewsArticle|WebPage", re.IGNORECASE)


def _jsonld(doc) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """``headline`` / ``description`` of the first schema.org Article-like JSON-LD object."""
    import json

    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text.strip().removeprefix("<![CDATA[").removesuffix("]]>"))
        except (ValueError, RecursionError):
            continue
        items = data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []
        for item in items:
            if not isinstance(item, dict):
                continue
            kind = item.get("@type")
            kind = " ".join(kind) if isinstance(kind, list) else str(kind or "")
            if _ARTICLE_TYPES.search(kind) and "WebPage" != kind:
                out = {}
                for key, src in (("title", "headline"), ("description", "description")):
                    if isinstance(item.get(src), str) and item[src].strip():
                        out[key] = _clean(item[src])
                if "title" not in out and isinstance(item.get("name"), str):
                    out["title"] = _clean(item["name"])
                return out
    return {}


def _title(doc, meta: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    for key in ("jsonld:title", "dc:title", "dcterm:title", "og:title", "weibo:article:title", "weibo:webpage:title",
                "title", "twitter:title"):
        if meta.get(key):
            return meta[key]
    t = doc.find(".//title")
    if t is not None and t.text_content().strip():
        return _strip_site(_clean(t.text_content()), doc)
    h1 = doc.find(".//h1")
    return _clean(h1.text_content()) if h1 is not None else ""


def _description(meta: dict[str, str]) -> str:
    for key in ("jsonld:description", "dc:description", "dcterm:description", "og:description", "weibo:article:description",
                "weibo:webpage:description", "description", "twitter:description"):
        if meta.get(key):
            return meta[key]
    return ""


def _images(doc, base: str | None, meta: dict[str, str]) -> list[PageImage]:  # type: ignore[no-untyped-def]
    out: list[PageImage] = []
    seen: set[str] = set()
    og = meta.get("og:image") or meta.get("twitter:image")
    if og:
        src = urljoin(base, og) if base else og
        out.append(PageImage(src=src, alt=meta.get("og:image:alt", "")))
        seen.add(src)
    for img in doc.iter("img"):
        src = img.get("src") or img.get("data-src") or ""
        if not src or src.startswith("data:") or img.get("width") in ("0", "1") or img.get("height") in ("0", "1"):
            continue
        src = urljoin(base, src) if base else src
        if src in seen:
            continue
        seen.add(src)
        out.append(PageImage(src=src, alt=_clean(img.get("alt"))))
        if len(out) >= MAX_IMAGES:
            break
    return out


def _readability_text(text_html: str) -> tuple[str, str]:
    """(readability-lxml's main text, its first paragraph)."""
    import lxml.html
    from readability import Document

    rd = Document(text_html)
    summary = rd.summary(html_partial=True)
    node = lxml.html.fragment_fromstring(summary, create_parent="div") if summary.strip() else None
    if node is None:
        return "", ""
    first = next((_clean(p.text_content()) for p in node.iter("p") if p.text_content().strip()), "")
    return html_to_text(node), first


def _trafilatura_text(text_html: str) -> str:
    import trafilatura

    return trafilatura.extract(text_html, include_comments=False, include_tables=True,
                               deduplicate=False, fast=True) or ""


def extract_page(data: bytes | str, url: str | None = None, *, http_charset: str | None = None,
                 body: BodyMethod = "pinsearch", max_bytes: int = DEFAULT_MAX_BYTES,
                 timeout: float | None = DEFAULT_TIMEOUT_S) -> ExtractedPage:
    """Extract one page; raises :class:`PageError` (binary, empty, unparsable, timeout).

    ``body`` picks the main-text extractor: ``pinsearch`` (the documented merge rule),
    ``readability`` (readability-lxml alone) or ``trafilatura`` (alone).
    """
    import lxml.html
    from lxml import etree

    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    truncated = len(raw) > max_bytes
    if truncated:
        raw = raw[:max_bytes]
    kind = sniff_binary(raw)
    if kind:
        raise PageError("binary", f"content looks like {kind}, not HTML")
    text_html, encoding = decode_html(raw, http_charset)
    if not text_html.strip():
        raise PageError("empty", "the page has no content")
    with time_limit(timeout):
        try:
            doc = lxml.html.document_fromstring(text_html)
        except (etree.ParserError, ValueError) as exc:
            raise PageError("unparsable", str(exc) or "lxml could not parse the page") from None
        meta = _meta(doc)
        meta.update({f"jsonld:{k}": v for k, v in _jsonld(doc).items()})
        page = ExtractedPage(url=url, truncated=truncated, encoding=encoding)
        page.title = _title(doc, meta)
        page.description = _description(meta)
        page.site_name = meta.get("og:site_name", "")
        page.images = _images(doc, url, meta)
        root = doc.getroottree().getroot()
        declared = normalise_lang(root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
                                  or meta.get("content-language") or meta.get("og:locale"))
        page.text, first, page.body_method = _body(text_html, doc, body)
        if not page.description:
            page.description = first
        page.lang = declared or detect_language(page.text or page.title)
    return page


def _body(text_html: str, doc, method: str) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """(main text, its first paragraph, the method that produced it)."""
    if method == "trafilatura":
        t = _trafilatura_text(text_html)
        return t, t.split("\n", 1)[0], "trafilatura"
    r_text, first, r_err = "", "", None
    try:
        r_text, first = _readability_text(text_html)
    except PageError:
        raise
    except Exception as exc:  # noqa: BLE001 - readability raises bare Exceptions on odd pages
        r_err = exc
    if method == "readability":
        if r_err is not None:
            raise PageError("readability", f"readability-lxml failed: {r_err}")
        return r_text, first, "readability"
    if (r_err is not None or not r_text.strip()) and trafilatura_available():
        try:
            t_text = _trafilatura_text(text_html)
        except PageError:
            raise
        except Exception:  # noqa: BLE001
            t_text = ""
        if r_err is not None or not r_text.strip():
            return t_text, t_text.split("\n", 1)[0], "trafilatura"
    if r_err is not None or not r_text.strip():
        body = doc.find(".//body")
        text = html_to_text(body) if body is not None else ""
        return text, text.split("\n", 1)[0], "body"
    return r_text, first, "readability"


def extract_batch(items: Iterable[tuple[str, bytes | str]], **kwargs) -> Iterator[ExtractedPage]:  # type: ignore[no-untyped-def]
    """Extract ``(url, html)`` pairs; a failing page yields an :class:`ExtractedPage` with ``error``."""
    for url, data in items:
        try:
            yield extract_page(data, url, **kwargs)
        except PageError as exc:
            yield ExtractedPage(url=url, error=str(exc))
        except RecursionError:
            yield ExtractedPage(url=url, error="too_deep: markup nested too deeply")
        except MemoryError:
            yield ExtractedPage(url=url, error="too_large: out of memory while parsing")
        except Exception as exc:  # noqa: BLE001 - the batch must go on whatever one page does
            yield ExtractedPage(url=url, error=f"failed: {type(exc).__name__}: {exc}")
