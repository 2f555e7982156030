"""The whole search LTR loop on a corpus with a search log: train, upload, check, activate, evaluate.

Split (fixed, documented): a query is held out for evaluation when ``crc32(query) % 10 < 3``; its
clicks are never used for training. Of the training queries, ``crc32(query) % 10 == 3`` validate
the SVM's C (pairwise accuracy on their triplets).
"""

from __future__ import annotations

import json
import random
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from opensearchpy import OpenSearch

from indexer.corpus import CorpusReader
from indexer.corpus.reader import ValidationOptions
from ranking.ltr.clicks import PositionBiasEstimator, coec, impressions_from_log
from ranking.ltr.evaluate import compare, evaluate_ranker
from ranking.ltr.export import OFFSET_FEATURE, LinearModel, add_offset, check_non_negative, fit_normalizers
from ranking.ltr.featuresets import (FeatureSet, QuerySignals, load_featureset, search_params, upload_featureset,
                                     validation_params, _index_mapping)
from ranking.ltr.logging import log_features
from ranking.ltr.ranksvm import fit_with_validation
from ranking.ltr.rescore import sltr_rescore
from ranking.ltr.triplets import build_triplets
from ranking.ltr.upload import (ActivationRefused, activate, active_model, create_model, model_name, parity_check)
from ranking.search import search_pins

QuerySignalsFn = Callable[[str], QuerySignals]


def bucket(query: str) -> int:
    return zlib.crc32(query.encode("utf-8")) % 10


def is_test(query: str) -> bool:
    return bucket(query) < 3


def read_relevance(path: Path) -> dict[str, dict[str, float]]:
    """``{query: {pin_id: relevance}}`` from a search_relevance JSONL (ground truth or judgements)."""
    truth: dict[str, dict[str, float]] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                truth.setdefault(str(row["query"]), {})[str(row["pin_id"])] = float(row["relevance"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: bad relevance row ({exc}); need query, pin_id, relevance") from None
    return truth


def train_search_model(client: OpenSearch, corpus_dir: str | Path, *, index: str = "pins", seed: int = 0,
                       query_signals: QuerySignalsFn | None = None, triplets_per_query: int = 20,
                       Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
                       progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Clicks -> bias -> COEC -> triplets -> engine-logged features -> RankSVM -> exportable LinearModel."""
    say = progress or (lambda m: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    reader = CorpusReader(corpus_dir, options=ValidationOptions(progress=False))
    rows = impressions_from_log(reader.search_log())
    if not rows:
        raise ValueError(f"{corpus_dir}: search_log.jsonl has no impressions; search LTR needs click logs")
    pins = [p.id for p in reader.pins()]
    bias = PositionBiasEstimator().fit(rows).bias_
    stats = coec(rows, bias)
    train_stats = {q: s for q, s in stats.items() if not is_test(str(q))}
    triplets = build_triplets(train_stats, pins, per_query=triplets_per_query, seed=seed)
    if len(triplets) < 10:
        raise ValueError(f"only {len(triplets)} training triplets from {corpus_dir}: too few clicks to train")
    timings["clicks"] = time.perf_counter() - t0
    say(f"{len(rows)} impressions, {len(stats)} queries, {len(triplets)} triplets")

    t0 = time.perf_counter()
    fs = load_featureset("search")
    uploaded = upload_featureset(client, fs, index=index)
    names = fs.feature_names
    by_query: dict[str, list] = {}
    for t in triplets:
        by_query.setdefault(str(t.query), []).append(t)
    vectors: dict[tuple[str, str], np.ndarray] = {}
    for q, ts in by_query.items():
        params = search_params(q, query_signals(q) if query_signals else None)
        ids = sorted({p for t in ts for p in (t.best, t.worst, t.random)})
        for pin, vec in log_features(client, index, fs.name, names, params, ids).items():
            vectors[(q, pin)] = vec
    timings["feature_logging"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    X_rows, y, groups, val = [], [], [], []
    g = 0
    for q, ts in by_query.items():
        for t in ts:
            for hi, lo in ((t.best, t.worst), (t.worst, t.random)):
                if (q, hi) in vectors and (q, lo) in vectors:
                    X_rows += [vectors[(q, hi)], vectors[(q, lo)]]
                    y += [1, 0]
                    groups += [g, g]
                    val += [bucket(q) == 3] * 2
                    g += 1
    X = np.vstack(X_rows).astype(np.float64)
    y_arr, g_arr, v_arr = np.asarray(y), np.asarray(groups), np.asarray(val)
    bounds = fs.upper_bounds()
    normalizers = fit_normalizers(X, names, bounds)
    model = LinearModel(names, {}, normalizers, bounds)
    Xn = model.normalise(X).astype(np.float64)
    usable = [i for i, n in enumerate(names) if n != OFFSET_FEATURE and np.ptp(Xn[:, i]) > 0]
    dropped: list[str] = []
    selection = None
    for _ in range(len(usable)):
        cols = [i for i in usable if names[i] not in dropped]
        tr, va = ~v_arr, v_arr
        if not va.any():
            va = tr
        selection = fit_with_validation(Xn[tr][:, cols], y_arr[tr], g_arr[tr], Xn[va][:, cols], y_arr[va], g_arr[va],
                                        Cs=Cs, metric="pairwise_accuracy", random_state=seed)
        weights = dict(zip((names[i] for i in cols), selection.model.coef_))
        negative_unbounded = [n for n, w in weights.items() if w < 0 and bounds.get(n) is None]
        if not negative_unbounded:
            break
        dropped.append(min(negative_unbounded, key=lambda n: weights[n]))
    assert selection is not None
    model.weights = {n: float(w) for n, w in weights.items()}
    add_offset(model)
    check_non_negative(model)
    timings["train"] = time.perf_counter() - t0
    say(f"RankSVM C={selection.C}, validation pairwise accuracy {selection.validation[selection.C]:.3f}")
    return {"model": model, "featureset": fs, "featureset_version": uploaded["version"], "bias": bias,
            "ranksvm": selection.model, "C": selection.C, "validation": selection.validation,
            "dropped_features": dropped, "triplets": len(triplets), "pairs": g, "impressions": len(rows),
            "timings": timings,
            "validation_params": validation_params(fs, _index_mapping(client, index))}


def parity_samples(client: OpenSearch, queries: Sequence[str], *, index: str, n_queries: int = 5, per_query: int = 20,
                   query_signals: QuerySignalsFn | None = None, seed: int = 0) -> list[tuple[dict, list[str]]]:
    rng = random.Random(seed)
    chosen = rng.sample(list(queries), min(n_queries, len(queries)))
    out = []
    for q in chosen:
        hits = [h.pin_id for h in search_pins(client, q, per_query, index=index)]
        if hits:
            out.append((search_params(q, query_signals(q) if query_signals else None), hits))
    return out


def evaluate_search_models(client: OpenSearch, truth: Mapping[str, Mapping[str, float]], queries: Sequence[str], *,
                           index: str = "pins", models: Mapping[str, str | None],
                           query_signals: QuerySignalsFn | None = None, k: int = 10, window: int = 100
                           ) -> dict[str, Any]:
    """Per method (``first_pass`` or a model name): summary metrics and per-query values."""
    out: dict[str, Any] = {}
    for label, model in models.items():
        def rank(q: str, model: str | None = model) -> list[str]:
            rescore = None
            if model:
                rescore = sltr_rescore(model, search_params(q, query_signals(q) if query_signals else None), window=window)
            return [h.pin_id for h in search_pins(client, q, k, index=index, rescore=rescore)]
        out[label] = evaluate_ranker(rank, truth, queries, k)
    return out


def train_and_activate(client: OpenSearch, sample_out_dir: str | Path, index: str = "pins", *, seed: int = 0,
                       query_signals: QuerySignalsFn | None = None, force: bool = False,
                       out_dir: str | Path | None = None, progress: Callable[[str], None] | None = None
                       ) -> dict[str, Any]:
    """Train on ``sample_out_dir/corpus``, upload, parity-check, activate if not worse, evaluate on held-out
    queries against ``sample_out_dir/ground_truth/search_relevance.jsonl`` (the judgements in the corpus
    when there is no ground truth). Returns a JSON-ready summary (methods ``first_pass`` and ``ltr``)."""
    sample_out_dir = Path(sample_out_dir)
    corpus = sample_out_dir / "corpus" if (sample_out_dir / "corpus").is_dir() else sample_out_dir
    truth_path = sample_out_dir / "ground_truth" / "search_relevance.jsonl"
    if not truth_path.exists():
        truth_path = corpus / "judgements" / "search_relevance.jsonl"
    started = time.perf_counter()
    trained = train_search_model(client, corpus, index=index, seed=seed, query_signals=query_signals, progress=progress)
    model: LinearModel = trained["model"]
    fs: FeatureSet = trained["featureset"]
    truth = read_relevance(truth_path)
    test_queries = sorted(q for q in truth if is_test(q) and any(r > 0 for r in truth[q].values()))
    name = model_name(fs.name, index, trained["featureset_version"])
    record = create_model(client, fs.name, trained["featureset_version"], name, model, index=index,
                          validation_params=trained["validation_params"],
                          training={"triplets": trained["triplets"], "pairs": trained["pairs"], "C": trained["C"],
                                    "dropped_features": trained["dropped_features"], "corpus": str(corpus)})
    parity = parity_samples(client, test_queries, index=index, query_signals=query_signals, seed=seed)
    parity_result = parity_check(client, index, name, model, parity)
    previous = active_model(client, fs.name)
    models: dict[str, str | None] = {"first_pass": None, "ltr": name}
    if previous:
        models["active"] = previous["name"]
    t0 = time.perf_counter()
    evaluation = evaluate_search_models(client, truth, test_queries, index=index, models=models,
                                        query_signals=query_signals)
    eval_seconds = time.perf_counter() - t0
    comparison = compare(evaluation["first_pass"], evaluation["ltr"], ["ndcg@10", "map", "mrr@10"], seed=seed)
    activation: dict[str, Any]
    try:
        activation = activate(client, fs.name, name, parity=parity_result,
                              candidate_metric=evaluation["ltr"]["ndcg@10"],
                              active_metric=evaluation["active"]["ndcg@10"] if previous else None, force=force)
    except ActivationRefused as exc:
        activation = {"refused": str(exc), "active": previous["name"] if previous else None}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        trained["ranksvm"].save(out / f"{name}.joblib", feature_names=[n for n in fs.feature_names if n in model.weights],
                                inputs={"corpus": str(corpus), "index": record["index"], "featureset": fs.name,
                                        "featureset_version": trained["featureset_version"]},
                                metrics={"validation_pairwise_accuracy": trained["validation"]})
        (out / f"{name}.linear.json").write_text(json.dumps(model.to_dict(), indent=2))
        trained["bias"].save(out / "position_bias.json")
    summary = {
        "model": name, "index": record["index"], "featureset": fs.name, "featureset_version": trained["featureset_version"],
        "test_queries": len(test_queries), "split": "test: crc32(query) % 10 < 3; validation: == 3",
        "first_pass": {k: v for k, v in evaluation["first_pass"].items() if k != "per_query"},
        "ltr": {k: v for k, v in evaluation["ltr"].items() if k != "per_query"},
        "delta": {m: {k: v for k, v in c.items() if k != "per_query"} for m, c in comparison.items()},
        "per_query_delta_ndcg@10": comparison["ndcg@10"]["per_query"],
        "weights": {n: round(w, 5) for n, w in model.weights.items()},
        "score_lower_bound": record["score_lower_bound"], "parity": parity_result, "activation": activation,
        "position_bias": trained["bias"].to_dict()["bias"], "training": record["training"],
        "timings": {**{k: round(v, 2) for k, v in trained["timings"].items()}, "evaluate": round(eval_seconds, 2),
                    "total": round(time.perf_counter() - started, 2)},
    }
    return summary
