"""Training triplets from COEC, as in the Related Pins paper (Liu et al. 2017, section 4.2).

Per query the impressed pins are ordered by COEC; (query, best, worst) pairs a clearly engaging pin
with a clearly ignored one, and (query, worst, random) teaches that even an ignored candidate the
old ranker chose beats a random pin of the corpus. Each triplet becomes two one-pair groups for
RankSVM, so no preference is ever drawn across queries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Hashable, Mapping, Sequence

from ranking.ltr.clicks import PairStats


@dataclass(frozen=True, slots=True)
class Triplet:
    query: Hashable
    best: str
    worst: str
    random: str


def build_triplets(stats: Mapping[Hashable, Mapping[str, PairStats]], corpus_pins: Sequence[str], *,
                   min_impressions: int = 2, per_query: int = 10, min_gap: float = 0.5,
                   seed: int = 0) -> list[Triplet]:
    """Up to ``per_query`` triplets per query; best has clicks and COEC at least ``min_gap`` above worst."""
    rng = random.Random(seed)
    out: list[Triplet] = []
    for query in sorted(stats, key=str):
        pins = [(pin, s) for pin, s in stats[query].items() if s.impressions >= min_impressions]
        if len(pins) < 2:
            continue
        pins.sort(key=lambda item: (-item[1].coec, item[0]))
        third = max(1, len(pins) // 3)
        best = [p for p, s in pins[:third] if s.clicks > 0]
        worst = [p for p, s in pins[-third:]]
        if not best:
            continue
        coec = {p: s.coec for p, s in pins}
        # never draw a shown pin as "random", nor the query itself (a Related Pins key is a pin id)
        shown = set(stats[query]) | {str(query)}
        candidates = [(b, w) for b in best for w in worst if b != w and coec[b] - coec[w] >= min_gap]
        rng.shuffle(candidates)
        for b, w in candidates[:per_query]:
            r = rng.choice(corpus_pins)
            tries = 0
            while r in shown and tries < 20:
                r, tries = rng.choice(corpus_pins), tries + 1
            out.append(Triplet(query, b, w, r))
    return out
