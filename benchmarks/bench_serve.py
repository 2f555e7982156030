"""Load test of ``pinsearch serve``: a server process on loopback, this process as the load generator.

Scenarios (each for ``--duration`` seconds, ``--clients`` keep-alive connections, plus one writer
thread indexing new pins into the same index throughout):
  * search  : the pin search first pass + a rescore clause over the top 100 (``match_phrase`` on the
              title: the LTR ``sltr`` rescore needs a trained model, which a fresh sample does not have)
  * related : the single Related Pins request (co-occurrence + content, built by ranking.related)
Baseline: the same request bodies through the in-process engine (``embedded://``, same thread count)
in this process on a copy of the data, so the ratio is the cost of HTTP + a second process.

    python benchmarks/bench_serve.py --size S --duration 60 --clients 4
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pinsearch  # noqa: E402
from indexer.documents import PinSignals  # noqa: E402
from indexer.reindex import reindex_corpus  # noqa: E402
from indexer.signals.cooccurrence import cooccurrence_candidates  # noqa: E402
from ranking.related import RelatedRequest, build_related_body, fetch_query_pin  # noqa: E402
from ranking.search import build_search_body  # noqa: E402

SERVE = """
import argparse, sys
from pinsearch.commands import serve
p = argparse.ArgumentParser(); sub = p.add_subparsers(dest="command")
c = argparse.ArgumentParser(add_help=False); c.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
serve.register(sub, c); a = p.parse_args(["serve", "--json"] + sys.argv[1:]); sys.exit(a.handler(a))
"""


def build(size: str, root: Path) -> Path:
    from indexer.corpus.sample import generate_sample
    generate_sample(root, size, 0, progress=False, overwrite=True)
    corpus, truth = root / "corpus", root / "ground_truth"
    annotations = {r["pin_id"]: {k["canonical"]: 1.0 for k in r["keyphrases"]}
                   for r in map(json.loads, (truth / "annotations.jsonl").read_text().splitlines())}
    cooccur = cooccurrence_candidates(corpus)
    es = pinsearch.connect(f"embedded://{root / 'data'}")
    reindex_corpus(es, corpus, progress=False, signals=lambda p: PinSignals(
        annotations=annotations.get(p.id, {}), cooccur=cooccur.get(p.id, {})))
    pinsearch.close(es)
    return root / "data"


def bodies(es: Any, corpus: Path, n: int, seed: int = 0) -> tuple[list[bytes], list[bytes]]:
    rng = random.Random(seed)
    log = [json.loads(l) for l in (corpus / "search_log.jsonl").read_text().splitlines()] \
        if (corpus / "search_log.jsonl").exists() else []
    queries = sorted({r.get("query") for r in log if r.get("query")}) or ["soup recipe", "boho bedroom", "cozy chicken"]
    rng.shuffle(queries)
    search = []
    for q in queries[:n]:
        body = build_search_body(q, 20, rescore={"window_size": 100, "query": {
            "rescore_query": {"match_phrase": {"title": {"query": q}}}, "query_weight": 1.0,
            "rescore_query_weight": 2.0}})
        search.append(json.dumps(body).encode())
    pins = [json.loads(l)["id"] for l in (corpus / "pins.jsonl").read_text().splitlines()]
    related = []
    for pin in rng.sample(pins, min(n, len(pins))):
        related.append(json.dumps(build_related_body(fetch_query_pin(es, pin), RelatedRequest(pin, 20))).encode())
    return search, related


def run(make_request: Callable[[], Callable[[bytes], int]], payloads: list[bytes], duration: float, clients: int,
        writer: Callable[[int], int] | None) -> dict[str, Any]:
    stop = time.monotonic() + duration
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * (clients + 1)
    writes = [0]

    def client(i: int) -> None:
        send = make_request()
        k = i
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status = send(payloads[k % len(payloads)])
            except Exception:  # noqa: BLE001  (counted, reported)
                status = 599
                send = make_request()
            latencies[i].append(time.perf_counter() - started)
            if status != 200:
                errors[i] += 1
            k += clients

    def write_loop() -> None:
        n = 0
        while time.monotonic() < stop:
            try:
                if writer(n) not in (200, 201):
                    errors[-1] += 1
            except Exception:  # noqa: BLE001
                errors[-1] += 1
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
    return {"requests": len(lat), "qps": round(len(lat) / elapsed, 1), "p50_ms": round(q[49] * 1000, 2),
            "p99_ms": round(q[98] * 1000, 2), "errors": sum(errors), "writes": writes[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="S")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--baseline-duration", type=float, default=15.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_serve_"))
    t0 = time.perf_counter()
    data = build(args.size, root)
    build_s = time.perf_counter() - t0
    copy = root / "data-baseline"
    shutil.copytree(data, copy)
    es = pinsearch.connect(f"embedded://{copy}")
    index = es.indices.get_alias(name="pins")
    concrete = sorted(index)[-1]
    docs = es.count(index="pins")["count"]
    search, related = bodies(es, root / "corpus", args.queries)

    results: dict[str, Any] = {"size": args.size, "docs": docs, "clients": args.clients, "build_s": round(build_s, 1)}
    # baseline: in-process, same bodies, same thread count
    for name, payloads in (("search", search), ("related", related)):
        def local() -> Callable[[bytes], int]:
            return lambda b: (es.transport.perform_request("POST", "/pins/_search", body=b), 200)[1]
        results[f"embedded_{name}"] = run(local, payloads, args.baseline_duration, args.clients, None)
    pinsearch.close(es)

    proc = subprocess.Popen([sys.executable, "-c", SERVE, "--port", "0", "--data", str(data), "--workers", "8"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    url = json.loads(proc.stdout.readline())["url"]
    host, port = url.split("//")[1].split(":")
    try:
        def remote() -> Callable[[bytes], int]:
            conn = http.client.HTTPConnection(host, int(port), timeout=30)

            def send(b: bytes) -> int:
                conn.request("POST", "/pins/_search", body=b, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                return r.status
            return send

        wconn = http.client.HTTPConnection(host, int(port), timeout=30)

        def writer(n: int) -> int:
            doc = {"pin_id": f"bench-w{n}", "title": f"load test pin {n} soup recipe", "board_names": ["load test"]}
            wconn.request("PUT", f"/{concrete}/_doc/bench-w{n}", body=json.dumps(doc),
                          headers={"Content-Type": "application/json"})
            r = wconn.getresponse()
            r.read()
            return r.status

        for name, payloads in (("search", search), ("related", related)):
            results[f"http_{name}"] = run(remote, payloads, args.duration, args.clients, writer)
            results[f"ratio_{name}_qps_http_over_embedded"] = round(
                results[f"http_{name}"]["qps"] / max(results[f"embedded_{name}"]["qps"], 1e-9), 2)
    finally:
        proc.send_signal(signal.SIGTERM)
        results["server_exit_code"] = proc.wait(timeout=60)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
