"""Load test of ``pinsearch serve``: a server process on loopback, this process as the load generator.

Setup (stages timed): the ``--size`` sample (seed 0) is generated, reindexed with co-occurrence
candidates and the sample's ground-truth annotations as signals, then the search and Related Pins
LTR models are trained on that index from the sample's click logs and activated with the project's
own loop (``ranking.ltr.pipeline.train_and_activate``), before the server starts.

Scenarios (each for ``--duration`` seconds, ``--clients`` keep-alive connections, plus one writer
thread indexing new pins into the same index throughout):
  * search      : ``POST /pins/_search`` with what ``pinsearch search`` sends: the first pass
                  (``ranking.search.build_search_body``, k=20) + the active search model's ``sltr``
                  rescore over the top 100 (``ranking.ltr.rescore.search_rescore``)
  * related     : ``POST /pins/_search`` with the single Related Pins request ``pinsearch related``
                  sends (``ranking.related.build_related_body`` + the active Related Pins model's
                  ``sltr`` rescore, ``related_rescore``); the query-pin lookup is done beforehand
  * page_search : ``GET /_pinsearch/api/search?q=..&k=24``, the web page's search call (same bodies,
                  built inside the server, plus the model lookup and the JSON reshaping)
  * page_related: ``GET /_pinsearch/api/related?pin=..&k=12``, the page's Related Pins call (query-pin
                  lookup + the Related Pins ``_search`` with ``explain`` + an ``mget``)
``--no-ltr``: no training; search uses a ``match_phrase`` title rescore and Related Pins no rescore
(the behaviour before the models were trained here).

Baseline: the same requests through the in-process engine (``embedded://``, same thread count, no
writer) in this process on a copy of the data (page scenarios: the page's handler functions called
in process), so the ratio is the cost of HTTP + a second process + the concurrent writer.

    python benchmarks/bench_serve.py --size S --duration 60 --baseline-duration 15 --clients 4
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

import pinsearch  # noqa: E402
from indexer.documents import PinSignals  # noqa: E402
from indexer.reindex import reindex_corpus  # noqa: E402
from indexer.signals.cooccurrence import cooccurrence_candidates  # noqa: E402
from pinsearch.server import api  # noqa: E402
from ranking.ltr.rescore import RELATED_FEATURESET, SEARCH_FEATURESET, search_rescore  # noqa: E402
from ranking.ltr.upload import active_model  # noqa: E402
from ranking.related import RelatedRequest, active_rescore_hook, build_related_body, fetch_query_pin  # noqa: E402
from ranking.search import build_search_body  # noqa: E402

SERVE = """
import argparse, sys
from pinsearch.commands import serve
p = argparse.ArgumentParser(); sub = p.add_subparsers(dest="command")
c = argparse.ArgumentParser(add_help=False); c.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
serve.register(sub, c); a = p.parse_args(["serve", "--json"] + sys.argv[1:]); sys.exit(a.handler(a))
"""
SCENARIOS = ("search", "related", "page_search", "page_related")
PAGE_SEARCH_K, PAGE_RELATED_K = 24, 12     # what pinsearch/server/static/app.js asks for

Payload = tuple[str, str, bytes | None]     # method, path (with query string), body


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def build(size: str, root: Path, ltr: bool, seed: int = 0) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The sample, its index with the benchmark's signals and (``ltr``) the activated LTR models."""
    from indexer.corpus.sample import generate_sample
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    generate_sample(root, size, seed, progress=False, overwrite=True)
    stages["sample_s"] = round(time.perf_counter() - t0, 1)
    log(f"sample {size}: {stages['sample_s']} s")
    corpus, truth = root / "corpus", root / "ground_truth"
    t0 = time.perf_counter()
    annotations = {r["pin_id"]: {k["canonical"]: 1.0 for k in r["keyphrases"]}
                   for r in map(json.loads, (truth / "annotations.jsonl").read_text().splitlines())}
    cooccur = cooccurrence_candidates(corpus)
    stages["signals_s"] = round(time.perf_counter() - t0, 1)
    log(f"signals (ground-truth annotations + co-occurrence): {stages['signals_s']} s")
    es = pinsearch.connect(f"embedded://{root / 'data'}")
    t0 = time.perf_counter()
    reindex_corpus(es, corpus, progress=False, signals=lambda p: PinSignals(
        annotations=annotations.get(p.id, {}), cooccur=cooccur.get(p.id, {})))
    stages["reindex_s"] = round(time.perf_counter() - t0, 1)
    log(f"reindex: {stages['reindex_s']} s")
    annotations, cooccur = {}, {}   # free them before training
    models: dict[str, Any] = {}
    if ltr:
        from ranking.ltr.pipeline import train_and_activate
        t0 = time.perf_counter()
        summary = train_and_activate(es, root, index="pins", seed=seed, out_dir=root / "models",
                                     progress=lambda m: log(f"ltr: {m}"))
        stages["ltr_s"] = round(time.perf_counter() - t0, 1)
        log(f"ltr train + activate: {stages['ltr_s']} s")
        for kind, featureset in (("search", SEARCH_FEATURESET), ("related", RELATED_FEATURESET)):
            s = summary.get(kind, {})
            record = active_model(es, featureset)
            if record is None:
                pinsearch.close(es)
                raise SystemExit(f"no active {kind} model after training: {json.dumps(s.get('activation', s))}")
            models[kind] = {"active": record["name"], "activation": s.get("activation"),
                            "ndcg@10_first_pass": s.get("first_pass", {}).get("ndcg@10"),
                            "ndcg@10_ltr": s.get("ltr", {}).get("ndcg@10"),
                            "features": len(s.get("weights", {})), "timings_s": s.get("timings")}
    pinsearch.close(es)
    return root / "data", stages, models


def payloads(es: Any, corpus: Path, n: int, ltr: bool, seed: int = 0) -> dict[str, list[Payload]]:
    """Per scenario, ``n`` distinct requests (queries from ``search_log.jsonl``, random query pins)."""
    rng = random.Random(seed)
    log_path = corpus / "search_log.jsonl"
    queries = sorted({r.get("query") for r in map(json.loads, log_path.read_text().splitlines()) if r.get("query")}) \
        if log_path.exists() else []
    queries = queries or ["soup recipe", "boho bedroom", "cozy chicken"]
    rng.shuffle(queries)
    queries = queries[:n]
    pins = [json.loads(line)["id"] for line in (corpus / "pins.jsonl").read_text().splitlines()]
    pins = rng.sample(pins, min(n, len(pins)))
    out: dict[str, list[Payload]] = {k: [] for k in SCENARIOS}
    for q in queries:
        if ltr:
            # the active model; no query signals: the benchmark indexes ground-truth annotations and trains
            # no annotator or Q2I model, so `pinsearch search` would have none either (BM25 + popularity)
            rescore = search_rescore(es, q)
            assert rescore is not None
        else:
            rescore = {"window_size": 100, "query": {"rescore_query": {"match_phrase": {"title": {"query": q}}},
                                                     "query_weight": 1.0, "rescore_query_weight": 2.0}}
        out["search"].append(("POST", "/pins/_search", orjson.dumps(build_search_body(q, 20, rescore=rescore))))
        out["page_search"].append(("GET", "/_pinsearch/api/search?" + urlencode(
            {"q": q, "k": PAGE_SEARCH_K, **({} if ltr else {"ltr": "0"})}), None))
    for pin in pins:
        hook = active_rescore_hook(es, pin) if ltr else None
        if ltr:
            assert hook is not None
        body = build_related_body(fetch_query_pin(es, pin), RelatedRequest(pin, 20, rescore=hook))
        out["related"].append(("POST", "/pins/_search", orjson.dumps(body)))
        out["page_related"].append(("GET", "/_pinsearch/api/related?" + urlencode({"pin": pin, "k": PAGE_RELATED_K}),
                                    None))
    return out


def local_sender(es: Any, scenario: str) -> Callable[[Payload], int]:
    """The in-process equivalent of one request of ``scenario`` (status 200 or an exception)."""
    if scenario in ("search", "related"):
        return lambda p: (es.transport.perform_request("POST", "/pins/_search", body=p[2]), 200)[1]
    endpoint = api.ENDPOINTS[scenario.removeprefix("page_")]

    def send(p: Payload) -> int:
        from urllib.parse import parse_qsl, urlsplit
        params = dict(parse_qsl(urlsplit(p[1]).query, keep_blank_values=True))
        orjson.dumps(endpoint(es, params), option=orjson.OPT_SERIALIZE_NUMPY)
        return 200
    return send


def run(make_send: Callable[[], Callable[[Payload], int]], requests: list[Payload], duration: float, clients: int,
        writer: Callable[[int], int] | None) -> dict[str, Any]:
    stop = time.monotonic() + duration
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * (clients + 1)
    samples: list[str] = []
    writes = [0]

    def note(what: str) -> None:
        if len(samples) < 5:
            samples.append(what[:300])

    def client(i: int) -> None:
        send = make_send()
        k = i
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status = send(requests[k % len(requests)])
            except Exception as exc:  # noqa: BLE001  (counted, reported)
                status = 599
                note(f"{requests[k % len(requests)][1][:80]}: {type(exc).__name__}: {exc}")
                send = make_send()
            latencies[i].append(time.perf_counter() - started)
            if status != 200:
                errors[i] += 1
                if status != 599:
                    note(f"{requests[k % len(requests)][1][:80]}: HTTP {status}")
            k += clients

    def write_loop() -> None:
        assert writer is not None
        n = 0
        while time.monotonic() < stop:
            try:
                status = writer(n)
                if status not in (200, 201):
                    errors[-1] += 1
                    note(f"write {n}: HTTP {status}")
            except Exception as exc:  # noqa: BLE001
                errors[-1] += 1
                note(f"write {n}: {type(exc).__name__}: {exc}")
            n += 1
            time.sleep(0.01)
        writes[0] = n

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    if writer:
        threads.append(threading.Thread(target=write_loop))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    lat = sorted(x for part in latencies for x in part)
    q = statistics.quantiles(lat, n=100) if len(lat) > 2 else [0.0] * 99
    out = {"requests": len(lat), "qps": round(len(lat) / elapsed, 1), "p50_ms": round(q[49] * 1000, 2),
           "p99_ms": round(q[98] * 1000, 2), "errors": sum(errors), "writes": writes[0], "loadavg_after": loadavg()}
    if samples:
        out["error_samples"] = samples
    return out


def http_sender(host: str, port: int) -> Callable[[], Callable[[Payload], int]]:
    def make() -> Callable[[Payload], int]:
        conn = http.client.HTTPConnection(host, port, timeout=30)

        def send(p: Payload) -> int:
            method, path, body = p
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
            r = conn.getresponse()
            r.read()
            return r.status
        return send
    return make


def http_json(host: str, port: int, method: str, path: str, body: bytes | None = None) -> Any:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status != 200:
        raise RuntimeError(f"{method} {path[:80]}: HTTP {r.status}: {data[:300]!r}")
    return orjson.loads(data)


def page_agreement(host: str, port: int, reqs: dict[str, list[Payload]], n: int = 20) -> dict[str, Any]:
    """Before any write: do the page's answers equal the measured ``_search`` bodies' answers?

    Search: the page's top 20 (k=24) against the body's 20 hits; Related Pins: the page's 12 against
    the first 12 of the body's 20. Ids in order; a difference would mean the page serves other bodies.
    """
    out: dict[str, Any] = {}
    for body_s, page_s, k in (("search", "page_search", 20), ("related", "page_related", PAGE_RELATED_K)):
        same = 0
        checked = min(n, len(reqs[body_s]))
        for raw, page in zip(reqs[body_s][:checked], reqs[page_s][:checked]):
            ids = [h["_id"] for h in http_json(host, port, *raw)["hits"]["hits"]][:k]
            page_ids = [h["pin_id"] for h in http_json(host, port, *page[:2])["hits"]][:k]
            same += ids == page_ids
        model = http_json(host, port, *reqs[page_s][0][:2]).get("model")
        out[body_s] = {"checked": checked, "identical_top_k": same, "k": k, "page_model": model}
    return out


def server_peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="S")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--baseline-duration", type=float, default=15.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    ap.add_argument("--no-ltr", action="store_true", help="no LTR training: match_phrase rescore for search, "
                                                          "first pass only for Related Pins (the old behaviour)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the sample and data here (default: a temp dir, "
                                                               "removed at the end)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; use {SCENARIOS}")
    ltr = not args.no_ltr
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench_serve_"))
    root.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"size": args.size, "clients": args.clients, "ltr": ltr, "loadavg_start": loadavg()}
    t0 = time.perf_counter()
    data, stages, models = build(args.size, root, ltr)
    results["build_s"] = round(time.perf_counter() - t0, 1)
    results["stages"] = stages
    results["models"] = models
    results["bench_peak_rss_mb_after_build"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    copy = root / "data-baseline"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data, copy)
    es = pinsearch.connect(f"embedded://{copy}")
    concrete = sorted(es.indices.get_alias(name="pins"))[-1]
    results["docs"] = es.count(index="pins")["count"]
    reqs = payloads(es, root / "corpus", args.queries, ltr)
    results["distinct_requests"] = {s: len(reqs[s]) for s in scenarios}

    # baseline: in-process, same requests, same thread count, no writer
    for name in scenarios:
        log(f"baseline {name} ({args.baseline_duration:g} s)")
        results[f"embedded_{name}"] = run(lambda name=name: local_sender(es, name), reqs[name],
                                          args.baseline_duration, args.clients, None)
    pinsearch.close(es)

    proc = subprocess.Popen([sys.executable, "-c", SERVE, "--port", "0", "--data", str(data), "--workers", "8"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    url = json.loads(proc.stdout.readline())["url"]
    host, port_s = url.split("//")[1].split(":")
    port = int(port_s)
    results["server_pid"] = proc.pid
    try:
        results["page_agreement"] = page_agreement(host, port, reqs)
        log(f"page agreement: {results['page_agreement']}")
        wconn = http.client.HTTPConnection(host, port, timeout=30)

        def writer(n: int) -> int:
            doc = {"pin_id": f"bench-w{n}", "title": f"load test pin {n} soup recipe", "board_names": ["load test"]}
            wconn.request("PUT", f"/{concrete}/_doc/bench-w{n}", body=orjson.dumps(doc),
                          headers={"Content-Type": "application/json"})
            r = wconn.getresponse()
            r.read()
            return r.status

        offset = 0
        for name in scenarios:
            log(f"http {name} ({args.duration:g} s)")

            def write(n: int, base: int = offset) -> int:
                return writer(base + n)
            results[f"http_{name}"] = run(http_sender(host, port), reqs[name], args.duration, args.clients, write)
            offset += results[f"http_{name}"]["writes"]
            results[f"ratio_{name}_qps_http_over_embedded"] = round(
                results[f"http_{name}"]["qps"] / max(results[f"embedded_{name}"]["qps"], 1e-9), 2)
            log(json.dumps(results[f"http_{name}"]))
        results["docs_after"] = http_json(host, port, "GET", "/pins/_count")["count"]
    finally:
        results["server_peak_rss_mb"] = server_peak_rss_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        results["server_exit_code"] = proc.wait(timeout=120)
    results["bench_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["loadavg_end"] = loadavg()
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    if args.workdir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
