"""Parameters of the sample corpus: sizes, rates and the true click model.

Everything the generator decides at random is governed by a number here, and the whole config is
written to ``manifest.json`` and the ground truth, so an evaluation can compare what a signal
recovered with what was planted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = ["SIZES", "ClickModel", "SampleConfig", "config_for"]


@dataclass(frozen=True)
class ClickModel:
    """P(click) = relevance_prob[rel] * bias(position, device), bias(p) = 1 / p**eta[device].

    P(save | click) = save_given_click[rel]. These are the true parameters that position-bias
    estimation and click models should recover from the logs.
    """

    eta: dict[str, float] = field(default_factory=lambda: {"desktop": 0.8, "tablet": 1.0,
                                                           "mobile": 1.2})
    relevance_prob: tuple[float, float, float, float] = (0.03, 0.15, 0.45, 0.85)
    save_given_click: tuple[float, float, float, float] = (0.05, 0.15, 0.3, 0.5)
    device_mix: dict[str, float] = field(default_factory=lambda: {"mobile": 0.6, "desktop": 0.3,
                                                                  "tablet": 0.1})

    def bias(self, position: int, device: str) -> float:
        return 1.0 / position ** self.eta[device]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": "P(click) = relevance_prob[relevance] * bias(position, device); "
                     "bias(p) = 1 / p ** eta[device]; P(save | click) = save_given_click[relevance]",
            "form": "power",
            "eta": dict(self.eta),
            "relevance_prob": list(self.relevance_prob),
            "save_given_click": list(self.save_given_click),
            "device_mix": dict(self.device_mix),
            "bias_by_position": {d: [round(self.bias(p, d), 6) for p in range(1, 21)]
                                 for d in self.eta},
        }


@dataclass(frozen=True)
class SampleConfig:
    """All knobs of one generated corpus. Use :func:`config_for` for the S/M/L presets."""

    size: str = "S"
    n_pins: int = 5000
    pins_per_user: float = 7.0
    n_sessions: int = 5000
    n_queries: int = 600
    n_search_entries: int = 8000
    n_related_queries: int = 600
    n_related_entries: int = 6000
    #: share of pins whose landing page is written to ``pages/`` (M and L write a subset)
    page_fraction: float = 1.0
    #: share of pins linking to a page unrelated to the pin (cohesive = 0)
    unrelated_page_share: float = 0.15
    unrelated_kinds: dict[str, float] = field(default_factory=lambda: {
        "other_topic": 0.35, "spam": 0.25, "parked": 0.15, "soft_404": 0.10,
        "hard_404": 0.10, "server_error": 0.05})
    near_duplicate_rate: float = 0.12
    secondary_interest_rate: float = 0.25
    misspelling_rate: float = 0.03
    emoji_rate: float = 0.15
    hashtag_rate: float = 0.2
    noise_word_rate: float = 0.3
    embedding_share: float = 0.4
    embedding_dim: int = 32
    annotation_share: float = 0.4
    lang_mix: dict[str, float] = field(default_factory=lambda: {
        "en": 0.68, "es": 0.11, "fr": 0.08, "de": 0.07, "pt": 0.06})
    english_pin_rate_for_non_english_users: float = 0.15
    query_lang_english: float = 0.8
    ranker_noise: float = 0.9
    judged_share: float = 0.3
    judge_noise: float = 0.02
    timeline_days: int = 730
    click_model: ClickModel = field(default_factory=ClickModel)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["click_model"] = self.click_model.to_dict()
        return d


def _preset(size: str, n_pins: int, *, sessions: float, queries: float, search: float,
            related_q: float, related: float, page_fraction: float) -> SampleConfig:
    return SampleConfig(size=size, n_pins=n_pins, n_sessions=int(n_pins * sessions),
                        n_queries=int(n_pins * queries), n_search_entries=int(n_pins * search),
                        n_related_queries=int(n_pins * related_q),
                        n_related_entries=int(n_pins * related), page_fraction=page_fraction)


#: Presets. S is for CI (seconds), M for evaluation, L for scale tests (streamed, pages subset).
SIZES: dict[str, SampleConfig] = {
    "XS": _preset("XS", 1200, sessions=1.0, queries=0.15, search=2.0, related_q=0.15, related=1.2,
                  page_fraction=1.0),
    "S": _preset("S", 5000, sessions=1.0, queries=0.12, search=1.6, related_q=0.12, related=1.2,
                 page_fraction=1.0),
    "M": _preset("M", 100_000, sessions=0.6, queries=0.05, search=0.6, related_q=0.05,
                 related=0.4, page_fraction=0.5),
    "L": _preset("L", 1_000_000, sessions=0.4, queries=0.02, search=0.3, related_q=0.02,
                 related=0.2, page_fraction=0.1),
}


def config_for(size: str, n_pins: int | None = None, **overrides: Any) -> SampleConfig:
    """The preset for ``size``; ``n_pins`` rescales the count-type fields proportionally."""
    key = size.upper()
    if key not in SIZES:
        raise ValueError(f"unknown sample size {size!r}; expected one of {', '.join(SIZES)}")
    cfg = SIZES[key]
    if n_pins is not None:
        if n_pins < 50:
            raise ValueError(f"n_pins must be at least 50, got {n_pins}")
        f = n_pins / cfg.n_pins
        cfg = replace(cfg, n_pins=n_pins,
                      n_sessions=max(10, int(cfg.n_sessions * f)),
                      n_queries=max(10, int(cfg.n_queries * f)),
                      n_search_entries=max(20, int(cfg.n_search_entries * f)),
                      n_related_queries=max(10, int(cfg.n_related_queries * f)),
                      n_related_entries=max(20, int(cfg.n_related_entries * f)))
    return replace(cfg, **overrides) if overrides else cfg
