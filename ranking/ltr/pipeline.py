"""The LTR loop on a corpus with impression logs: train, upload, check, activate, evaluate.

The loop is the same for search and Related Pins; only the *key* of a ranking (a query string or a
query pin id), the log it comes from, the feature set, the params a key gives the feature templates
and the first-pass ranker differ. This module holds the shared pieces (split, clicks -> triplets,
engine feature logging, RankSVM fit and export, upload / parity / activation / evaluation summary)
and the search specialisation; ``ranking.ltr.related_pipeline`` is the Related Pins one.

Split (fixed, documented): a key is held out for evaluation when ``crc32(key) % 10 < 3``; its
clicks are never used for training. Of the training keys, ``crc32(key) % 10 == 3`` validate
the SVM's C (pairwise accuracy on their triplets).
"""

from __future__ import annotations

import json
import random
import time
import zlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from opensearchpy import OpenSearch

from indexer.corpus import CorpusReader
from indexer.corpus.reader import ValidationOptions
from ranking.ltr.clicks import (
    ImpressionRow,
    PositionBias,
    PositionBiasEstimator,
    coec,
    impressions_from_log,
)
from ranking.ltr.activation import ActivationEvidence, activate_with_checks
from ranking.ltr.evaluate import compare, evaluate_ranker
from ranking.ltr.export import (
    OFFSET_FEATURE,
    LinearModel,
    add_offset,
    check_non_negative,
    fit_normalizers,
)
from ranking.ltr.featuresets import (
    FeatureSet,
    QuerySignals,
    _index_mapping,
    load_featureset,
    search_params,
    upload_featureset,
    validation_params,
)
from ranking.ltr.feature_logging import log_features
from ranking.ltr.ranksvm import Selection, fit_with_validation
from ranking.ltr.rescore import sltr_rescore
from ranking.ltr.triplets import Triplet, build_triplets
from ranking.ltr.upload import (
    ActivationRefused,
    active_model,
    create_model,
    model_name,
    parity_check,
)
from ranking.search import search_pins

QuerySignalsFn = Callable[[str], QuerySignals]
#: key -> (template params, active features or None for all); what a ranking key gives the feature set
ParamsFn = Callable[[str], tuple[Mapping[str, Any], Sequence[str] | None]]
#: (params, pins, active features) per sampled key, for the parity check
ParitySample = tuple[Mapping[str, Any], Sequence[str], Sequence[str] | None]
SPLIT = "test: crc32(key) % 10 < 3; validation: == 3"
METRICS = ("ndcg@10", "map", "mrr@10")
LTR_KINDS = ("search", "related")


def bucket(query: str) -> int:
    return zlib.crc32(query.encode("utf-8")) % 10


def is_test(query: str) -> bool:
    return bucket(query) < 3


def read_relevance(path: Path, key: str = "query") -> dict[str, dict[str, float]]:
    """``{key: {pin_id: relevance}}`` from a relevance JSONL (ground truth or judgements).

    ``key`` is ``query`` for ``search_relevance.jsonl`` and ``query_pin`` for ``related_relevance.jsonl``.
    """
    truth: dict[str, dict[str, float]] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                truth.setdefault(str(row[key]), {})[str(row["pin_id"])] = float(row["relevance"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: bad relevance row ({exc}); need {key}, pin_id, relevance") from None
    return truth


def held_out_keys(truth: Mapping[str, Mapping[str, float]]) -> list[str]:
    """The test keys of the fixed split that have at least one relevant pin (NDCG is undefined otherwise)."""
    return sorted(q for q in truth if is_test(q) and any(r > 0 for r in truth[q].values()))


# -- shared training pieces ---------------------------------------------------------------------------

@dataclass(slots=True)
class ClickTriplets:
    """What the click model gives training: the bias curve, per-key COEC stats and the triplets."""
    rows: list[ImpressionRow]
    bias: PositionBias
    stats: dict[Hashable, dict[str, Any]]
    triplets: list[Triplet]


def click_triplets(rows: list[ImpressionRow], corpus_pins: Sequence[str], *, per_query: int = 20,
                   seed: int = 0) -> ClickTriplets:
    """Position bias from every impression (held-out keys too: bias is a property of the UI, not of
    the keys), COEC, then triplets from the training keys only."""
    bias = PositionBiasEstimator().fit(rows).bias_
    stats = coec(rows, bias)
    train_stats = {q: s for q, s in stats.items() if not is_test(str(q))}
    triplets = build_triplets(train_stats, corpus_pins, per_query=per_query, seed=seed)
    return ClickTriplets(rows, bias, stats, triplets)


def log_triplet_features(client: OpenSearch, index: str, fs: FeatureSet, triplets: Sequence[Triplet],
                         params_for: ParamsFn) -> dict[tuple[str, str], np.ndarray]:
    """Raw feature vectors of every (key, pin) a triplet names, logged by the engine, one request per key."""
    by_query: dict[str, list[Triplet]] = {}
    for t in triplets:
        by_query.setdefault(str(t.query), []).append(t)
    vectors: dict[tuple[str, str], np.ndarray] = {}
    for q, ts in by_query.items():
        params, active = params_for(q)
        ids = sorted({p for t in ts for p in (t.best, t.worst, t.random)})
        for pin, vec in log_features(client, index, fs.name, fs.feature_names, params, ids,
                                     active_features=active).items():
            vectors[(q, pin)] = vec
    return vectors


@dataclass(slots=True)
class LinearFit:
    model: LinearModel
    selection: Selection
    dropped: list[str]
    pairs: int


def fit_linear_model(fs: FeatureSet, triplets: Sequence[Triplet], vectors: Mapping[tuple[str, str], np.ndarray],
                     *, Cs: Sequence[float], seed: int = 0, solver: str = "auto") -> LinearFit:
    """Pairwise RankSVM on min-max normalised features, C by validation-key pairwise accuracy, then an
    exportable ``LinearModel`` whose scores cannot go negative.

    ``solver`` is the RankSVM solver (``auto``, ``linearsvc``, ``sgd``; see ``ranking.ltr.ranksvm``).

    Each triplet gives two one-pair groups (best > worst, worst > random). A negative weight on an
    unbounded feature cannot be offset, so such a feature is dropped and the SVM refitted.
    """
    names = fs.feature_names
    X_rows, y, groups, val = [], [], [], []
    g = 0
    for t in triplets:
        q = str(t.query)
        for hi, lo in ((t.best, t.worst), (t.worst, t.random)):
            if (q, hi) in vectors and (q, lo) in vectors:
                X_rows += [vectors[(q, hi)], vectors[(q, lo)]]
                y += [1, 0]
                groups += [g, g]
                val += [bucket(q) == 3] * 2
                g += 1
    if not X_rows:
        raise ValueError("no triplet has logged features for both pins: are the logged pins in the index?")
    X = np.vstack(X_rows).astype(np.float64)
    y_arr, g_arr, v_arr = np.asarray(y), np.asarray(groups), np.asarray(val)
    bounds = fs.upper_bounds()
    model = LinearModel(names, {}, fit_normalizers(X, names, bounds), bounds)
    Xn = model.normalise(X).astype(np.float64)
    usable = [i for i, n in enumerate(names) if n != OFFSET_FEATURE and np.ptp(Xn[:, i]) > 0]
    if not usable:
        raise ValueError(f"every feature of {fs.name} is constant on the training pairs: the index lacks the "
                         "signals the feature set reads (reindex with --signals all)")
    dropped: list[str] = []
    selection: Selection | None = None
    weights: dict[str, float] = {}
    tr, va = ~v_arr, v_arr
    if not va.any():
        va = tr
    for _ in range(len(usable)):
        cols = [i for i in usable if names[i] not in dropped]
        selection = fit_with_validation(Xn[tr][:, cols], y_arr[tr], g_arr[tr], Xn[va][:, cols], y_arr[va], g_arr[va],
                                        Cs=Cs, metric="pairwise_accuracy", random_state=seed, solver=solver)
        weights = dict(zip((names[i] for i in cols), selection.model.coef_))
        negative_unbounded = [n for n, w in weights.items() if w < 0 and bounds.get(n) is None]
        if not negative_unbounded:
            break
        dropped.append(min(negative_unbounded, key=lambda n: weights[n]))
    assert selection is not None
    model.weights = {n: float(w) for n, w in weights.items()}
    add_offset(model)
    check_non_negative(model)
    return LinearFit(model, selection, dropped, g)


def train_from_clicks(client: OpenSearch, kind: str, rows: list[ImpressionRow], corpus_pins: Sequence[str],
                      params_for: ParamsFn, *, index: str, source: str, seed: int = 0, triplets_per_query: int = 20,
                      Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0), solver: str = "auto",
                      progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Clicks -> bias -> COEC -> triplets -> engine-logged features -> RankSVM -> exportable LinearModel.

    ``kind`` names the feature set (``search`` or ``related``); ``source`` names the log in messages.
    """
    say = progress or (lambda m: None)
    timings: dict[str, float] = {}
    if not rows:
        raise ValueError(f"{source} has no impressions; {kind} LTR needs click logs")
    t0 = time.perf_counter()
    clicks = click_triplets(rows, corpus_pins, per_query=triplets_per_query, seed=seed)
    if len(clicks.triplets) < 10:
        raise ValueError(f"only {len(clicks.triplets)} training triplets from {source}: too few clicks to train")
    timings["clicks"] = time.perf_counter() - t0
    say(f"{len(rows)} impressions, {len(clicks.stats)} keys, {len(clicks.triplets)} triplets")

    t0 = time.perf_counter()
    fs = load_featureset(kind)
    uploaded = upload_featureset(client, fs, index=index)
    vectors = log_triplet_features(client, index, fs, clicks.triplets, params_for)
    timings["feature_logging"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    fit = fit_linear_model(fs, clicks.triplets, vectors, Cs=Cs, seed=seed, solver=solver)
    timings["train"] = time.perf_counter() - t0
    selection = fit.selection
    say(f"RankSVM ({selection.model.solver_}) C={selection.C}, validation pairwise accuracy "
        f"{selection.validation[selection.C]:.3f}")
    return {"kind": kind, "model": fit.model, "featureset": fs, "solver": selection.model.solver_, "featureset_version": uploaded["version"], "bias": clicks.bias,
            "ranksvm": selection.model, "C": selection.C, "validation": selection.validation,
            "dropped_features": fit.dropped, "triplets": len(clicks.triplets), "pairs": fit.pairs,
            "impressions": len(rows), "keys": len(clicks.stats), "timings": timings,
            "validation_params": validation_params(fs, _index_mapping(client, index))}


def activate_and_report(client: OpenSearch, trained: Mapping[str, Any], *, corpus: Path, index: str,
                        truth: Mapping[str, Mapping[str, float]], test_keys: Sequence[str],
                        parity_samples: Callable[[], Sequence[ParitySample]],
                        evaluate: Callable[[Mapping[str, str | None]], dict[str, Any]], seed: int = 0,
                        force: bool = False, out_dir: str | Path | None = None, started: float | None = None
                        ) -> dict[str, Any]:
    """Upload ``trained``, check parity, evaluate first pass / candidate / active model on the held-out
    keys, activate unless parity failed or it is worse than the active model, save the model files
    and return a JSON-ready summary (methods ``first_pass`` and ``ltr``, deltas with bootstrap CIs)."""
    started = time.perf_counter() if started is None else started
    model: LinearModel = trained["model"]
    fs: FeatureSet = trained["featureset"]
    name = model_name(fs.name, index, trained["featureset_version"])
    record = create_model(client, fs.name, trained["featureset_version"], name, model, index=index,
                          validation_params=trained["validation_params"],
                          training={"triplets": trained["triplets"], "pairs": trained["pairs"], "C": trained["C"],
                                    "solver": trained.get("solver"),
                                    "dropped_features": trained["dropped_features"], "corpus": str(corpus)})
    parity_result = parity_check(client, index, name, model, parity_samples())
    previous = active_model(client, fs.name)
    models: dict[str, str | None] = {"first_pass": None, "ltr": name}
    if previous:
        models["active"] = previous["name"]
    t0 = time.perf_counter()
    evaluation = evaluate(models)
    eval_seconds = time.perf_counter() - t0
    comparison = compare(evaluation["first_pass"], evaluation["ltr"], list(METRICS), seed=seed)
    activation: dict[str, Any]
    evidence = ActivationEvidence(parity=parity_result, candidate_metric=evaluation["ltr"]["ndcg@10"],
                                  active_metric=evaluation["active"]["ndcg@10"] if previous else None,
                                  first_pass_comparison=comparison)
    try:
        activation = activate_with_checks(client, fs.name, name, evidence, force=force)
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
        trained["bias"].save(out / f"position_bias-{fs.name}.json")
    return {
        "kind": trained.get("kind"), "model": name, "index": record["index"], "featureset": fs.name, "featureset_version": trained["featureset_version"],
        "test_queries": len(test_keys), "split": SPLIT,
        "first_pass": {k: v for k, v in evaluation["first_pass"].items() if k != "per_query"},
        "ltr": {k: v for k, v in evaluation["ltr"].items() if k != "per_query"},
        "delta": {m: {k: v for k, v in c.items() if k != "per_query"} for m, c in comparison.items()},
        "per_query_delta_ndcg@10": comparison["ndcg@10"]["per_query"],
        "weights": {n: round(w, 5) for n, w in model.weights.items()},
        "score_lower_bound": record["score_lower_bound"], "parity": parity_result, "activation": activation,
        "position_bias": trained["bias"].to_dict()["bias"], "training": record["training"],
        "impressions": trained["impressions"], "validation_pairwise_accuracy": trained["validation"],
        "timings": {**{k: round(v, 2) for k, v in trained["timings"].items()}, "evaluate": round(eval_seconds, 2),
                    "total": round(time.perf_counter() - started, 2)},
    }


def sample_layout(sample_out_dir: str | Path, truth_file: str) -> tuple[Path, Path]:
    """(corpus dir, relevance file): ``ground_truth/<file>`` of a sample, else the corpus's judgements."""
    sample_out_dir = Path(sample_out_dir)
    corpus = sample_out_dir / "corpus" if (sample_out_dir / "corpus").is_dir() else sample_out_dir
    truth_path = sample_out_dir / "ground_truth" / truth_file
    if not truth_path.exists():
        truth_path = corpus / "judgements" / truth_file
    return corpus, truth_path


# -- search -------------------------------------------------------------------------------------------

def search_params_for(query_signals: QuerySignalsFn | None) -> ParamsFn:
    return lambda q: (search_params(q, query_signals(q) if query_signals else None), None)


def train_search_model(client: OpenSearch, corpus_dir: str | Path, *, index: str = "pins", seed: int = 0,
                       query_signals: QuerySignalsFn | None = None, triplets_per_query: int = 20,
                       Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0), solver: str = "auto",
                       progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The search model from ``search_log.jsonl`` (key: the query string)."""
    reader = CorpusReader(corpus_dir, options=ValidationOptions(progress=False))
    rows = impressions_from_log(reader.search_log())
    pins = [p.id for p in reader.pins()]
    return train_from_clicks(client, "search", rows, pins, search_params_for(query_signals), index=index,
                             source=f"{corpus_dir}: search_log.jsonl", seed=seed,
                             triplets_per_query=triplets_per_query, Cs=Cs, solver=solver, progress=progress)


def parity_samples(client: OpenSearch, queries: Sequence[str], *, index: str, n_queries: int = 5, per_query: int = 20,
                   query_signals: QuerySignalsFn | None = None, seed: int = 0) -> list[ParitySample]:
    rng = random.Random(seed)
    chosen = rng.sample(list(queries), min(n_queries, len(queries)))
    out: list[ParitySample] = []
    for q in chosen:
        signals = query_signals(q) if query_signals else None
        hits = [h.pin_id for h in search_pins(client, q, per_query, index=index, signals=signals)]
        if hits:
            out.append((search_params(q, signals), hits, None))
    return out


def evaluate_search_models(client: OpenSearch, truth: Mapping[str, Mapping[str, float]], queries: Sequence[str], *,
                           index: str = "pins", models: Mapping[str, str | None],
                           query_signals: QuerySignalsFn | None = None, k: int = 10, window: int = 100
                           ) -> dict[str, Any]:
    """Per method (``first_pass`` or a model name): summary metrics and per-query values."""
    out: dict[str, Any] = {}
    for label, model in models.items():
        def rank(q: str, model: str | None = model) -> list[str]:
            signals = query_signals(q) if query_signals else None
            rescore = sltr_rescore(model, search_params(q, signals), window=window) if model else None
            return [h.pin_id for h in search_pins(client, q, k, index=index, signals=signals, rescore=rescore)]
        out[label] = evaluate_ranker(rank, truth, queries, k)
    return out


def activate_search_model(client: OpenSearch, sample_out_dir: str | Path, index: str = "pins", *, seed: int = 0,
                          query_signals: QuerySignalsFn | None = None, force: bool = False,
                          out_dir: str | Path | None = None, progress: Callable[[str], None] | None = None,
                          solver: str = "auto") -> dict[str, Any]:
    """Train on ``sample_out_dir/corpus``, upload, parity-check, activate if not worse, evaluate on held-out
    queries against ``sample_out_dir/ground_truth/search_relevance.jsonl`` (the judgements in the corpus
    when there is no ground truth). Returns a JSON-ready summary (methods ``first_pass`` and ``ltr``)."""
    corpus, truth_path = sample_layout(sample_out_dir, "search_relevance.jsonl")
    started = time.perf_counter()
    trained = train_search_model(client, corpus, index=index, seed=seed, query_signals=query_signals,
                                 solver=solver, progress=progress)
    truth = read_relevance(truth_path)
    test_queries = held_out_keys(truth)
    return activate_and_report(
        client, trained, corpus=corpus, index=index, truth=truth, test_keys=test_queries,
        parity_samples=lambda: parity_samples(client, test_queries, index=index, query_signals=query_signals,
                                              seed=seed),
        evaluate=lambda models: evaluate_search_models(client, truth, test_queries, index=index, models=models,
                                                       query_signals=query_signals),
        seed=seed, force=force, out_dir=out_dir, started=started)


def train_and_activate(client: OpenSearch, sample_out_dir: str | Path, index: str = "pins", *, seed: int = 0,
                       query_signals: QuerySignalsFn | None = None, force: bool = False,
                       out_dir: str | Path | None = None, progress: Callable[[str], None] | None = None,
                       kinds: Sequence[str] = LTR_KINDS, solver: str = "auto") -> dict[str, dict[str, Any]]:
    """The whole loop for each of ``kinds`` (``search``, ``related``): ``{kind: summary}``.

    Related Pins is skipped (``{"skipped": reason}``) when the corpus has no ``related_log.jsonl``,
    which the corpus format makes optional; search needs its log and fails without it.
    """
    unknown = [k for k in kinds if k not in LTR_KINDS]
    if unknown:
        raise ValueError(f"unknown LTR kind(s) {unknown}; use {', '.join(LTR_KINDS)}")
    from ranking.ltr.plugin import require_ltr_plugin
    require_ltr_plugin(client)
    out: dict[str, dict[str, Any]] = {}
    if "search" in kinds:
        out["search"] = activate_search_model(client, sample_out_dir, index, seed=seed, query_signals=query_signals,
                                              force=force, out_dir=out_dir, progress=progress, solver=solver)
    if "related" in kinds:
        from ranking.ltr.related_pipeline import activate_related_model
        corpus, _ = sample_layout(sample_out_dir, "related_relevance.jsonl")
        if not (corpus / "related_log.jsonl").exists():
            out["related"] = {"skipped": f"{corpus}/related_log.jsonl not found: no Related Pins clicks to train on"}
        else:
            out["related"] = activate_related_model(client, sample_out_dir, index, seed=seed, force=force,
                                                    out_dir=out_dir, progress=progress, solver=solver)
    return out
