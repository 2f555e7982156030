"""Tokenisation shared by cohesion: lower-cased ``\\w+`` words, digits and 1-letter tokens dropped.

No stemming: the word space and BM25 both see surface forms in every language the same way, and
the embedding trained on the corpus brings inflections together.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def tokens(text: str | None) -> list[str]:
    return [t.lower() for t in _WORD.findall(text or "")]
