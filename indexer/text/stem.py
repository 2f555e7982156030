"""Snowball stemming per language (PyStemmer, C speed) with a per-language word cache.

Why stemming and not lemmatisation: no model download is allowed at run time, Snowball covers
the languages pins come in, and matching only needs "sloth" and "sloths" to meet. Languages
without a Snowball stemmer (``zh``, ``ja``, ``ko``...) are left unstemmed (identity), which is the
right thing for scripts without inflectional suffixes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import Stemmer

from indexer.text.normalize import fold

__all__ = ["SNOWBALL_LANGUAGES", "stem_tokens", "stemmer_for"]

#: ISO 639-1 code -> Snowball algorithm name (PyStemmer).
SNOWBALL_LANGUAGES: dict[str, str] = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech",
    "da": "danish", "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian",
    "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
    "ne": "nepali", "no": "norwegian", "nb": "norwegian", "fa": "persian", "pl": "polish",
    "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish",
    "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}
_CACHE_LIMIT = 200_000


@lru_cache(maxsize=None)
def stemmer_for(lang: str | None) -> Callable[[Sequence[str]], list[str]]:
    """A function tokens -> accent-folded, then stemmed keys for ``lang`` (cached per word).

    Folding first means "jardinería" and "jardineria" (accents often dropped in pin text and
    queries) always get the same key; Snowball stems the folded form slightly less precisely
    than the accented one, a price worth paying for matching consistency."""
    algo = SNOWBALL_LANGUAGES.get((lang or "").lower())
    available = set(Stemmer.algorithms())
    stemmer = Stemmer.Stemmer(algo) if algo and algo in available else None
    cache: dict[str, str] = {}

    def run(tokens: Sequence[str]) -> list[str]:
        out: list[str] = []
        for t in tokens:
            s = cache.get(t)
            if s is None:
                f = fold(t)
                s = stemmer.stemWord(f) if stemmer is not None else f
                if len(cache) < _CACHE_LIMIT:
                    cache[t] = s
            out.append(s)
        return out

    return run


def stem_tokens(tokens: Sequence[str], lang: str | None) -> list[str]:
    """Stem ``tokens`` (already lower-cased by ``tokenize``) for ``lang``; identity if unknown."""
    return stemmer_for(lang)(tokens)
