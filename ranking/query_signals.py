"""Query understanding for ranking features: Q2I interests (and annotations once available) for a query.

Uses the models the indexer trained (``<cache>/models/<signal>``), so query and pin sides share one
taxonomy and one classifier; without a trained model the query side is simply empty.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

from indexer.signals.pipeline import model_dir
from ranking.ltr.featuresets import QuerySignals


def query_signals_for(cache_dir: str | Path | None) -> Callable[[str], QuerySignals]:
    """A function query -> QuerySignals backed by the models under ``cache_dir`` (if trained)."""
    if cache_dir is None:
        return lambda query: QuerySignals()
    interests_model = model_dir(cache_dir, "interests")
    annotations_model = model_dir(cache_dir, "annotations")
    annotator = None
    if annotations_model.exists():
        from indexer.annotations.model import AnnotationModel
        annotator = AnnotationModel.load(annotations_model)

    @lru_cache(maxsize=4096)
    def signals(query: str) -> QuerySignals:
        interests = None
        if interests_model.exists():
            from indexer.interests.q2i import classify_query
            interests = classify_query(query, model=interests_model)
        annotations = None
        if annotator is not None:
            from indexer.annotations.sources import PinText
            from indexer.text import detect_language
            text = PinText(pin_id="_query", lang=detect_language(query), texts={"title": [query]})
            annotations = {a.id: a.score for a in annotator.annotate(text, top_k=10, threshold=0.3)}
        return QuerySignals(annotations=annotations or None, interests=interests)
    return signals
