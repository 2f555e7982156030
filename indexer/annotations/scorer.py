"""The learned annotation scorer: P(term is a good annotation | features).

A scikit-learn estimator (parameters in ``__init__``, no work there): ``kind="lr"`` is the
baseline (median imputation + standardisation + logistic regression), ``kind="gbdt"``
HistGradientBoostingClassifier, which takes the ``NaN`` of missing features natively.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from threadpoolctl import ThreadpoolController

_CONTROLLER: ThreadpoolController | None = None


def _one_thread():  # type: ignore[no-untyped-def]
    """OpenMP limited to one thread: on small, shared machines HistGradientBoosting's threads
    spin against each other (measured: 23 s instead of 1.8 s for 5k rows on 2 cores), and one
    pin's prediction must not pay a thread-pool start. Parallelism comes from joblib instead."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="openmp")

__all__ = ["AnnotationScorer"]


class AnnotationScorer(ClassifierMixin, BaseEstimator):
    def __init__(self, kind: str = "gbdt", *, random_state: int = 0, max_iter: int = 150,
                 learning_rate: float = 0.1, max_leaf_nodes: int = 15, max_depth: int = 6,
                 C: float = 1.0) -> None:
        self.kind = kind
        self.random_state = random_state
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.C = C

    def _make(self):  # type: ignore[no-untyped-def]
        if self.kind == "lr":
            from sklearn.impute import SimpleImputer
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
            return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                 StandardScaler(),
                                 LogisticRegression(C=self.C, max_iter=1000,
                                                    random_state=self.random_state))
        if self.kind == "gbdt":
            from sklearn.ensemble import HistGradientBoostingClassifier
            return HistGradientBoostingClassifier(max_iter=self.max_iter,
                                                  learning_rate=self.learning_rate,
                                                  max_leaf_nodes=self.max_leaf_nodes,
                                                  max_depth=self.max_depth,
                                                  random_state=self.random_state)
        raise ValueError(f"kind must be 'lr' or 'gbdt', got {self.kind!r}")

    def fit(self, X: np.ndarray, y: np.ndarray) -> "AnnotationScorer":
        y = np.asarray(y, dtype=int)
        if len(np.unique(y)) < 2:
            raise ValueError("the annotation judgements need both relevant (1) and irrelevant (0) "
                             "candidates to train a scorer")
        with _one_thread():
            self.model_ = self._make().fit(np.asarray(X, dtype=np.float64), y)
        self.classes_ = np.array([0, 1])
        self.compiled_ = _compile(self.model_, self.kind)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        with _one_thread():
            return self.model_.predict_proba(np.asarray(X, dtype=np.float64))

    def decision_scores(self, X: np.ndarray) -> np.ndarray:
        """P(relevant) per row, in [0, 1] -- the compiled numpy path (same numbers as
        ``predict_proba``, tested), ~50x faster for the few rows of one pin."""
        if len(X) == 0:
            return np.zeros(0)
        compiled = getattr(self, "compiled_", None)
        if compiled is None or len(X) > 256:  # big batches: sklearn's Cython loop is faster
            return self.predict_proba(X)[:, 1]
        return compiled(np.asarray(X, dtype=np.float64))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.decision_scores(X) >= 0.5).astype(int)


class _CompiledTrees:
    """All trees of a binary HistGradientBoostingClassifier as flat arrays, traversed for every
    (row, tree) at once: sklearn's per-call overhead (~8 ms) is too much for one pin."""

    def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
        trees = [preds[0].nodes for preds in model._predictors]
        offsets = np.cumsum([0] + [len(t) for t in trees[:-1]])
        nodes = np.concatenate(trees)
        shift = np.concatenate([np.full(len(t), o) for t, o in zip(trees, offsets)])
        if np.any(nodes["is_categorical"]):
            raise ValueError("categorical splits are not supported by the compiled scorer")
        self.feature = nodes["feature_idx"].astype(np.intp)
        self.threshold = nodes["num_threshold"]
        self.missing_left = nodes["missing_go_to_left"].astype(bool)
        idx = np.arange(len(nodes))
        leaf = nodes["is_leaf"].astype(bool)
        # leaves point to themselves, so every row can take `depth` steps without a leaf test
        self.left = np.where(leaf, idx, nodes["left"].astype(np.intp) + shift)
        self.right = np.where(leaf, idx, nodes["right"].astype(np.intp) + shift)
        self.feature[leaf] = 0
        self.value = nodes["value"]
        self.roots = offsets.astype(np.intp)
        self.depth = int(nodes["depth"].max()) + 1
        self.baseline = float(np.ravel(model._baseline_prediction)[0])

    def __call__(self, X: np.ndarray) -> np.ndarray:
        node = np.broadcast_to(self.roots, (len(X), len(self.roots))).copy()
        rows = np.arange(len(X))[:, None]
        for _ in range(self.depth - 1):
            x = X[rows, self.feature[node]]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        raw = self.baseline + self.value[node].sum(axis=1)
        return 1.0 / (1.0 + np.exp(-raw))


class _CompiledLinear:
    """Imputer + scaler + logistic regression as three numpy operations."""

    def __init__(self, pipeline) -> None:  # type: ignore[no-untyped-def]
        imputer, scaler, lr = (step for _, step in pipeline.steps)
        self.fill = imputer.statistics_.astype(np.float64)
        self.mean = scaler.mean_
        self.scale = scaler.scale_
        self.coef = lr.coef_.ravel()
        self.intercept = float(lr.intercept_[0])

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.where(np.isnan(X), self.fill, X)
        raw = ((X - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-raw))


def _compile(model, kind: str):  # type: ignore[no-untyped-def]
    try:
        return _CompiledTrees(model) if kind == "gbdt" else _CompiledLinear(model)
    except (AttributeError, ValueError):  # a future sklearn layout: fall back to predict_proba
        return None
