"""Normalisation and tokenisation: the one place that decides what a "word" is.

Why here: annotations, interests and cohesion must cut text the same way, or a phrase found in a
title would not match the same phrase in the dictionary. Rules:

* Unicode NFKC, then lower case (``casefold``; German ß becomes ss).
* Words are runs of letters and digits (``\\w`` minus ``_``); apostrophes inside a word are
  dropped (``women's`` -> ``womens``), every other punctuation mark, emoji or symbol separates
  words. Hashtags lose the ``#`` (``#vegandinner`` -> ``vegandinner``).
* Accents are removed by :func:`strip_accents` (NFKD, combining marks dropped) BEFORE stemming
  (``stem.py``), so accented and unaccented spellings of a word always share a key.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "normalize", "strip_accents", "tokenize"]

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_APOS = re.compile(r"['’]")
_ASCII = re.compile(r"^[\x00-\x7f]*$")


def strip_accents(text: str) -> str:
    """``"café crème"`` -> ``"cafe creme"``; ASCII input is returned as is (fast path)."""
    if _ASCII.match(text):
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize(text: str) -> str:
    """Lower-cased, NFKC text with words separated by single spaces (accents kept)."""
    return " ".join(tokenize(text))


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens, accents kept, punctuation and symbols dropped."""
    if not text:
        return []
    if not _ASCII.match(text):
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    words = _WORD.findall(text)
    if "'" in text or "’" in text:
        return [_APOS.sub("", m) for m in words]
    return words


def fold(token: str) -> str:
    """A token as stored in keys: accents stripped (already lower case)."""
    return strip_accents(token)
