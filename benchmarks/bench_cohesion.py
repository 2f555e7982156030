"""Cohesion and extraction benchmark: quality on the sample corpus gold labels and pages/s.

    .venv/bin/python benchmarks/bench_cohesion.py [--size S] [--seed 0] [--out /tmp/pinsearch-bench-cohesion]

Speed is reported for 1 and 2 joblib workers in the same run (the 1-worker run is the baseline).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="S")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("/tmp/pinsearch-bench-cohesion"))
    a = ap.parse_args()
    from indexer.cohesion import evaluate_cohesion
    from indexer.corpus.sample import generate_sample

    generate_sample(a.out, a.size, a.seed, progress=False, overwrite=True)
    runs = {nj: evaluate_cohesion(a.out, n_jobs=nj, seed=a.seed) for nj in (1, 2)}
    base = runs[1]["speed"]["pages_per_second"]
    out = {"size": a.size, "seed": a.seed, "quality": runs[2]["methods"], "split": runs[2]["split"],
           "speed": {nj: r["speed"] for nj, r in runs.items()},
           "speedup_2_vs_1": round(runs[2]["speed"]["pages_per_second"] / base, 2) if base else None}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
