"""One rule decides whether a learned model goes live, for ``ltr train --activate`` and ``ltr upload
--activate`` alike.

Why one rule: the two commands used to apply different checks (upload had no first-pass gate), so
the same model could be refused by one and activated by the other. In order:

1. the model is registered (``create_model`` refused it earlier if any score could be negative:
   Lucene rejects negative scores, so such a model would fail queries, not just rank badly);
2. parity: the engine's ``sltr`` scores equal the offline scores on a sample (never overridden);
3. with no active model, the first pass is what users get: a candidate whose held-out NDCG@10 is
   measurably worse than the first pass (bootstrap 95 % interval of the delta wholly below zero)
   is refused; a candidate that cannot be compared with the first pass (no held-out judgements)
   is refused too, rather than trusted;
4. with an active model, the candidate's held-out metric must not be lower than the active one's.

``force`` overrides 3 and 4, never 1 and 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch

from ranking.ltr.upload import ActivationRefused, activate, active_model, registry

__all__ = ["ActivationEvidence", "activate_with_checks", "first_pass_gate"]


@dataclass(frozen=True)
class ActivationEvidence:
    """What the checks look at: parity, held-out metrics and the comparison with the first pass."""

    parity: Mapping[str, Any]
    candidate_metric: float | None = None
    active_metric: float | None = None
    first_pass_comparison: Mapping[str, Any] | None = None   # ranking.ltr.evaluate.compare(first pass, candidate)
    metric: str = "ndcg@10"


def first_pass_gate(name: str, comparison: Mapping[str, Any], metric: str = "ndcg@10") -> str | None:
    """Why a first model must not go live, or None: the 95 % interval of (candidate - first pass)
    lies wholly below zero. A small, uncertain loss is not a refusal (the interval includes zero)."""
    delta = comparison.get(metric) or {}
    interval = delta.get("ci95")
    if not interval or interval[1] >= 0:
        return None
    return (f"model {name}: held-out {metric} is worse than the first pass (delta {delta.get('delta', 0.0):+.4f}, "
            f"95 % CI [{interval[0]:+.4f}, {interval[1]:+.4f}]); not activated (use force to override)")


def activate_with_checks(client: OpenSearch, featureset: str, name: str, evidence: ActivationEvidence, *,
                         force: bool = False) -> dict[str, Any]:
    """Activate ``name`` for ``featureset`` when every check holds; raise :class:`ActivationRefused`
    with the reason otherwise. Returns the activation record (active, previous, metrics)."""
    record = registry(client, featureset)["models"].get(name)
    if record is None:
        raise ActivationRefused(f"model {name} is not in the registry for feature set {featureset}")
    low = record.get("score_lower_bound")
    if low is not None and low < 0:
        raise ActivationRefused(f"model {name}: scores can be negative (lower bound {low}); not activated")
    if not evidence.parity.get("passed"):
        raise ActivationRefused(f"model {name}: parity check failed ({evidence.parity.get('checked')} docs, worst "
                                f"{evidence.parity.get('worst')}); not activated")
    previous = active_model(client, featureset)
    if previous is None and not force:
        if evidence.first_pass_comparison is None:
            raise ActivationRefused(f"model {name}: no held-out judgements to compare it with the first pass, "
                                    "which is what users get without an active model; not activated (pass "
                                    "judgements, or force)")
        gate = first_pass_gate(name, evidence.first_pass_comparison, evidence.metric)
        if gate is not None:
            raise ActivationRefused(gate)
    return activate(client, featureset, name, parity=evidence.parity, candidate_metric=evidence.candidate_metric,
                    active_metric=evidence.active_metric if previous is not None else None,
                    metric=evidence.metric, force=force)
