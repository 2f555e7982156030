"""localnode against a real OpenSearch 2.19.1 node: the same documents, the same requests, one run.

    .venv/bin/python benchmarks/bench_vs_opensearch.py            # defaults: ~3 minutes on 2 cores
    .venv/bin/python benchmarks/bench_vs_opensearch.py --docs 1000000 --vectors 200000 --related-pins 100000

Three engines, all driven by the same opensearch-py client code from this process:
  * ``localnode``   : the embedded engine in this process (``pinsearch.connect("embedded://DIR")``);
  * ``serve``       : the same engine behind ``pinsearch serve --data DIR2 --port 0`` (a subprocess,
                      HTTP on loopback);
  * ``opensearch``  : a real OpenSearch 2.19.1 node started here with ``pinsearch.cluster.start_cluster``
                      (Maven Central jars, k-NN plugin, 2 GB heap, loopback port 9290) unless
                      ``--cluster-url`` names one already running.
Both HTTP engines get the same opensearch-py client as ``pinsearch.connect`` builds, but without
``http_compress`` (``--http-compress`` to turn it on): with it the real node gzips every response
and ``pinsearch serve`` none, which is not the engines' work.

Indices (one shard, no replica, ``index.translog.durability: request`` -- fsync per bulk request --
and the default 1 s refresh interval on every engine):
  * ``docs``: ``--docs`` documents of bench_engine.py's generator (title 4-10 + description 12-40
    Zipf-drawn words of a pin vocabulary, ``english`` analyzer) plus a ``rank_feature``, a float and
    ``seq``, a unique integer used only to break score ties in the agreement check;
  * ``vec``: ``--vectors`` embedding-like 128-d vectors (bench_knn_ltr.py's generator), ``knn_vector``
    with ``hnsw`` / ``lucene`` / ``l2`` (m 16, ef_construction 100) -- the real node's k-NN plugin has
    no native libraries, so faiss and nmslib are out; localnode serves the lucene engine's semantics
    with faiss HNSW under it;
  * ``rel``: ``--related-pins`` synthetic pins with the fields the Related Pins request reads
    (``cooccur`` and ``annotations`` rank_features from a random pin x board incidence, ``pin2vec``
    ``knn_vector`` lucene / cosinesimil, ``image_signature``, text) -- built directly, not with the
    signal pipeline, to keep the run short.
Each engine bulk-loads each index alone (the others idle), in bulk requests of ``--bulk`` documents
(``--vector-bulk`` for vectors); the clock covers the bulk requests, the final ``_refresh`` is timed
separately, and every index is then force-merged to one segment on every engine (reported, not in
the rates), so the query figures compare engines rather than merge policies. The first ``knn`` query
after the merge is timed too: localnode builds a segment's HNSW graph on its first approximate
search, Lucene while writing the segment, so bulk + refresh + merge + first query is the comparable
"vectors searchable" time.

Queries (top 10 unless said; a separate warm-up set first, then the timed set; the engines take
turns on blocks of 10 requests, the same 10 for each, the first engine rotating per block, so a busy
moment on the shared machine costs them alike):
  * ``match`` on ``title`` and ``multi_match`` on title + description: p50 / p99 of the client's wall
    time per request;
  * ``knn`` (k 10, ``method_parameters.ef_search`` 100): queries/s of one sequential client, p50/p99,
    and recall@10 against exact l2 neighbours computed with numpy;
  * first pass + rescore: ``multi_match`` then a 100-document ``rescore`` whose ``rescore_query`` is a
    ``rank_feature`` saturation + ``match_phrase`` (the real node has no LTR plugin, so the
    cross-engine figure uses this plain rescore); the ``sltr`` rescore (a 20-feature linear model over
    the same window) is timed on the two localnode engines only;
  * Related Pins: the body of ``ranking.related.build_related_body`` (rank_feature saturation on
    ``cooccur.<pin>``, a named ``knn`` on ``pin2vec``, the annotation content clause, ``must_not``)
    for random query pins, k 20, no rescore (the query-pin lookup is not timed).

Agreement (the benchmark is meaningless if the engines do different work), localnode against the
real node; the script exits with status 1 after writing its results when any check fails:
  * every timed ``match`` and ``multi_match`` body again with ``sort: [_score, seq]`` (ties broken by
    a unique field): identical top-10 ids and float32 scores required for every request;
  * the timed responses themselves: equal scores are ordered by Lucene doc id, which after refreshes
    and merges differs between any two indices (two localnode instances too), so a response may
    differ in the order or, at the top-10 edge, the choice of equally scored documents; those are
    counted apart after every id either engine returned has been scored again on both engines (the
    query with an ``ids`` filter) with the same float32 score; any other difference fails;
  * rescore responses likewise, plus the case of a 100-document window cut inside a tie (the engines
    then rescore different documents), recognised from the two first-pass windows;
  * ``knn`` and Related Pins: the engines walk different HNSW graphs, so the overlap of their ids is
    reported (not required), and how many ids both returned carry the same float32 score.

Peak RSS (VmHWM): the ``pinsearch serve`` process and the OpenSearch JVM, read from /proc at the end
of the run; the in-process engine is measured in a separate phase, after the servers are stopped: a
subprocess regenerates the same data, notes its RSS, then indexes and queries everything in
process, and reports its peak and the peak minus the RSS it had before the engine started.

Writes ``benchmarks/results/vs_opensearch.json`` (``--out``) and prints a table; ratios are
localnode / real node measured in this run (> 1 = localnode faster for rates, < 1 = localnode faster
for latencies).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pinsearch  # noqa: E402
from bench_engine import WORDS, make_docs, make_queries, percentile  # noqa: E402
from bench_knn_ltr import DIM, embedding_like, exact_neighbours  # noqa: E402
from indexer.signals.cooccurrence import feature_key  # noqa: E402
from opensearchpy import helpers  # noqa: E402
from ranking.related import RelatedRequest, build_related_body  # noqa: E402

ENGINES = ("localnode", "serve", "opensearch")
LABELS = {"localnode": "localnode (in-process)", "serve": "localnode via `pinsearch serve` (HTTP)",
          "opensearch": "OpenSearch 2.19.1 (HTTP)"}
BLOCK = 10
HNSW = {"m": 16, "ef_construction": 100}
EF_SEARCH = 100
RESCORE_WINDOW = 100
RELATED_K = 20


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def vm_kb(pid: int | str, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


# -- data ----------------------------------------------------------------------------------------------
def make_related(n: int, seed: int) -> list[dict[str, Any]]:
    """Synthetic pins: boards of ~20 pins, each pin on 1-4 boards; ``cooccur`` holds, under each other
    pin's key, the boards it shares with it (top 50), as the co-occurrence signal writes it;
    ``pin2vec`` is the mean of its boards' latent vectors plus noise (so neighbours share boards)."""
    rng = np.random.default_rng(seed)
    boards = max(1, n // 8)
    per_pin = rng.integers(1, 5, n)
    rows = np.repeat(np.arange(n), per_pin)
    cols = rng.integers(0, boards, len(rows))
    incidence = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, boards))
    incidence.data[:] = 1.0
    shared = (incidence @ incidence.T).tocsr()
    shared.setdiag(0)
    shared.eliminate_zeros()
    board_latent = rng.standard_normal((boards, 16)).astype(np.float32)
    basis = rng.standard_normal((16, DIM)).astype(np.float32)
    counts = np.asarray(incidence.sum(axis=1)).ravel()
    latent = (incidence @ board_latent) / counts[:, None] + 0.5 * rng.standard_normal((n, 16)).astype(np.float32)
    vectors = latent @ basis + 0.3 * rng.standard_normal((n, DIM)).astype(np.float32)
    board_names = [" ".join(rng.choice(WORDS, 2)) for _ in range(boards)]
    texts = make_docs(n, seed)
    ann_vocab = [f"{a} {b}".replace(" ", "_") for a in WORDS[:60] for b in WORDS[60:100]]
    pins: list[dict[str, Any]] = []
    for i in range(n):
        lo, hi = shared.indptr[i], shared.indptr[i + 1]
        neighbours, weights = shared.indices[lo:hi], shared.data[lo:hi]
        top = np.argsort(-weights, kind="stable")[:50]
        terms = rng.choice(len(ann_vocab), int(rng.integers(3, 9)), replace=False)
        pin_boards = incidence.indices[incidence.indptr[i]:incidence.indptr[i + 1]]
        pins.append({
            "pin_id": f"p{i}",
            "title": texts[i]["title"],
            "description": texts[i]["description"],
            "board_names": [board_names[b] for b in pin_boards],
            # ~2 % of pins share an image with another pin (PinJoin duplicates, removed by must_not)
            "image_signature": f"img{i if rng.random() > 0.02 else int(rng.integers(0, n))}",
            "cooccur": {feature_key(f"p{j}"): float(w) for j, w in zip(neighbours[top].tolist(),
                                                                        weights[top].tolist())},
            "annotations": {ann_vocab[t]: round(float(rng.uniform(0.05, 1.0)), 4) for t in terms.tolist()},
            "pin2vec": [round(x, 6) for x in vectors[i].tolist()],
        })
    return pins


class Data:
    def __init__(self, args: argparse.Namespace) -> None:
        started = time.perf_counter()
        rng = np.random.default_rng(args.seed)
        self.docs = make_docs(args.docs, args.seed)
        for i, doc in enumerate(self.docs):
            doc["seq"] = i
            doc["pop"] = round(float(1 + rng.random() * 100), 3)
            doc["n1"] = round(float(rng.random()), 4)
        self.queries = make_queries(args.queries, args.seed + 1)
        self.warm_queries = make_queries(args.warmup, args.seed + 2)
        self.vectors = embedding_like(args.vectors, args.seed + 3)
        self.knn_queries = embedding_like(args.queries, args.seed + 4)
        self.knn_warm = embedding_like(args.warmup, args.seed + 5)
        self.pins = make_related(args.related_pins, args.seed + 6)
        picks = np.random.default_rng(args.seed + 7).choice(len(self.pins), args.related_queries + args.warmup,
                                                            replace=len(self.pins) < args.related_queries + args.warmup)
        self.related_queries = [int(i) for i in picks[:args.related_queries]]
        self.related_warm = [int(i) for i in picks[args.related_queries:]]
        self.seconds = time.perf_counter() - started


# -- indices -------------------------------------------------------------------------------------------
def base_settings(**extra: Any) -> dict[str, Any]:
    return {"index": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s",
                      "translog.durability": "request", **extra}}


DOCS_BODY = {"settings": base_settings(), "mappings": {"properties": {
    "title": {"type": "text", "analyzer": "english"}, "description": {"type": "text", "analyzer": "english"},
    "pop": {"type": "rank_feature"}, "n1": {"type": "float"}, "seq": {"type": "integer"}}}}
VEC_BODY = {"settings": base_settings(knn=True), "mappings": {"properties": {
    "v": {"type": "knn_vector", "dimension": DIM,
          "method": {"name": "hnsw", "engine": "lucene", "space_type": "l2", "parameters": HNSW}}}}}
REL_BODY = {"settings": base_settings(knn=True), "mappings": {"properties": {
    "pin_id": {"type": "keyword"}, "title": {"type": "text", "analyzer": "english"},
    "description": {"type": "text", "analyzer": "english"}, "board_names": {"type": "text", "analyzer": "english"},
    "image_signature": {"type": "keyword"}, "annotations": {"type": "rank_features"},
    "cooccur": {"type": "rank_features"},
    "pin2vec": {"type": "knn_vector", "dimension": DIM,
                "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil", "parameters": HNSW}}}}}


def load_index(es: Any, index: str, body: dict[str, Any], sources: Callable[[int, int], list[dict[str, Any]]],
               total: int, chunk: int) -> dict[str, float]:
    """Create ``index``, bulk ``total`` documents in requests of ``chunk``, refresh: timings."""
    es.indices.delete(index=index, ignore=[404])
    es.indices.create(index=index, body=body)
    started = time.perf_counter()
    for start in range(0, total, chunk):
        docs = sources(start, min(total, start + chunk))
        ok, errors = helpers.bulk(es, ({"_index": index, "_id": str(start + i), "_source": d}
                                       for i, d in enumerate(docs)), chunk_size=len(docs), max_chunk_bytes=1 << 30,
                                  request_timeout=600)
        if errors:
            raise RuntimeError(f"bulk into {index}: {errors[:3]}")
    bulk_s = time.perf_counter() - started
    started = time.perf_counter()
    es.indices.refresh(index=index)
    refresh_s = time.perf_counter() - started
    count = es.count(index=index)["count"]
    if count != total:
        raise RuntimeError(f"{index}: {count} documents searchable, {total} sent")
    return {"docs": total, "bulk_s": round(bulk_s, 3), "refresh_s": round(refresh_s, 3),
            "docs_per_s_bulk": round(total / bulk_s, 1),
            "docs_per_s_bulk_and_refresh": round(total / (bulk_s + refresh_s), 1)}


INDICES = ("docs", "vec", "rel")


def load_all(es: Any, data: Data, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    vectors = data.vectors
    return {
        "docs": load_index(es, "docs", DOCS_BODY, lambda a, b: data.docs[a:b], len(data.docs), args.bulk),
        "vec": load_index(es, "vec", VEC_BODY, lambda a, b: [{"v": row.tolist()} for row in vectors[a:b]],
                          len(vectors), args.vector_bulk),
        "rel": load_index(es, "rel", REL_BODY, lambda a, b: data.pins[a:b], len(data.pins), args.vector_bulk),
    }


def segment_count(es: Any, index: str) -> int | None:
    """Segments of ``index`` (``_cat/segments``; localnode has no segment API: None)."""
    try:
        return len({(row["shard"], row["segment"]) for row in es.cat.segments(index=index, format="json")})
    except Exception:  # noqa: BLE001
        return None


def merge_all(es: Any, timings: dict[str, dict[str, float]]) -> None:
    """Force-merge every index to one segment (timed into ``timings``), segment counts before."""
    for index in INDICES:
        timings[index]["segments_before_merge"] = segment_count(es, index)
        started = time.perf_counter()
        es.indices.forcemerge(index=index, max_num_segments=1, request_timeout=1800)
        es.indices.refresh(index=index)
        timings[index]["forcemerge_s"] = round(time.perf_counter() - started, 3)


def first_queries(es: Any, data: Data, timings: dict[str, dict[str, float]]) -> None:
    """Time the first ``knn`` search of ``vec`` and the first Related Pins search of ``rel``:
    localnode builds a segment's HNSW graph on its first approximate search, Lucene when it writes
    the segment (flush, merge), so only bulk + merge + first query compares the two."""
    for index, (_, body) in (("vec", knn_body(data.knn_warm[0])), ("rel", related_body(data.pins[data.related_warm[0]]))):
        started = time.perf_counter()
        es.search(index=index, body=body)
        t = timings[index]
        t["first_query_s"] = round(time.perf_counter() - started, 3)
        t["ready_s"] = round(t["bulk_s"] + t["refresh_s"] + t["forcemerge_s"] + t["first_query_s"], 3)


# -- requests ------------------------------------------------------------------------------------------
Request = tuple[str, dict[str, Any]]   # index, body


def match_body(q: str) -> Request:
    return "docs", {"size": 10, "query": {"match": {"title": q}}}


def multi_match_body(q: str) -> Request:
    return "docs", {"size": 10, "query": {"multi_match": {"query": q, "fields": ["title", "description"]}}}


def rescore_body(q: str) -> Request:
    return "docs", {"size": 10, "query": {"multi_match": {"query": q, "fields": ["title", "description"]}},
                    "rescore": {"window_size": RESCORE_WINDOW, "query": {
                        "rescore_query": {"bool": {"should": [
                            {"rank_feature": {"field": "pop", "saturation": {"pivot": 10}}},
                            {"match_phrase": {"title": q}}]}},
                        "query_weight": 1.0, "rescore_query_weight": 2.0}}}


def sltr_body(q: str) -> Request:
    return "docs", {"size": 10, "query": {"multi_match": {"query": q, "fields": ["title", "description"]}},
                    "rescore": {"window_size": RESCORE_WINDOW, "query": {
                        "rescore_query": {"sltr": {"params": {"q": q}, "model": "bench_model"}}, "query_weight": 0.0}}}


def knn_body(v: np.ndarray) -> Request:
    return "vec", {"size": 10, "_source": False, "query": {"knn": {"v": {
        "vector": v.tolist(), "k": 10, "method_parameters": {"ef_search": EF_SEARCH}}}}}


def related_body(pin: dict[str, Any]) -> Request:
    return "rel", build_related_body(pin, RelatedRequest(pin_id=pin["pin_id"], k=RELATED_K, rescore=None))


def request_sets(data: Data) -> dict[str, tuple[list[Request], list[Request]]]:
    """Per kind: (warm-up requests, timed requests)."""
    return {
        "match": ([match_body(q) for q in data.warm_queries], [match_body(q) for q in data.queries]),
        "multi_match": ([multi_match_body(q) for q in data.warm_queries], [multi_match_body(q) for q in data.queries]),
        "knn": ([knn_body(v) for v in data.knn_warm], [knn_body(v) for v in data.knn_queries]),
        "rescore": ([rescore_body(q) for q in data.warm_queries], [rescore_body(q) for q in data.queries]),
        "related": ([related_body(data.pins[i]) for i in data.related_warm],
                    [related_body(data.pins[i]) for i in data.related_queries]),
        "sltr": ([sltr_body(q) for q in data.warm_queries], [sltr_body(q) for q in data.queries]),
    }


def setup_sltr(es: Any) -> None:
    """A 20-feature linear model like bench_knn_ltr.py's: BM25 on two fields x 5 boosts, 5
    field_value_factor, 5 rank_feature saturations."""
    features = []
    for field in ("title", "description"):
        for boost in (1, 2, 3, 4, 5):
            features.append({"name": f"{field}_bm25_{boost}", "params": ["q"], "template_language": "mustache",
                             "template": {"match": {field: {"query": "{{q}}", "boost": boost}}}})
    for i in range(5):
        features.append({"name": f"fvf_{i}", "params": [], "template": {"function_score": {
            "query": {"match_all": {}}, "field_value_factor": {"field": "n1", "factor": i + 1, "missing": 0}}}})
    for i in range(5):
        features.append({"name": f"pop_{i}", "params": [], "template": {
            "rank_feature": {"field": "pop", "saturation": {"pivot": 10 * (i + 1)}}}})
    weights = {f["name"]: float(w) for f, w in zip(features, np.random.default_rng(3).random(len(features)))}
    es.transport.perform_request("PUT", "/_ltr")
    es.transport.perform_request("PUT", "/_ltr/_featureset/bench", body={"featureset": {"name": "bench",
                                                                                        "features": features}})
    es.transport.perform_request("POST", "/_ltr/_featureset/bench/_createmodel", body={"model": {
        "name": "bench_model", "model": {"type": "model/linear", "definition": weights}}})


def hits_of(response: dict[str, Any]) -> list[tuple[str, float]]:
    return [(h["_id"], h["_score"]) for h in response["hits"]["hits"]]


def run_interleaved(clients: dict[str, Any], warm: list[Request], timed: list[Request],
                    block: int = BLOCK) -> tuple[dict[str, list[float]], dict[str, list[list[tuple[str, float]]]]]:
    """Warm-up requests on every engine, then the timed ones in blocks of ``block``: each engine runs
    the same block in turn, the first engine rotating from block to block. Latencies in ms and the
    (id, score) hits of every timed request, per engine."""
    names = list(clients)
    for index, body in warm:
        for name in names:
            clients[name].search(index=index, body=body)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    hits: dict[str, list[list[tuple[str, float]]]] = {name: [] for name in names}
    for b, start in enumerate(range(0, len(timed), block)):
        order = names[b % len(names):] + names[:b % len(names)]
        for name in order:
            es = clients[name]
            for index, body in timed[start:start + block]:
                t0 = time.perf_counter()
                response = es.search(index=index, body=body)
                latencies[name].append((time.perf_counter() - t0) * 1000)
                hits[name].append(hits_of(response))
    return latencies, hits


def summary(latencies: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(latencies, 50), 3), "p99_ms": round(percentile(latencies, 99), 3),
            "mean_ms": round(float(np.mean(latencies)), 3), "qps": round(1000 * len(latencies) / sum(latencies), 1)}


# -- agreement -----------------------------------------------------------------------------------------
def f32(x: float) -> float:
    return float(np.float32(x))


def compare_ranked(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> str:
    """'identical' (ids and float32 scores), 'tie_order' (same float32 score sequence; ids differ only
    among equal scores, the last score's group may be cut differently by the top-k) or 'different'."""
    sa, sb = [f32(s) for _, s in a], [f32(s) for _, s in b]
    if [i for i, _ in a] == [i for i, _ in b] and sa == sb:
        return "identical"
    if sa != sb:
        return "different"
    last = sa[-1] if sa else None
    groups_a: dict[float, set[str]] = {}
    groups_b: dict[float, set[str]] = {}
    for (ia, s), (ib, _) in zip(zip([i for i, _ in a], sa), zip([i for i, _ in b], sb)):
        groups_a.setdefault(s, set()).add(ia)
        groups_b.setdefault(s, set()).add(ib)
    return "tie_order" if all(groups_a[s] == groups_b[s] for s in groups_a if s != last) else "different"


def scores_of_ids(es: Any, index: str, query: dict[str, Any], ids: list[str]) -> dict[str, float]:
    """The scores ``query`` gives the documents ``ids`` (an ``ids`` filter adds no score)."""
    body = {"size": len(ids), "_source": False,
            "query": {"bool": {"must": [query], "filter": [{"ids": {"values": ids}}]}}}
    return {h["_id"]: h["_score"] for h in es.search(index=index, body=body)["hits"]["hits"]}


def agreement(clients: dict[str, Any], requests: list[Request], hits: dict[str, list[list[tuple[str, float]]]],
              left: str, right: str, rescore: bool = False) -> dict[str, Any]:
    """Per request: ``identical`` (ids, order, float32 scores); ``tie_order`` (the same ids, ordered
    differently among equal scores); ``tie_at_cutoff`` (the same float32 score sequence, ids equal
    except inside the group of equal scores that the top 10 cuts); ``different`` otherwise. Equal
    scores are ordered by Lucene doc id, which depends on how segments were flushed (the 1 s refresh
    is timing-dependent) and merged, so tie cases are then checked: every id either engine returned
    is scored again on both (the same query with an ``ids`` filter) and must get the same float32
    score on both, else the request counts as ``different``.

    ``rescore``: a rescore body scores only the first pass's top ``window_size``, so a tie cut by the
    window lets the two engines rescore different documents. A rescored request whose top 10 differs
    is counted as ``window_cut_in_tie`` when the two first-pass windows have the same float32 score
    sequence and differ only inside the tie at the window's edge (checked as above); if the windows
    hold the same documents, the request stays ``different``."""
    tally = {"identical": 0, "tie_order": 0, "tie_at_cutoff": 0, "different": 0}
    if rescore:
        tally["window_cut_in_tie"] = 0
    examples = []

    def same_scores(index: str, query: dict[str, Any], a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
        ids = sorted({x for x, _ in a} | {x for x, _ in b})
        sl = scores_of_ids(clients[left], index, query, ids)
        sr = scores_of_ids(clients[right], index, query, ids)
        return set(sl) == set(ids) == set(sr) and all(f32(sl[x]) == f32(sr[x]) for x in ids)

    for i, ((index, body), a, b) in enumerate(zip(requests, hits[left], hits[right])):
        verdict = compare_ranked(a, b)
        if verdict == "tie_order" and not rescore and not same_scores(index, body["query"], a, b):
            verdict = "different"
        if verdict == "tie_order" and sorted(x for x, _ in a) != sorted(x for x, _ in b):
            verdict = "tie_at_cutoff"
        if verdict == "different" and rescore:
            first = {"size": body["rescore"]["window_size"], "_source": False, "query": body["query"]}
            wa = hits_of(clients[left].search(index=index, body=first))
            wb = hits_of(clients[right].search(index=index, body=first))
            if (compare_ranked(wa, wb) == "tie_order" and sorted(x for x, _ in wa) != sorted(x for x, _ in wb)
                    and same_scores(index, body["query"], wa, wb)):
                verdict = "window_cut_in_tie"
        tally[verdict] += 1
        if verdict == "different" and len(examples) < 3:
            examples.append({"request": i, left: a, right: b})
    return {"compared": len(hits[left]), **tally, **({"examples": examples} if examples else {})}


def overlap(hits: dict[str, list[list[tuple[str, float]]]], left: str, right: str, k: int) -> dict[str, Any]:
    shares, score_checked, score_equal, max_ulps, max_rel = [], 0, 0, 0, 0.0
    for a, b in zip(hits[left], hits[right]):
        sa, sb = dict(a), dict(b)
        shares.append(len(sa.keys() & sb.keys()) / k)
        for doc in sa.keys() & sb.keys():
            score_checked += 1
            x, y = np.float32(sa[doc]), np.float32(sb[doc])
            score_equal += x == y
            max_ulps = max(max_ulps, abs(int(x.view(np.int32)) - int(y.view(np.int32))))
            max_rel = max(max_rel, abs(float(x) - float(y)) / max(abs(float(y)), 1e-30))
    return {"mean_overlap_at_k": round(float(np.mean(shares)), 4), "k": k,
            "common_hits": score_checked, "common_hits_same_float32_score": int(score_equal),
            "max_float32_ulps_apart": max_ulps, "max_relative_score_difference": max_rel}


def recall(hits: list[list[tuple[str, float]]], truth: list[set[int]]) -> float:
    return round(sum(len({int(i) for i, _ in h} & t) for h, t in zip(hits, truth)) / (10 * len(truth)), 4)


# -- processes -----------------------------------------------------------------------------------------
def start_serve(data_dir: Path, cwd: Path) -> tuple[subprocess.Popen[str], str]:
    script = Path(sys.executable).with_name("pinsearch")
    command = [str(script)] if script.exists() else [sys.executable, "-c",
                                                     "import sys; from pinsearch.cli import main; sys.exit(main())"]
    proc = subprocess.Popen(command + ["serve", "--json", "--data", str(data_dir), "--port", "0"],
                            stdout=subprocess.PIPE, text=True, cwd=cwd, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.wait(timeout=30)
        raise RuntimeError(f"pinsearch serve exited ({proc.returncode}) before printing its URL")
    return proc, json.loads(line)["url"]


def http_client(url: str, compress: bool) -> Any:
    """``pinsearch.connect(url)``'s client (orjson serializer), by default without ``http_compress``:
    with it the real node gzips every response (``pinsearch serve`` never does) and the client
    gzips every request body and gunzips every response, work that is not the engines'."""
    if compress:
        return pinsearch.connect(url, timeout=600)
    from urllib.parse import urlsplit

    from opensearchpy import OpenSearch

    from pinsearch.client import FastJSONSerializer
    parts = urlsplit(url)
    return OpenSearch(hosts=[{"host": parts.hostname, "port": parts.port}], timeout=600, max_retries=0,
                      http_compress=False, serializer=FastJSONSerializer())


def rss_phase(args: argparse.Namespace) -> dict[str, Any]:
    """The in-process engine's memory, attributable: a subprocess that does only this (see --rss-worker)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--rss-worker",
               "--docs", str(args.docs), "--vectors", str(args.vectors), "--related-pins", str(args.related_pins),
               "--queries", str(args.queries), "--related-queries", str(args.related_queries),
               "--warmup", str(args.warmup), "--bulk", str(args.bulk), "--vector-bulk", str(args.vector_bulk),
               "--seed", str(args.seed)]
    out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode != 0:
        return {"error": out.stderr[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def rss_worker(args: argparse.Namespace) -> None:
    data = Data(args)
    before = vm_kb("self", "VmRSS")
    workdir = Path(tempfile.mkdtemp(prefix="pinsearch-vs-rss-"))
    try:
        es = pinsearch.connect(f"embedded://{workdir / 'data'}")
        loads = load_all(es, data, args)
        merge_all(es, loads)
        setup_sltr(es)
        for kind, (warm, timed) in request_sets(data).items():
            run_interleaved({"localnode": es}, warm, timed)
        after_queries = vm_kb("self", "VmRSS")
        pinsearch.close(es)
        print(json.dumps({"rss_before_engine_mb": mb(before), "rss_after_queries_mb": mb(after_queries),
                          "vmhwm_mb": mb(vm_kb("self", "VmHWM")),
                          "engine_share_mb": mb(vm_kb("self", "VmHWM") - before),  # type: ignore[operator]
                          "indexing_alone": loads}))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# -- report --------------------------------------------------------------------------------------------
def fmt(x: Any, digits: int = 2) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def table(results: dict[str, Any]) -> str:
    e = results["engines"]
    rows = []

    def row(label: str, key: Callable[[dict[str, Any]], Any], digits: int = 2, engines: tuple[str, ...] = ENGINES,
            ratio: bool = True) -> None:
        values = {name: (key(e[name]) if name in engines else None) for name in ENGINES}
        cells = [fmt(values[name], digits) for name in ENGINES]
        real = values["opensearch"]
        ratios = [fmt(values[name] / real, 2) if ratio and values[name] is not None and real else "–"
                  for name in ("localnode", "serve")]
        rows.append(f"| {label} | " + " | ".join(cells + ratios) + " |")

    row("durable bulk indexing, docs/s (bulk requests only)", lambda v: v["index"]["docs"]["docs_per_s_bulk"], 0)
    row("durable bulk indexing, docs/s (incl. final refresh)",
        lambda v: v["index"]["docs"]["docs_per_s_bulk_and_refresh"], 0)
    row("final refresh after bulk, s", lambda v: v["index"]["docs"]["refresh_s"], 2)
    row("knn vectors: bulk docs/s", lambda v: v["index"]["vec"]["docs_per_s_bulk"], 0)
    row("knn vectors: force-merge to 1 segment, s", lambda v: v["index"]["vec"]["forcemerge_s"], 2)
    row("knn vectors: first `knn` query after the merge, s", lambda v: v["index"]["vec"]["first_query_s"], 2)
    row("knn vectors: bulk + refresh + merge + first query, s", lambda v: v["index"]["vec"]["ready_s"], 2)
    for kind, label in (("match", "`match` top 10"), ("multi_match", "`multi_match` top 10")):
        row(f"{label} p50 ms", lambda v, k=kind: v[k]["p50_ms"], 3)
        row(f"{label} p99 ms", lambda v, k=kind: v[k]["p99_ms"], 3)
    row("`knn` lucene l2 k=10, queries/s (1 client)", lambda v: v["knn"]["qps"], 0)
    row("`knn` p50 ms", lambda v: v["knn"]["p50_ms"], 3)
    row("`knn` p99 ms", lambda v: v["knn"]["p99_ms"], 3)
    row("`knn` recall@10 vs exact", lambda v: v["knn"]["recall@10"], 3)
    row("first pass + plain `rescore` (rank_feature + match_phrase) p50 ms", lambda v: v["rescore"]["p50_ms"], 3)
    row("first pass + plain `rescore` p99 ms", lambda v: v["rescore"]["p99_ms"], 3)
    row("first pass + `sltr` rescore p50 ms (no LTR plugin on the real node)", lambda v: v["sltr"]["p50_ms"], 3,
        ("localnode", "serve"), ratio=False)
    row("first pass + `sltr` rescore p99 ms", lambda v: v["sltr"]["p99_ms"], 3, ("localnode", "serve"), ratio=False)
    row("Related Pins request p50 ms", lambda v: v["related"]["p50_ms"], 3)
    row("Related Pins request p99 ms", lambda v: v["related"]["p99_ms"], 3)
    row("peak RSS MB (VmHWM; in-process: the whole measuring subprocess)", lambda v: v.get("peak_rss_mb"), 0)
    row("in-process: that peak minus the RSS before the engine started, MB",
        lambda v: v.get("peak_rss_engine_share_mb"), 0, ("localnode",), ratio=False)
    head = ("| measure | " + " | ".join(LABELS[n] for n in ENGINES)
            + " | in-process ÷ real | serve ÷ real |\n|---|" + "---:|" * (len(ENGINES) + 2))
    return head + "\n" + "\n".join(rows)


# -- main ----------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--vectors", type=int, default=20_000)
    ap.add_argument("--related-pins", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=300, help="timed match / multi_match / knn / rescore requests")
    ap.add_argument("--related-queries", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=200, help="warm-up requests per kind (a different set)")
    ap.add_argument("--bulk", type=int, default=2000, help="documents per bulk request (docs index)")
    ap.add_argument("--vector-bulk", type=int, default=1000, help="documents per bulk request (vec, rel)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cluster-url", default=None, help="a running OpenSearch 2.19 node (default: start one)")
    ap.add_argument("--cluster-port", type=int, default=9290)
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--http-compress", action="store_true",
                    help="gzip over HTTP as pinsearch.connect does (default: off, see http_client)")
    ap.add_argument("--skip-rss-phase", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "vs_opensearch.json")
    ap.add_argument("--rss-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_worker:
        rss_worker(args)
        return

    run_started = time.perf_counter()
    results: dict[str, Any] = {"command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
                               "cpu_count": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                               "params": {k: v for k, v in vars(args).items() if k not in ("out", "rss_worker")}}
    results["params"]["out"] = str(args.out)
    log("generating data")
    data = Data(args)
    results["data_generation_s"] = round(data.seconds, 1)
    truth = exact_neighbours(data.vectors, data.knn_queries, 10)
    requests = request_sets(data)

    workdir = Path(tempfile.mkdtemp(prefix="pinsearch-vs-"))
    serve_proc: subprocess.Popen[str] | None = None
    cluster_home: Path | None = None
    clients: dict[str, Any] = {}
    engines: dict[str, dict[str, Any]] = {name: {} for name in ENGINES}
    failed = False
    try:
        if args.cluster_url:
            real_url, real_pid = args.cluster_url, None
        else:
            from pinsearch.cluster import start_cluster
            cluster_home = workdir / "cluster"
            t0 = time.perf_counter()
            state = start_cluster(cluster_home, port=args.cluster_port, heap=args.heap, clean=True, say=log)
            real_url, real_pid = state.url, state.nodes[0].pid
            results["cluster_start_s"] = round(time.perf_counter() - t0, 1)
            log(f"real node up at {real_url} (pid {real_pid}) in {results['cluster_start_s']} s")
        serve_proc, serve_url = start_serve(workdir / "serve-data", workdir)
        log(f"pinsearch serve at {serve_url} (pid {serve_proc.pid})")
        clients = {"localnode": pinsearch.connect(f"embedded://{workdir / 'local-data'}"),
                   "serve": http_client(serve_url, args.http_compress),
                   "opensearch": http_client(real_url, args.http_compress)}
        info = clients["opensearch"].info()
        results["opensearch_version"] = info["version"]["number"]
        results["opensearch_plugins"] = sorted({p["component"] for p in clients["opensearch"].cat.plugins(format="json")})

        for name in ENGINES:
            log(f"indexing on {name}")
            engines[name]["index"] = load_all(clients[name], data, args)
            log(f"  {name}: {json.dumps(engines[name]['index'])}")
        for name in ENGINES:
            merge_all(clients[name], engines[name]["index"])
            first_queries(clients[name], data, engines[name]["index"])
        log("force-merged, first knn / Related Pins query: " + json.dumps(
            {n: {i: [engines[n]["index"][i]["forcemerge_s"], engines[n]["index"][i].get("first_query_s")]
                 for i in INDICES} for n in ENGINES}))

        all_hits: dict[str, dict[str, list[list[tuple[str, float]]]]] = {}
        for kind in ("match", "multi_match", "knn", "rescore", "related"):
            warm, timed = requests[kind]
            log(f"{kind}: {len(warm)} warm-up + {len(timed)} timed requests x {len(ENGINES)} engines")
            latencies, hits = run_interleaved(clients, warm, timed)
            all_hits[kind] = hits
            for name in ENGINES:
                engines[name][kind] = summary(latencies[name])
                if kind == "knn":
                    engines[name][kind]["recall@10"] = recall(hits[name], truth)
            log("  " + "  ".join(f"{n}: p50 {engines[n][kind]['p50_ms']:.2f} p99 {engines[n][kind]['p99_ms']:.2f}"
                                 for n in ENGINES))
        log("sltr rescore on the two localnode engines (the real node has no LTR plugin)")
        for name in ("localnode", "serve"):
            setup_sltr(clients[name])
        warm, timed = requests["sltr"]
        latencies, _ = run_interleaved({n: clients[n] for n in ("localnode", "serve")}, warm, timed)
        for name in ("localnode", "serve"):
            engines[name]["sltr"] = summary(latencies[name])

        checks: dict[str, Any] = {}
        for kind in ("match", "multi_match", "rescore"):
            timed = requests[kind][1]
            checks[kind] = {
                "localnode_vs_opensearch": agreement(clients, timed, all_hits[kind], "localnode", "opensearch",
                                                     rescore=kind == "rescore"),
                "serve_vs_localnode": agreement(clients, timed, all_hits[kind], "serve", "localnode",
                                                rescore=kind == "rescore")}
        checks["knn"] = {"localnode_vs_opensearch": overlap(all_hits["knn"], "localnode", "opensearch", 10),
                         "serve_vs_localnode": overlap(all_hits["knn"], "serve", "localnode", 10)}
        checks["related"] = {"localnode_vs_opensearch": overlap(all_hits["related"], "localnode", "opensearch", RELATED_K),
                             "serve_vs_localnode": overlap(all_hits["related"], "serve", "localnode", RELATED_K)}
        results["agreement"] = checks
        tiebroken: dict[str, Any] = {}
        for kind in ("match", "multi_match"):
            sample = [(i, {**b, "sort": [{"_score": "desc"}, {"seq": "asc"}]}) for i, b in requests[kind][1]]
            got = {n: [hits_of(clients[n].search(index=i, body=b)) for i, b in sample] for n in ("localnode", "opensearch")}
            tiebroken[kind] = agreement(clients, sample, got, "localnode", "opensearch")
            log(f"agreement {kind} with ties broken by a unique field: {json.dumps(tiebroken[kind])}")
            failed |= tiebroken[kind]["identical"] != tiebroken[kind]["compared"]
        results["agreement_ties_broken"] = tiebroken
        for kind in ("match", "multi_match", "rescore"):
            c = checks[kind]["localnode_vs_opensearch"]
            log(f"agreement {kind}: {json.dumps({k: v for k, v in c.items() if k != 'examples'})}")
            failed |= c["different"] > 0
        engines["serve"]["peak_rss_mb"] = mb(vm_kb(serve_proc.pid, "VmHWM"))
        engines["opensearch"]["peak_rss_mb"] = mb(vm_kb(real_pid, "VmHWM")) if real_pid else None
        results["peak_rss_notes"] = {
            "serve": "VmHWM of the `pinsearch serve` process (engine + HTTP server + Python) at the end of the run",
            "opensearch": f"VmHWM of the OpenSearch JVM (-Xms{args.heap} -Xmx{args.heap}; pages of the heap count "
                          "once touched) at the end of the run",
            "localnode": "VmHWM of a separate subprocess that generates the same data, then indexes and queries "
                         "everything in process; `engine_share_mb` is that peak minus the RSS it had before the "
                         "engine started (data, interpreter and libraries)"}
    finally:
        for es in clients.values():
            try:
                if es is clients.get("localnode"):
                    pinsearch.close(es)
                else:
                    es.transport.close()
            except Exception:  # noqa: BLE001
                pass
        if serve_proc is not None:
            serve_proc.terminate()
            try:
                serve_proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                serve_proc.kill()
        if cluster_home is not None:
            from pinsearch.cluster import stop_cluster
            stop_cluster(cluster_home)
        shutil.rmtree(workdir, ignore_errors=True)

    if not args.skip_rss_phase:
        log("peak RSS of the in-process engine (a subprocess, nothing else running)")
        rss = rss_phase(args)
        results["localnode_rss_phase"] = rss
        engines["localnode"]["peak_rss_mb"] = rss.get("vmhwm_mb")
        engines["localnode"]["peak_rss_engine_share_mb"] = rss.get("engine_share_mb")
    results["engines"] = engines
    real = engines["opensearch"]
    ratios: dict[str, Any] = {}
    for name in ("localnode", "serve"):
        mine = engines[name]
        ratios[name] = {
            "docs_per_s_bulk": round(mine["index"]["docs"]["docs_per_s_bulk"] / real["index"]["docs"]["docs_per_s_bulk"], 3),
            "docs_per_s_bulk_and_refresh": round(mine["index"]["docs"]["docs_per_s_bulk_and_refresh"]
                                                 / real["index"]["docs"]["docs_per_s_bulk_and_refresh"], 3),
            "vec_ready_s": round(mine["index"]["vec"]["ready_s"] / real["index"]["vec"]["ready_s"], 3),
            **{f"{kind}_{q}": round(mine[kind][q] / real[kind][q], 3)
               for kind in ("match", "multi_match", "knn", "rescore", "related") for q in ("p50_ms", "p99_ms")},
            "knn_qps": round(mine["knn"]["qps"] / real["knn"]["qps"], 3),
            "peak_rss_mb": (round(mine["peak_rss_mb"] / real["peak_rss_mb"], 3)
                            if mine.get("peak_rss_mb") and real.get("peak_rss_mb") else None)}
    results["ratios_over_opensearch"] = ratios
    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["runtime_s"] = round(time.perf_counter() - run_started, 1)
    results["table"] = table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(results["table"])
    def tally(c: dict[str, Any]) -> str:
        window = f"; {c['window_cut_in_tie']} rescored another window cut inside a tie" if "window_cut_in_tie" in c else ""
        return (f"{c['identical']}/{c['compared']} identical top-10 ids and float32 scores; {c['tie_order']} same ids, "
                f"another order among equal scores; {c['tie_at_cutoff']} other ids inside the tie cut by the top 10"
                f"{window}; {c['different']} different")
    for kind, c in results["agreement_ties_broken"].items():
        print(f"{kind}, localnode vs real node, the timed requests + sort [_score, seq]: {c['identical']}/"
              f"{c['compared']} with identical top-10 ids and float32 scores")
    for kind in ("match", "multi_match", "rescore"):
        print(f"{kind}, localnode vs real node, force-merged (timed requests): "
              f"{tally(results['agreement'][kind]['localnode_vs_opensearch'])}")
    for kind in ("knn", "related"):
        c = results["agreement"][kind]["localnode_vs_opensearch"]
        print(f"{kind}: mean overlap@{c['k']} localnode vs real node {c['mean_overlap_at_k']:.3f}; "
              f"{c['common_hits_same_float32_score']}/{c['common_hits']} common hits with the same float32 score "
              f"(at most {c['max_float32_ulps_apart']} float32 ulps apart)")
    print(f"runtime {results['runtime_s']} s; results in {args.out}")
    if failed:
        print("FAILED: localnode and the real node disagree on match / multi_match / rescore results "
              "(see agreement in the JSON)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
