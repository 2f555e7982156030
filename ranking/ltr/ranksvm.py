"""RankSVM: a linear SVM on pairwise feature differences (Joachims 2002, Herbrich et al. 2000).

Why linear and pairwise: the model must run inside the engine as ``model/linear`` (a dot product,
no intercept), and click-derived labels are only trustworthy as *preferences* within one query,
never as absolute grades across queries. Pairs are built only within a query group, between
documents with different labels; half the differences are flipped so the two classes balance and
the SVM needs no intercept (a ranking is invariant to one anyway).

Follows scikit-learn conventions: parameters in ``__init__``, no work there, ``fit`` / ``predict`` /
``score``; ``save`` writes a joblib file next to a JSON manifest.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ranking import metrics as rm

MANIFEST_VERSION = 1


def pairwise_transform(X: np.ndarray, y: np.ndarray, qid: np.ndarray, *, max_pairs_per_query: int | None = None,
                       random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """All within-query pairs with different labels as differences ``x_i - x_j`` and signs.

    ``max_pairs_per_query`` samples pairs (seeded) for queries with huge candidate lists.
    """
    rng = np.random.default_rng(random_state)
    diffs: list[np.ndarray] = []
    signs: list[np.ndarray] = []
    for rows in _groups(qid):
        labels = y[rows]
        i, j = np.triu_indices(len(rows), k=1)
        keep = labels[i] != labels[j]
        i, j = i[keep], j[keep]
        if len(i) == 0:
            continue
        if max_pairs_per_query and len(i) > max_pairs_per_query:
            pick = rng.choice(len(i), max_pairs_per_query, replace=False)
            i, j = i[pick], j[pick]
        diffs.append(X[rows[i]] - X[rows[j]])
        signs.append(np.sign(labels[i] - labels[j]))
    if not diffs:
        raise ValueError("no training pairs: every query has a single label value (nothing to prefer)")
    D = np.vstack(diffs)
    s = np.concatenate(signs).astype(np.int64)
    flip = rng.random(len(s)) < 0.5
    D[flip] *= -1
    s[flip] *= -1
    return D, s


def _groups(qid: np.ndarray) -> list[np.ndarray]:
    """Row indices per query, queries in first-seen order."""
    qid = np.asarray(qid)
    _, first, inverse = np.unique(qid, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rows_sorted = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse)
    splits = np.split(rows_sorted, np.cumsum(counts)[:-1])
    return [splits[k] for k in order]


class RankSVM:
    """Linear pairwise ranker; ``coef_`` is the weight vector, scores are ``X @ coef_``."""

    def __init__(self, C: float = 1.0, *, loss: str = "squared_hinge", max_iter: int = 5000,
                 max_pairs_per_query: int | None = 2000, tol: float = 1e-5, random_state: int = 0) -> None:
        self.C = C
        self.loss = loss
        self.max_iter = max_iter
        self.max_pairs_per_query = max_pairs_per_query
        self.tol = tol
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"C": self.C, "loss": self.loss, "max_iter": self.max_iter,
                "max_pairs_per_query": self.max_pairs_per_query, "tol": self.tol, "random_state": self.random_state}

    def set_params(self, **params: Any) -> "RankSVM":
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def fit(self, X: np.ndarray, y: np.ndarray, qid: np.ndarray) -> "RankSVM":
        from sklearn.svm import LinearSVC
        X = np.asarray(X, dtype=np.float64)
        D, s = pairwise_transform(X, np.asarray(y), np.asarray(qid), max_pairs_per_query=self.max_pairs_per_query,
                                  random_state=self.random_state)
        svm = LinearSVC(C=self.C, loss=self.loss, fit_intercept=False, max_iter=self.max_iter, tol=self.tol,
                        dual=bool(D.shape[0] < D.shape[1]), random_state=self.random_state)
        svm.fit(D, s)
        self.coef_ = svm.coef_.ravel().astype(np.float64)
        self.n_features_in_ = X.shape[1]
        self.n_pairs_ = int(D.shape[0])
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef_

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Ranking scores (higher is better)."""
        return self.decision_function(X)

    def score(self, X: np.ndarray, y: np.ndarray, qid: np.ndarray, metric: str = "ndcg@10") -> float:
        """Mean of a ranking metric over the queries (standard conventions, see ``ranking.metrics``)."""
        return rm.mean_metric(self.predict(X), np.asarray(y), np.asarray(qid), metric)

    def pairwise_accuracy(self, X: np.ndarray, y: np.ndarray, qid: np.ndarray) -> float:
        D, s = pairwise_transform(np.asarray(X, dtype=np.float64), np.asarray(y), np.asarray(qid),
                                  random_state=self.random_state)
        return float(np.mean(np.sign(D @ self.coef_) == s))

    def save(self, path: str | Path, *, inputs: dict[str, Any] | None = None,
             metrics: dict[str, Any] | None = None, feature_names: Sequence[str] | None = None) -> Path:
        """``path`` (joblib) plus ``path.json`` (manifest: inputs, parameters, metrics, version)."""
        import joblib
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        manifest = {"component": "ranksvm", "version": MANIFEST_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "parameters": self.get_params(), "inputs": inputs or {}, "metrics": metrics or {},
                    "feature_names": list(feature_names) if feature_names is not None else None,
                    "coef": [float(w) for w in self.coef_]}
        path.with_suffix(path.suffix + ".json").write_text(json.dumps(manifest, indent=2))
        return path

    @staticmethod
    def load(path: str | Path) -> "RankSVM":
        import joblib
        model = joblib.load(Path(path))
        if not isinstance(model, RankSVM):
            raise ValueError(f"{path}: not a RankSVM model (found {type(model).__name__})")
        return model


@dataclass(slots=True)
class Selection:
    model: RankSVM
    C: float
    validation: dict[float, float]
    metric: str


def fit_with_validation(X: np.ndarray, y: np.ndarray, qid: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                        qid_val: np.ndarray, *, Cs: Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0, 10.0),
                        metric: str = "map", random_state: int = 0, **params: Any) -> Selection:
    """Fit one RankSVM per C, keep the one with the best validation metric (ties: the smaller C)."""
    scores: dict[float, float] = {}
    best: tuple[float, float, RankSVM] | None = None
    for C in Cs:
        model = RankSVM(C=C, random_state=random_state, **params).fit(X, y, qid)
        value = model.pairwise_accuracy(X_val, y_val, qid_val) if metric == "pairwise_accuracy" \
            else model.score(X_val, y_val, qid_val, metric)
        scores[float(C)] = value
        if best is None or value > best[0] + 1e-12:
            best = (value, C, model)
    assert best is not None
    return Selection(model=best[2], C=float(best[1]), validation=scores, metric=metric)
