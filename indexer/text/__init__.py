"""Text processing shared by annotations, interests and cohesion.

The whole API (everything else is internal):

* :func:`tokenize` ``(text) -> list[str]``: lower-cased word tokens, accents kept, punctuation,
  emojis and ``#`` dropped.
* :func:`normalize` ``(text) -> str``: the tokens joined by single spaces.
* :func:`strip_accents` ``(text) -> str``.
* :func:`detect_language` ``(text, hint=None, default="en") -> str``: offline (py3langid);
  short text returns ``hint or default``, low-confidence (mixed) text ``hint`` or the dominant
  language. :func:`detect_language_scores` gives the distribution.
* :func:`stem_tokens` ``(tokens, lang) -> list[str]``: Snowball (PyStemmer) for the
  :data:`SNOWBALL_LANGUAGES` (30+), accent-folded; identity for other languages.
* :func:`analyze` ``(text, lang) -> Analyzed``: surface tokens and their keys (stemmed, folded)
  -- the form dictionary matching uses.
* :func:`ngrams` / :func:`ngram_spans`: 1-6-gram windows.
* :data:`STOPWORDS`, :func:`stopwords_for`, :data:`GENERIC_WORDS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.text.langdetect import DETECTABLE, detect_language, detect_language_scores
from indexer.text.ngrams import MAX_N, ngram_spans, ngrams
from indexer.text.normalize import fold, normalize, strip_accents, tokenize
from indexer.text.stem import SNOWBALL_LANGUAGES, stem_tokens, stemmer_for
from indexer.text.stopwords import GENERIC_WORDS, STOPWORDS, is_stopword, stopwords_for

__all__ = [
    "DETECTABLE", "GENERIC_WORDS", "MAX_N", "SNOWBALL_LANGUAGES", "STOPWORDS", "Analyzed",
    "analyze", "detect_language", "detect_language_scores", "fold", "is_stopword", "ngram_spans",
    "ngrams", "normalize", "stem_tokens", "stemmer_for", "stopwords_for", "strip_accents",
    "tokenize",
]


@dataclass(frozen=True, slots=True)
class Analyzed:
    """``tokens[i]`` is the lower-cased surface word, ``keys[i]`` its stemmed, folded key."""

    tokens: list[str]
    keys: list[str]

    def key_text(self) -> str:
        return " ".join(self.keys)


def analyze(text: str, lang: str | None) -> Analyzed:
    """Tokenise and stem ``text`` in ``lang``: the form every phrase comparison uses."""
    tokens = tokenize(text)
    return Analyzed(tokens, stem_tokens(tokens, lang))
