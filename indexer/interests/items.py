"""What Pin2Interest classifies: a small text item with named fields.

Pins, new pins, queries and the labelled questions of ``pinsearch eval interests`` all become an
:class:`InterestItem`, so one code path (candidates -> features -> ranker -> roll-up) serves batch
classification, the instant path for one pin and Q2I.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import Stemmer

__all__ = ["FIELDS", "InterestItem", "item_from_pin", "stems", "surface_tokens"]

#: Text fields of an item, in the order features use them.
FIELDS: tuple[str, ...] = ("title", "description", "boards", "annotations")

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
_STOP = frozenset("a an and are as at be but by for if in into is it no not of on or such that the "
                  "their then there these they this to was will with".split())


@dataclass(frozen=True)
class InterestItem:
    """One thing to classify. ``board_ids`` link items for co-occurrence expansion."""

    id: str
    fields: Mapping[str, str]
    lang: str | None = None
    popularity: float = 0.0
    board_ids: tuple[str, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)

    def text(self) -> str:
        return " . ".join(self.fields.get(f, "") for f in FIELDS if self.fields.get(f))


def item_from_pin(pin: object, board_names: Mapping[str, str]) -> InterestItem:
    """An item from an ``indexer.corpus.records.Pin`` and a board id -> name mapping."""
    boards = tuple(getattr(pin, "board_ids", ()) or ())
    return InterestItem(
        id=str(getattr(pin, "id")),
        fields={
            "title": getattr(pin, "title", "") or "",
            "description": getattr(pin, "description", "") or "",
            "boards": " . ".join(board_names.get(b, "") for b in boards if board_names.get(b)),
            "annotations": " . ".join(getattr(pin, "image_annotations", ()) or ()),
        },
        lang=getattr(pin, "lang", None),
        popularity=float(getattr(pin, "repin_count", 0) or 0),
        board_ids=boards,
    )


def _fold(text: str) -> str:
    if text.isascii():  # fast path, same result: NFKD leaves ASCII alone and it has no combining marks
        return text.casefold()
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


def surface_tokens(text: str) -> list[str]:
    """Lower-cased, accent-folded word tokens (no stemming, stop words kept)."""
    return _WORD.findall(_fold(text))


_SNOWBALL = {"en": "english", "es": "spanish", "fr": "french", "de": "german", "pt": "portuguese",
             "it": "italian", "nl": "dutch", "sv": "swedish", "da": "danish", "no": "norwegian",
             "fi": "finnish", "ru": "russian", "ro": "romanian", "hu": "hungarian", "tr": "turkish"}


@lru_cache(maxsize=32)
def _stemmer(lang: str) -> "Stemmer.Stemmer":
    return Stemmer.Stemmer(_SNOWBALL.get(lang, "english"))


def stems(text: str, lang: str | None = "en") -> list[str]:
    """Snowball stems of the non-stop-word tokens: the unit labels and pin text are matched on.

    Interest labels are English, and multilingual pins mix English phrases into their text, so
    matching against English labels always uses the English stemmer; translated labels use their
    language's stemmer (``lang``).
    """
    toks = [t for t in surface_tokens(text) if t not in _STOP]
    return _stemmer(lang or "en").stemWords(toks)
