"""Quality and speed of annotations on a generated sample corpus (``generate_sample`` output).

Split (fixed): pins with ``is_test_pin(id)`` (sha1 of the id, 20 %) are the test set; the scorer
trains on the judgements of the other pins only. Gold: ``ground_truth/annotations.jsonl`` (the
true keyphrases of every test pin), mapped through the dictionary (canonical term; phrases the
dictionary lacks keep their own key, so they count as misses). Metrics: ``p@k``, ``r@k``
(macro over test pins) for each scorer and the heuristic (relative TF-IDF, no learning).

    python -m indexer.annotations.evaluate SAMPLE_DIR
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from indexer.annotations.build import build_dictionary
from indexer.annotations.dictionary import phrase_key
from indexer.annotations.model import AnnotationModel, is_test_pin
from indexer.annotations.sources import CorpusContext

__all__ = ["evaluate_sample"]

KS = (1, 3, 5, 10)


def _gold(sample_dir: Path, model: AnnotationModel, test: set[str]) -> dict[str, set[str]]:
    gold: dict[str, set[str]] = {}
    with open(sample_dir / "ground_truth" / "annotations.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["pin_id"] not in test:
                continue
            keys = set()
            for kp in row["keyphrases"]:
                e = model.dictionary.lookup(kp["text"], row["lang"])
                keys.add(e.id if e else f"missing:{phrase_key(kp['text'], row['lang'])}")
            gold[row["pin_id"]] = keys
    return gold


def evaluate_sample(sample_dir: str | Path, *, kinds: tuple[str, ...] = ("lr", "gbdt"),
                    seed: int = 0, speed: bool = True) -> dict[str, Any]:
    sample_dir = Path(sample_dir)
    corpus = sample_dir / "corpus"
    ctx = CorpusContext(corpus)
    pins = ctx.pins()
    test = {p.id for p in pins if is_test_pin(p.id)}
    train = [p.id for p in pins if p.id not in test]
    t0 = time.perf_counter()
    d = build_dictionary(corpus, context=ctx)
    t_dict = time.perf_counter() - t0
    texts = [ctx.pin_text(p) for p in pins if p.id in test]
    out: dict[str, Any] = {"sample": str(sample_dir), "pins": len(pins), "test_pins": len(test),
                           "dictionary_terms": len(d), "dictionary_build_s": round(t_dict, 2),
                           "split": "test = sha1(pin id) bucket < 20 %", "methods": {}}
    gold: dict[str, set[str]] | None = None
    for kind in ("heuristic", *kinds):
        t0 = time.perf_counter()
        m = AnnotationModel.build(corpus, kind=kind if kind != "heuristic" else "gbdt",
                                  seed=seed, dictionary=d, context=ctx,
                                  train_pins=train if kind != "heuristic" else [])
        t_train = time.perf_counter() - t0
        if gold is None:
            gold = _gold(sample_dir, m, test)
            out["gold_in_dictionary"] = round(float(np.mean(
                [np.mean([not g.startswith("missing:") for g in gs]) for gs in gold.values()])),
                4)
        preds = m.annotate_many(texts, top_k=max(KS), threshold=0.0)
        rows = []
        for t, anns in zip(texts, preds):
            g = gold.get(t.pin_id, set())
            ids = [a.id for a in anns]
            r = {}
            for k in KS:
                hit = len(set(ids[:k]) & g)
                r[f"p@{k}"] = hit / k
                r[f"r@{k}"] = hit / len(g) if g else 0.0
            rows.append(r)
        res = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}
        res["train_s"] = round(t_train, 2)
        res["manifest_metrics"] = (m.manifest or {}).get("metrics", {})
        if speed and kind != "heuristic":
            res.update(_speed(m, ctx))
        out["methods"][kind] = res
    return out


def _speed(m: AnnotationModel, ctx: CorpusContext) -> dict[str, float]:
    texts = [ctx.pin_text(p) for p in ctx.pins()]
    for t in texts[:200]:  # warm-up (stem caches, static feature cache)
        m.annotate(t)
    lat = []
    for t in texts[:2000]:
        t0 = time.perf_counter()
        m.annotate(t)
        lat.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    m.annotate_many(texts)
    batch = len(texts) / (time.perf_counter() - t0)
    return {"instant_p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 3),
            "instant_p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 3),
            "batch_pins_per_s_1_process": round(batch, 1)}


if __name__ == "__main__":
    print(json.dumps(evaluate_sample(sys.argv[1]), indent=2))
