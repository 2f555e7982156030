"""Features of a (pin, candidate term) pair, comparable across languages and pin popularity.

Every feature is a float; ``NaN`` means "unknown" (no page, no vectors, term never on a board),
which HistGradientBoosting handles natively and the logistic regression imputes. Names, in order,
are :data:`FEATURE_NAMES`:

* ``tf`` log(1 + occurrences over all sources); ``idf`` log((N+1)/(df+1)) divided by log(N+1),
  so it lies in [0, 1] whatever the size of the language's corpus; ``tfidf`` their product and
  ``tfidf_rel`` that divided by the pin's best (so long and short pins compare);
* ``src_<source>`` 0/1 per source (title, description, board, board_desc, page_title, page_desc,
  query, image) and ``n_sources``; ``title_pos`` relative position of the first title match;
* ``n_tokens`` words in the term; ``subsumed`` 1 if a longer candidate of the pin contains it;
  ``n_contained`` how many shorter candidates it contains;
* ``category_entropy`` (dictionary metadata: spread over boards; high = generic);
  ``search_freq`` log(1 + query-log frequency) / log(1 + the language's maximum);
  ``dict_board``, ``dict_query`` log(1 + boards / queries that named the term);
* ``emb_sim`` cosine between the mean word vector of the pin's text and the term's (word2vec
  trained with gensim on the corpus itself; nothing downloaded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from indexer.annotations.candidates import Candidate
from indexer.annotations.dictionary import Dictionary
from indexer.annotations.sources import SOURCES, PinText

__all__ = ["FEATURE_NAMES", "FeatureContext", "featurize", "train_word_vectors"]

FEATURE_NAMES: tuple[str, ...] = (
    "tf", "idf", "tfidf", "tfidf_rel", *(f"src_{s}" for s in SOURCES), "n_sources", "title_pos",
    "n_tokens", "subsumed", "n_contained", "category_entropy", "search_freq", "dict_board",
    "dict_query", "emb_sim",
)
_NAN = float("nan")


@dataclass
class FeatureContext:
    """What features need beyond the pin: corpus sizes per language and word vectors."""

    n_pins: dict[str, int]
    max_search: dict[str, int]
    vocab: dict[str, int] = field(default_factory=dict)   # "lang:key" -> row
    vectors: np.ndarray | None = None                     # unit rows, float32
    term_vectors: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_dictionary(cls, dictionary: Dictionary, vectors: tuple[dict[str, int], np.ndarray]
                        | None = None) -> "FeatureContext":
        built = dictionary.built_from.get("pins_per_lang", {})
        n_pins = {lang: int(built.get(lang, 0)) for lang in dictionary.languages()}
        max_search: dict[str, int] = {}
        for e in dictionary:
            max_search[e.lang] = max(max_search.get(e.lang, 0), e.search_freq)
        ctx = cls(n_pins=n_pins, max_search=max_search)
        if vectors is not None:
            ctx.vocab, ctx.vectors = vectors
            for e in dictionary:
                if e.canonical_id is None:
                    v = ctx.text_vector(e.key.split(" "), e.lang)
                    if v is not None:
                        ctx.term_vectors[e.id] = v
        return ctx

    def static(self, dictionary: Dictionary, entry_id: str) -> tuple[float, ...]:
        """Per-term features that do not depend on the pin (cached): idf, n_tokens,
        category_entropy, search_freq, dict_board, dict_query."""
        cache = self.__dict__.setdefault("_static", {})
        got = cache.get(entry_id)
        if got is None:
            e = dictionary.entries[entry_id]
            n = self.n_pins.get(e.lang, 0)
            idf = math.log((n + 1) / (e.df + 1)) / math.log(n + 2) if n else _NAN
            ms = self.max_search.get(e.lang, 0)
            got = cache[entry_id] = (
                idf, float(e.n_tokens),
                e.category_entropy if e.category_entropy is not None else _NAN,
                math.log1p(e.search_freq) / math.log1p(ms) if ms else 0.0,
                math.log1p(e.sources.get("board", 0)), math.log1p(e.sources.get("query", 0)))
        return got

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_static", None)
        return state

    def text_vector(self, keys: list[str], lang: str) -> np.ndarray | None:
        if self.vectors is None:
            return None
        rows = [self.vocab[k] for k in (f"{lang}:{t}" for t in keys) if k in self.vocab]
        if not rows:
            return None
        v = self.vectors[rows].mean(axis=0)
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 0 else None


def train_word_vectors(texts: list[tuple[str, list[str]]], *, dim: int = 48, epochs: int = 8,
                       seed: int = 0, min_count: int = 2) -> tuple[dict[str, int], np.ndarray]:
    """word2vec (gensim skip-gram, one worker = deterministic) over ``(lang, keys)`` sentences;
    tokens are prefixed with their language so "pain" (fr) and "pain" (en) stay apart."""
    from gensim.models import Word2Vec

    sentences = [[f"{lang}:{k}" for k in keys] for lang, keys in texts if keys]
    model = Word2Vec(sentences, vector_size=dim, window=5, min_count=min_count, sg=1,
                     negative=5, epochs=epochs, seed=seed, workers=1)
    vocab = {w: i for i, w in enumerate(model.wv.index_to_key)}
    vecs = model.wv.vectors.astype(np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vocab, vecs / np.maximum(norms, 1e-9)


def featurize(text: PinText, cands: dict[str, Candidate], dictionary: Dictionary,
              ctx: FeatureContext) -> tuple[list[str], np.ndarray]:
    """``(entry ids, matrix [n_candidates, len(FEATURE_NAMES)])`` for one pin."""
    ids = list(cands)
    X = np.full((len(ids), len(FEATURE_NAMES)), np.nan, dtype=np.float64)
    if not ids:
        return ids, X
    pin_vec = None
    if ctx.vectors is not None:
        pin_vec = ctx.text_vector(text.keys, text.lang)
    keys = [dictionary.entries[i].key for i in ids]
    key_set = set(keys)
    contained_in: dict[str, int] = {}
    k = 4 + len(SOURCES)
    src_col = {src: 4 + j for j, src in enumerate(SOURCES)}
    X[:, 4:k] = 0.0
    for row, (cid, key) in enumerate(zip(ids, keys)):
        c = cands[cid]
        f = X[row]
        f[1], f[k + 2], f[k + 5], f[k + 6], f[k + 7], f[k + 8] = ctx.static(dictionary, cid)
        f[0] = math.log1p(c.tf)
        for src in c.counts:
            f[src_col[src]] = 1.0
        f[k] = float(len(c.counts))
        if c.title_pos is not None:
            f[k + 1] = c.title_pos
        parts = key.split(" ")
        n = len(parts)
        inner = 0
        if n > 1:  # sub-phrases of this key that are candidates too (linear, not pairwise)
            for a in range(n):
                for b in range(a + 1, n + 1):
                    if b - a < n:
                        sub = " ".join(parts[a:b])
                        if sub in key_set:
                            inner += 1
                            contained_in[sub] = 1
        f[k + 4] = float(inner)
        if pin_vec is not None:
            tv = ctx.term_vectors.get(cid)
            if tv is not None:
                f[k + 9] = float(pin_vec @ tv)
    X[:, k + 3] = [float(key in contained_in) for key in keys]
    X[:, 2] = X[:, 0] * X[:, 1]
    tfidf = X[:, 2]
    best = np.nanmax(tfidf) if np.isfinite(tfidf).any() else _NAN
    X[:, 3] = tfidf / best if best and best == best else _NAN
    return ids, X
