"""Board co-occurrence on the real Pinterest saves: time, peak memory, and a naive baseline.

    .venv/bin/python benchmarks/bench_cooccurrence.py [--boards FILE] [--top-n 50] [--n-jobs 1]

The baseline counts pairs with a Python dict (the obvious implementation) on the same boards;
the ratio is baseline seconds / sparse-product seconds. Peak RSS is the process maximum.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.signals.boards_io import read_boards  # noqa: E402
from indexer.signals.cooccurrence import BoardCooccurrence  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--boards", default=str(Path(__file__).resolve().parents[2] / "shared/data/pinterest-boards/boards.tsv"))
    ap.add_argument("--top-n", type=int, default=50)
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    groups = [p for _, p in read_boards(args.boards)]
    t = time.perf_counter()
    model = BoardCooccurrence(top_n=args.top_n, n_jobs=args.n_jobs).fit(groups)
    ours = time.perf_counter() - t
    rss_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"boards": len(groups), "saves": sum(map(len, groups)), "pins": len(model.index_),
           "pairs_kept": int(model.neighbours_.nnz), "sparse_seconds": round(ours, 2),
           "peak_rss_mb_after_sparse": round(rss_ours)}
    if not args.no_baseline:
        t = time.perf_counter()
        counts: Counter[tuple[str, str]] = Counter()
        for g in groups:
            for a in g:
                for b in g:
                    if a != b:
                        counts[a, b] += 1
        naive = time.perf_counter() - t
        out.update({"naive_dict_seconds": round(naive, 2), "naive_pairs": len(counts),
                    "speedup_vs_naive": round(naive / ours, 2)})
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
