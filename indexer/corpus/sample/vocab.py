"""Per-interest vocabularies built from the real IAB taxonomy.

Every interest gets phrases (1-4 English words) from its own label ("vegan diets"), its parent's
label, and combinations with the seed words of its tier-1 category ("easy vegan diets",
"vegan diets recipes"). Those phrases are the ground-truth keyphrases of the pins written from
them, so annotation extraction and Pin2Interest can be scored against what was planted. Phrases
are translated word by word through the lexicon; unknown words stay English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from indexer.corpus.sample.lexicon import LANGS, LEXICON, STOPWORDS, TIER1
from indexer.corpus.sample.rng import np_stream, stream
from indexer.interests.taxonomy import Taxonomy

__all__ = ["Interest", "Vocabulary", "build_vocabulary"]

_PAREN = re.compile(r"\([^)]*\)")
_SPLIT = re.compile(r"\s*(?:,|&|/|\band\b)\s*", re.IGNORECASE)


@dataclass
class Interest:
    """One interest of the sample world (dense ``index`` into :attr:`Vocabulary.interests`)."""

    index: int
    id: int
    label: str
    level: int
    tier1: int
    parent: int  # taxonomy id of the parent node (-1 for a root); siblings share it
    weight: float
    phrases: list[int]
    phrase_weights: list[float]
    label_phrases: list[int]
    nouns: tuple[str, ...]
    mods: tuple[str, ...]
    ancestor_ids: tuple[int, ...]
    centroid: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    cum_weights: list[float] = field(repr=False, default_factory=list)


@dataclass
class Vocabulary:
    """Phrases (tuples of English words), their translations, and the interests using them."""

    phrases: list[tuple[str, ...]]
    phrase_words: list[frozenset[int]]
    words: list[str]
    interests: list[Interest]
    by_id: dict[int, int]
    tier1_labels: list[str]
    tier1_weights: list[float]
    interest_cum_weights: list[float]
    text: dict[str, list[str]]
    _siblings: dict[int, list[int]] = field(default_factory=dict, repr=False)

    def phrase_text(self, pid: int, lang: str) -> str:
        return self.text[lang][pid]

    def siblings(self, index: int) -> list[int]:
        """Other interests with the same parent (cached: called once per pin)."""
        if not self._siblings:
            by_parent: dict[int, list[int]] = {}
            for it in self.interests:
                by_parent.setdefault(it.parent, []).append(it.index)
            self._siblings = {it.index: [j for j in by_parent[it.parent] if j != it.index]
                              for it in self.interests}
        return self._siblings[index]


def _label_parts(label: str) -> list[str]:
    """The label as a phrase (stop words dropped) and, for compound labels, each part."""
    clean = _PAREN.sub(" ", label).lower()
    parts = [p.strip(" -.") for p in _SPLIT.split(clean)]
    if len(parts) > 1:
        parts.insert(0, " ".join(parts))
    out: list[str] = []
    for p in parts:
        words = [w for w in p.split() if w not in STOPWORDS]
        if words:
            text = " ".join(words[:4])
            if text not in out:
                out.append(text)
    return out


def translate_words(words: tuple[str, ...], lang: str) -> str:
    if lang == "en":
        return " ".join(words)
    return " ".join(LEXICON.get(w, {}).get(lang, w) for w in words)


def build_vocabulary(taxonomy: Taxonomy, seed: int, embedding_dim: int) -> Vocabulary:
    """Interests of all weighted tier-1 categories with their phrases and image centroids."""
    phrases: list[tuple[str, ...]] = []
    index: dict[tuple[str, ...], int] = {}
    words: list[str] = []
    word_index: dict[str, int] = {}

    def pid(text: str) -> int:
        key = tuple(text.split())
        got = index.get(key)
        if got is None:
            got = index[key] = len(phrases)
            phrases.append(key)
            for w in key:
                if w not in word_index:
                    word_index[w] = len(words)
                    words.append(w)
        return got

    roots = [r for r in taxonomy.roots() if TIER1.get(r.label) is not None]
    tier1_labels = [r.label for r in roots]
    tier1_weights = [TIER1[r.label].weight for r in roots]
    total_t1 = sum(tier1_weights)
    gen = np_stream(seed, "vocab", "centroids")
    t1_centroids = gen.standard_normal((len(roots), embedding_dim))
    interests: list[Interest] = []
    for t1_index, root in enumerate(roots):
        seeds = TIER1[root.label]
        nodes = taxonomy.descendants(root.id) or [root]
        rng = stream(seed, "vocab", "tier1", root.id)
        ranks = list(range(1, len(nodes) + 1))
        rng.shuffle(ranks)
        raw = [1.0 / r ** 0.6 for r in ranks]
        norm = sum(raw)
        for node, w in zip(nodes, raw):
            r = stream(seed, "vocab", "interest", node.id)
            own = _label_parts(node.label)
            parent = taxonomy.parent(node.id)
            parent_parts = (_label_parts(parent.label)
                            if parent is not None and parent.level > 1 else [])
            nouns = tuple(r.sample(seeds.nouns, min(6, len(seeds.nouns))))
            adjs = r.sample(seeds.adjs, min(3, len(seeds.adjs)))
            mods = tuple(r.sample(seeds.mods, min(2, len(seeds.mods))))
            plist: list[tuple[int, float]] = []

            def add(text: str, weight: float) -> None:
                toks = text.split()
                if len(toks) > 4 or len(set(toks)) < len(toks):
                    return
                p = pid(text)
                if all(p != q for q, _ in plist):
                    plist.append((p, weight))

            for part in own:
                add(part, 3.0)
            for part in own:
                head = part
                add(f"{adjs[0]} {head}", 1.5)
                add(f"{head} {mods[0]}", 1.5)
                add(f"{head} {nouns[0]}", 1.0)
                if len(part.split()) == 1:
                    add(f"{adjs[1]} {head} {nouns[1]}", 1.0)
            for part in parent_parts:
                add(part, 0.5)
            for k in range(2):
                add(f"{adjs[(k + 1) % len(adjs)]} {nouns[k + 2]}", 0.8)
            add(f"{nouns[4]} {mods[-1]}", 0.6)
            label_phrases = [p for p, _ in plist[: len(own)]]
            idx = len(interests)
            interests.append(Interest(
                index=idx, id=node.id, label=node.label, level=node.level, tier1=t1_index,
                parent=-1, weight=(tier1_weights[t1_index] / total_t1) * (w / norm),
                phrases=[p for p, _ in plist], phrase_weights=[x for _, x in plist],
                label_phrases=label_phrases, nouns=nouns + tuple(
                    w2 for part in own for w2 in part.split()), mods=mods,
                ancestor_ids=tuple(a.id for a in taxonomy.ancestors(node.id))))
            c = t1_centroids[t1_index] + 0.9 * np_stream(seed, "vocab", "c", node.id
                                                          ).standard_normal(embedding_dim)
            interests[idx].centroid = (c / np.linalg.norm(c)).astype(np.float64)
    by_id = {i.id: i.index for i in interests}
    for it in interests:
        node = taxonomy[it.id]
        it.parent = node.parent_id if node.parent_id is not None else -1
        acc, cum = 0.0, []
        for x in it.phrase_weights:
            acc += x
            cum.append(acc)
        it.cum_weights = cum
    acc, cum_i = 0.0, []
    for it in interests:
        acc += it.weight
        cum_i.append(acc)
    phrase_words = [frozenset(word_index[w] for w in p) for p in phrases]
    text = {lang: [translate_words(p, lang) for p in phrases] for lang in LANGS}
    return Vocabulary(phrases=phrases, phrase_words=phrase_words, words=words,
                      interests=interests, by_id=by_id, tier1_labels=tier1_labels,
                      tier1_weights=[w / total_t1 for w in tier1_weights],
                      interest_cum_weights=cum_i, text=text)
