"""Embedded engine benchmark: durable bulk indexing and `match` latency, next to reference engines.

    python benchmarks/bench_engine.py --docs 1000000 --queries 1000 --rank-bm25-docs 100000

Measures, in one process on the same generated documents (title + description of realistic
lengths, words drawn from a Zipf distribution over an English vocabulary):
  * localnode: bulk indexing through opensearch-py (translog fsync per bulk request) -> docs/s,
    bytes on disk per doc after a flush, peak RSS; `match` top-10 latency p50/p99;
  * tantivy (Rust, the reference engine): indexing docs/s and top-10 latency on the same docs;
  * rank-bm25 (pure Python) on a subset: top-10 latency (the subset's localnode index is force-merged
    to one segment, a static corpus like rank-bm25's).
Latency ratios are reported against tantivy and rank-bm25 measured in this same run. The engines
take turns on blocks of 10 queries, so a shared, busy machine slows them alike and the latency ratios
stay meaningful when absolute times do not (indexing is timed per engine alone, see index_alone);
the same queries alternating engine on every query are reported too (cold caches for each query).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pinsearch  # noqa: E402
from opensearchpy import helpers  # noqa: E402

WORDS = ("home decor kitchen garden recipe dinner easy vegan chicken pasta salad dessert chocolate cake bread "
         "wedding dress bridal hair makeup nails skin care beauty outfit fashion style summer winter fall spring "
         "travel beach mountain hiking camping road trip paris italy japan photography art drawing painting "
         "watercolor diy craft kids toddler baby nursery bedroom living room bathroom farmhouse modern rustic "
         "minimalist boho vintage wood furniture shelf storage organization cleaning tips hacks ideas inspiration "
         "quotes motivation fitness workout yoga running health healthy meal prep breakfast lunch snack smoothie "
         "coffee tea cocktail wine party birthday christmas halloween thanksgiving easter gift wrap card paper "
         "sewing knitting crochet pattern quilt embroidery jewelry necklace earrings ring tattoo design logo font "
         "typography website app interior architecture house plan tiny small space apartment balcony plant flower "
         "succulent herb vegetable fruit tree lawn patio outdoor fire pit pool dog cat pet puppy kitten horse bird "
         "car truck bike motorcycle boat plane train city night sunset sunrise ocean lake river forest desert snow "
         "rain cozy warm cool bright dark black white red blue green yellow pink purple orange gold silver").split()


def make_docs(n: int, seed: int) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    vocab = WORDS + [f"{a}{b}" for a in WORDS[:120] for b in ("s", "ed", "ing", "er", "ly")]
    ranks = np.arange(1, len(vocab) + 1)
    probs = (1.0 / ranks ** 1.05)
    probs /= probs.sum()
    title_lens = rng.integers(4, 11, n)
    desc_lens = rng.integers(12, 41, n)
    words = rng.choice(len(vocab), size=int(title_lens.sum() + desc_lens.sum()), p=probs)
    docs, pos = [], 0
    for t, d in zip(title_lens.tolist(), desc_lens.tolist()):
        title = " ".join(vocab[i] for i in words[pos:pos + t]); pos += t
        desc = " ".join(vocab[i] for i in words[pos:pos + d]); pos += d
        docs.append({"title": title, "description": desc})
    return docs


def make_queries(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.sample(WORDS, rng.randint(1, 3))) for _ in range(n)]


BLOCK = 10   # queries per engine turn (see query_interleaved)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


class LocalnodeEngine:
    """localnode through opensearch-py: bulk requests of ``chunk`` docs, translog fsynced per request."""

    def __init__(self, path: Path, index: str, fields: dict[str, str]) -> None:
        self.es = pinsearch.connect(f"embedded://{path}")
        self.path = path
        self.index = index
        self.fields = list(fields)
        self.es.indices.create(index=index, body={"settings": {"refresh_interval": "1s", "number_of_replicas": 0},
                                                  "mappings": {"properties": {
                                                      f: {"type": "text", "analyzer": a} for f, a in fields.items()}}})

    def add(self, start: int, docs: list[dict[str, str]]) -> None:
        actions = [{"_index": self.index, "_id": str(start + i), "_source": d} for i, d in enumerate(docs)]
        helpers.bulk(self.es, actions, chunk_size=len(actions))

    def commit(self) -> None:
        self.es.indices.refresh(index=self.index)

    def search(self, q: str) -> None:
        query = {"multi_match": {"query": q, "fields": self.fields}} if len(self.fields) > 1 else \
            {"match": {self.fields[0]: q}}
        self.es.search(index=self.index, body={"query": query, "size": 10})

    def close(self) -> int:
        self.es.indices.flush(index=self.index)
        size = sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())
        pinsearch.close(self.es)
        return size


class TantivyEngine:
    """tantivy (Rust, the reference): one writer thread, english stemming, committed at the end."""

    def __init__(self, path: Path) -> None:
        import tantivy
        self.tantivy = tantivy
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("title", stored=False, tokenizer_name="en_stem")
        builder.add_text_field("description", stored=False, tokenizer_name="en_stem")
        builder.add_text_field("id", stored=True)
        path.mkdir()
        self.index = tantivy.Index(builder.build(), path=str(path))
        self.writer = self.index.writer(heap_size=256_000_000, num_threads=1)
        self.searcher = None

    def add(self, start: int, docs: list[dict[str, str]]) -> None:
        for i, d in enumerate(docs):
            self.writer.add_document(self.tantivy.Document(id=str(start + i), title=d["title"],
                                                           description=d["description"]))

    def commit(self) -> None:
        self.writer.commit()
        self.index.reload()
        self.searcher = self.index.searcher()

    def search(self, q: str) -> None:
        self.searcher.search(self.index.parse_query(q, ["title", "description"]), 10)


def index_alone(engine: Any, docs: list[dict[str, str]], chunk: int, process: psutil.Process) -> tuple[float, int]:
    """docs/s of one engine indexing alone. Not interleaved: tantivy indexes in background threads,
    so feeding the engines in turn would bill its work to whichever engine runs next."""
    peak = process.memory_info().rss
    started = time.perf_counter()
    for start in range(0, len(docs), chunk):
        engine.add(start, docs[start:start + chunk])
        peak = max(peak, process.memory_info().rss)
    engine.commit()
    return len(docs) / (time.perf_counter() - started), peak


def query_interleaved(searchers: dict[str, Callable[[str], Any]], queries: list[str], warmup: int = 50,
                      block: int = BLOCK) -> dict[str, dict[str, float]]:
    """The engines take turns on blocks of ``block`` queries (the same queries for each), so a busy
    moment on a shared machine costs them alike. ``block=1`` alternates on every query: each engine
    then starts every query with the caches the other one left (rank-bm25 streams ~20 MB of Python
    objects per query), which measures cold-cache latency rather than a query stream's."""
    for q in queries[:warmup]:
        for search in searchers.values():
            search(q)
    latencies: dict[str, list[float]] = {name: [] for name in searchers}
    for start in range(0, len(queries), block):
        for name, search in searchers.items():
            for q in queries[start:start + block]:
                t0 = time.perf_counter()
                search(q)
                latencies[name].append((time.perf_counter() - t0) * 1000)
    return {name: {"p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99)} for name, v in latencies.items()}


def rank_bm25_searcher(docs: list[dict[str, str]]) -> Callable[[str], Any]:
    from rank_bm25 import BM25Okapi
    bm25 = BM25Okapi([(d["title"] + " " + d["description"]).split() for d in docs])

    def search(q: str) -> Any:
        scores = bm25.get_scores(q.split())
        return np.argpartition(-scores, 10)[:10]
    return search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--rank-bm25-docs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    docs = make_docs(args.docs, args.seed)
    queries = make_queries(args.queries, args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="pinsearch-bench-"))
    try:
        results: dict[str, Any] = {"docs": args.docs, "queries": args.queries, "cpu_count": os.cpu_count()}
        local = LocalnodeEngine(workdir / "localnode", "bench", {"title": "english", "description": "english"})
        reference = TantivyEngine(workdir / "tantivy")
        process = psutil.Process()
        local_rate, peak = index_alone(local, docs, 2000, process)
        reference_rate, _ = index_alone(reference, docs, 2000, process)
        rates = {"localnode": local_rate, "tantivy": reference_rate}
        latency = query_interleaved({"localnode": local.search, "tantivy": reference.search}, queries)
        cold = query_interleaved({"localnode": local.search, "tantivy": reference.search}, queries, warmup=0, block=1)
        results["localnode"] = {"docs_per_s": rates["localnode"], "peak_rss_mb": peak / 2**20, **latency["localnode"],
                                "alternating_every_query": cold["localnode"]}
        results["tantivy"] = {"docs_per_s": rates["tantivy"], **latency["tantivy"],
                              "alternating_every_query": cold["tantivy"]}
        results["localnode"]["bytes_per_doc"] = local.close() / len(docs)
        subset = docs[:args.rank_bm25_docs]
        small = LocalnodeEngine(workdir / "subset", "s", {"text": "standard"})
        for start in range(0, len(subset), 2000):
            small.add(start, [{"text": d["title"] + " " + d["description"]} for d in subset[start:start + 2000]])
        small.commit()
        # The subset is a static corpus, as rank-bm25's in-memory index is: merged to one segment,
        # as a read-only index would be (the 1M index above is queried as bulk-loaded).
        small.es.indices.forcemerge(index=small.index, max_num_segments=1)
        subset_engines = {"localnode_subset": small.search, "rank_bm25_subset": rank_bm25_searcher(subset)}
        sub = query_interleaved(subset_engines, queries[:200], warmup=10)
        sub_cold = query_interleaved(subset_engines, queries[:200], warmup=0, block=1)
        small.close()
        results.update(sub)
        for name in sub:
            results[name]["alternating_every_query"] = sub_cold[name]
        results["ratios"] = {
            "localnode_p50_over_tantivy_p50": results["localnode"]["p50_ms"] / results["tantivy"]["p50_ms"],
            "rank_bm25_p50_over_localnode_p50_subset":
                results["rank_bm25_subset"]["p50_ms"] / results["localnode_subset"]["p50_ms"],
            "localnode_docs_per_s_over_tantivy": results["localnode"]["docs_per_s"] / results["tantivy"]["docs_per_s"],
            "alternating_every_query": {
                "localnode_p50_over_tantivy_p50":
                    cold["localnode"]["p50_ms"] / cold["tantivy"]["p50_ms"],
                "rank_bm25_p50_over_localnode_p50_subset":
                    sub_cold["rank_bm25_subset"]["p50_ms"] / sub_cold["localnode_subset"]["p50_ms"]},
        }
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
