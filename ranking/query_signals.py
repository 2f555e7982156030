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
    interests_model = model_dir(cache_dir, "interests") if cache_dir is not None else None
    if interests_model is None or not interests_model.exists():
        return lambda query: QuerySignals()
    from indexer.interests.q2i import classify_query

    @lru_cache(maxsize=4096)
    def signals(query: str) -> QuerySignals:
        return QuerySignals(interests=classify_query(query, model=interests_model))
    return signals
