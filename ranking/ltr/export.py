"""RankSVM weights -> ``model/linear`` with ``feature_normalizers``, never emitting a negative score.

Why the guarantee is by construction and not by hoping: Lucene rejects negative scores, and a
linear model with a negative weight on a feature that can grow will eventually go negative. So:
every feature is non-negative (BM25, rank_feature, constant, cosine); bounded features are min-max
normalised onto [0, 1] with their known upper bound; unbounded features (BM25) may only carry
non-negative weights (training drops a feature whose weight comes out negative); and the constant
``offset`` feature gets weight ``sum(|w_i|)`` over bounded features with negative weights, which is
exactly the worst case. ``check_non_negative`` recomputes that lower bound before upload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

OFFSET_FEATURE = "offset"


@dataclass(slots=True)
class LinearModel:
    """Weights and min-max normalizers over a feature set's names (float32 scoring as the plugin does)."""
    feature_names: list[str]
    weights: dict[str, float]
    normalizers: dict[str, tuple[float, float]]          # name -> (minimum, maximum)
    bounds: dict[str, float | None] = field(default_factory=dict)

    def definition(self) -> dict[str, float]:
        return {n: float(np.float32(w)) for n, w in self.weights.items() if w != 0.0}

    def to_model_body(self, name: str) -> dict[str, Any]:
        return {"model": {"name": name, "model": {
            "type": "model/linear", "definition": self.definition(),
            "feature_normalizers": {n: {"min_max": {"minimum": float(lo), "maximum": float(hi)}}
                                    for n, (lo, hi) in self.normalizers.items()}}}}

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """Float32 min-max exactly as ``MinMaxFeatureNormDefinition``: (x - min) / (max - min)."""
        x = np.array(raw, dtype=np.float32, copy=True)
        for i, name in enumerate(self.feature_names):
            if name in self.normalizers:
                lo, hi = self.normalizers[name]
                x[..., i] = (x[..., i] - np.float32(lo)) / (np.float32(hi) - np.float32(lo))
        return x

    def score(self, raw: np.ndarray) -> np.ndarray:
        """The plugin's float32 loop: ``s = f32(s + f32(w_i * x_i))`` over ordinals in order."""
        x = self.normalise(np.atleast_2d(raw))
        s = np.zeros(x.shape[0], dtype=np.float32)
        for i, name in enumerate(self.feature_names):
            w = np.float32(self.weights.get(name, 0.0))
            if w != 0:
                s = (s + (w * x[:, i]).astype(np.float32)).astype(np.float32)
        return s

    def contributions(self, raw: np.ndarray) -> dict[str, float]:
        """weight x normalised value per feature, for ``--explain``."""
        x = self.normalise(np.atleast_2d(raw))[0]
        return {n: float(np.float32(self.weights.get(n, 0.0)) * x[i]) for i, n in enumerate(self.feature_names)
                if self.weights.get(n, 0.0) != 0.0}

    def to_dict(self) -> dict[str, Any]:
        return {"feature_names": self.feature_names, "weights": self.weights,
                "normalizers": {k: list(v) for k, v in self.normalizers.items()}, "bounds": self.bounds}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "LinearModel":
        return cls(list(d["feature_names"]), {k: float(v) for k, v in d["weights"].items()},
                   {k: (float(v[0]), float(v[1])) for k, v in d["normalizers"].items()}, dict(d.get("bounds", {})))


def fit_normalizers(X: np.ndarray, feature_names: Sequence[str], bounds: Mapping[str, float | None]
                    ) -> dict[str, tuple[float, float]]:
    """min 0 (features are non-negative; the plugin rejects a negative minimum); max = the known bound,
    or the observed maximum for unbounded features. The offset feature is left raw (it is 1.0)."""
    out: dict[str, tuple[float, float]] = {}
    for i, name in enumerate(feature_names):
        if name == OFFSET_FEATURE:
            continue
        bound = bounds.get(name)
        hi = float(bound) if bound is not None else float(np.max(X[:, i])) if len(X) else 1.0
        out[name] = (0.0, hi if hi > 0 else 1.0)
    return out


def lower_bound(model: LinearModel) -> float:
    """The smallest score the model can give any document (features >= 0, bounded ones <= bound)."""
    low = 0.0
    for name, w in model.weights.items():
        if name == OFFSET_FEATURE:
            low += w * 1.0
        elif w < 0:
            bound = model.bounds.get(name)
            if bound is None:
                return float("-inf")
            lo, hi = model.normalizers.get(name, (0.0, 1.0))
            low += w * (bound - lo) / (hi - lo)
    return low


def add_offset(model: LinearModel, margin: float = 1e-4) -> LinearModel:
    """Set the offset weight so the worst case is ``margin`` above zero."""
    model.weights[OFFSET_FEATURE] = 0.0
    low = lower_bound(model)
    if low == float("-inf"):
        raise ValueError("a negative weight on an unbounded feature: scores cannot be kept non-negative")
    model.weights[OFFSET_FEATURE] = max(0.0, -low) + margin
    return model


def check_non_negative(model: LinearModel) -> float:
    """Raise unless every possible score is >= 0; returns the lower bound."""
    if OFFSET_FEATURE not in model.feature_names:
        raise ValueError(f"the feature set has no {OFFSET_FEATURE!r} feature: cannot guarantee non-negative scores")
    for name, (lo, hi) in model.normalizers.items():
        if lo < 0 or hi <= lo:
            raise ValueError(f"normalizer of {name!r}: need 0 <= minimum < maximum (got {lo}, {hi})")
    low = lower_bound(model)
    if not low >= 0:
        raise ValueError(f"the model can score {low:.6g} < 0 (Lucene rejects negative scores); refusing to upload")
    return low
