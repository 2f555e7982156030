"""Candidate interests for an item: lexical expansion against labels, then co-occurrence.

Scoring every (pin, interest) pair of a 700-interest taxonomy is wasteful, so the ranker only sees
candidates (at most ``max_candidates``, 200 by default):

1. **lexical**: the item's fields are stemmed (Snowball) and matched against every label variant:
   the full label and its parts split on ``&``, ``and``, ``,``, ``/`` ("Arts and Crafts" -> "arts",
   "crafts"). A variant matches when its stems appear in a field in any order (token reordering);
   partial coverage counts (IDF-weighted); a token one edit away from a label stem (typos such as
   "creatiov") matches through a symmetric-delete index. Translated labels are matched with the
   stemmer of their language.
2. **co-occurrence**: interests matched on pins saved to the same boards (BoardJoin), weighted by
   how many board-mates matched them, are added with their support as a feature.
3. **ancestors** of every candidate are added (the output includes them anyway, and the taxonomy
   features compare parents and children).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from indexer.interests.items import FIELDS, InterestItem, stems
from indexer.interests.taxonomy import Taxonomy

__all__ = ["CandidateGenerator", "LabelIndex", "LexicalMatch", "MAX_CANDIDATES"]

MAX_CANDIDATES = 200
_SPLIT = re.compile(r"\s*(?:&|,|/|;|\band\b|\bor\b)\s*", re.IGNORECASE)
_PART_WEIGHT = 0.8     # a part of a label ("Crafts" of "Arts and Crafts") says less than the label
_FUZZY_WEIGHT = 0.7    # a token one edit away says less than an exact stem
_MIN_FUZZY_LEN = 5


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


@dataclass
class LexicalMatch:
    """How well an item's fields match one interest's label variants (0..1 each)."""

    per_field: dict[str, float] = field(default_factory=dict)
    phrase: float = 0.0      # 1 when a variant's stems appear contiguously and in order
    full_label: float = 0.0  # best coverage of the full label (not only a part)
    fuzzy: float = 0.0       # 1 when the best match used an edit-distance token

    @property
    def best(self) -> float:
        return max(self.per_field.values(), default=0.0)


class LabelIndex:
    """Stemmed label variants of a taxonomy with an inverted index and a typo index."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        # variant: (node id, stems tuple, weight, is_full, lang)
        self.variants: list[tuple[int, tuple[str, ...], float, bool, str]] = []
        self.postings: dict[str, list[int]] = defaultdict(list)
        df: dict[str, int] = defaultdict(int)
        for node in taxonomy:
            labels = [("en", node.label)] + sorted(node.translations.items())
            for lang, label in labels:
                parts = [p for p in _SPLIT.split(label) if p.strip()]
                seen: set[tuple[str, ...]] = set()
                for text, weight, full in [(label, 1.0, True)] + \
                        ([(p, _PART_WEIGHT, False) for p in parts] if len(parts) > 1 else []):
                    st = tuple(stems(text, lang))
                    if not st or st in seen:
                        continue
                    seen.add(st)
                    vid = len(self.variants)
                    self.variants.append((node.id, st, weight, full, lang))
                    for s in set(st):
                        self.postings[s].append(vid)
                        df[s] += 1
        n = max(1, len(self.variants))
        self.idf = {s: math.log(1 + n / c) for s, c in df.items()}
        self.typo: dict[str, set[str]] = defaultdict(set)
        for s in self.postings:
            if len(s) >= _MIN_FUZZY_LEN - 1:
                for d in _deletes(s) | {s}:
                    self.typo[d].add(s)
        self._fuzzy_cache: dict[str, tuple[str, ...]] = {}

    def fuzzy(self, token: str) -> tuple[str, ...]:
        """Label stems within one edit (symmetric delete) of ``token``; empty for short tokens."""
        hit = self._fuzzy_cache.get(token)
        if hit is not None:
            return hit
        out: set[str] = set()
        if len(token) >= _MIN_FUZZY_LEN and token not in self.postings:
            for d in _deletes(token) | {token}:
                out |= self.typo.get(d, set())
            out = {o for o in out if abs(len(o) - len(token)) <= 1 and o[0] == token[0]}
        res = tuple(sorted(out))
        if len(self._fuzzy_cache) < 500_000:
            self._fuzzy_cache[token] = res
        return res

    def match(self, item: InterestItem) -> dict[int, LexicalMatch]:
        """Lexical matches of every field of ``item`` against all label variants."""
        out: dict[int, LexicalMatch] = {}
        langs = ["en"] + ([item.lang] if item.lang and item.lang != "en" else [])
        for fname in FIELDS:
            text = item.fields.get(fname, "")
            if not text:
                continue
            for lang in langs:
                toks = stems(text, lang)
                if not toks:
                    continue
                exact = set(toks)
                fuzzy_of: dict[str, str] = {}
                for t in exact:
                    if t not in self.postings:
                        for f in self.fuzzy(t):
                            fuzzy_of.setdefault(f, t)
                present = exact | set(fuzzy_of)
                vids: set[int] = set()
                for s in present:
                    vids.update(self.postings.get(s, ()))
                joined = " " + " ".join(toks) + " "
                for vid in vids:
                    nid, st, weight, full, vlang = self.variants[vid]
                    if vlang != lang and vlang != "en":
                        continue
                    tot = sum(self.idf[s] for s in st)
                    got = sum(self.idf[s] for s in st if s in present)
                    cov = got / tot if tot else 0.0
                    used_fuzzy = any(s in fuzzy_of and s not in exact for s in st)
                    score = cov * weight * (_FUZZY_WEIGHT if used_fuzzy else 1.0)
                    m = out.get(nid)
                    if m is None:
                        m = out[nid] = LexicalMatch()
                    if score > m.per_field.get(fname, 0.0):
                        m.per_field[fname] = score
                        if score >= m.best:
                            m.fuzzy = 1.0 if used_fuzzy else 0.0
                    if full and cov > m.full_label:
                        m.full_label = cov
                    if cov >= 1.0 and not used_fuzzy and (" " + " ".join(st) + " ") in joined:
                        m.phrase = 1.0
        return out


class CandidateGenerator:
    """Lexical candidates per item, expanded through board co-occurrence, capped at ``max_candidates``.

    Use :meth:`generate` for a batch (co-occurrence needs the batch's board membership) and
    :meth:`generate_one` for an instant item (lexical and ancestors only).
    """

    def __init__(self, index: LabelIndex, *, max_candidates: int = MAX_CANDIDATES,
                 min_coverage: float = 0.5, cooccur_top: int = 10, board_mates_cap: int = 50) -> None:
        self.index = index
        self.max_candidates = max_candidates
        self.min_coverage = min_coverage
        self.cooccur_top = cooccur_top
        self.board_mates_cap = board_mates_cap

    def lexical(self, item: InterestItem) -> dict[int, LexicalMatch]:
        return {n: m for n, m in self.index.match(item).items() if m.best >= self.min_coverage * 0.5}

    def generate_one(self, item: InterestItem, lexical: Mapping[int, LexicalMatch] | None = None,
                     extra: Mapping[int, float] | None = None) -> dict[int, float]:
        """Candidate ids -> prior (the ordering used for the cap) for one item."""
        lex = self.lexical(item) if lexical is None else lexical
        prior: dict[int, float] = {}
        for nid, m in lex.items():
            if m.best >= self.min_coverage:
                prior[nid] = m.best + m.phrase
        for nid, w in (extra or {}).items():
            prior[nid] = max(prior.get(nid, 0.0), w)
        return self._cap_with_ancestors(prior)

    def _cap_with_ancestors(self, prior: dict[int, float]) -> dict[int, float]:
        tax = self.index.taxonomy
        ranked = sorted(prior.items(), key=lambda kv: (-kv[1], kv[0]))
        out: dict[int, float] = {}
        for nid, p in ranked:
            chain = [n.id for n in tax.ancestors(nid, include_self=True)]
            new = [c for c in chain if c not in out]
            if len(out) + len(new) > self.max_candidates:
                break
            for c in new:
                out[c] = p if c == nid else max(out.get(c, 0.0), p * 0.5)
        return out

    def board_support(self, items: Sequence[InterestItem],
                      lexical: Sequence[Mapping[int, LexicalMatch]]) -> list[dict[int, float]]:
        """Per item: interest -> share of its board-mates whose text matched the interest."""
        members: dict[str, list[int]] = defaultdict(list)
        for i, it in enumerate(items):
            for b in it.board_ids:
                members[b].append(i)
        tops: list[list[int]] = []
        for lex in lexical:
            strong = sorted(((m.best + m.phrase, n) for n, m in lex.items()
                             if m.best >= self.min_coverage), reverse=True)
            tops.append([n for _, n in strong[: self.cooccur_top]])
        out: list[dict[int, float]] = []
        for i, it in enumerate(items):
            mates: list[int] = []
            seen = {i}
            for b in it.board_ids:
                for j in members[b]:
                    if j not in seen:
                        seen.add(j)
                        mates.append(j)
                        if len(mates) >= self.board_mates_cap:
                            break
            counts: dict[int, float] = defaultdict(float)
            for j in mates:
                for n in tops[j]:
                    counts[n] += 1.0
            out.append({n: c / len(mates) for n, c in counts.items()} if mates else {})
        return out

    def generate(self, items: Sequence[InterestItem],
                 extra: Sequence[Mapping[int, float]] | None = None,
                 ) -> tuple[list[dict[int, float]], list[dict[int, LexicalMatch]], list[dict[int, float]]]:
        """Candidates (id -> prior), lexical matches and board support for every item of a batch."""
        lexical = [self.lexical(it) for it in items]
        support = self.board_support(items, lexical)
        cands: list[dict[int, float]] = []
        for k, (it, lex, sup) in enumerate(zip(items, lexical, support)):
            more = {n: 0.5 * s for n, s in sorted(sup.items(), key=lambda kv: -kv[1])[: self.cooccur_top]
                    if s >= 0.2}
            for n, w in (extra[k] if extra else {}).items():
                more[n] = max(more.get(n, 0.0), w)
            cands.append(self.generate_one(it, lex, more))
        return cands, lexical, support
