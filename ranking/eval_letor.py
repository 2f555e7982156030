"""Five-fold RankSVM evaluation on a LETOR directory (``partN/partition.txt``, SVMlight format).

The split is fixed and documented (LETOR 4.0): fold k tests on part k, validates on part k-1
(cyclically, so fold 1 validates on part 5), trains on the other three. The SVM's C is chosen per
fold on the validation part (MAP). Metrics are reported with the official LETOR script's
conventions (so they sit next to published numbers) and with standard NDCG (see ``ranking.metrics``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ranking import metrics as rm
from ranking.ltr.ranksvm import fit_with_validation

PUBLISHED = {"source": "LETOR 4.0 baselines (Qin & Liu 2013), MQ2008",
             "ranksvm": {"map": 0.4696, "ndcg@10": 0.2279}, "listnet": {"map": 0.4775}}
METRICS = ("map", "ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10")
DEFAULT_CS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


class LetorFormatError(ValueError):
    """A malformed SVMlight line (the message names file, line and field)."""


@dataclass(slots=True)
class LetorPart:
    X: np.ndarray
    y: np.ndarray
    qid: np.ndarray
    path: Path
    rejected: int = 0


_FEATURE = re.compile(r"^(\d+):(\S+)$")


def read_svmlight(path: str | Path, *, n_features: int | None = None,
                  on_error: Callable[[str], None] | None = None) -> LetorPart:
    """Read ``label qid:Q i:v ... [# comment]`` rows. Bad lines are reported (file, line, field) and skipped."""
    path = Path(path)
    rows: list[dict[int, float]] = []
    labels: list[float] = []
    qids: list[str] = []
    rejected = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                parts = line.split()
                try:
                    label = float(parts[0])
                except ValueError:
                    raise LetorFormatError(f"{path}:{lineno}: field 'label': not a number: {parts[0]!r}") from None
                if len(parts) < 2 or not parts[1].startswith("qid:") or len(parts[1]) <= 4:
                    raise LetorFormatError(f"{path}:{lineno}: field 'qid': expected 'qid:<id>' as the second token")
                feats: dict[int, float] = {}
                for tok in parts[2:]:
                    m = _FEATURE.match(tok)
                    if not m:
                        raise LetorFormatError(f"{path}:{lineno}: field 'features': bad token {tok!r} (want index:value)")
                    idx, val = int(m.group(1)), float(m.group(2))
                    if idx < 1 or not np.isfinite(val):
                        raise LetorFormatError(f"{path}:{lineno}: field 'feature {idx}': invalid index or value {tok!r}")
                    feats[idx] = val
            except (LetorFormatError, ValueError) as exc:
                rejected += 1
                message = str(exc) if isinstance(exc, LetorFormatError) else f"{path}:{lineno}: {exc}"
                if on_error is None:
                    raise LetorFormatError(message) from None
                on_error(message)
                continue
            rows.append(feats)
            labels.append(label)
            qids.append(parts[1][4:])
    if not rows:
        raise LetorFormatError(f"{path}: no valid rows")
    width = n_features or max(max(r) if r else 0 for r in rows)
    X = np.zeros((len(rows), width), dtype=np.float64)
    for i, feats in enumerate(rows):
        for idx, val in feats.items():
            if idx <= width:
                X[i, idx - 1] = val
    return LetorPart(X=X, y=np.asarray(labels), qid=np.asarray(qids), path=path, rejected=rejected)


def find_parts(data_dir: str | Path) -> list[Path]:
    data_dir = Path(data_dir)
    parts = sorted(data_dir.glob("part*/partition.txt"), key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))
    if len(parts) < 3:
        raise FileNotFoundError(f"{data_dir}: expected partN/partition.txt files (found {len(parts)}; need >= 3)")
    return parts


def evaluate_letor(data_dir: str | Path, *, Cs: Sequence[float] = DEFAULT_CS, select_metric: str = "map",
                   random_state: int = 0, progress: Callable[[str], None] | None = None,
                   on_error: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Five-fold (or N-fold) RankSVM; returns the evaluation JSON (method ``ranksvm``)."""
    started = time.perf_counter()
    paths = find_parts(data_dir)
    errors: list[str] = []
    sink = on_error or errors.append
    first = [read_svmlight(p, on_error=sink) for p in paths]
    width = max(p.X.shape[1] for p in first)
    parts = [read_svmlight(p.path, n_features=width, on_error=lambda m: None) if p.X.shape[1] != width else p
             for p in first]
    n = len(parts)
    folds: list[dict[str, Any]] = []
    pooled: dict[str, dict[str, list[float]]] = {"letor": {m: [] for m in METRICS}, "standard": {m: [] for m in METRICS}}
    for k in range(n):
        test, val = parts[k], parts[(k - 1) % n]
        train_idx = [j for j in range(n) if j not in (k, (k - 1) % n)]
        X = np.vstack([parts[j].X for j in train_idx])
        y = np.concatenate([parts[j].y for j in train_idx])
        qid = np.concatenate([np.char.add(f"{j}:", parts[j].qid.astype(str)) for j in train_idx])
        t0 = time.perf_counter()
        sel = fit_with_validation(X, y, qid, val.X, val.y, val.qid, Cs=Cs, metric=select_metric,
                                  random_state=random_state)
        scores = sel.model.predict(test.X)
        fold: dict[str, Any] = {"fold": k + 1, "test": str(test.path), "validation": str(val.path),
                                "train": [str(parts[j].path) for j in train_idx], "C": sel.C,
                                "validation_" + select_metric: {str(c): round(v, 4) for c, v in sel.validation.items()},
                                "seconds": round(time.perf_counter() - t0, 2)}
        for conv in ("letor", "standard"):
            fold[conv] = {}
            for m in METRICS:
                values = rm.per_query_metric(scores, test.y, test.qid, m, convention=conv)
                pooled[conv][m].extend(values.values())
                fold[conv][m] = round(sum(values.values()) / max(len(values), 1), 4)
        folds.append(fold)
        if progress:
            progress(f"fold {k + 1}/{n}: C={sel.C} MAP={fold['letor']['map']:.4f} NDCG@10={fold['letor']['ndcg@10']:.4f}")
    summary = {conv: {m: round(float(np.mean([f[conv][m] for f in folds])), 4) for m in METRICS}
               for conv in ("letor", "standard")}
    return {"data": str(data_dir), "split": "fold k: test part k, validate part k-1 (cyclic), train the rest",
            "queries": int(sum(len(np.unique(p.qid)) for p in parts)), "rows": int(sum(len(p.y) for p in parts)),
            "features": width, "rejected_lines": len(errors), "errors": errors[:20],
            "ranksvm": {**summary["letor"], "conventions": "letor (official Eval-Score-4.0), mean over folds",
                        "standard": summary["standard"], "folds": folds},
            "published": PUBLISHED, "seconds": round(time.perf_counter() - started, 1)}


def format_table(result: dict[str, Any]) -> str:
    r = result["ranksvm"]
    lines = [f"LETOR five-fold RankSVM on {result['data']} ({result['queries']} queries, {result['rows']} rows, "
             f"{result['features']} features)", f"{'':26}" + "".join(f"{m:>9}" for m in METRICS)]
    lines.append(f"{'pinsearch (LETOR script)':26}" + "".join(f"{r[m]:9.4f}" for m in METRICS))
    lines.append(f"{'pinsearch (standard NDCG)':26}" + "".join(f"{r['standard'][m]:9.4f}" for m in METRICS))
    pub = PUBLISHED["ranksvm"]
    lines.append(f"{'published RankSVM MQ2008':26}" + "".join(
        f"{pub[m]:9.4f}" if m in pub else f"{'-':>9}" for m in METRICS))
    lines.append("per fold C: " + ", ".join(f"{f['fold']}:{f['C']:g}" for f in r["folds"]))
    return "\n".join(lines)
