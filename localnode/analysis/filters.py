"""Token filters, each a pure function of one token's text.

Every filter the engine supports decides a token's fate from its text alone (not its position,
offsets or neighbours), so a filter maps one input item to zero, one or several output items,
and an analyzer can memoise a whole chain per distinct token text.

An item is ``(term, keyword)``; ``keyword`` is Lucene's ``KeywordAttribute`` (set by
``keyword_marker`` / ``stem_exclusion``; stemmers leave keyword terms alone). Items produced from
one tokenizer token share its position (extra items are stacked with position increment 0, as
``asciifolding`` with ``preserve_original`` does); a chain that removes the first item moves its
position to the next one, exactly like Lucene's ``FilteringTokenFilter``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from localnode.analysis._ucd import JAVA_LOWER_EXCEPTIONS
from localnode.analysis.porter import porter_stem

Item = tuple[str, bool]

#: Lucene ``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`` (OpenSearch ``_english_``).
ENGLISH_STOP_WORDS: frozenset[str] = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with"))

_LOWER_EXCEPTIONS = {chr(a): chr(b) for a, b in JAVA_LOWER_EXCEPTIONS.items()}


def java_lower(s: str) -> str:
    """``Character.toLowerCase`` applied to each code point (Lucene ``LowerCaseFilter``).

    ``str.lower()`` agrees except for its full (SpecialCasing) mappings and context rules:
    U+0130 'İ' becomes 'i̇' (two code points) instead of 'i', and a word-final 'Σ' becomes 'ς'
    instead of 'σ'. Those two are the only differences for Unicode 15.0 (checked by _ucd_gen).
    """
    if s.isascii():
        return s.lower()
    if "\u0130" in s or "\u03a3" in s:
        return "".join([_LOWER_EXCEPTIONS.get(c) or c.lower() for c in s])
    return s.lower()


class TokenFilter:
    """Base class: ``apply`` maps one token's items to the items that continue down the chain."""

    name = "filter"
    #: True when the filter emits at most one item per input item (the analyzers' fast path).
    one_to_one = True

    def apply(self, items: list[Item]) -> list[Item]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class LowerCaseFilter(TokenFilter):
    name = "lowercase"

    def apply(self, items: list[Item]) -> list[Item]:
        return [(java_lower(t), k) for t, k in items]


class EnglishPossessiveFilter(TokenFilter):
    """Lucene ``EnglishPossessiveFilter``: drop a trailing ``'s``, ``’s`` or ``＇s`` (or ``S``)."""

    name = "possessive_english"

    def apply(self, items: list[Item]) -> list[Item]:
        return [(strip_possessive(t), k) for t, k in items]


def strip_possessive(t: str) -> str:
    if len(t) >= 2 and t[-1] in "sS" and t[-2] in "'\u2019\uff07":
        return t[:-2]
    return t


class StopFilter(TokenFilter):
    """Lucene ``StopFilter``; ``ignore_case`` compares ``Character.toLowerCase`` forms."""

    name = "stop"

    def __init__(self, words: Iterable[str] = ENGLISH_STOP_WORDS, ignore_case: bool = False) -> None:
        self.ignore_case = ignore_case
        self.words = frozenset(java_lower(w) for w in words) if ignore_case else frozenset(words)

    def apply(self, items: list[Item]) -> list[Item]:
        if self.ignore_case:
            return [(t, k) for t, k in items if java_lower(t) not in self.words]
        return [(t, k) for t, k in items if t not in self.words]


class KeywordMarkerFilter(TokenFilter):
    """Lucene ``SetKeywordMarkerFilter`` (``keyword_marker``, and ``stem_exclusion`` of ``english``)."""

    name = "keyword_marker"

    def __init__(self, keywords: Iterable[str], ignore_case: bool = False) -> None:
        self.ignore_case = ignore_case
        self.keywords = frozenset(java_lower(w) for w in keywords) if ignore_case else frozenset(keywords)

    def apply(self, items: list[Item]) -> list[Item]:
        kw = self.keywords
        if self.ignore_case:
            return [(t, k or java_lower(t) in kw) for t, k in items]
        return [(t, k or t in kw) for t, k in items]


class PorterStemFilter(TokenFilter):
    """Lucene ``PorterStemFilter`` (``porter_stem``; ``stemmer`` with language english/porter)."""

    name = "porter_stem"

    def apply(self, items: list[Item]) -> list[Item]:
        return [(t if k else porter_stem(t), k) for t, k in items]


# -- ASCII folding --------------------------------------------------------------------------------
# Lucene's ASCIIFoldingFilter is a hand-written table of ~1,000 characters. This approximation
# covers what real text needs: canonical/compatibility decomposition with the combining marks
# dropped (é->e, ﬁ->fi, ①->1, ｆ->f), plus the letters and punctuation that do not decompose.
_FOLD_EXTRA = {
    "Æ": "AE", "æ": "ae", "Ð": "D", "ð": "d", "Ø": "O", "ø": "o", "Þ": "TH", "þ": "th", "ß": "ss",
    "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "ĸ": "q", "Ŀ": "L", "ŀ": "l", "Ł": "L",
    "ł": "l", "Ŋ": "N", "ŋ": "n", "Œ": "OE", "œ": "oe", "Ŧ": "T", "ŧ": "t", "ƀ": "b", "Ɓ": "B",
    "Ƈ": "C", "ƈ": "c", "Ɖ": "D", "Ɗ": "D", "Ƒ": "F", "ƒ": "f", "Ɠ": "G", "Ɨ": "I", "Ƙ": "K",
    "ƙ": "k", "ƚ": "l", "Ɲ": "N", "ƞ": "n", "Ƥ": "P", "ƥ": "p", "ƫ": "t", "Ƭ": "T", "ƭ": "t",
    "Ʈ": "T", "Ʋ": "V", "Ƴ": "Y", "ƴ": "y", "Ƶ": "Z", "ƶ": "z", "ȡ": "d", "Ȥ": "Z", "ȥ": "z",
    "ȴ": "l", "ȵ": "n", "ȶ": "t", "ȷ": "j", "ȸ": "db", "ȹ": "qp", "Ⱥ": "A", "Ȼ": "C", "ȼ": "c",
    "Ƚ": "L", "Ⱦ": "T", "ȿ": "s", "ɀ": "z", "Ƀ": "B", "Ʉ": "U", "Ɇ": "E", "ɇ": "e", "Ɉ": "J",
    "ɉ": "j", "Ɍ": "R", "ɍ": "r", "Ɏ": "Y", "ɏ": "y", "ɓ": "b", "ɕ": "c", "ɖ": "d", "ɗ": "d",
    "ɟ": "j", "ɠ": "g", "ɡ": "g", "ɢ": "G", "ɦ": "h", "ɧ": "h", "ɨ": "i", "ɪ": "I", "ɫ": "l",
    "ɬ": "l", "ɭ": "l", "ɱ": "m", "ɲ": "n", "ɳ": "n", "ɴ": "N", "ɶ": "OE", "ɼ": "r", "ɽ": "r",
    "ɾ": "r", "ʀ": "R", "ʂ": "s", "ʈ": "t", "ʉ": "u", "ʋ": "v", "ʏ": "Y", "ʐ": "z", "ʑ": "z",
    "ʙ": "B", "ʛ": "G", "ʜ": "H", "ʝ": "j", "ʟ": "L", "ʠ": "q", "ʣ": "dz", "ʥ": "dz", "ʦ": "ts",
    "ʪ": "ls", "ʫ": "lz",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "‵": "'", "‹": "'", "›": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "‶": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "⁄": "/", "¡": "!", "¿": "?",
    "×": "x", "÷": "/",
}


def _fold_char(ch: str) -> str:
    if ch < "\x80":
        return ch
    extra = _FOLD_EXTRA.get(ch)
    if extra is not None:
        return extra
    decomposed = unicodedata.normalize("NFKD", ch)
    out = "".join(_FOLD_EXTRA.get(c, c) for c in decomposed if not unicodedata.combining(c))
    return out if out and out.isascii() and out.isprintable() else ch


_FOLD_CACHE: dict[str, str] = {}


def fold_to_ascii(term: str) -> str:
    if term.isascii():
        return term
    out = []
    for ch in term:
        folded = _FOLD_CACHE.get(ch)
        if folded is None:
            folded = _FOLD_CACHE[ch] = _fold_char(ch)
        out.append(folded)
    return "".join(out)


class ASCIIFoldingFilter(TokenFilter):
    """Lucene ``ASCIIFoldingFilter``: folded term first, then (``preserve_original``) the
    original stacked at the same position when it differs."""

    name = "asciifolding"

    def __init__(self, preserve_original: bool = False) -> None:
        self.preserve_original = preserve_original
        self.one_to_one = not preserve_original

    def apply(self, items: list[Item]) -> list[Item]:
        out: list[Item] = []
        for t, k in items:
            folded = fold_to_ascii(t)
            out.append((folded, k))
            if self.preserve_original and folded != t:
                out.append((t, k))
        return out
