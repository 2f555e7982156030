"""Hostile-input guards for page processing: decoding, binary sniffing, size caps and time limits.

Landing pages are written by strangers. One page must never stall or crash a batch of millions, so
every page goes through these guards before a parser sees it: bytes are capped, binary payloads
served as ``text/html`` are refused, the encoding is chosen from BOM / HTTP header / ``<meta>`` and
falls back to a detector, and the extraction runs under a wall-clock alarm. Failures raise
:class:`PageError`, which the batch records per page and moves on.
"""

from __future__ import annotations

import codecs
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT_S",
    "PageError",
    "PageTimeout",
    "decode_html",
    "sniff_binary",
    "time_limit",
]

#: Pages larger than this are truncated before parsing (the article is near the top in practice).
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
#: Wall-clock limit for the extraction of one page.
DEFAULT_TIMEOUT_S = 5.0

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "pdf"), (b"\x89PNG", "png"), (b"GIF8", "gif"), (b"\xff\xd8\xff", "jpeg"),
    (b"PK\x03\x04", "zip"), (b"\x1f\x8b", "gzip"), (b"RIFF", "riff"), (b"\x00\x00\x01\x00", "ico"),
    (b"BM", None),  # too short to be sure alone; the NUL ratio decides
    (b"\x7fELF", "elf"), (b"MZ", None), (b"OggS", "ogg"), (b"ID3", "mp3"), (b"wOFF", "woff"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]{1,40})""", re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


class PageError(Exception):
    """A page that cannot be processed; the message says why (binary, timeout, empty, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PageTimeout(PageError):
    def __init__(self, seconds: float) -> None:
        super().__init__("timeout", f"extraction took longer than {seconds:g} s")


def sniff_binary(data: bytes) -> str | None:
    """The kind of binary payload ``data`` holds, or None if it may be text.

    Magic numbers catch the usual suspects (images, PDFs, archives); otherwise a share of NUL or
    C0 control bytes above 1 % in the first 4 KB means it is not HTML in any encoding we read
    (UTF-16 is decoded before this check only when it carries a BOM).
    """
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
        return None
    for magic, kind in _MAGIC:
        if kind and head.startswith(magic):
            return kind
    if not head:
        return None
    controls = sum(1 for b in head if b < 9 or 13 < b < 32 and b != 27)
    if controls / len(head) > 0.01:
        return "binary"
    return None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'").lower()).name
    except LookupError:
        return None


def decode_html(data: bytes | str, http_charset: str | None = None) -> tuple[str, str]:
    """``(text, encoding)``: the page as Unicode, choosing the encoding the way browsers do.

    Order: BOM, HTTP ``Content-Type`` charset, ``<meta charset>`` in the first 4 KB, strict UTF-8,
    then charset-normalizer's guess, then cp1252 with replacement (never fails). A declared
    encoding that does not decode cleanly is skipped, so a wrong declaration costs nothing.
    The XML declaration is removed because lxml refuses Unicode input that carries one.
    """
    if isinstance(data, str):
        return _XML_DECL.sub("", data, count=1), "unicode"
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                     (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return _XML_DECL.sub("", data[len(bom):].decode(enc, "replace"), count=1), enc
    candidates: list[str] = []
    for name in (http_charset, _meta_charset(data[:4096])):
        enc = _codec(name)
        if enc and enc not in candidates:
            # A page labelled latin-1/ascii is decoded as cp1252, as the WHATWG encoding spec says.
            candidates.append("cp1252" if enc in ("latin_1", "ascii", "iso8859-1") else enc)
    if "utf-8" not in candidates:
        candidates.append("utf-8")
    for enc in candidates:
        try:
            return _XML_DECL.sub("", data.decode(enc), count=1), enc
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        if best is not None and best.encoding:
            return _XML_DECL.sub("", data.decode(best.encoding, "replace"), count=1), best.encoding
    except Exception:  # noqa: BLE001, S110 - the detector is a best effort; cp1252 below never fails
        pass
    return _XML_DECL.sub("", data.decode("cp1252", "replace"), count=1), "cp1252"


def _meta_charset(head: bytes) -> str | None:
    m = _META_CHARSET.search(head)
    return m.group(1).decode("ascii", "ignore") if m else None


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`PageTimeout` in the block after ``seconds`` of wall-clock time.

    Uses ``SIGALRM`` (``setitimer``), so it works in the main thread of each process (joblib's
    process workers included) and is a no-op elsewhere; a C call such as one lxml parse is
    interrupted when it returns to Python, which the byte cap keeps short.
    """
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def _alarm(signum, frame):  # type: ignore[no-untyped-def]
        raise PageTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
