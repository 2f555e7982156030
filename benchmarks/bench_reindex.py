"""End-to-end reindex throughput on a sample corpus, with the time of every stage.

    python benchmarks/bench_reindex.py --size M --seed 0 --workdir /tmp/pinsearch-bench-reindex
    python benchmarks/bench_reindex.py --sample /tmp/m_sample      # a sample written by `pinsearch sample`

Stages: sample generation (not counted in the throughput), each signal (annotations, interests,
co-occurrence, Pin2Vec, cohesion), then the reindex stages (prepare, read, documents = building the
index documents, bulk = sending them through the client into the engine, verify = refresh + count +
smoke queries, provenance, swap). Reports pins/s for the signals + reindex together, and for the
bulk stage alone next to the same pins indexed with no signals in the same run (the baseline), plus
the machine's load average before and after (the machine is shared) and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pinsearch  # noqa: E402
from indexer.corpus.sample import generate_sample  # noqa: E402
from indexer.reindex import reindex_corpus  # noqa: E402
from indexer.signals.pipeline import compute_signals  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="M")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/pinsearch-bench-reindex"))
    parser.add_argument("--sample", type=Path, default=None,
                        help="an existing sample directory (OUT of `pinsearch sample`) instead of generating one")
    args = parser.parse_args()
    load_before = os.getloadavg()
    sample = args.sample or args.workdir / f"sample-{args.size}-{args.seed}"
    t0 = time.perf_counter()
    if not (sample / "manifest.json").exists():
        generate_sample(sample, args.size, args.seed, progress=False, overwrite=True)
    generation_s = time.perf_counter() - t0
    corpus = sample / "corpus"
    cache = args.workdir / f"cache-{time.time_ns()}"  # a cold cache: every signal is computed
    t0 = time.perf_counter()
    signals = compute_signals(corpus, cache, log=lambda m: print(f"{time.perf_counter() - t0:8.1f}s {m}",
                                                                 file=sys.stderr))
    signals_s = time.perf_counter() - t0
    print(json.dumps({"signals": signals.summary()}), file=sys.stderr)
    es = pinsearch.connect(f"embedded://{args.workdir / f'data-{time.time_ns()}'}")
    try:
        with_signals = reindex_corpus(es, corpus, progress=False, signals=signals.for_pin, alias="pins")
        baseline = reindex_corpus(es, corpus, progress=False, alias="bare")
    finally:
        pinsearch.close(es)
    pins = with_signals.indexed
    total = signals_s + sum(with_signals.stage_seconds.values())
    print(json.dumps({
        "size": args.size, "sample": str(sample), "pins": pins, "sample_generation_s": round(generation_s, 1),
        "signals": signals.summary(), "signal_errors": signals.errors,
        "signals_seconds_total": round(signals_s, 1),
        "reindex_stage_seconds": with_signals.stage_seconds,
        "baseline_no_signals_stage_seconds": baseline.stage_seconds,
        "seconds_end_to_end": round(total, 1),
        "pins_per_s_end_to_end": round(pins / total, 1),
        "bulk_stage_pins_per_s": round(pins / with_signals.stage_seconds["bulk"], 1),
        "baseline_bulk_stage_pins_per_s": round(pins / baseline.stage_seconds["bulk"], 1),
        "bulk_stage_ratio_vs_baseline": round(baseline.stage_seconds["bulk"] / with_signals.stage_seconds["bulk"], 3),
        "cores": os.cpu_count(), "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }, indent=2))


if __name__ == "__main__":
    main()
