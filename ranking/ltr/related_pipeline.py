"""The Related Pins LTR loop: the search loop of ``ranking.ltr.pipeline`` keyed by the query pin.

What differs from search, and why:

* the log is ``related_log.jsonl`` and a ranking's key is the query pin id (the split, ``crc32(pin
  id) % 10 < 3`` held out, ``== 3`` validation, is the search one applied to that id);
* the feature set is ``pinsearch_related`` and its params come from the query pin's *indexed*
  document, read with the same ``fetch_query_pin`` the Related Pins request uses, through
  ``related_params``, so training logs exactly the features serving computes (and Pin2Vec is
  switched off, by ``active_features``, for a query pin without a vector, in both);
* the first pass is ``related_pins`` without rescore, and the LTR method is the same request with
  the model's ``sltr`` rescore over its window (``related_rescore``), i.e. what users get.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from indexer.corpus import CorpusReader
from indexer.corpus.reader import ValidationOptions
from ranking.ltr.clicks import impressions_from_log
from ranking.ltr.evaluate import evaluate_ranker
from ranking.ltr.featuresets import related_params
from ranking.ltr.pipeline import (
    ParamsFn,
    ParitySample,
    activate_and_report,
    held_out_keys,
    read_relevance,
    sample_layout,
    train_from_clicks,
)
from ranking.ltr.rescore import DEFAULT_WINDOW, related_rescore
from ranking.related import RelatedPinsError, fetch_query_pin, related_pins

RELATED_TRUTH = "related_relevance.jsonl"


def related_params_for(client: OpenSearch, index: str = "pins") -> ParamsFn:
    """query pin id -> (params, active features), from the pin's indexed ``_source`` (cached per pin)."""
    @lru_cache(maxsize=65536)
    def params(query_pin: str) -> tuple[Mapping[str, Any], Sequence[str] | None]:
        return related_params(fetch_query_pin(client, query_pin, index), query_pin)
    return params


def train_related_model(client: OpenSearch, corpus_dir: str | Path, *, index: str = "pins", seed: int = 0,
                        triplets_per_query: int = 20, Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
                        solver: str = "auto", progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The Related Pins model from ``related_log.jsonl``: bias -> COEC -> triplets -> engine-logged
    ``pinsearch_related`` features -> RankSVM (C on validation query pins) -> non-negative LinearModel.

    Logged query pins that are not in the index (a corpus newer than the index) are left out of
    training rather than failing it; the count is reported as ``missing_query_pins``.
    """
    reader = CorpusReader(corpus_dir, options=ValidationOptions(progress=False))
    pins = [p.id for p in reader.pins()]
    rows = impressions_from_log(reader.related_log(), key="query_pin")
    params = related_params_for(client, index)
    missing: set[str] = set()
    for qp in sorted({str(r.query) for r in rows}):
        try:
            params(qp)
        except RelatedPinsError:
            missing.add(qp)
    if missing:
        rows = [r for r in rows if str(r.query) not in missing]
    trained = train_from_clicks(client, "related", rows, pins, params, index=index,
                                source=f"{corpus_dir}: related_log.jsonl", seed=seed,
                                triplets_per_query=triplets_per_query, Cs=Cs, solver=solver, progress=progress)
    trained["missing_query_pins"] = len(missing)
    return trained


def related_parity_samples(client: OpenSearch, query_pins: Sequence[str], *, index: str = "pins",
                           n_queries: int = 5, per_query: int = 20, seed: int = 0) -> list[ParitySample]:
    """(params, first-pass pins, active features) for a seeded sample of query pins."""
    rng = random.Random(seed)
    chosen = rng.sample(list(query_pins), min(n_queries, len(query_pins)))
    params = related_params_for(client, index)
    out: list[ParitySample] = []
    for qp in chosen:
        hits = [h.pin_id for h in related_pins(client, qp, per_query, index=index, rescore=None).hits]
        if hits:
            p, active = params(qp)
            out.append((p, hits, active))
    return out


def evaluate_related_models(client: OpenSearch, truth: Mapping[str, Mapping[str, float]], query_pins: Sequence[str],
                            *, index: str = "pins", models: Mapping[str, str | None], k: int = 10,
                            window: int = DEFAULT_WINDOW) -> dict[str, Any]:
    """Per method (``first_pass`` or a model name): summary metrics and per-query-pin values.

    Each method is the Related Pins request as served (``related_pins``), with no rescore for the
    first pass and the model's ``sltr`` rescore over the top ``window`` candidates otherwise.
    """
    out: dict[str, Any] = {}
    for label, model in models.items():
        judged: list[float] = []

        def rank(qp: str, model: str | None = model, judged: list[float] = judged) -> list[str]:
            hook = None
            if model:
                hook = (lambda doc, qp=qp, model=model: related_rescore(client, doc, qp, model=model, window=window))
            ranked = [h.pin_id for h in related_pins(client, qp, k, index=index, rescore=hook).hits]
            if ranked:
                judged.append(sum(p in truth[qp] for p in ranked[:k]) / len(ranked[:k]))
            return ranked
        out[label] = evaluate_ranker(rank, truth, query_pins, k)
        # unlabelled pins count as 0 in NDCG: how much of the top k the labels cover qualifies every number
        out[label][f"judged@{k}"] = round(sum(judged) / len(judged), 4) if judged else 0.0
    return out


def activate_related_model(client: OpenSearch, sample_out_dir: str | Path, index: str = "pins", *, seed: int = 0,
                           force: bool = False, out_dir: str | Path | None = None,
                           progress: Callable[[str], None] | None = None, solver: str = "auto") -> dict[str, Any]:
    """Train on ``sample_out_dir/corpus``'s related log, upload, parity-check, activate if not worse than the
    active Related Pins model, and evaluate on held-out query pins against
    ``ground_truth/related_relevance.jsonl`` (the corpus judgements when there is no ground truth)."""
    corpus, truth_path = sample_layout(sample_out_dir, RELATED_TRUTH)
    started = time.perf_counter()
    trained = train_related_model(client, corpus, index=index, seed=seed, solver=solver, progress=progress)
    truth = read_relevance(truth_path, key="query_pin")
    test_pins = [qp for qp in held_out_keys(truth) if _indexed(client, qp, index)]
    summary = activate_and_report(
        client, trained, corpus=corpus, index=index, truth=truth, test_keys=test_pins,
        parity_samples=lambda: related_parity_samples(client, test_pins, index=index, seed=seed),
        evaluate=lambda models: evaluate_related_models(client, truth, test_pins, index=index, models=models),
        seed=seed, force=force, out_dir=out_dir, started=started)
    summary["kind"] = "related"
    summary["missing_query_pins"] = trained["missing_query_pins"]
    return summary


def _indexed(client: OpenSearch, pin_id: str, index: str) -> bool:
    try:
        fetch_query_pin(client, pin_id, index)
        return True
    except RelatedPinsError:
        return False
