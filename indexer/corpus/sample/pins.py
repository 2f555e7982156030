"""Pins: streamed to ``pins.jsonl`` with their truth, summarised in compact arrays.

A pin has one primary interest (sometimes a secondary), a focus phrase (often its board's) and a
few more phrases of that interest; its title and description are written from those phrases, which
are its true keyphrases. About one pin in eight is a near-duplicate: another user saving the same
image (same ``image_signature``, near-identical embedding, usually the same link) with slightly
different text. Repin counts are heavy-tailed and drive how many other boards a pin is on.

Only numpy arrays of a few ints per pin stay in memory (for sessions, logs and relevance), plus a
bounded buffer of recent originals per interest for near-duplicates, so L (1M pins) streams.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from indexer.corpus.sample.config import SampleConfig
from indexer.corpus.sample.jsonl import JsonlWriter, iso
from indexer.corpus.sample.pages import PagePlanner, PageRef
from indexer.corpus.sample.rng import derive_seed, np_stream, stream
from indexer.corpus.sample.text import TextWriter
from indexer.corpus.sample.vocab import Vocabulary
from indexer.corpus.sample.world import World, board_id, pick_weighted

__all__ = ["MAX_PHRASES", "PinSinks", "PinTable", "generate_pins", "lang_code", "pin_id"]

MAX_PHRASES = 5
_GENERIC_LABELS = ("indoor", "outdoor", "close-up", "text", "person", "hand", "table", "white")
_LANG_CODES = ("en", "es", "fr", "de", "pt")


def pin_id(i: int) -> str:
    return f"p{i:08d}"


@dataclass
class PinTable:
    """What later stages need to know about every pin, a few bytes each."""

    primary: np.ndarray      # int32 interest index
    secondary: np.ndarray    # int32 interest index or -1
    lang: np.ndarray         # int8 index into _LANG_CODES
    phrases: np.ndarray      # int32 [n, MAX_PHRASES], -1 padded
    group: np.ndarray        # int32 image group (same image = same group)
    creator: np.ndarray      # int32 user index
    created: np.ndarray      # int64 epoch seconds
    repins: np.ndarray       # int32
    cohesive: np.ndarray     # int8
    board_offsets: np.ndarray  # int64 [n + 1] into board_flat
    board_flat: np.ndarray   # int32 board indices

    @property
    def n(self) -> int:
        return len(self.primary)

    def boards_of(self, i: int) -> np.ndarray:
        return self.board_flat[self.board_offsets[i]:self.board_offsets[i + 1]]

    def phrases_of(self, i: int) -> list[int]:
        return [int(p) for p in self.phrases[i] if p >= 0]


@dataclass
class _Original:
    index: int
    group: int
    phrases: list[int]
    secondary: int
    page: PageRef
    embedding: list[float] | None
    annotations: list[str] | None
    created: int


class PinSinks:
    """Where pins and their per-pin truth go."""

    def __init__(self, pins: JsonlWriter, pin_interests: JsonlWriter, annotations: JsonlWriter,
                 cohesion: JsonlWriter) -> None:
        self.pins = pins
        self.pin_interests = pin_interests
        self.annotations = annotations
        self.cohesion = cohesion


def _interest_rows(vocab: Vocabulary, primary: int, secondary: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    seen: set[int] = set()
    for idx, role, weight in ((primary, "primary", 1.0), (secondary, "secondary", 0.6)):
        if idx < 0:
            continue
        it = vocab.interests[idx]
        if it.id not in seen:
            seen.add(it.id)
            rows.append({"interest_id": it.id, "label": it.label, "level": it.level,
                         "role": role, "weight": weight})
    for idx, weight in ((primary, 1.0), (secondary, 0.6)):
        if idx < 0:
            continue
        for anc in vocab.interests[idx].ancestor_ids:
            if anc not in seen:
                seen.add(anc)
                rows.append({"interest_id": anc, "label": None, "level": None,
                             "role": "ancestor", "weight": weight})
    return rows


def generate_pins(vocab: Vocabulary, world: World, cfg: SampleConfig, seed: int,
                  writer: TextWriter, pages: PagePlanner, sinks: PinSinks, end_ts: int,
                  ancestor_label: Callable[[int], tuple[str, int]],
                  on_pin: Callable[[int, str, int, int, list[int], PageRef], None] | None = None,
                  progress: Callable[[int], None] | None = None) -> PinTable:
    """Generate ``cfg.n_pins`` pins in order, writing each as soon as it exists."""
    n = cfg.n_pins
    rng = stream(seed, "pins")
    nrng = np_stream(seed, "pins", "embeddings")
    start_ts = end_ts - cfg.timeline_days * 86400
    primary = np.empty(n, np.int32)
    secondary = np.full(n, -1, np.int32)
    lang_arr = np.empty(n, np.int8)
    phrase_arr = np.full((n, MAX_PHRASES), -1, np.int32)
    group_arr = np.empty(n, np.int32)
    creator_arr = np.empty(n, np.int32)
    created_arr = np.empty(n, np.int64)
    repin_arr = np.empty(n, np.int32)
    cohesive_arr = np.empty(n, np.int8)
    offsets = array("q", [0])
    flat = array("i")
    recent: dict[int, deque[_Original]] = {}
    n_groups = 0
    dim = cfg.embedding_dim
    for i in range(n):
        u = pick_weighted(world.user_activity_cum, rng)
        u_interests = world.user_interests[u]
        it_idx = u_interests[0] if len(u_interests) == 1 or rng.random() < 0.6 \
            else rng.choice(u_interests[1:])
        interest = vocab.interests[it_idx]
        own_board = rng.choice(world.user_boards[u][it_idx])
        lang = world.user_lang[u]
        if lang != "en" and rng.random() < cfg.english_pin_rate_for_non_english_users:
            lang = "en"
        buf = recent.get(it_idx)
        orig: _Original | None = None
        if buf and rng.random() < cfg.near_duplicate_rate:
            orig = buf[rng.randrange(len(buf))]
        if orig is not None:
            group = orig.group
            phrases = list(orig.phrases)
            if len(phrases) > 2 and rng.random() < 0.5:
                phrases.pop(rng.randrange(1, len(phrases)))
            sec = orig.secondary
            page = orig.page if rng.random() < 0.8 else pages.plan(it_idx, phrases, lang)
            created = orig.created + int(rng.random() * max(1, end_ts - orig.created))
            embedding = None
            if orig.embedding is not None:
                jitter = nrng.normal(0.0, 0.01, dim)
                embedding = [round(x + float(j), 4) for x, j in zip(orig.embedding, jitter)]
            annotations = orig.annotations
        else:
            group = n_groups
            n_groups += 1
            focus = world.board_focus[own_board] if rng.random() < 0.5 else \
                interest.phrases[pick_weighted(interest.cum_weights, rng)]
            phrases = [focus]
            for _ in range(rng.randint(1, 3)):
                p = interest.phrases[pick_weighted(interest.cum_weights, rng)]
                if p not in phrases:
                    phrases.append(p)
            sec = -1
            if rng.random() < cfg.secondary_interest_rate:
                sibs = vocab.siblings(it_idx)
                others = [x for x in u_interests if x != it_idx]
                r = rng.random()
                if sibs and r < 0.5:
                    sec = rng.choice(sibs)
                elif others and r < 0.8:
                    sec = rng.choice(others)
                else:
                    sec = pick_weighted(vocab.interest_cum_weights, rng)
                if sec == it_idx:
                    sec = -1
            if sec >= 0:
                sit = vocab.interests[sec]
                p = sit.phrases[pick_weighted(sit.cum_weights, rng)]
                if p not in phrases:
                    phrases.append(p)
            phrases = phrases[:MAX_PHRASES]
            page = pages.plan(it_idx, phrases, lang)
            created = start_ts + int(rng.random() * (end_ts - start_ts))
            embedding = None
            if rng.random() < cfg.embedding_share:
                v = interest.centroid.copy()
                if sec >= 0:
                    v = v + 0.5 * vocab.interests[sec].centroid
                v = v + nrng.normal(0.0, 0.15, dim)
                v = v / np.linalg.norm(v)
                embedding = [round(float(x), 4) for x in v]
            annotations = None
            if rng.random() < cfg.annotation_share:
                annotations = rng.sample(interest.nouns, min(len(interest.nouns),
                                                             rng.randint(2, 4)))
                if rng.random() < 0.3:
                    annotations.append(rng.choice(_GENERIC_LABELS))
                annotations = list(dict.fromkeys(annotations))
            entry = _Original(i, group, phrases, sec, page, embedding, annotations, created)
            if buf is None:
                buf = recent[it_idx] = deque(maxlen=64)
            buf.append(entry)

        repins = min(100_000, int(rng.paretovariate(1.15)) - 1)
        boards = [own_board]
        n_extra = min(6, int(math.log2(1 + repins)) + (rng.random() < 0.2))
        focus = phrases[0]
        for _ in range(n_extra):
            r = rng.random()
            if r < 0.5 and (it_idx, focus) in world.boards_by_focus:
                cand = world.boards_by_focus[(it_idx, focus)]
            elif r < 0.8 or sec < 0:
                cand = world.boards_by_interest[it_idx]
            else:
                cand = world.boards_by_interest.get(sec) or world.boards_by_interest[it_idx]
            b = cand[rng.randrange(len(cand))]
            if b not in boards:
                boards.append(b)
        flat.extend(boards)
        offsets.append(len(flat))

        title = writer.title(lang, phrases, rng)
        description = writer.description(lang, phrases, rng)
        record: dict[str, object] = {
            "id": pin_id(i), "title": title, "description": description, "link": page.url,
            "image_signature": f"{derive_seed(seed, 'image', group):016x}",
            "board_ids": [board_id(b) for b in boards], "created_at": iso(created),
            "repin_count": repins,
        }
        if rng.random() < 0.92:
            record["lang"] = lang
        if embedding is not None:
            record["image_embedding"] = embedding
        if annotations is not None:
            record["image_annotations"] = annotations
        sinks.pins.write(record)

        rows = _interest_rows(vocab, it_idx, sec)
        for row in rows:
            if row["label"] is None:
                label, level = ancestor_label(int(row["interest_id"]))  # type: ignore[arg-type]
                row["label"], row["level"] = label, level
        sinks.pin_interests.write({"pin_id": pin_id(i), "interests": rows})
        sinks.annotations.write({
            "pin_id": pin_id(i), "lang": lang,
            "keyphrases": [{"text": vocab.text[lang][p], "canonical": " ".join(vocab.phrases[p])}
                           for p in phrases]})
        sinks.cohesion.write({"pin_id": pin_id(i), "url": page.url, "cohesive": page.cohesive,
                              "page_kind": page.kind, "status": page.status,
                              "page_fetched": page.fetched})

        primary[i] = it_idx
        secondary[i] = sec
        lang_arr[i] = _LANG_CODES.index(lang)
        phrase_arr[i, : len(phrases)] = phrases
        group_arr[i] = group
        creator_arr[i] = u
        created_arr[i] = created
        repin_arr[i] = repins
        cohesive_arr[i] = page.cohesive
        if on_pin is not None:
            on_pin(i, lang, it_idx, sec, phrases, page)
        if progress is not None and (i + 1) % 1000 == 0:
            progress(i + 1)
    return PinTable(primary=primary, secondary=secondary, lang=lang_arr, phrases=phrase_arr,
                    group=group_arr, creator=creator_arr, created=created_arr, repins=repin_arr,
                    cohesive=cohesive_arr,
                    board_offsets=np.frombuffer(offsets, dtype=np.int64).copy(),
                    board_flat=np.frombuffer(flat, dtype=np.int32).copy())


def lang_code(index: int) -> str:
    return _LANG_CODES[index]
