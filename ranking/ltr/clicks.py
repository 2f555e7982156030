"""Position bias per (device, position) and clicks over expected clicks (COEC) per (query, pin).

Why a click model at all: a pin shown at position 1 is clicked far more often than the same pin at
position 10, so raw CTR mostly measures where the old ranker put a pin. The position-based model
(PBM) says ``P(click) = bias[device, position] * attractiveness[query, pin]``; it is fitted by EM
(Chuklin, Markov & de Rijke 2015, "Click Models for Web Search", section 4.2), which uses every
time the same pin was shown at different positions, so a noisy logged ranker is enough and no
randomised traffic is needed. Bias is reported relative to position 1 of the same device.

COEC (Zhang & Jones 2007; the Related Pins paper's training signal) divides a pair's clicks by the
clicks an average pin would have collected at the same impressions:
``expected = sum_impressions ctr1[device] * bias[device, position]``, smoothed towards 1 with a
prior of ``prior_impressions`` average impressions so a pair seen twice does not look extreme.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Iterable, Mapping

import numpy as np


@dataclass(frozen=True, slots=True)
class ImpressionRow:
    """One shown result: which query, which pin, where, on which device, clicked or not."""
    query: Hashable
    pin_id: str
    position: int
    device: str
    clicked: bool


def impressions_from_log(entries: Iterable[Any], *, key: str = "query") -> list[ImpressionRow]:
    """Flatten ``SearchLogEntry`` (key ``query``) or ``RelatedLogEntry`` (key ``query_pin``) records."""
    out: list[ImpressionRow] = []
    for entry in entries:
        q = getattr(entry, key)
        for imp in entry.impressions:
            out.append(ImpressionRow(q, imp.pin_id, int(imp.position), str(entry.device), bool(imp.clicked)))
    return out


@dataclass(slots=True)
class ClickLog:
    """Impressions as arrays (what the estimator works on): pair/device indices, positions, clicks."""
    pair: np.ndarray
    device: np.ndarray
    position: np.ndarray
    clicked: np.ndarray
    pairs: list[tuple[Hashable, str]]
    devices: list[str]

    @classmethod
    def from_rows(cls, rows: Iterable[ImpressionRow]) -> "ClickLog":
        rows = list(rows)
        pairs: dict[tuple[Hashable, str], int] = {}
        devs: dict[str, int] = {}
        pair = np.fromiter((pairs.setdefault((r.query, r.pin_id), len(pairs)) for r in rows), np.int64, len(rows))
        device = np.fromiter((devs.setdefault(r.device, len(devs)) for r in rows), np.int64, len(rows))
        position = np.fromiter((r.position for r in rows), np.int64, len(rows))
        clicked = np.fromiter((r.clicked for r in rows), np.float64, len(rows))
        return cls(pair, device, position, clicked, list(pairs), list(devs))

    def __len__(self) -> int:
        return len(self.pair)


@dataclass(slots=True)
class PositionBias:
    """``bias[device][position]`` relative to position 1 (= 1.0), plus the absolute examination at 1."""
    bias: dict[str, dict[int, float]]
    examination_at_1: dict[str, float]
    impressions: dict[str, dict[int, int]]
    iterations: int
    method: str

    def get(self, device: str, position: int) -> float:
        per = self.bias.get(device) or self.bias.get("all") or {}
        if position in per:
            return per[position]
        if not per:
            return 1.0
        return per[max(p for p in per if p <= position)] if any(p <= position for p in per) else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "iterations": self.iterations,
                "bias": {d: {str(p): round(v, 5) for p, v in sorted(b.items())} for d, b in self.bias.items()},
                "examination_at_1": {d: round(v, 5) for d, v in self.examination_at_1.items()},
                "impressions": {d: {str(p): n for p, n in sorted(c.items())} for d, c in self.impressions.items()}}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))


class PositionBiasEstimator:
    """EM for the position-based click model; ``fit(rows)`` then ``bias_``.

    ``min_impressions``: positions seen fewer times on a device are dropped (their estimate would be
    noise). ``max_position``: deeper positions share the last bucket.
    """

    def __init__(self, *, method: str = "ppml", max_iter: int = 500, tol: float = 1e-7, min_impressions: int = 50,
                 max_position: int = 50) -> None:
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.min_impressions = min_impressions
        self.max_position = max_position

    def _ppml(self, cell: np.ndarray, pair: np.ndarray, click: np.ndarray, n_cells: int,
              n_pairs: int) -> tuple[np.ndarray, np.ndarray, int]:
        return _ppml_fit(cell, pair, click, n_cells, n_pairs, self.max_iter, self.tol)

    def fit(self, rows: "Iterable[ImpressionRow] | ClickLog") -> "PositionBiasEstimator":
        if self.method not in ("ppml", "em"):
            raise ValueError(f"unknown position-bias method {self.method!r} (use 'ppml' or 'em')")
        log = rows if isinstance(rows, ClickLog) else ClickLog.from_rows(rows)
        if len(log) == 0:
            raise ValueError("no impressions: position bias needs a search or related log with impressions")
        devices = log.devices
        dev_idx = {d: i for i, d in enumerate(devices)}
        pairs = log.pairs
        pair, dev, click = log.pair, log.device, log.clicked.astype(np.float64)
        pos = np.clip(log.position, 1, self.max_position) - 1
        cell = dev * self.max_position + pos
        n_cells = len(devices) * self.max_position
        cell_n = np.bincount(cell, minlength=n_cells).astype(np.float64)
        pair_n = np.bincount(pair, minlength=len(pairs)).astype(np.float64)
        theta = np.full(n_cells, 0.5)
        gamma = np.full(len(pairs), 0.5)
        it = 0
        if self.method == "ppml":
            theta, gamma, it = self._ppml(cell, pair, click, n_cells, len(pairs))
        for it in range(it + 1, self.max_iter + 1 if self.method == "em" else it + 1):
            t, g = theta[cell], gamma[pair]
            denom = np.maximum(1.0 - t * g, 1e-12)
            exam = click + (1 - click) * t * (1 - g) / denom
            attr = click + (1 - click) * (1 - t) * g / denom
            new_theta = np.bincount(cell, weights=exam, minlength=n_cells) / np.maximum(cell_n, 1)
            new_gamma = np.bincount(pair, weights=attr, minlength=len(pairs)) / pair_n
            new_theta = np.clip(new_theta, 1e-6, 1 - 1e-6)
            new_gamma = np.clip(new_gamma, 1e-6, 1 - 1e-6)
            delta = max(np.abs(new_theta - theta).max(), np.abs(new_gamma - gamma).max())
            theta, gamma = new_theta, new_gamma
            if delta < self.tol:
                break
        bias: dict[str, dict[int, float]] = {}
        exam1: dict[str, float] = {}
        counts: dict[str, dict[int, int]] = {}
        for d, di in dev_idx.items():
            base = theta[di * self.max_position]
            seen = {p + 1: int(cell_n[di * self.max_position + p]) for p in range(self.max_position)
                    if cell_n[di * self.max_position + p] >= self.min_impressions}
            counts[d] = seen
            exam1[d] = float(base)
            bias[d] = {p: float(theta[di * self.max_position + p - 1] / base) for p in seen} if base > 0 else {}
        self.bias_ = PositionBias(bias=bias, examination_at_1=exam1, impressions=counts, iterations=it,
                                  method=f"pbm-{self.method}")
        self.attractiveness_ = {k: float(gamma[i]) for i, k in enumerate(pairs)}
        return self


def _ppml_fit(cell: np.ndarray, pair: np.ndarray, click: np.ndarray, n_cells: int, n_pairs: int,
              max_iter: int, tol: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Poisson fixed-effects fit of ``E[click] = theta[cell] * gamma[pair]`` by alternating closed forms."""
    theta = np.ones(n_cells)
    clicks_cell = np.bincount(cell, weights=click, minlength=n_cells)
    clicks_pair = np.bincount(pair, weights=click, minlength=n_pairs)
    it = 0
    for it in range(1, max_iter + 1):
        gamma = clicks_pair / np.maximum(np.bincount(pair, weights=theta[cell], minlength=n_pairs), 1e-12)
        new_theta = clicks_cell / np.maximum(np.bincount(cell, weights=gamma[pair], minlength=n_cells), 1e-12)
        scale = new_theta.max() if new_theta.max() > 0 else 1.0
        new_theta /= scale
        delta = np.abs(new_theta - theta).max()
        theta = new_theta
        if delta < tol:
            break
    gamma = clicks_pair / np.maximum(np.bincount(pair, weights=theta[cell], minlength=n_pairs), 1e-12)
    return theta, gamma, it


@dataclass(slots=True)
class PairStats:
    impressions: int = 0
    clicks: int = 0
    expected: float = 0.0
    coec: float = 0.0
    positions: list[int] = field(default_factory=list)


def coec(rows: Iterable[ImpressionRow], bias: PositionBias, *, prior_impressions: float = 1.0
         ) -> dict[Hashable, dict[str, PairStats]]:
    """Per query, per pin: impressions, clicks, expected clicks and smoothed COEC."""
    rows = list(rows)
    # Average-pin CTR at position 1 per device, from the data: clicks / sum of biases.
    clicks_d: dict[str, float] = {}
    bias_d: dict[str, float] = {}
    for r in rows:
        clicks_d[r.device] = clicks_d.get(r.device, 0.0) + r.clicked
        bias_d[r.device] = bias_d.get(r.device, 0.0) + bias.get(r.device, r.position)
    ctr1 = {d: clicks_d[d] / bias_d[d] if bias_d[d] > 0 else 0.0 for d in clicks_d}
    out: dict[Hashable, dict[str, PairStats]] = {}
    for r in rows:
        stats = out.setdefault(r.query, {}).setdefault(r.pin_id, PairStats())
        stats.impressions += 1
        stats.clicks += int(r.clicked)
        stats.expected += ctr1[r.device] * bias.get(r.device, r.position)
        stats.positions.append(r.position)
    mean_ctr1 = float(np.mean(list(ctr1.values()))) if ctr1 else 0.0
    for per in out.values():
        for stats in per.values():
            prior = prior_impressions * mean_ctr1
            stats.coec = (stats.clicks + prior) / (stats.expected + prior) if stats.expected + prior > 0 else 0.0
    return out


def simulate_clicks(labels: Mapping[Hashable, Mapping[str, int]], *, eta: Mapping[str, float],
                    relevance_prob: tuple[float, ...], sessions_per_query: int = 50, max_shown: int = 10,
                    ranker_noise: float = 1.0, seed: int = 0) -> ClickLog:
    """Impressions and clicks from a known PBM: ``P(click) = relevance_prob[label] / position ** eta[device]``.

    Each session shows the query's documents ranked by ``label + noise`` (a noisy ranker, as in real
    logs), cut at ``max_shown``. Used to check that the estimator recovers the planted bias.
    """
    rng = np.random.default_rng(seed)
    devices = sorted(eta)
    probs = np.asarray(relevance_prob, dtype=np.float64)
    pairs: list[tuple[Hashable, str]] = []
    chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for q, docs in labels.items():
        ids = list(docs)
        base = len(pairs)
        pairs.extend((q, d) for d in ids)
        lab = np.array([docs[d] for d in ids], dtype=np.float64)
        dev = rng.integers(len(devices), size=sessions_per_query)
        noisy = lab[None, :] + rng.normal(0, ranker_noise, (sessions_per_query, len(ids)))
        order = np.argsort(-noisy, axis=1, kind="stable")[:, :max_shown]
        positions = np.broadcast_to(np.arange(1, order.shape[1] + 1), order.shape)
        etas = np.array([eta[devices[d]] for d in dev])
        p = probs[lab[order].astype(int)] / positions ** etas[:, None]
        clicked = rng.random(p.shape) < p
        chunks.append(((order + base).ravel(), np.repeat(dev, order.shape[1]), positions.ravel(), clicked.ravel()))
    return ClickLog(pair=np.concatenate([c[0] for c in chunks]), device=np.concatenate([c[1] for c in chunks]),
                    position=np.concatenate([c[2] for c in chunks]),
                    clicked=np.concatenate([c[3] for c in chunks]).astype(np.float64), pairs=pairs, devices=devices)
