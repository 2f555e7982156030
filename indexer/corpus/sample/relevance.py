"""True relevance, the quantity logs and judgements are sampled from.

Search: a pin is perfect (3) for a query when it belongs to the query's interest and contains all
its words, good (2) when it belongs to the interest or matches all words within the same tier-1,
fair (1) on a partial word match or a sibling interest, else 0. Related Pins: 3 when the two pins
share a board and a primary interest, 2 for either, 1 for any shared or neighbouring interest.
Relevance ignores language on purpose: it is about the concept, the ranker handles language.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.corpus.sample.pins import PinTable
from indexer.corpus.sample.vocab import Vocabulary

__all__ = ["Query", "pin_words", "related_relevance", "search_relevance"]


@dataclass(frozen=True)
class Query:
    text: str
    lang: str
    interest: int
    phrase: int
    words: frozenset[int]
    weight: float


def pin_words(vocab: Vocabulary, table: PinTable, pin: int) -> set[int]:
    out: set[int] = set()
    for p in table.phrases[pin]:
        if p < 0:
            break
        out |= vocab.phrase_words[int(p)]
    return out


def search_relevance(vocab: Vocabulary, table: PinTable, q: Query, pin: int) -> int:
    primary, secondary = int(table.primary[pin]), int(table.secondary[pin])
    words = pin_words(vocab, table, pin)
    overlap = len(q.words & words) / len(q.words)
    if q.interest in (primary, secondary):
        return 3 if overlap >= 1.0 else 2
    qi, pi = vocab.interests[q.interest], vocab.interests[primary]
    if overlap >= 1.0:
        return 2 if qi.tier1 == pi.tier1 else 1
    if overlap >= 0.5 or (qi.parent >= 0 and qi.parent == pi.parent):
        return 1
    return 0


def related_relevance(vocab: Vocabulary, table: PinTable, query_pin: int, pin: int) -> int:
    qp, qs = int(table.primary[query_pin]), int(table.secondary[query_pin])
    cp, cs = int(table.primary[pin]), int(table.secondary[pin])
    share_board = bool(np.intersect1d(table.boards_of(query_pin), table.boards_of(pin),
                                      assume_unique=True).size)
    same = qp == cp
    if share_board and same:
        return 3
    if share_board or same:
        return 2
    q_set = {qp, qs} - {-1}
    c_set = {cp, cs} - {-1}
    qi, ci = vocab.interests[qp], vocab.interests[cp]
    if q_set & c_set or (qi.parent >= 0 and qi.parent == ci.parent):
        return 1
    return 0
