"""The interest ranker: a binary gradient-boosted classifier over (item, interest) features.

A scikit-learn estimator (``fit`` / ``predict_proba`` / ``predict`` / ``score``, parameters in
``__init__``, no work there). ``HistGradientBoostingClassifier`` handles the NaN features natively
(an interest without training examples has no profile score), so nothing is imputed.

OpenMP threads default to 1 (``n_threads``): on a shared 2-core machine, HGB's OpenMP workers
spin against other processes and a 5 s fit took more than 100 s with 2 threads.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

__all__ = ["InterestRanker"]


class InterestRanker(ClassifierMixin, BaseEstimator):
    """P(interest is relevant | features of the pair)."""

    def __init__(self, max_iter: int = 200, learning_rate: float = 0.08, max_leaf_nodes: int = 31,
                 min_samples_leaf: int = 20, l2_regularization: float = 1.0, n_threads: int = 1, seed: int = 0) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.n_threads = n_threads
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "InterestRanker":
        y = np.asarray(y, dtype=np.int64)
        if len(np.unique(y)) < 2:
            raise ValueError("interest ranker needs relevant and non-relevant pairs; the "
                             "judgements hold only one label")
        self.model_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization, random_state=self.seed,
            early_stopping=False)
        with threadpool_limits(self.n_threads):
            self.model_.fit(np.asarray(X, dtype=np.float32), y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros((0, 2))
        with threadpool_limits(self.n_threads):
            return self.model_.predict_proba(np.asarray(X, dtype=np.float32))

    def decision_scores(self, X: np.ndarray) -> np.ndarray:
        """P(relevant) per row, float32."""
        return self.predict_proba(X)[:, 1].astype(np.float32) if len(X) else np.zeros(0, np.float32)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.decision_scores(X) >= 0.5).astype(np.int64)
