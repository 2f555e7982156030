"""Engagement sessions with sequential locality, the training data of Pin2Vec.

A session starts on a pin of one of the user's interests and walks: mostly to another pin of the
same board (what a user browsing a board sees next), often to another pin of the same interest,
sometimes to another of the user's interests, rarely anywhere. So pins that are close in the
planted structure are close in the sequences, and an embedding learnt from them can be checked
against it. Events are ordered by ``ts``; sessions are written in order of their start.
"""

from __future__ import annotations

import random
from typing import Callable

from indexer.corpus.sample.config import SampleConfig
from indexer.corpus.sample.index import PinIndex
from indexer.corpus.sample.jsonl import JsonlWriter, iso
from indexer.corpus.sample.pins import PinTable, pin_id
from indexer.corpus.sample.rng import stream
from indexer.corpus.sample.world import World, pick_weighted, user_id

__all__ = ["generate_sessions"]

_ACTIONS = ("view", "closeup", "click", "save")


def _start_pin(rng: random.Random, interest: int, index: PinIndex, table: PinTable) -> int:
    pins = index.interest_pins.row(interest)
    if len(pins) == 0:
        return rng.randrange(table.n)
    a, b = int(pins[rng.randrange(len(pins))]), int(pins[rng.randrange(len(pins))])
    return a if table.repins[a] >= table.repins[b] else b


def generate_sessions(world: World, table: PinTable, index: PinIndex, cfg: SampleConfig,
                      seed: int, end_ts: int, out: JsonlWriter,
                      progress: Callable[[int], None] | None = None) -> int:
    """Write ``cfg.n_sessions`` sessions; returns the number of events."""
    rng = stream(seed, "sessions")
    window = 180 * 86400
    starts = sorted(end_ts - window + rng.randrange(window - 3600) for _ in range(cfg.n_sessions))
    events_total = 0
    for n, start in enumerate(starts):
        if progress is not None and n % 1000 == 0:
            progress(n)
        u = pick_weighted(world.user_activity_cum, rng)
        interests = world.user_interests[u]
        length = min(40, 3 + int(rng.expovariate(1 / 8)))
        cur = _start_pin(rng, rng.choice(interests), index, table)
        ts = start
        events = []
        for k in range(length):
            if k:
                r = rng.random()
                nxt = -1
                if r < 0.5:
                    boards = table.boards_of(cur)
                    pins = index.board_pins.row(int(boards[rng.randrange(len(boards))]))
                    if len(pins) > 1:
                        nxt = int(pins[rng.randrange(len(pins))])
                elif r < 0.78:
                    pins = index.interest_pins.row(int(table.primary[cur]))
                    if len(pins) > 1:
                        nxt = int(pins[rng.randrange(len(pins))])
                elif r < 0.95:
                    nxt = _start_pin(rng, rng.choice(interests), index, table)
                if nxt < 0 or nxt == cur:
                    nxt = rng.randrange(table.n) if r >= 0.95 else _start_pin(
                        rng, rng.choice(interests), index, table)
                cur = nxt
                ts += 3 + int(rng.expovariate(1 / 25))
            liked = int(table.primary[cur]) in interests
            r = rng.random()
            if r < (0.10 if liked else 0.04):
                action = "save"
            elif r < (0.26 if liked else 0.12):
                action = "click"
            elif r < 0.5:
                action = "closeup"
            else:
                action = "view"
            events.append({"pin_id": pin_id(cur), "action": action, "ts": iso(ts)})
        events_total += len(events)
        out.write({"user": user_id(u), "events": events})
    return events_total
