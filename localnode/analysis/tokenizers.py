"""Tokenizers: Lucene's StandardTokenizer, WhitespaceTokenizer, LetterTokenizer and KeywordTokenizer.

Each tokenizer offers two views of the same token stream:

* :meth:`tokens` -> ``[(text, start, end, type)]``, code point offsets, for ``_analyze`` and
  anything that needs offsets or types;
* :meth:`raw_terms` -> ``[text]``, the indexing hot path. With ``lower=True`` an ASCII text may
  come back already lowercased; analyzers ask for that only when their filter chain starts with
  lowercasing, so it changes nothing but the cost.

Both give the same tokens in the same order (a test checks it). None of these tokenizers skips
positions (StandardTokenizer splits over-long tokens rather than dropping them), so a token's
position is its index in the list.
"""

from __future__ import annotations

import re
from typing import Any

from localnode.analysis import uax29
from localnode.analysis._ucd import RANGES

# ASCII translation for the standard tokenizer's fast path: characters that can never be part of
# a token become spaces; the few whose role depends on their neighbours are kept.
_CONTEXT_CHARS = "_.:,;'"
_ASCII_KEEP = {chr(c) for c in range(0x80) if chr(c).isalnum() or chr(c) in _CONTEXT_CHARS}


def _byte_table(lower: bool) -> bytes:
    out = bytearray(range(256))
    for c in range(0x80):
        if chr(c) not in _ASCII_KEEP:
            out[c] = 0x20
        elif lower and 0x41 <= c <= 0x5A:
            out[c] = c + 32
    return bytes(out)


_SPAN = re.Match.span
_SEPARATE = _byte_table(lower=False)
_SEPARATE_LOWER = _byte_table(lower=True)

# Lucene's StandardTokenizer grammar restricted to ASCII, where it reduces to: letters/digits
# joined directly, by '_' runs, by one of [.:'] between letters or one of [,.;'] between digits,
# with leading and trailing '_' runs. (?<!_) keeps a long '_' run linear to scan. Without any
# '_' in the text a pattern that starts with a plain class is 2-3x faster (re can skip ahead).
_ASCII_TOKEN = re.compile(
    r"(?:(?<!_)_++)?[A-Za-z0-9]"
    r"(?:[A-Za-z0-9_]|(?<=[A-Za-z])[.:'](?=[A-Za-z])|(?<=[0-9])[,.;'](?=[0-9]))*")
_ASCII_TOKEN_NO_UNDERSCORE = re.compile(
    r"[A-Za-z0-9]++(?:(?:(?<=[A-Za-z])[.:'](?=[A-Za-z])|(?<=[0-9])[,.;'](?=[0-9]))[A-Za-z0-9]++)*")


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units, Lucene's unit for token lengths and buffers."""
    return len(s) if s.isascii() or max(s) <= "\uffff" else len(s.encode("utf-16-le")) // 2


def _window_end(text: str, start: int, units: int) -> int:
    """The largest end such that ``text[start:end]`` fits in ``units`` UTF-16 code units."""
    seg = text[start:start + units]
    if seg.isascii() or max(seg) <= "\uffff":
        return start + len(seg)
    used = 0
    for i, ch in enumerate(seg):
        used += 2 if ch > "\uffff" else 1
        if used > units:
            return start + i
    return start + len(seg)


class StandardTokenizer:
    """Lucene ``StandardTokenizer``: UAX#29 word breaks as in Lucene 9's JFlex grammar.

    ``max_token_length`` (default 255, OpenSearch's ``max_token_length``) is in UTF-16 units.
    Lucene sizes the scanner buffer to it and never grows the buffer, so a longer run is split
    into pieces: the first piece is the longest match that fits, scanning resumes after it.
    """

    name = "standard"

    def __init__(self, max_token_length: int = 255) -> None:
        if max_token_length < 1:
            raise ValueError("maxTokenLength must be greater than zero")
        self.max_token_length = max_token_length
        # A token with at most this many code points surely fits in max_token_length units.
        self._safe_len = max_token_length // 2

    # -- spans ------------------------------------------------------------------------------------
    @staticmethod
    def _pattern(sym: str) -> Any:
        """The cheapest matcher that is exact for this symbol string (see uax29)."""
        if uax29.needs_exact(sym):
            return uax29.exact_pattern()
        return uax29.FAST if uax29.not_flat(sym) else uax29.FLAT

    def _spans(self, text: str, sym: str) -> list[tuple[int, int]]:
        pattern = self._pattern(sym)
        if isinstance(pattern, re.Pattern):
            spans = list(map(_SPAN, pattern.finditer(sym)))
        else:  # the regex module's exact matcher
            spans = [m.span() for m in pattern.finditer(sym)]
        if spans and len(text) > self._safe_len and \
                any(e - s > self._safe_len and utf16_len(text[s:e]) > self.max_token_length for s, e in spans):
            spans = self._windowed(text, sym, pattern)
        return spans

    def _windowed(self, text: str, sym: str, pattern: Any) -> list[tuple[int, int]]:
        """Emulate the fixed scanner buffer: each match must fit in max_token_length units."""
        out: list[tuple[int, int]] = []
        pos = 0
        limit = self.max_token_length
        while True:
            m = pattern.search(sym, pos)
            if m is None:
                return out
            start, end = m.span()
            window = _window_end(text, start, limit)
            if end > window:
                m = pattern.match(sym, start, window)
                if m is None:  # nothing fits from here: JFlex skips one character
                    pos = start + 1
                    continue
                end = m.end()
            out.append((start, end))
            pos = end

    def tokens(self, text: str) -> list[tuple[str, int, int, str]]:
        sym = uax29.symbols(text)
        return [(text[s:e], s, e, uax29.token_type(sym[s:e])) for s, e in self._spans(text, sym)]

    # -- hot path ---------------------------------------------------------------------------------
    def raw_terms(self, text: str, lower: bool = False) -> list[str]:
        if text.isascii():
            s = text.encode("ascii").translate(_SEPARATE_LOWER if lower else _SEPARATE).decode("ascii")
            if "_" in s:
                out = _ASCII_TOKEN.findall(s)
            elif "'" in s or "." in s or ":" in s or "," in s or ";" in s:
                out = _ASCII_TOKEN_NO_UNDERSCORE.findall(s)
            else:
                out = s.split()
            if len(s) > self._safe_len and out and max(map(len, out)) > self.max_token_length:
                src = s  # ASCII: symbols are the characters themselves
                return [src[a:b] for a, b in self._windowed(src, src, uax29.FAST)]
            return out
        sym = uax29.symbols(text)
        if sym is text and len(text) <= self._safe_len:  # Latin-1: matches are the tokens
            return self._pattern(sym).findall(sym)
        return [text[s:e] for s, e in self._spans(text, sym)]


def _java_whitespace_class() -> str:
    # java.lang.Character.isWhitespace: SPACE_SEPARATOR/LINE_SEPARATOR/PARAGRAPH_SEPARATOR except
    # the no-break spaces U+00A0, U+2007, U+202F; plus \t \n \u000B \f \r \u001C-\u001F.
    return ("[\\t\\n\\u000b\\f\\r\\u001c-\\u001f \\u1680\\u2000-\\u2006\\u2008-\\u200a"
            "\\u2028\\u2029\\u205f\\u3000]")


_NOT_WHITESPACE = re.compile("[^" + _java_whitespace_class()[1:] + "+")
_LETTERS = re.compile("[" + "".join(
    (f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}") for a, b in RANGES["JAVA_LETTER"]) + "]+")
_ASCII_LETTERS = re.compile("[A-Za-z]+")


class _CharTokenizer:
    """Lucene ``CharTokenizer``: maximal runs of token characters, cut every 255 UTF-16 units.

    Lucene emits the buffered token as soon as it holds ``max_token_length`` units or more (a
    surrogate pair may push it to one more), then starts the next token with the next character.
    """

    name = "char"
    _run: re.Pattern[str]

    def __init__(self, max_token_length: int = 255) -> None:
        if max_token_length < 1 or max_token_length > 1024 * 1024:
            raise ValueError(f"maxTokenLen must be greater than 0 and less than {1024 * 1024} "
                             f"passed: {max_token_length}")
        self.max_token_length = max_token_length

    def _chunks(self, start: int, run: str) -> list[tuple[int, str]]:
        limit = self.max_token_length
        out: list[tuple[int, str]] = []
        begin, used = 0, 0
        for i, ch in enumerate(run):
            used += 2 if ch > "\uffff" else 1
            if used >= limit:
                out.append((start + begin, run[begin:i + 1]))
                begin, used = i + 1, 0
        if begin < len(run):
            out.append((start + begin, run[begin:]))
        return out

    def _runs(self, text: str) -> list[str]:
        return self._run.findall(text)

    def tokens(self, text: str) -> list[tuple[str, int, int, str]]:
        out: list[tuple[str, int, int, str]] = []
        for m in self._run.finditer(text):
            run = m.group()
            if len(run) < self.max_token_length // 2 + 1 and utf16_len(run) < self.max_token_length:
                out.append((run, m.start(), m.end(), "word"))
            else:
                out.extend((piece, s, s + len(piece), "word") for s, piece in self._chunks(m.start(), run))
        return out

    def raw_terms(self, text: str, lower: bool = False) -> list[str]:
        runs = self._runs(text.lower() if lower and text.isascii() else text)
        half = self.max_token_length // 2
        if any(len(r) > half for r in runs):
            return [piece for r in runs for _, piece in self._chunks(0, r)]
        return runs


class WhitespaceTokenizer(_CharTokenizer):
    """Lucene ``WhitespaceTokenizer``: splits on ``Character.isWhitespace``."""

    name = "whitespace"
    _run = _NOT_WHITESPACE

    def _runs(self, text: str) -> list[str]:
        # For ASCII, Python's and Java's whitespace sets coincide (\t\n\v\f\r, \x1c-\x1f, space).
        return text.split() if text.isascii() else self._run.findall(text)


class LetterTokenizer(_CharTokenizer):
    """Lucene ``LetterTokenizer``: runs of ``Character.isLetter`` (categories L*, Unicode 15.0)."""

    name = "letter"
    _run = _LETTERS

    def _runs(self, text: str) -> list[str]:
        return _ASCII_LETTERS.findall(text) if text.isascii() else self._run.findall(text)


class KeywordTokenizer:
    """Lucene ``KeywordTokenizer``: the whole input is one token, even when it is empty."""

    name = "keyword"
    max_token_length = 0

    def tokens(self, text: str) -> list[tuple[str, int, int, str]]:
        return [(text, 0, len(text), "word")]

    def raw_terms(self, text: str, lower: bool = False) -> list[str]:
        return [text.lower() if lower and text.isascii() else text]


Tokenizer = StandardTokenizer | WhitespaceTokenizer | LetterTokenizer | KeywordTokenizer
