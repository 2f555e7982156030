"""End-to-end reindex throughput on a sample corpus, with the time of every stage.

    python benchmarks/bench_reindex.py --size M --seed 0 --workdir /tmp/pinsearch-bench-reindex

Stages: sample generation (not counted in the throughput), each signal (annotations, interests,
co-occurrence, Pin2Vec, cohesion), then the reindex stages (read, index, verify, swap). Reports pins/s
for the signals + reindex together, and for the indexing stage alone next to the same pins indexed
with no signals in the same run (the baseline).
"""

from __future__ import annotations

import argparse
import json
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
    args = parser.parse_args()
    sample = args.workdir / f"sample-{args.size}-{args.seed}"
    t0 = time.perf_counter()
    if not (sample / "manifest.json").exists():
        generate_sample(sample, args.size, args.seed, progress=False, overwrite=True)
    generation_s = time.perf_counter() - t0
    corpus = sample / "corpus"
    cache = args.workdir / f"cache-{time.time_ns()}"  # a cold cache: every signal is computed
    t0 = time.perf_counter()
    signals = compute_signals(corpus, cache, log=lambda m: print(m, file=sys.stderr))
    signals_s = time.perf_counter() - t0
    es = pinsearch.connect(f"embedded://{args.workdir / f'data-{time.time_ns()}'}")
    try:
        with_signals = reindex_corpus(es, corpus, progress=False, signals=signals.for_pin, alias="pins")
        baseline = reindex_corpus(es, corpus, progress=False, alias="bare")
    finally:
        pinsearch.close(es)
    pins = with_signals.indexed
    total = signals_s + sum(with_signals.stage_seconds.values())
    print(json.dumps({
        "size": args.size, "pins": pins, "sample_generation_s": round(generation_s, 1),
        "signals": signals.summary(), "signal_errors": signals.errors,
        "reindex_stage_seconds": with_signals.stage_seconds,
        "baseline_no_signals_stage_seconds": baseline.stage_seconds,
        "pins_per_s_end_to_end": round(pins / total, 1),
        "index_stage_pins_per_s": round(pins / with_signals.stage_seconds["index"], 1),
        "baseline_index_stage_pins_per_s": round(pins / baseline.stage_seconds["index"], 1),
        "index_stage_ratio_vs_baseline": round(baseline.stage_seconds["index"] / with_signals.stage_seconds["index"], 3),
    }, indent=2))


if __name__ == "__main__":
    main()
