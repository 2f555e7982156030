"""Board co-occurrence: time, peak memory, and a naive baseline.

    .venv/bin/python benchmarks/bench_cooccurrence.py [--boards FILE] [--top-n 50] [--n-jobs 1]
    .venv/bin/python benchmarks/bench_cooccurrence.py --corpus DIR [--profile FILE]

``--boards`` (default: the real Pinterest saves): ``BoardCooccurrence.fit`` on the boards of a TSV.
``--corpus``: the indexer's whole signal, ``cooccurrence_candidates(DIR)`` (read ``pins.jsonl``,
PinJoin, BoardJoin, top-N, inversion into per-candidate keys), e.g. on the L sample (1M pins).

The baseline counts pairs with a Python dict (the obvious implementation) on the same boards;
the ratio is baseline seconds / sparse-product seconds. It is skipped when the boards hold more
than ``--baseline-max-pairs`` ordered pairs (a dict of tuples costs ~200 bytes a pair). Peak RSS:
sampled every 0.1 s during the measured call (``peak_rss_mb``) and the process maximum.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.signals.boards_io import read_boards  # noqa: E402
from indexer.signals.cooccurrence import BoardCooccurrence, cooccurrence_candidates, pin_join  # noqa: E402
from peak_rss import PeakRSS  # noqa: E402


def naive_pairs(groups: Sequence[Sequence[str]]) -> tuple[float, int]:
    t = time.perf_counter()
    counts: Counter[tuple[str, str]] = Counter()
    for g in groups:
        for a in g:
            for b in g:
                if a != b:
                    counts[a, b] += 1
    return time.perf_counter() - t, len(counts)


def corpus_boards(corpus_dir: Path) -> list[list[str]]:
    """The boards ``cooccurrence_candidates`` builds (PinJoin representatives, file order), for the baseline."""
    from indexer.corpus import iter_valid
    from indexer.corpus.reader import ValidationOptions
    pins = [(p.id, p.image_signature, p.repin_count, p.board_ids)
            for p in iter_valid(corpus_dir, "pins", options=ValidationOptions(progress=False))]
    rep = pin_join((i, s, r) for i, s, r, _ in pins)
    boards: dict[str, list[str]] = {}
    for pin_id, _, _, board_ids in pins:
        for b in board_ids:
            boards.setdefault(b, []).append(rep[pin_id])
    return [list(dict.fromkeys(g)) for g in boards.values()]


def run_corpus(args: argparse.Namespace) -> dict:
    corpus = Path(args.corpus)
    size_mb = sum(f.stat().st_size for f in corpus.rglob("*") if f.is_file()) / 2**20
    out: dict = {"corpus": str(corpus), "corpus_mb": round(size_mb),
                 "pins_jsonl_mb": round((corpus / "pins.jsonl").stat().st_size / 2**20)}
    profiler = None
    if args.profile:
        import cProfile
        profiler = cProfile.Profile()
    with PeakRSS() as rss:
        t = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        cands = cooccurrence_candidates(corpus, args.top_n, n_jobs=args.n_jobs)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - t
    m = cands._m  # the CSR behind the read-only mapping
    out.update({"pins": len(cands._pin_ids), "pins_with_keys": len(cands), "keys_total": int(m.nnz),
                "max_keys_on_a_pin": int(max(m.indptr[1:] - m.indptr[:-1], default=0)),
                "seconds": round(seconds, 1), "rss_before_mb": round(rss.start_mb),
                "peak_rss_mb": round(rss.peak_mb), "process_peak_rss_mb": round(rss.process_peak_mb)})
    if profiler is not None:
        import pstats
        profiler.dump_stats(args.profile)
        pstats.Stats(args.profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    if not args.no_baseline:
        del cands, m
        groups = corpus_boards(corpus)
        pairs = sum(len(g) * (len(g) - 1) for g in groups)
        out.update({"boards": len(groups), "saves": sum(map(len, groups)), "ordered_pairs": pairs})
        if pairs > args.baseline_max_pairs:
            out["naive_dict_seconds"] = f"skipped: {pairs} ordered pairs > --baseline-max-pairs"
        else:
            naive, distinct = naive_pairs(groups)
            out.update({"naive_dict_seconds": round(naive, 1), "naive_distinct_pairs": distinct,
                        "naive_over_signal_seconds": round(naive / seconds, 2)})
    return out


def run_boards(args: argparse.Namespace) -> dict:
    groups = [p for _, p in read_boards(args.boards)]
    t = time.perf_counter()
    model = BoardCooccurrence(top_n=args.top_n, n_jobs=args.n_jobs).fit(groups)
    ours = time.perf_counter() - t
    rss_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"boards": len(groups), "saves": sum(map(len, groups)), "pins": len(model.index_),
           "pairs_kept": int(model.neighbours_.nnz), "sparse_seconds": round(ours, 2),
           "peak_rss_mb_after_sparse": round(rss_ours)}
    if not args.no_baseline:
        naive, distinct = naive_pairs(groups)
        out.update({"naive_dict_seconds": round(naive, 2), "naive_pairs": distinct,
                    "speedup_vs_naive": round(naive / ours, 2)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boards", default=str(Path(__file__).resolve().parents[2] / "shared/data/pinterest-boards/boards.tsv"))
    ap.add_argument("--corpus", help="a corpus directory (e.g. the L sample's corpus/): run cooccurrence_candidates")
    ap.add_argument("--top-n", type=int, default=50)
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--baseline-max-pairs", type=int, default=20_000_000)
    ap.add_argument("--profile", help="with --corpus: write cProfile stats here (and the top 30 to stderr)")
    args = ap.parse_args()
    out = run_corpus(args) if args.corpus else run_boards(args)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
