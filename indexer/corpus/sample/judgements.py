"""Per-pin human judgements: a sample of the truth, as a judging team would label it.

For ``judged_share`` of the pins: each true keyphrase is a relevant annotation and two phrases of
another interest are irrelevant ones; the pin's interests and their ancestors are relevant, a
sibling and a random interest are not; the pin's link gets its cohesion label. A small
``judge_noise`` flips labels, as real judges disagree; ``ground_truth/`` keeps the clean values.
"""

from __future__ import annotations

from indexer.corpus.sample.config import SampleConfig
from indexer.corpus.sample.jsonl import JsonlWriter
from indexer.corpus.sample.logs import noisy_grade
from indexer.corpus.sample.pages import PageRef
from indexer.corpus.sample.pins import pin_id
from indexer.corpus.sample.rng import stream
from indexer.corpus.sample.vocab import Vocabulary
from indexer.corpus.sample.world import pick_weighted

__all__ = ["PinJudge"]


class PinJudge:
    """Called once per generated pin (``generate_pins(on_pin=...)``)."""

    def __init__(self, vocab: Vocabulary, cfg: SampleConfig, seed: int, annotations: JsonlWriter,
                 interests: JsonlWriter, cohesion: JsonlWriter) -> None:
        self.vocab = vocab
        self.cfg = cfg
        self.rng = stream(seed, "judgements", "pins")
        self.annotations = annotations
        self.interests = interests
        self.cohesion = cohesion
        self.judged = 0

    def __call__(self, i: int, lang: str, primary: int, secondary: int, phrases: list[int],
                 page: PageRef) -> None:
        rng, vocab, noise = self.rng, self.vocab, self.cfg.judge_noise
        if rng.random() >= self.cfg.judged_share:
            return
        self.judged += 1
        pid = pin_id(i)
        for p in phrases:
            self.annotations.write({"pin_id": pid, "annotation": vocab.text[lang][p], "lang": lang,
                                    "relevant": noisy_grade(1, 1, noise, rng)})
        sibs = vocab.siblings(primary)
        other = vocab.interests[rng.choice(sibs)] if sibs else \
            vocab.interests[pick_weighted(vocab.interest_cum_weights, rng)]
        mine = set(phrases)
        for p in rng.sample(other.phrases, min(2, len(other.phrases))):
            if p not in mine and vocab.phrase_words[p] - set().union(
                    *(vocab.phrase_words[q] for q in phrases)):
                self.annotations.write({"pin_id": pid, "annotation": vocab.text[lang][p],
                                        "lang": lang, "relevant": noisy_grade(0, 1, noise, rng)})
        positive: list[int] = []
        for idx in (primary, secondary):
            if idx >= 0:
                it = vocab.interests[idx]
                for iid in (it.id, *it.ancestor_ids):
                    if iid not in positive:
                        positive.append(iid)
        for iid in positive:
            self.interests.write({"pin_id": pid, "interest_id": iid,
                                  "relevant": noisy_grade(1, 1, noise, rng)})
        negatives = [other.id, vocab.interests[pick_weighted(vocab.interest_cum_weights, rng)].id]
        for iid in dict.fromkeys(negatives):
            if iid not in positive:
                self.interests.write({"pin_id": pid, "interest_id": iid,
                                      "relevant": noisy_grade(0, 1, noise, rng)})
        self.cohesion.write({"pin_id": pid, "url": page.url,
                             "cohesive": noisy_grade(page.cohesive, 1, noise, rng)})
