"""Evaluation of Pin2Interest.

Two evaluations:

* :func:`evaluate_labelled` — labelled short texts in the TREC question format (``COARSE:fine
  text``, one per line, UTF-8 or Latin-1). The labels of the train file become a two-level
  taxonomy (coarse at level 1, ``COARSE:fine`` at level 2); the interest ranker is trained on it
  and coarse / fine accuracy (top-scored interest per level) is measured on the test file. A
  bag-of-words linear SVM (binary unigram counts, ``LinearSVC``, Zhang & Lee's baseline) runs in
  the same call. Without a test file the **fixed split** is: every 10th non-blank line of the train
  file (line index % 10 == 9, counting valid lines from 0) is held out, the rest trains.
* :func:`evaluate_corpus` — a sample corpus directory with ``ground_truth/pin_interests.jsonl``:
  trained on ``corpus/judgements/interests.jsonl``, evaluated on the pins that are **not** judged
  (never seen in training): accuracy per level (top-1 at that level is a true interest),
  ``p@1`` / ``p@3`` over all levels, candidate recall, average candidates, throughput.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from indexer.interests.classify import Pin2Interest, load_corpus_items
from indexer.interests.items import InterestItem
from indexer.interests.taxonomy import Taxonomy

__all__ = ["LabelledText", "build_label_taxonomy", "evaluate_corpus", "evaluate_labelled",
           "read_labelled", "split_every"]

_LINE = re.compile(r"^([^\s:]+):(\S+)\s+(.+)$")
HOLDOUT_EVERY = 10
FINE_OFFSET = 1000


@dataclass(frozen=True)
class LabelledText:
    coarse: str
    fine: str          # "COARSE:fine"
    text: str
    line: int


def read_labelled(path: str | Path, errors: list[str] | None = None) -> list[LabelledText]:
    """Lines ``COARSE:fine text``; bad lines are reported (file:line: reason) and skipped."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(f"{p}: cannot read labelled file ({exc.strerror or exc})") from None
    out: list[LabelledText] = []
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = raw.decode("latin-1")
        line = line.strip()
        if not line:
            continue
        m = _LINE.match(line)
        if m is None:
            if errors is not None:
                errors.append(f"{p}:{lineno}: expected 'COARSE:fine text', got {line[:60]!r}")
            continue
        coarse, fine, text = m.group(1), m.group(2), m.group(3)
        out.append(LabelledText(coarse, f"{coarse}:{fine}", text, lineno))
    if not out:
        raise ValueError(f"{p}: no line in the 'COARSE:fine text' format")
    return out


def split_every(rows: Sequence[LabelledText], every: int = HOLDOUT_EVERY
                ) -> tuple[list[LabelledText], list[LabelledText]]:
    """The fixed split: row index % every == every - 1 is test."""
    train = [r for i, r in enumerate(rows) if i % every != every - 1]
    test = [r for i, r in enumerate(rows) if i % every == every - 1]
    return train, test


def build_label_taxonomy(rows: Sequence[LabelledText]) -> tuple[Taxonomy, dict[str, int]]:
    """Coarse labels as roots (ids 1..), ``COARSE:fine`` as their children (ids 1000..)."""
    tax = Taxonomy("labels")
    ids: dict[str, int] = {}
    for r in rows:
        if r.coarse not in ids:
            ids[r.coarse] = tax.add_interest(r.coarse, None, id=len([k for k in ids if ":" not in k]) + 1).id
    n_fine = 0
    for r in rows:
        if r.fine not in ids:
            n_fine += 1
            ids[r.fine] = tax.add_interest(r.fine.split(":", 1)[1], ids[r.coarse],
                                           id=FINE_OFFSET + n_fine, source_id=r.fine).id
    return tax, ids


def _svm_baseline(train: Sequence[LabelledText], test: Sequence[LabelledText]) -> dict[str, float]:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.svm import LinearSVC

    vec = CountVectorizer(binary=True, lowercase=True, token_pattern=r"(?u)\b\w+\b")
    Xtr = vec.fit_transform([r.text for r in train])
    Xte = vec.transform([r.text for r in test])
    out = {}
    for name, key in (("coarse", "coarse"), ("fine", "fine")):
        ytr = [getattr(r, key) for r in train]
        clf = LinearSVC(C=1.0, random_state=0).fit(Xtr, ytr)
        pred = clf.predict(Xte)
        out[f"accuracy_{name}"] = float(np.mean([p == getattr(r, key) for p, r in zip(pred, test)]))
    return out


def evaluate_labelled(train_path: str | Path, test_path: str | Path | None = None, *,
                      seed: int = 0, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Coarse and fine accuracy of Pin2Interest and of a bag-of-words linear SVM."""
    errors: list[str] = []
    rows = read_labelled(train_path, errors)
    if test_path is None:
        train, test = split_every(rows)
        split = f"every {HOLDOUT_EVERY}th line of {Path(train_path).name} held out"
    else:
        train, test = rows, read_labelled(test_path, errors)
        split = f"train {Path(train_path).name}, test {Path(test_path).name}"
    tax, ids = build_label_taxonomy(train)
    items = [InterestItem(id=f"t{i}", fields={"title": r.text}) for i, r in enumerate(train)]
    judged = {f"t{i}": {ids[r.coarse]: 1, ids[r.fine]: 1} for i, r in enumerate(train)}
    t0 = time.perf_counter()
    model = Pin2Interest(tax, seed=seed).fit(items, judged, progress=progress)
    fit_s = time.perf_counter() - t0
    test_items = [InterestItem(id=f"q{i}", fields={"title": r.text}) for i, r in enumerate(test)]
    t0 = time.perf_counter()
    scores = model.score_candidates(test_items)
    pred_s = time.perf_counter() - t0
    correct = {1: 0, 2: 0}
    for r, s in zip(test, scores):
        for level, truth in ((1, ids.get(r.coarse)), (2, ids.get(r.fine))):
            at = [n for n in s if tax[n].level == level]
            if at and max(at, key=lambda n: (s[n], -n)) == truth:
                correct[level] += 1
    n = max(1, len(test))
    svm = _svm_baseline(train, test)
    return {
        "data": {"train": str(train_path), "test": str(test_path) if test_path else None,
                 "split": split, "n_train": len(train), "n_test": len(test),
                 "coarse_classes": len({r.coarse for r in train}),
                 "fine_classes": len({r.fine for r in train}), "skipped_lines": errors[:20],
                 "n_skipped": len(errors)},
        "pin2interest": {"accuracy_coarse": correct[1] / n, "accuracy_fine": correct[2] / n,
                         "fit_seconds": round(fit_s, 2),
                         "texts_per_second": round(len(test) / max(pred_s, 1e-9), 1),
                         "avg_candidates": float(np.mean([len(s) for s in scores])) if scores else 0.0},
        "linear-svm": svm,
        "published": {"bow-svm (Zhang & Lee 2003, standard TREC-10 test)":
                      {"accuracy_coarse": 0.858, "accuracy_fine": 0.802}},
    }


def evaluate_corpus(sample_dir: str | Path, *, seed: int = 0, ks: Sequence[int] = (1, 3),
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Quality on a sample corpus's ground truth for pins outside the judgements, and speed."""
    root = Path(sample_dir)
    corpus = root / "corpus" if (root / "corpus").is_dir() else root
    truth_path = (corpus.parent / "ground_truth" / "pin_interests.jsonl")
    if not truth_path.exists():
        raise FileNotFoundError(f"{truth_path}: no ground truth (a sample corpus writes it)")
    truth: dict[str, list[dict[str, Any]]] = {}
    with truth_path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                truth[rec["pin_id"]] = rec["interests"]
    items, judged = load_corpus_items(corpus)
    t0 = time.perf_counter()
    model = Pin2Interest(seed=seed).fit(items, judged, progress=progress)
    fit_s = time.perf_counter() - t0
    test = [it for it in items if it.id not in judged and it.id in truth]
    t0 = time.perf_counter()
    scores = model.score_candidates(test)
    pred_s = time.perf_counter() - t0
    tax = model.taxonomy_
    acc: dict[int, list[float]] = defaultdict(list)
    pk: dict[int, list[float]] = defaultdict(list)
    pk_max: dict[int, list[float]] = defaultdict(list)
    recall: list[float] = []
    for it, s in zip(test, scores):
        t = truth[it.id]
        tset = {int(x["interest_id"]) for x in t}
        recall.append(len(tset & set(s)) / max(1, len(tset)))
        for level in sorted({int(x["level"]) for x in t if x.get("level")}):
            tl = {int(x["interest_id"]) for x in t if x.get("level") == level}
            at = [n for n in s if tax[n].level == level]
            best = max(at, key=lambda n: (s[n], -n)) if at else None
            acc[level].append(1.0 if best in tl else 0.0)
        ranked = sorted(s, key=lambda n: (-s[n], n))
        for k in ks:
            pk[k].append(sum(1 for n in ranked[:k] if n in tset) / k)
            pk_max[k].append(min(k, len(tset)) / k)
    out: dict[str, Any] = {
        "data": {"corpus": str(corpus), "n_pins": len(items), "n_judged_pins": len(judged),
                 "n_test_pins": len(test)},
        "pin2interest": {
            **{f"p@{k}": float(np.mean(v)) for k, v in pk.items()},
            **{f"p@{k}_ceiling": float(np.mean(v)) for k, v in pk_max.items()},
            **{f"accuracy_l{level}": float(np.mean(v)) for level, v in sorted(acc.items())},
            "candidate_recall": float(np.mean(recall)) if recall else 0.0,
            "avg_candidates": float(np.mean([len(s) for s in scores])) if scores else 0.0,
            "max_candidates": int(max((len(s) for s in scores), default=0)),
            "fit_seconds": round(fit_s, 2),
            "pins_per_second": round(len(test) / max(pred_s, 1e-9), 1),
            "per_level_n": {f"l{level}": len(v) for level, v in sorted(acc.items())},
        },
        "manifest": model.manifest_,
    }
    return out
