"""Position bias (PBM) and COEC: the planted click model must be recovered from simulated logs."""

from __future__ import annotations

import numpy as np
import pytest

from ranking.eval_letor import read_svmlight
from ranking.ltr.clicks import ClickLog, ImpressionRow, PositionBiasEstimator, coec, simulate_clicks

ETA = {"desktop": 0.8, "mobile": 1.2}


def _letor_labels(shared_data, parts=(1, 2)) -> dict[str, dict[str, int]]:
    labels: dict[str, dict[str, int]] = {}
    for k in parts:
        part = read_svmlight(shared_data / "letor-mq2008" / f"part{k}" / "partition.txt")
        for i, (q, y) in enumerate(zip(part.qid, part.y)):
            labels.setdefault(f"{k}:{q}", {})[f"{k}:{i}"] = int(y)
    return labels


def test_position_bias_recovered_within_5_percent_on_letor_labels(shared_data):
    labels = _letor_labels(shared_data)
    log = simulate_clicks(labels, eta=ETA, relevance_prob=(0.1, 0.5, 0.9), sessions_per_query=1000, seed=1)
    bias = PositionBiasEstimator().fit(log).bias_
    for device, eta in ETA.items():
        assert sorted(bias.bias[device]) == list(range(1, 11))
        for position, value in bias.bias[device].items():
            truth = 1.0 / position ** eta
            assert value == pytest.approx(truth, rel=0.05), (device, position, value, truth)


def test_coec_orders_pairs_by_true_label(shared_data):
    labels = _letor_labels(shared_data, parts=(3,))
    log = simulate_clicks(labels, eta=ETA, relevance_prob=(0.1, 0.5, 0.9), sessions_per_query=200, seed=2)
    rows = [ImpressionRow(log.pairs[p][0], log.pairs[p][1], int(pos), log.devices[d], bool(c))
            for p, d, pos, c in zip(log.pair, log.device, log.position, log.clicked)]
    bias = PositionBiasEstimator().fit(rows).bias_
    stats = coec(rows, bias)
    by_label: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for q, per in stats.items():
        for pin, s in per.items():
            if s.impressions >= 20:
                by_label[labels[q][pin]].append(s.coec)
    means = [float(np.mean(by_label[k])) for k in (0, 1, 2)]
    assert means[0] < means[1] < means[2], means
    # COEC removes position: a relevant pin's COEC does not depend on where the old ranker put it.
    assert means[2] / means[0] > 4


def test_raw_ctr_is_confounded_but_ppml_is_not():
    """A noisy ranker puts relevant pins on top, so CTR per position overstates the bias; the fit does not."""
    labels = {f"q{i}": {f"q{i}d{j}": int(j < 3) for j in range(15)} for i in range(300)}
    log = simulate_clicks(labels, eta={"mobile": 1.0}, relevance_prob=(0.05, 0.8), sessions_per_query=200,
                          ranker_noise=0.5, seed=3)
    ctr = [log.clicked[log.position == p].mean() for p in (1, 5)]
    fitted = PositionBiasEstimator().fit(log).bias_.bias["mobile"]
    assert ctr[1] / ctr[0] < 0.5 * 0.2          # naive: far below the true 1/5
    assert fitted[5] == pytest.approx(0.2, rel=0.08)


def test_empty_log_is_a_clear_error():
    with pytest.raises(ValueError, match="no impressions"):
        PositionBiasEstimator().fit([])
    assert len(ClickLog.from_rows([])) == 0
