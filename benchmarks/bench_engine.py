"""Embedded engine benchmark: durable bulk indexing and `match` latency, next to reference engines.

    python benchmarks/bench_engine.py --docs 1000000 --queries 1000 --rank-bm25-docs 100000

Measures, in one process on the same generated documents (title + description of realistic
lengths, words drawn from a Zipf distribution over an English vocabulary):
  * localnode: bulk indexing through opensearch-py (translog fsync per bulk request) -> docs/s,
    bytes on disk per doc after a flush, peak RSS; `match` top-10 latency p50/p99;
  * tantivy (Rust, the reference engine): indexing docs/s and top-10 latency on the same docs;
  * rank-bm25 (pure Python) on a subset: top-10 latency.
Latency ratios are reported against tantivy and rank-bm25 measured in this same run.
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


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def bench_localnode(docs: list[dict[str, str]], queries: list[str], workdir: Path) -> dict[str, float]:
    process = psutil.Process()
    es = pinsearch.connect(f"embedded://{workdir / 'localnode'}")
    es.indices.create(index="bench", body={"settings": {"refresh_interval": "1s", "number_of_replicas": 0},
                                           "mappings": {"properties": {
                                               "title": {"type": "text", "analyzer": "english"},
                                               "description": {"type": "text", "analyzer": "english"}}}})
    peak = process.memory_info().rss
    started = time.perf_counter()
    chunk = 2000
    for start in range(0, len(docs), chunk):
        actions = [{"_index": "bench", "_id": str(start + i), "_source": d} for i, d in enumerate(docs[start:start + chunk])]
        helpers.bulk(es, actions, chunk_size=chunk)
        peak = max(peak, process.memory_info().rss)
    es.indices.refresh(index="bench")
    index_seconds = time.perf_counter() - started
    es.indices.flush(index="bench")
    peak = max(peak, process.memory_info().rss)
    size = sum(f.stat().st_size for f in (workdir / "localnode").rglob("*") if f.is_file())
    for q in queries[:50]:  # warm-up
        es.search(index="bench", body={"query": {"multi_match": {"query": q, "fields": ["title", "description"]}}, "size": 10})
    latencies = []
    for q in queries:
        t0 = time.perf_counter()
        es.search(index="bench", body={"query": {"multi_match": {"query": q, "fields": ["title", "description"]}}, "size": 10})
        latencies.append((time.perf_counter() - t0) * 1000)
    pinsearch.close(es)
    return {"docs_per_s": len(docs) / index_seconds, "bytes_per_doc": size / len(docs),
            "peak_rss_mb": peak / 2**20, "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}


def bench_tantivy(docs: list[dict[str, str]], queries: list[str], workdir: Path) -> dict[str, float]:
    import tantivy
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("title", stored=False, tokenizer_name="en_stem")
    builder.add_text_field("description", stored=False, tokenizer_name="en_stem")
    builder.add_text_field("id", stored=True)
    schema = builder.build()
    path = workdir / "tantivy"
    path.mkdir()
    index = tantivy.Index(schema, path=str(path))
    writer = index.writer(heap_size=256_000_000, num_threads=1)
    started = time.perf_counter()
    for i, d in enumerate(docs):
        writer.add_document(tantivy.Document(id=str(i), title=d["title"], description=d["description"]))
    writer.commit()
    index_seconds = time.perf_counter() - started
    index.reload()
    searcher = index.searcher()
    latencies = []
    for q in queries[:50]:
        searcher.search(index.parse_query(q, ["title", "description"]), 10)
    for q in queries:
        t0 = time.perf_counter()
        searcher.search(index.parse_query(q, ["title", "description"]), 10)
        latencies.append((time.perf_counter() - t0) * 1000)
    return {"docs_per_s": len(docs) / index_seconds, "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99)}


def bench_rank_bm25(docs: list[dict[str, str]], queries: list[str]) -> dict[str, float]:
    from rank_bm25 import BM25Okapi
    corpus = [(d["title"] + " " + d["description"]).split() for d in docs]
    bm25 = BM25Okapi(corpus)
    latencies = []
    for q in queries[:100]:  # it is slow: 100 queries are enough for a median
        t0 = time.perf_counter()
        scores = bm25.get_scores(q.split())
        np.argpartition(-scores, 10)[:10]
        latencies.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}


def bench_localnode_subset(docs: list[dict[str, str]], queries: list[str], workdir: Path) -> dict[str, float]:
    es = pinsearch.connect(f"embedded://{workdir / 'subset'}")
    es.indices.create(index="s", body={"mappings": {"properties": {"text": {"type": "text"}}}})
    helpers.bulk(es, ({"_index": "s", "_id": str(i), "_source": {"text": d["title"] + " " + d["description"]}}
                      for i, d in enumerate(docs)), chunk_size=2000)
    es.indices.refresh(index="s")
    latencies = []
    for q in queries[:100]:
        t0 = time.perf_counter()
        es.search(index="s", body={"query": {"match": {"text": q}}, "size": 10})
        latencies.append((time.perf_counter() - t0) * 1000)
    pinsearch.close(es)
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}


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
        results = {"docs": args.docs, "queries": args.queries, "cpu_count": os.cpu_count()}
        results["localnode"] = bench_localnode(docs, queries, workdir)
        results["tantivy"] = bench_tantivy(docs, queries, workdir)
        subset = docs[:args.rank_bm25_docs]
        results["rank_bm25_subset"] = bench_rank_bm25(subset, queries)
        results["localnode_subset"] = bench_localnode_subset(subset, queries, workdir)
        results["ratios"] = {
            "localnode_p50_over_tantivy_p50": results["localnode"]["p50_ms"] / results["tantivy"]["p50_ms"],
            "rank_bm25_p50_over_localnode_p50_subset":
                results["rank_bm25_subset"]["p50_ms"] / results["localnode_subset"]["p50_ms"],
            "localnode_docs_per_s_over_tantivy": results["localnode"]["docs_per_s"] / results["tantivy"]["docs_per_s"],
        }
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
