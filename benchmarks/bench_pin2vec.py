"""Pin2Vec training throughput as a ratio to bare gensim Word2Vec on the same sentences.

    .venv/bin/python benchmarks/bench_pin2vec.py [--sessions FILE] [--limit N] [--epochs E]

Both runs: skip-gram, negative sampling, 128 dims, window 5, one worker, same seed. Ratio =
gensim seconds / Pin2Vec seconds (goal >= 0.90). Runs alternate to share machine noise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.signals.boards_io import read_sessions  # noqa: E402
from indexer.signals.pin2vec import Pin2Vec, session_sentence  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", default=str(Path(__file__).resolve().parents[2] / "shared/data/sessions/diginetica-train.tsv"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    from gensim.models import Word2Vec
    sessions = read_sessions(args.sessions)
    sentences = [session_sentence(s) for s in (sessions[:args.limit] if args.limit else sessions)]
    sentences = [s for s in sentences if len(s) >= 2]
    ours, bare = [], []
    for _ in range(args.repeats):
        model = Pin2Vec(epochs=args.epochs, min_count=1, seed=0)
        t = time.perf_counter(); model.fit(sentences); ours.append(time.perf_counter() - t)
        params = model.gensim_params(); params.pop("hashfxn", None)
        t = time.perf_counter()
        Word2Vec(sentences, **params)
        bare.append(time.perf_counter() - t)
    words = model.corpus_words_
    print(json.dumps({"sentences": len(sentences), "words": words, "epochs": args.epochs,
                      "pin2vec_seconds": round(min(ours), 2), "gensim_seconds": round(min(bare), 2),
                      "pin2vec_words_per_second": round(words * args.epochs / min(ours)),
                      "ratio_gensim_over_pin2vec_time": round(min(bare) / min(ours), 3)}, indent=2))


if __name__ == "__main__":
    main()
