"""Candidate extraction: every dictionary term found in a pin's text, per source.

Aho-Corasick (pyahocorasick, one automaton per language) over the space-joined stemmed keys,
with spaces around every pattern so only whole words match. Misspelled tokens are corrected
with the dictionary's spelling map first, and alias entries resolve to their canonical term, so
"Sloth", "sloths" and "slohts" all give ``en_sloth``. Cost is linear in the text length.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate
from dataclasses import dataclass, field

import ahocorasick

from indexer.annotations.dictionary import Dictionary
from indexer.annotations.sources import PinText
from indexer.text import analyze

__all__ = ["Candidate", "Matcher"]


@dataclass
class Candidate:
    """A term found in a pin: occurrences per source and first position in the title."""

    entry_id: str
    counts: dict[str, int] = field(default_factory=dict)
    title_pos: float | None = None  # relative token position of the first title match

    @property
    def tf(self) -> int:
        return sum(self.counts.values())


class Matcher:
    """Finds dictionary terms in text; picklable (joblib workers get a copy)."""

    def __init__(self, dictionary: Dictionary) -> None:
        self.spelling = dictionary.spelling
        self.automata: dict[str, ahocorasick.Automaton] = {}
        by_lang: dict[str, list[tuple[str, str]]] = {}
        for entry in dictionary:
            canon = dictionary.canonical(entry)
            by_lang.setdefault(entry.lang, []).append((entry.key, canon.id))
        for lang, items in by_lang.items():
            auto = ahocorasick.Automaton()
            for key, canon_id in items:
                auto.add_word(f" {key} ", (canon_id, key.count(" ") + 1))
            auto.make_automaton()
            self.automata[lang] = auto

    def match_keys(self, keys: list[str], lang: str) -> list[tuple[str, int, int]]:
        """``(canonical id, start token, end token)`` of every term in ``keys``."""
        auto = self.automata.get(lang)
        if auto is None or not keys:
            return []
        fix = self.spelling.get(lang)
        if fix:
            keys = [fix.get(k, k) for k in keys]
        hay = " " + " ".join(keys) + " "
        out = []
        spaces: list[int] | None = None
        for end_char, (cid, n) in auto.iter(hay):
            if spaces is None:  # char offset of the space before each token, and the last one
                spaces = list(accumulate((len(k) + 1 for k in keys), initial=0))
            end_tok = bisect_left(spaces, end_char)  # index of the match's trailing space
            out.append((cid, end_tok - n, end_tok))
        return out

    def candidates(self, text: PinText) -> dict[str, Candidate]:
        """Candidates of a pin from all its sources (image labels matched in English too)."""
        found: dict[str, Candidate] = {}
        text.keys.clear()
        for source, texts in text.texts.items():
            for s in texts:
                langs = (text.lang,) if source != "image" or text.lang == "en" else \
                    (text.lang, "en")
                for lang in langs:
                    a = analyze(s, lang)
                    if lang == text.lang and source in ("title", "description", "board"):
                        text.keys.extend(a.keys)
                    n = max(1, len(a.keys))
                    for cid, start, _end in self.match_keys(a.keys, lang):
                        c = found.get(cid)
                        if c is None:
                            c = found[cid] = Candidate(cid)
                        c.counts[source] = c.counts.get(source, 0) + 1
                        if source == "title" and c.title_pos is None:
                            c.title_pos = start / n
        return found
