"""Offline language detection with py3langid (a naive-Bayes model shipped inside the package).

Behaviour, so callers can rely on it:

* The model is restricted to ``languages`` (default: every language we can stem,
  :data:`DETECTABLE`), which makes short text far more accurate than a 97-language model.
* **Short text** (fewer than ``min_chars`` letters, default 12, e.g. "yoga", "DIY"): the
  evidence is too thin, so the ``hint`` is returned (the pin's declared language, the board owner's
  language...) or ``default`` when there is no hint. No guess is made from two words.
* **Low confidence** (the top probability under ``min_confidence``, default 0.5), typical of
  **mixed-language** text: ``hint`` if given, else the model's top language. Mixed text is
  thus labelled with its dominant language; :func:`detect_language_scores` gives the full
  distribution for callers that want to treat it as several languages.
* Text without letters (emojis, numbers): ``hint`` or ``default``.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

__all__ = ["DETECTABLE", "detect_language", "detect_language_scores"]

#: Languages the detector may answer (ISO 639-1), those with a Snowball stemmer and in py3langid.
DETECTABLE: tuple[str, ...] = ("ar", "ca", "cs", "da", "de", "el", "en", "es", "et", "eu", "fa",
                               "fi", "fr", "ga", "hi", "hu", "hy", "id", "it", "lt", "ne", "nl",
                               "no", "pl", "pt", "ro", "ru", "sv", "ta", "tr")
_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]) -> LanguageIdentifier:
    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    known = set(ident.labels)
    ident.set_languages([lang for lang in languages if lang in known])
    return ident


def _letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


def detect_language_scores(text: str, languages: tuple[str, ...] = DETECTABLE
                           ) -> list[tuple[str, float]]:
    """Every language with its probability, best first (empty list for text without letters)."""
    if not text or _letters(text) == 0:
        return []
    with _LOCK:
        return [(lang, float(p)) for lang, p in _identifier(languages).rank(text)]


def detect_language(text: str, hint: str | None = None, default: str = "en", *,
                    min_chars: int = 12, min_confidence: float = 0.5,
                    languages: tuple[str, ...] = DETECTABLE) -> str:
    """The ISO 639-1 language of ``text``; see the module docstring for short and mixed text."""
    if not text or _letters(text) < min_chars:
        return hint or default
    with _LOCK:
        lang, conf = _identifier(languages).classify(text)
    if conf < min_confidence and hint:
        return hint
    return lang
