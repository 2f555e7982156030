"""Q2I (query-to-interest) and interest targeting.

``classify_query`` runs a query through the same Pin2Interest code path as pins and returns the
shape of :func:`indexer.interests.classify.classify_corpus` values, ready for the query side of the
``cos_sim_lN_interests`` features (``rank_feature`` on ``interests_lN.<id>`` boosted by the query's
score). ``interest_targeting_filter`` builds the documented OpenSearch bool filter that keeps only
pins sharing an interest with a query pin (searches and Related Pins).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from indexer.interests.classify import Pin2Interest, as_rank_features

__all__ = ["classify_query", "interest_targeting_filter", "with_interest_targeting"]


@lru_cache(maxsize=4)
def _load(model_dir: str) -> Pin2Interest:
    return Pin2Interest.load(model_dir)


@lru_cache(maxsize=1)
def _lexical_default() -> Pin2Interest:
    return Pin2Interest().fit([], {})


def classify_query(text: str, model: Pin2Interest | str | Path | None = None,
                   lang: str | None = None) -> dict[int, dict[str, float]]:
    """``{level: {"<interest id>": score}}`` for a query (Q2I).

    ``model`` is a fitted :class:`Pin2Interest` or the directory it was saved to; ``None`` uses a
    lexical-only model over the default IAB taxonomy (no training data needed).
    """
    if model is None:
        p2i = _lexical_default()
    elif isinstance(model, Pin2Interest):
        p2i = model
    else:
        p2i = _load(str(Path(model).resolve()))
    return as_rank_features(p2i.classify_text(text, lang=lang))


def _ids(interests: Mapping[int, Mapping[str, float]] | Iterable[int | str],
         levels: Iterable[int] | None, min_score: float) -> list[str]:
    if isinstance(interests, Mapping):
        wanted = set(levels) if levels is not None else None
        ids = {k for lvl, scores in interests.items() if wanted is None or int(lvl) in wanted
               for k, v in scores.items() if v >= min_score}
    else:
        ids = {str(i) for i in interests}
    return sorted(ids, key=lambda s: (len(s), s))


def interest_targeting_filter(interests: Mapping[int, Mapping[str, float]] | Iterable[int | str],
                              *, levels: Iterable[int] | None = None, min_score: float = 0.0,
                              field: str = "interest_ids") -> dict[str, Any]:
    """A bool filter keeping documents that share an interest with the query pin (or query).

    ``interests`` is a pin's ``{level: {id: score}}`` (as indexed) or a list of ids; ``levels``
    restricts to some levels (e.g. ``[2, 3]``: level 1 is often too broad to target on). The
    result is a ``{"bool": {"filter": [{"terms": ...}]}}`` body; with no interests it matches
    nothing, so an unclassified query pin gets no targeted candidates rather than all of them.
    """
    ids = _ids(interests, levels, min_score)
    if not ids:
        return {"bool": {"must_not": [{"match_all": {}}]}}
    return {"bool": {"filter": [{"terms": {field: ids}}]}}


def with_interest_targeting(query: Mapping[str, Any],
                            interests: Mapping[int, Mapping[str, float]] | Iterable[int | str],
                            **kwargs: Any) -> dict[str, Any]:
    """Wrap a query so it scores as before but only over pins sharing an interest."""
    return {"bool": {"must": [dict(query)], "filter": [interest_targeting_filter(interests, **kwargs)]}}
