"""Offsite keywords: each page's terms ranked by BM25 against the corpus of pages.

A term's weight in page *d* is Okapi BM25's per-term score, ``idf(t) * tf (k1 + 1) /
(tf + k1 (1 - b + b |d| / avgdl))`` with Lucene's ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``.
Boilerplate shared by every page of a site or of the web ("free shipping", "privacy policy",
"cookies") has a high document frequency and sinks; the article's own vocabulary rises. This is
rank-bm25's ``BM25Okapi`` score computed for all terms of a document at once from sparse counts,
which is what a keyword extractor needs (rank-bm25 scores queries, one term at a time).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

__all__ = ["BM25Keywords"]


class BM25Keywords:
    """Fit document frequencies on the page corpus, then give any page its top-k keywords."""

    def __init__(self, k1: float = 1.2, b: float = 0.75, top_k: int = 20) -> None:
        self.k1 = k1
        self.b = b
        self.top_k = top_k

    def fit(self, documents: Iterable[list[str]]) -> BM25Keywords:
        df: Counter[str] = Counter()
        n = total = 0
        for doc in documents:
            n += 1
            total += len(doc)
            df.update(set(doc))
        self.n_docs_ = n
        self.avgdl_ = total / n if n else 0.0
        self.idf_ = {t: math.log(1.0 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.default_idf_ = math.log(1.0 + (n + 0.5) / 0.5)
        return self

    def scores(self, doc: list[str]) -> dict[str, float]:
        """BM25 weight of every distinct term of ``doc``."""
        tf = Counter(doc)
        norm = self.k1 * (1 - self.b + self.b * len(doc) / (self.avgdl_ or 1.0))
        return {t: self.idf_.get(t, self.default_idf_) * f * (self.k1 + 1) / (f + norm)
                for t, f in tf.items()}

    def keywords(self, doc: list[str], k: int | None = None) -> list[tuple[str, float]]:
        """The ``k`` (default ``top_k``) highest-weighted terms, best first, ties by term."""
        s = self.scores(doc)
        return sorted(s.items(), key=lambda kv: (-kv[1], kv[0]))[: k or self.top_k]
