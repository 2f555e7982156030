"""Related Pins request latency on an embedded index built the way ``pinsearch reindex`` builds it.

    # 1. signals (cached under WORKDIR/cache, as `pinsearch reindex --cache` does)
    .venv/bin/python benchmarks/bench_related.py --corpus /tmp/lsample/corpus --workdir /tmp/rp/rel \\
        --stage signals --signals cooccur,pin2vec --pin2vec-epochs 2
    # 2. index (reindex_corpus into embedded://WORKDIR/data-N, alias pins); --pins N indexes the first N pins;
    #    --truth-annotations indexes the sample's ground-truth keyphrases as the annotations signal (a
    #    stand-in where training the annotator on 1M pins is out of the time box), so query pins get the
    #    content clauses of the real request instead of the BM25 text fallback
    .venv/bin/python benchmarks/bench_related.py ... --stage index [--pins 50000]
    # 3. timings (first pass; then a Related Pins LTR model trained on the index, and the same pins again)
    .venv/bin/python benchmarks/bench_related.py ... --stage query --queries 500 --ltr-query-pins 1000

Signals: the pipeline's own signal functions through ``compute_signals`` (``indexer/signals/pipeline.py``),
except Pin2Vec when ``--pin2vec-epochs`` is given: then ``pin2vec_vectors(corpus, epochs=E)`` (every
other parameter the pipeline's), because the goal is request latency, not vector quality.
Documents: ``reindex_corpus(client, corpus, signals=SignalSet.for_pin)`` (``indexer/reindex.py``,
``pinsearch/mappings/pins.json``), exactly what ``pinsearch reindex`` runs.

What is timed, per query pin (seeded random pins of the indexed corpus, 20 warm-up pins first):

* ``related``: ``ranking.related.related_pins(client, pin, 20, rescore=None)`` end to end (the CLI's
  function: query-pin lookup, body, one ``_search``, hits);
* ``raw_search``: ``client.search`` of the very body ``related_pins`` sent (engine + client only);
* ``lookup``: ``fetch_query_pin`` alone;
* ``exact_numpy``: the same blend computed exactly in numpy from the same signals, given the query
  pin's document: co-occurrence candidates from the inverted CSR (the query pin's column), the exact
  top-``num_candidates`` Pin2Vec cosine over all vectors (the engine uses HNSW), the annotation /
  interest cosine from sparse matrices, ``must_not`` on the pin and its image duplicates, top 20. The
  BM25 text fallback (query pins without annotations or interests) is not reproduced; those pins are
  timed without it and left out of the overlap figure (``overlap@20`` between engine and numpy ids).

With ``--ltr-query-pins N > 0``: a Related Pins model is trained with the project's loop
(``train_from_clicks`` on the related log of N seeded query pins -> ``create_model`` -> ``parity_check``
-> ``activate``), then ``related_pins(client, pin, 20)`` with its default (the active model's ``sltr``
rescore, as the CLI) is timed on the same pins, beside the raw ``_search`` of that body.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pinsearch  # noqa: E402
from indexer.documents import l2_normalised  # noqa: E402
from indexer.signals.pipeline import SignalSet, compute_signals  # noqa: E402
from peak_rss import PeakRSS  # noqa: E402
from ranking.related import (  # noqa: E402
    INTEREST_FIELDS,
    RelatedRequest,
    _top_weights,
    fetch_query_pin,
    related_pins,
)

K = 20
WARMUP = 20


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


# -- signals -------------------------------------------------------------------------------------------
def load_signals(args: argparse.Namespace, compute: bool) -> SignalSet:
    """The SignalSet ``pinsearch reindex`` would pass to ``reindex_corpus`` (from the cache when present)."""
    import joblib
    cache = args.workdir / "cache"
    names = [n for n in args.signals.split(",") if n]
    pipeline_names = [n for n in names if not (n == "pin2vec" and args.pin2vec_epochs)]
    signals = compute_signals(args.corpus, cache, pipeline_names, log=log, strict=True)
    if args.truth_annotations:
        # a stand-in for the annotations signal at a scale where training it is out of the time box:
        # the sample's ground-truth keyphrases, as bench_serve indexes them (same field, same shape)
        truth = args.corpus.parent / "ground_truth" / "annotations.jsonl"
        with truth.open("rb") as f:
            signals.values["annotations"] = {row["pin_id"]: {k["canonical"]: 1.0 for k in row["keyphrases"]}
                                             for row in map(orjson.loads, f)}
        signals.cached["annotations"] = True
    if "pin2vec" in names and args.pin2vec_epochs:
        path = cache / f"pin2vec-epochs{args.pin2vec_epochs}.joblib"
        if path.exists():
            signals.values["pin2vec"] = joblib.load(path)
            signals.cached["pin2vec"] = True
        else:
            if not compute:
                raise SystemExit(f"{path} missing: run --stage signals first")
            from indexer.signals.pin2vec import pin2vec_vectors
            log(f"computing signal [pin2vec] with epochs={args.pin2vec_epochs}")
            t = time.perf_counter()
            signals.values["pin2vec"] = pin2vec_vectors(args.corpus, epochs=args.pin2vec_epochs)
            signals.seconds["pin2vec"] = time.perf_counter() - t
            signals.cached["pin2vec"] = False
            joblib.dump(signals.values["pin2vec"], path)
    return signals


def stage_signals(args: argparse.Namespace) -> dict[str, Any]:
    with PeakRSS() as rss:
        t = time.perf_counter()
        signals = load_signals(args, compute=True)
        seconds = time.perf_counter() - t
    return {"signals": signals.summary(), "seconds": round(seconds, 1), "peak_rss_mb": round(rss.peak_mb)}


# -- index ---------------------------------------------------------------------------------------------
def subset_corpus(corpus: Path, n: int, out: Path) -> Path:
    """A corpus holding the first ``n`` pins of ``corpus`` (other files linked)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for f in corpus.iterdir():
        if f.name != "pins.jsonl":
            (out / f.name).symlink_to(f)
    with (corpus / "pins.jsonl").open("rb") as src, (out / "pins.jsonl").open("wb") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    return out


def data_dir(args: argparse.Namespace) -> Path:
    return args.workdir / f"data-{args.pins or 'all'}"


def indexed_corpus(args: argparse.Namespace) -> Path:
    return args.workdir / f"corpus-{args.pins}" if args.pins else args.corpus


def stage_index(args: argparse.Namespace) -> dict[str, Any]:
    from indexer.reindex import reindex_corpus
    signals = load_signals(args, compute=False)
    corpus = subset_corpus(args.corpus, args.pins, indexed_corpus(args)) if args.pins else args.corpus
    target = data_dir(args)
    if target.exists():
        shutil.rmtree(target)
    client = pinsearch.connect(f"embedded://{target}")
    try:
        with PeakRSS() as rss:
            t = time.perf_counter()
            report = reindex_corpus(client, corpus, alias="pins", signals=signals.for_pin, progress=False)
            seconds = time.perf_counter() - t
        segments = _segment_count(client, target)
    finally:
        pinsearch.close(client)
    stages = report.stage_seconds
    loading = stages.get("index", stages.get("documents", 0.0) + stages.get("bulk", 0.0))
    out = {"pins": report.indexed, "bulk_errors": len(report.bulk_errors), "seconds": round(seconds, 1),
           "pins_per_s": round(report.indexed / seconds, 1), "stage_seconds": report.stage_seconds,
           "documents_and_bulk_pins_per_s": round(report.indexed / loading, 1) if loading else None,
           "peak_rss_mb": round(rss.peak_mb), "rss_before_mb": round(rss.start_mb),
           "data_dir_mb": round(dir_mb(target)), "segments": segments, "signals": signals.summary()}
    return out


def _segment_count(client: Any, data: Path) -> int | None:
    """Segments of the index behind ``pins``: ``_segments`` where the engine has it, else the embedded
    engine's last on-disk commit (read only; informative: knn takes ``k`` neighbours per segment)."""
    try:
        body = client.indices.segments(index="pins")
        shards = next(iter(body["indices"].values()))["shards"]
        return sum(len(copy["segments"]) for copies in shards.values() for copy in copies)
    except Exception:
        pass
    try:
        concrete = sorted(client.indices.get_alias(name="pins"))[-1]
        for folder in (data / "indices").iterdir():
            if json.loads((folder / "index.json").read_text()).get("name") == concrete:
                commit = sorted(folder.glob("commit-*.json"))[-1]
                return len(json.loads(commit.read_text())["segments"])
    except Exception:  # layout changed: the figure is informative only
        return None
    return None


# -- exact numpy baseline --------------------------------------------------------------------------------
class ExactRelated:
    """The Related Pins blend computed exactly in numpy from the signals that were indexed."""

    def __init__(self, corpus: Path, signals: SignalSet, request: RelatedRequest) -> None:
        self.request = request
        ids: list[str] = []
        signature: list[str | None] = []
        with (corpus / "pins.jsonl").open("rb") as fh:
            for line in fh:
                row = orjson.loads(line)
                ids.append(row["id"])
                signature.append(row.get("image_signature"))
        self.ids = ids
        self.pos = {p: i for i, p in enumerate(ids)}
        self.by_signature: dict[str, list[int]] = {}
        for i, s in enumerate(signature):
            if s:
                self.by_signature.setdefault(s, []).append(i)
        n = len(ids)
        # co-occurrence: rows = candidate pins, columns = query pins (the inverted layout of the index)
        cooc = signals.values.get("cooccur")
        self.cooc: sp.csc_matrix | None = None
        if cooc is not None and len(cooc):
            src_pos = np.asarray([self.pos.get(p, -1) for p in cooc._pin_ids], dtype=np.int64)
            m = cooc._m.tocoo()
            keep = (src_pos[m.row] >= 0) & (src_pos[m.col] >= 0)
            self.cooc = sp.csc_matrix((m.data[keep], (src_pos[m.row[keep]], src_pos[m.col[keep]])), shape=(n, n))
        # Pin2Vec: unit vectors of the indexed pins that have one
        vec = signals.values.get("pin2vec")
        self.vec_rows = np.zeros(0, dtype=np.int64)
        self.vectors = np.zeros((0, 1), dtype=np.float32)
        if vec is not None and len(vec):
            rows = [(self.pos[p], i) for i, p in enumerate(vec._ids) if p in self.pos]
            self.vec_rows = np.asarray([r for r, _ in rows], dtype=np.int64)
            m = vec._m[[i for _, i in rows]]
            self.vectors = (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)
        # content: per field a (pins x keys) CSC of the L2-normalised weights pin_document writes
        self.content: dict[str, tuple[sp.csc_matrix, dict[str, int]]] = {}
        per_field: dict[str, tuple[list[int], list[int], list[float], dict[str, int]]] = {}
        for name, values in (("annotations", signals.values.get("annotations")), ("interests", signals.values.get("interests"))):
            if not values:
                continue
            for pin_id, value in values.items():
                i = self.pos.get(pin_id)
                if i is None:
                    continue
                parts = {"annotations": value} if name == "annotations" else {
                    f"interests_l{level}": scores for level, scores in value.items()}
                for fname, weights in parts.items():
                    rows_, cols_, vals_, keys = per_field.setdefault(fname, ([], [], [], {}))
                    for key, w in l2_normalised(weights).items():
                        rows_.append(i)
                        cols_.append(keys.setdefault(key, len(keys)))
                        vals_.append(w)
        for fname, (rows_, cols_, vals_, keys) in per_field.items():
            self.content[fname] = (sp.csc_matrix((np.asarray(vals_, dtype=np.float32), (rows_, cols_)),
                                                 shape=(n, len(keys))), keys)

    def has_content(self, query: dict[str, Any]) -> bool:
        return any(_top_weights(query.get(f), 1) for f in ("annotations", *INTEREST_FIELDS))

    def top(self, pin_id: str, query: dict[str, Any]) -> list[str]:
        r = self.request
        idx: list[np.ndarray] = []
        val: list[np.ndarray] = []
        q = self.pos[pin_id]
        if self.cooc is not None:
            lo, hi = self.cooc.indptr[q], self.cooc.indptr[q + 1]
            v = self.cooc.data[lo:hi]
            idx.append(self.cooc.indices[lo:hi].astype(np.int64))
            val.append(r.cooccur_weight * v / (v + r.cooccur_pivot))
        vector = query.get("pin2vec")
        if vector and len(self.vectors):
            qv = np.asarray(vector, dtype=np.float32)
            qv /= np.linalg.norm(qv)
            sims = self.vectors @ qv
            k = min(max(r.num_candidates, r.k), len(sims))
            best = np.argpartition(-sims, k - 1)[:k]
            idx.append(self.vec_rows[best])
            val.append(r.pin2vec_weight * np.maximum((1 + sims[best]) / 2, 0))
        for fname in ("annotations", *INTEREST_FIELDS):
            terms = _top_weights(query.get(fname), r.max_content_terms)
            if not terms or fname not in self.content:
                continue
            matrix, keys = self.content[fname]
            cols = [keys[t] for t, _ in terms if t in keys]
            if not cols:
                continue
            boosts = np.asarray([w * r.content_weight / 2 for t, w in terms if t in keys], dtype=np.float32)
            part = matrix[:, cols] @ sp.csc_matrix(boosts[:, None])
            idx.append(part.indices.astype(np.int64))
            val.append(part.data)
        if not idx:
            return []
        all_idx = np.concatenate(idx)
        all_val = np.concatenate(val).astype(np.float64)
        uniq, inverse = np.unique(all_idx, return_inverse=True)
        total = np.bincount(inverse, weights=all_val)
        banned = {q, *self.by_signature.get(query.get("image_signature") or "", ())}
        total[np.isin(uniq, list(banned))] = -np.inf
        k = min(r.k, len(total))
        best = np.argpartition(-total, k - 1)[:k]
        best = best[np.argsort(-total[best], kind="stable")]
        return [self.ids[uniq[b]] for b in best if np.isfinite(total[b])]


# -- timings ----------------------------------------------------------------------------------------------
def pct(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {"n": int(a.size), "p50": round(float(np.percentile(a, 50)), 2), "p90": round(float(np.percentile(a, 90)), 2),
            "p99": round(float(np.percentile(a, 99)), 2), "mean": round(float(a.mean()), 2),
            "max": round(float(a.max()), 2)}


def time_requests(client: Any, pins: list[str], exact: ExactRelated | None, *, ltr: bool) -> dict[str, Any]:
    related_ms: list[float] = []
    raw_ms: list[float] = []
    lookup_ms: list[float] = []
    numpy_ms: list[float] = []
    overlaps: list[float] = []
    fallback = 0
    sources = {"cooccurrence": 0, "pin2vec": 0, "content": 0}
    extra = {} if ltr else {"rescore": None}
    for n, pin in enumerate(pins):
        t = time.perf_counter()
        result = related_pins(client, pin, K, **extra)
        related_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        raw = client.search(index="pins", body=result.request_body)
        raw_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        query = fetch_query_pin(client, pin)
        lookup_ms.append((time.perf_counter() - t) * 1000)
        assert [h["_id"] for h in raw["hits"]["hits"]] == [h.pin_id for h in result.hits]
        for h in result.hits:
            for s in h.sources:
                sources[s] += 1
        if exact is not None:
            t = time.perf_counter()
            mine = exact.top(pin, query)
            numpy_ms.append((time.perf_counter() - t) * 1000)
            if exact.has_content(query):
                engine = [h.pin_id for h in result.hits]
                if ltr:
                    pass  # the rescore reorders: overlap is a first-pass check only
                elif engine or mine:
                    overlaps.append(len(set(engine) & set(mine)) / max(len(engine), len(mine), 1))
            else:
                fallback += 1
        if (n + 1) % 100 == 0:
            log(f"{'ltr' if ltr else 'first pass'}: {n + 1}/{len(pins)} p50 {np.percentile(related_ms, 50):.1f} ms")
    out: dict[str, Any] = {"related_pins_ms": pct(related_ms), "raw_search_ms": pct(raw_ms),
                           "lookup_ms": pct(lookup_ms), "hit_sources_total": sources}
    if numpy_ms:
        out["exact_numpy_ms"] = pct(numpy_ms)
        out["query_pins_with_text_fallback"] = fallback
        if overlaps:
            out["overlap@20_engine_vs_exact"] = round(float(np.mean(overlaps)), 4)
    return out


def train_related(client: Any, corpus: Path, indexed: set[str], n_query_pins: int, seed: int) -> dict[str, Any]:
    """A Related Pins model with the project's loop, on the related log of ``n_query_pins`` query pins."""
    from indexer.corpus import CorpusReader
    from indexer.corpus.reader import ValidationOptions
    from ranking.ltr.clicks import impressions_from_log
    from ranking.ltr.pipeline import held_out_keys, train_from_clicks
    from ranking.ltr.related_pipeline import related_params_for, related_parity_samples
    from ranking.ltr.upload import activate, create_model, model_name, parity_check
    t0 = time.perf_counter()
    reader = CorpusReader(corpus, options=ValidationOptions(progress=False))
    rows = impressions_from_log(reader.related_log(), key="query_pin")
    keys = sorted({str(r.query) for r in rows if str(r.query) in indexed})
    chosen = set(random.Random(seed).sample(keys, min(n_query_pins, len(keys))))
    rows = [r for r in rows if str(r.query) in chosen and r.pin_id in indexed]
    trained = train_from_clicks(client, "related", rows, sorted(indexed), related_params_for(client, "pins"),
                                index="pins", source=f"{corpus}: related_log.jsonl ({len(chosen)} query pins)",
                                seed=seed, progress=log)
    fs, model = trained["featureset"], trained["model"]
    name = model_name(fs.name, "pins", trained["featureset_version"])
    create_model(client, fs.name, trained["featureset_version"], name, model, index="pins",
                 validation_params=trained["validation_params"], training={"triplets": trained["triplets"]})
    test = held_out_keys({k: {"x": 1.0} for k in chosen})
    parity = parity_check(client, "pins", name, model,
                          related_parity_samples(client, test or sorted(chosen), index="pins", n_queries=3, seed=seed))
    activate(client, fs.name, name, parity=parity, candidate_metric=None, active_metric=None, force=True)
    return {"model": name, "query_pins": len(chosen), "impressions": len(rows), "triplets": trained["triplets"],
            "features": len(model.weights), "parity_passed": parity["passed"],
            "timings": {k: round(v, 1) for k, v in trained["timings"].items()},
            "seconds": round(time.perf_counter() - t0, 1)}


def stage_query(args: argparse.Namespace) -> dict[str, Any]:
    corpus = indexed_corpus(args)
    target = data_dir(args)
    if not target.exists():
        raise SystemExit(f"{target} missing: run --stage index first")
    out: dict[str, Any] = {}
    t = time.perf_counter()
    client = pinsearch.connect(f"embedded://{target}")
    count = client.count(index="pins")["count"]
    out.update({"indexed_pins": count, "open_seconds": round(time.perf_counter() - t, 1),
                "segments": _segment_count(client, target)})
    log(f"opened {target}: {count} pins")
    try:
        exact = None
        if not args.no_exact:
            t = time.perf_counter()
            exact = ExactRelated(corpus, load_signals(args, compute=False), RelatedRequest(pin_id="x", k=K))
            out["exact_build_seconds"] = round(time.perf_counter() - t, 1)
            log("exact baseline ready")
        ids = exact.ids if exact is not None else [orjson.loads(line)["id"] for line in (corpus / "pins.jsonl").open("rb")]
        rng = random.Random(args.seed)
        chosen = rng.sample(ids, args.queries + WARMUP)
        warm, pins = chosen[:WARMUP], chosen[WARMUP:]
        for pin in warm:
            related_pins(client, pin, K, rescore=None)
        with PeakRSS() as rss:
            out["first_pass"] = time_requests(client, pins, exact, ltr=False)
        out["peak_rss_mb"] = round(rss.peak_mb)
        if args.ltr_query_pins > 0:
            out["ltr_training"] = train_related(client, corpus, set(ids), args.ltr_query_pins, args.seed)
            log(f"trained {out['ltr_training']}")
            for pin in warm:
                related_pins(client, pin, K)
            out["with_ltr"] = time_requests(client, pins, exact, ltr=True)
    finally:
        pinsearch.close(client)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/pinsearch-bench-related"))
    ap.add_argument("--stage", choices=("signals", "index", "query", "all"), default="all")
    ap.add_argument("--signals", default="cooccur,pin2vec", help="comma list of pipeline signals")
    ap.add_argument("--pin2vec-epochs", type=int, default=0, help="train Pin2Vec with this many epochs (0: the pipeline's)")
    ap.add_argument("--truth-annotations", action="store_true",
                    help="index the sample's ground-truth keyphrases as the annotations signal (ground_truth/ "
                         "beside the corpus), so query pins have content clauses without training the annotator")
    ap.add_argument("--pins", type=int, default=0, help="index only the first N pins of the corpus (0: all)")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--ltr-query-pins", type=int, default=0, help="train a Related Pins model on N query pins' logs")
    ap.add_argument("--no-exact", action="store_true", help="skip the exact numpy baseline")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    stages = ("signals", "index", "query") if args.stage == "all" else (args.stage,)
    result: dict[str, Any] = {"corpus": str(args.corpus), "pins_limit": args.pins, "signals": args.signals,
                              "pin2vec_epochs": args.pin2vec_epochs or "pipeline default"}
    for stage in stages:
        log(f"stage {stage}")
        result[stage] = {"signals": stage_signals, "index": stage_index, "query": stage_query}[stage](args)
        log(json.dumps(result[stage]))
    text = json.dumps(result, indent=2)
    (args.workdir / f"result-{args.stage}-{args.pins or 'all'}.json").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
