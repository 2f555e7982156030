"""Deterministic synthetic corpora with ground truth (``generate_sample``).

Why synthetic: the real public sets cover one signal each; a generated corpus exercises every file
of the format at once and knows the truth behind every signal (interests, keyphrases, cohesion,
relevance, the position-bias curve), so the whole pipeline can be tested and evaluated end to end.
Modules: ``vocab`` (interest phrases from the IAB taxonomy), ``world`` (users, boards), ``pins``,
``pages``, ``sessions``, ``logs`` with ``relevance``, ``judgements``, ``generate`` (orchestration).
"""

from indexer.corpus.sample.config import SIZES, ClickModel, SampleConfig, config_for
from indexer.corpus.sample.generate import (
    GENERATOR,
    GENERATOR_VERSION,
    SampleSummary,
    generate_sample,
)

__all__ = [
    "GENERATOR",
    "GENERATOR_VERSION",
    "SIZES",
    "ClickModel",
    "SampleConfig",
    "SampleSummary",
    "config_for",
    "generate_sample",
]
