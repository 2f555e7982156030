"""The cohesion blender: a binary classifier from relatedness features to P(page is about the pin).

scikit-learn conventions: parameters in ``__init__``, ``fit`` / ``predict_proba`` / ``predict`` /
``score``; persisted with joblib next to ``manifest.json``. Missing evidence (NaN: no image
annotations, no page images) becomes 0 plus a "missing" indicator column, so a logistic regression
(the default: few labels, well calibrated) can weigh absence itself. ``kind="hgb"`` uses
gradient-boosted trees, which take NaN natively. Output is clipped to ``[floor, 1]`` so the index's
``rank_feature`` always gets a positive value.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MANIFEST_FILE", "MODEL_FILE", "VERSION", "CohesionBlender"]

MODEL_FILE = "cohesion.joblib"
MANIFEST_FILE = "manifest.json"
VERSION = 1


class CohesionBlender:
    def __init__(self, kind: str = "logistic", C: float = 1.0, floor: float = 1e-3, seed: int = 0) -> None:
        self.kind = kind
        self.C = C
        self.floor = floor
        self.seed = seed

    def _prep(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.kind == "hgb":
            return X
        missing = np.isnan(X)
        return np.hstack([np.where(missing, 0.0, X), missing[:, self.missing_cols_].astype(np.float64)])

    def fit(self, X: np.ndarray, y: np.ndarray) -> CohesionBlender:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=int)
        if len(set(y.tolist())) < 2:
            raise ValueError("cohesion labels need both classes (cohesive 0 and 1) to train the blender")
        self.missing_cols_ = np.flatnonzero(np.isnan(X).any(axis=0))
        if self.kind == "hgb":
            from sklearn.ensemble import HistGradientBoostingClassifier

            self.model_ = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05,
                                                         random_state=self.seed)
        elif self.kind == "logistic":
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            self.model_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000,
                                                                             random_state=self.seed))
        else:
            raise ValueError(f"unknown blender kind {self.kind!r}; use 'logistic' or 'hgb'")
        self.model_.fit(self._prep(X), y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = self.model_.predict_proba(self._prep(X))[:, 1]
        p = np.clip(p, self.floor, 1.0)
        return np.column_stack([1 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """ROC AUC (the ranking quality cohesion is used for)."""
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(np.asarray(y, dtype=int), self.predict_proba(X)[:, 1]))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"kind": self.kind, "C": self.C, "floor": self.floor, "seed": self.seed}

    def save(self, model_dir: str | Path, *, inputs: dict | None = None, metrics: dict | None = None,
             features: tuple[str, ...] = ()) -> Path:
        import joblib

        d = Path(model_dir)
        d.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, d / MODEL_FILE)
        manifest = {"component": "cohesion_blender", "version": VERSION, "params": self.get_params(),
                    "features": list(features), "inputs": inputs or {}, "metrics": metrics or {},
                    "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (d / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        return d / MODEL_FILE

    @classmethod
    def load(cls, model_dir: str | Path) -> CohesionBlender:
        import joblib

        d = Path(model_dir)
        path = d / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no cohesion model (train one with cohesion_scores(..., model_dir=...))")
        manifest = json.loads((d / MANIFEST_FILE).read_text("utf-8")) if (d / MANIFEST_FILE).is_file() else {}
        if manifest.get("version", VERSION) != VERSION:
            raise ValueError(f"{d / MANIFEST_FILE}: version {manifest.get('version')} != {VERSION}; retrain")
        model = joblib.load(path)
        if not isinstance(model, cls):
            raise TypeError(f"{path}: not a CohesionBlender")
        return model
