"""Language of a page: declared (``<html lang>``, ``og:locale``, ``Content-Language``) or detected.

Detection is a stop-word vote, which is enough to tell the languages pinsearch analyses apart on a
paragraph of text and needs no model download. Declared languages win when they are ISO 639-1.
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["detect_language", "normalise_lang"]

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(["the", "and", "of", "to", "in", "is", "that", "for", "it", "with", "as", "was", "on", "are", "this", "you", "be", "at", "by", "have", "from", "or", "your", "we", "our", "an", "not", "but", "can", "all", "more"]),
    "es": frozenset(["el", "la", "de", "que", "y", "en", "los", "del", "se", "las", "por", "un", "una", "para", "con", "no", "es", "su", "al", "lo", "como", "más", "pero", "sus", "le", "ya", "este", "esto", "tu", "nuestro"]),
    "fr": frozenset(["le", "la", "les", "de", "des", "et", "est", "un", "une", "du", "en", "que", "qui", "dans", "pour", "pas", "sur", "au", "avec", "ce", "vous", "nous", "cet", "cette", "sont", "plus"]),
    "de": frozenset(["der", "die", "das", "und", "ist", "nicht", "ein", "eine", "zu", "den", "von", "mit", "sich", "des", "auf", "für", "im", "dem", "auch", "es", "an", "wir", "du", "ich", "wie", "hier"]),
    "pt": frozenset(["o", "a", "os", "as", "de", "do", "da", "dos", "das", "e", "em", "um", "uma", "para", "com", "não", "que", "se", "por", "mais", "seu", "sua", "no", "na", "isto", "você", "nós", "está"]),
    "it": frozenset(["il", "lo", "la", "gli", "le", "di", "e", "che", "un", "una", "per", "con", "non", "del", "della", "in", "sono", "si", "anche", "ma", "questo", "come", "più"]),
    "nl": frozenset(["de", "het", "een", "en", "van", "in", "is", "dat", "op", "te", "voor", "met", "zijn", "niet", "aan", "er", "ook", "als", "bij", "maar", "wij", "jij"]),
}
_WORD = re.compile(r"\w+", re.UNICODE)
_LANG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*$")


def normalise_lang(value: str | None) -> str | None:
    """``"en-US"`` / ``"en_GB"`` / ``"EN"`` -> ``"en"``; anything else -> None."""
    if not value:
        return None
    m = _LANG.match(value.split(",")[0])
    if not m or len(m.group(1)) != 2:
        return None
    return m.group(1).lower()


def detect_language(text: str, max_words: int = 2000, min_hits: int = 3) -> str | None:
    """The language whose stop words are most frequent in ``text``, or None when unsure."""
    votes: Counter[str] = Counter()
    for i, m in enumerate(_WORD.finditer(text.lower())):
        if i >= max_words:
            break
        w = m.group(0)
        for lang, words in _STOPWORDS.items():
            if w in words:
                votes[lang] += 1
    if not votes:
        return None
    (best, n), *rest = votes.most_common(2) + [("", 0)]
    if n < min_hits or (rest and rest[0][1] * 1.2 >= n and rest[0][1] > 0 and n < 2 * min_hits):
        return best if n >= min_hits else None
    return best
