"""Impression logs from a noisy ranker and a known click model.

For every query (a phrase of an interest, 1-4 words, sometimes translated) and every Related Pins
query pin, a candidate pool is drawn and its true relevance computed; each log entry re-ranks the
pool with fresh noise, shows the top 10-20, and draws clicks as
``relevance_prob[rel] * 1 / position ** eta[device]`` and saves as a share of clicks. Position-bias
estimators and click models can then be checked against the planted ``eta``. The pools with their
relevance are the ground truth; a share of them, with a little judge noise, become the corpus
judgement files.
"""

from __future__ import annotations

import math
import random
from typing import Callable

import numpy as np

from indexer.corpus.sample.config import SampleConfig
from indexer.corpus.sample.index import PinIndex
from indexer.corpus.sample.jsonl import JsonlWriter, iso
from indexer.corpus.sample.pins import PinTable, pin_id
from indexer.corpus.sample.relevance import Query, related_relevance, search_relevance
from indexer.corpus.sample.rng import np_stream, stream
from indexer.corpus.sample.vocab import Vocabulary, translate_words
from indexer.corpus.sample.world import pick_weighted

__all__ = ["build_queries", "generate_related_log", "generate_search_log", "noisy_grade"]

def noisy_grade(value: int, top: int, noise: float, rng: random.Random) -> int:
    """A human judge's label: the truth, shifted by one grade with probability ``noise``."""
    if rng.random() >= noise:
        return value
    if top == 1:
        return 1 - value
    return min(top, max(0, value + rng.choice((-1, 1))))


def build_queries(vocab: Vocabulary, cfg: SampleConfig, seed: int) -> list[Query]:
    rng = stream(seed, "queries")
    other_langs = [lang for lang in cfg.lang_mix if lang != "en"]
    other_w = [cfg.lang_mix[lang] for lang in other_langs]
    seen: dict[str, None] = {}
    out: list[Query] = []
    attempts = 0
    while len(out) < cfg.n_queries and attempts < cfg.n_queries * 20:
        attempts += 1
        it = vocab.interests[pick_weighted(vocab.interest_cum_weights, rng)]
        phrase = it.phrases[pick_weighted(it.cum_weights, rng)]
        lang = "en"
        if other_langs and rng.random() >= cfg.query_lang_english:
            lang = rng.choices(other_langs, weights=other_w)[0]
        text = vocab.text[lang][phrase]
        if len(text.split()) < 4 and rng.random() < 0.3:
            text = f"{text} {translate_words((rng.choice(it.mods),), lang)}"
        if len(text.split()) > 4 or text in seen:
            continue
        seen[text] = None
        out.append(Query(text=text, lang=lang, interest=it.index, phrase=phrase,
                         words=vocab.phrase_words[phrase], weight=0.0))
    # Zipf-like popularity in creation order (creation order is already random).
    return [Query(q.text, q.lang, q.interest, q.phrase, q.words, 1.0 / (k + 1) ** 0.9)
            for k, q in enumerate(out)]


def _sample(rng: random.Random, pins: np.ndarray, k: int) -> list[int]:
    if len(pins) <= k:
        return [int(p) for p in pins]
    return [int(pins[j]) for j in rng.sample(range(len(pins)), k)]


def _device(cfg: SampleConfig, rng: random.Random) -> str:
    mix = cfg.click_model.device_mix
    r, acc = rng.random() * sum(mix.values()), 0.0
    for d, w in mix.items():
        acc += w
        if r < acc:
            return d
    return next(iter(mix))


def _impressions(pool: list[int], rels: list[int], table: PinTable, cfg: SampleConfig,
                 device: str, rng: random.Random, nrng: np.random.Generator
                 ) -> list[dict[str, object]]:
    noise = nrng.normal(0.0, cfg.ranker_noise, len(pool))
    scored = sorted(range(len(pool)), key=lambda j: -(rels[j] + noise[j]
                                                        + 0.1 * math.log1p(table.repins[pool[j]])))
    k = min(len(pool), rng.randint(10, 20))
    cm = cfg.click_model
    out = []
    for pos, j in enumerate(scored[:k], start=1):
        rel = rels[j]
        clicked = rng.random() < cm.relevance_prob[rel] * cm.bias(pos, device)
        saved = clicked and rng.random() < cm.save_given_click[rel]
        out.append({"pin_id": pin_id(pool[j]), "position": pos, "clicked": clicked,
                    "saved": saved})
    return out


def _timestamps(rng: random.Random, n: int, end_ts: int) -> list[int]:
    window = 90 * 86400
    return sorted(end_ts - window + rng.randrange(window) for _ in range(n))


def generate_search_log(vocab: Vocabulary, table: PinTable, index: PinIndex, cfg: SampleConfig,
                        seed: int, end_ts: int, queries: list[Query], log_out: JsonlWriter,
                        truth_out: JsonlWriter, judged_out: JsonlWriter,
                        progress: Callable[[int], None] | None = None) -> int:
    """Write the search log, the true relevance of every pooled pair and the judged sample."""
    rng = stream(seed, "search")
    jrng = stream(seed, "search", "judges")
    nrng = np_stream(seed, "search", "ranker")
    siblings = {it.index: vocab.siblings(it.index) for it in vocab.interests}
    pools: list[tuple[list[int], list[int]]] = []
    for q in queries:
        cand = _sample(rng, index.phrase_pins.row(q.phrase), 14)
        cand += _sample(rng, index.interest_pins.row(q.interest), 14)
        sibs = siblings[q.interest]
        for _ in range(3):
            if sibs:
                cand += _sample(rng, index.interest_pins.row(rng.choice(sibs)), 2)
        cand += [rng.randrange(table.n) for _ in range(6)]
        pool = list(dict.fromkeys(cand))
        rels = [search_relevance(vocab, table, q, p) for p in pool]
        pools.append((pool, rels))
        qi = vocab.interests[q.interest]
        for p, rel in zip(pool, rels):
            truth_out.write({"query": q.text, "query_lang": q.lang, "query_interest_id": qi.id,
                             "pin_id": pin_id(p), "relevance": rel})
            if jrng.random() < cfg.judged_share:
                judged_out.write({"query": q.text, "pin_id": pin_id(p),
                                  "relevance": noisy_grade(rel, 3, cfg.judge_noise, jrng)})
    cum, acc = [], 0.0
    for q in queries:
        acc += q.weight
        cum.append(acc)
    for n, ts in enumerate(_timestamps(rng, cfg.n_search_entries, end_ts)):
        k = pick_weighted(cum, rng)
        device = _device(cfg, rng)
        pool, rels = pools[k]
        log_out.write({"query": queries[k].text, "device": device, "ts": iso(ts),
                       "impressions": _impressions(pool, rels, table, cfg, device, rng, nrng)})
        if progress is not None and (n + 1) % 1000 == 0:
            progress(n + 1)
    return len(pools)


def generate_related_log(vocab: Vocabulary, table: PinTable, index: PinIndex, cfg: SampleConfig,
                         seed: int, end_ts: int, log_out: JsonlWriter, truth_out: JsonlWriter,
                         judged_out: JsonlWriter,
                         progress: Callable[[int], None] | None = None) -> int:
    rng = stream(seed, "related")
    jrng = stream(seed, "related", "judges")
    nrng = np_stream(seed, "related", "ranker")
    weights = np.sqrt(table.repins.astype(np.float64) + 1.0)
    n_q = min(cfg.n_related_queries, table.n)
    qpins = nrng.choice(table.n, size=n_q, replace=False, p=weights / weights.sum())
    by_tier1: dict[int, list[int]] = {}
    for it in vocab.interests:
        if len(index.interest_pins.row(it.index)):
            by_tier1.setdefault(it.tier1, []).append(it.index)
    pools: list[tuple[int, list[int], list[int]]] = []
    for qp in (int(x) for x in qpins):
        cand: list[int] = []
        for b in table.boards_of(qp):
            cand += _sample(rng, index.board_pins.row(int(b)), 5)
        cand += _sample(rng, index.interest_pins.row(int(table.primary[qp])), 10)
        t1 = vocab.interests[int(table.primary[qp])].tier1
        for _ in range(5):
            cand += _sample(rng, index.interest_pins.row(rng.choice(by_tier1[t1])), 1)
        cand += [rng.randrange(table.n) for _ in range(5)]
        pool = [p for p in dict.fromkeys(cand) if p != qp]
        rels = [related_relevance(vocab, table, qp, p) for p in pool]
        pools.append((qp, pool, rels))
        for p, rel in zip(pool, rels):
            truth_out.write({"query_pin": pin_id(qp), "pin_id": pin_id(p), "relevance": rel})
            if jrng.random() < cfg.judged_share:
                judged_out.write({"query_pin": pin_id(qp), "pin_id": pin_id(p),
                                  "relevance": noisy_grade(rel, 3, cfg.judge_noise, jrng)})
    cum, acc = [], 0.0
    for k in range(len(pools)):
        acc += 1.0 / (k + 1) ** 0.9
        cum.append(acc)
    for n, ts in enumerate(_timestamps(rng, cfg.n_related_entries, end_ts)):
        k = pick_weighted(cum, rng)
        device = _device(cfg, rng)
        qp, pool, rels = pools[k]
        log_out.write({"query_pin": pin_id(qp), "device": device, "ts": iso(ts),
                       "impressions": _impressions(pool, rels, table, cfg, device, rng, nrng)})
        if progress is not None and (n + 1) % 1000 == 0:
            progress(n + 1)
    return len(pools)
