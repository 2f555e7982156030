"""Users and their boards: who pins what, in which language, onto which board.

Users hold 1-3 interests (a second one is often a sibling of the first, as real tastes cluster);
each interest gets one or two boards named from its phrases ("vegan dinner ideas"). A board's
focus phrase steers which pins land on it, which gives board co-occurrence its sub-topic structure.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field

from indexer.corpus.sample.config import SampleConfig
from indexer.corpus.sample.jsonl import JsonlWriter
from indexer.corpus.sample.lexicon import SEASONS, SENTENCES
from indexer.corpus.sample.rng import stream
from indexer.corpus.sample.text import TextWriter
from indexer.corpus.sample.vocab import Vocabulary

__all__ = ["World", "board_id", "build_world", "pick_weighted", "user_id"]


def user_id(i: int) -> str:
    return f"u{i:07d}"


def board_id(i: int) -> str:
    return f"b{i:08d}"


def pick_weighted(cum: list[float], rng: random.Random) -> int:
    """Index drawn with probability proportional to the weights whose running sum is ``cum``."""
    return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


@dataclass
class World:
    user_lang: list[str]
    user_interests: list[tuple[int, ...]]
    user_activity_cum: list[float]
    user_boards: list[dict[int, list[int]]]
    board_interest: list[int]
    board_focus: list[int]
    board_owner: list[int]
    boards_by_interest: dict[int, list[int]] = field(default_factory=dict)
    boards_by_focus: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_lang)

    @property
    def n_boards(self) -> int:
        return len(self.board_interest)


def _pick_lang(cfg: SampleConfig, rng: random.Random) -> str:
    r, acc = rng.random() * sum(cfg.lang_mix.values()), 0.0
    for lang, w in cfg.lang_mix.items():
        acc += w
        if r < acc:
            return lang
    return next(iter(cfg.lang_mix))


def build_world(vocab: Vocabulary, cfg: SampleConfig, seed: int, writer: TextWriter,
                boards_out: JsonlWriter) -> World:
    """Create users and boards; boards are written to ``boards_out`` as they are made."""
    rng = stream(seed, "world")
    n_users = max(5, round(cfg.n_pins / cfg.pins_per_user))
    world = World([], [], [], [], [], [], [])
    acc = 0.0
    for u in range(n_users):
        lang = _pick_lang(cfg, rng)
        first = pick_weighted(vocab.interest_cum_weights, rng)
        interests = [first]
        for _ in range(rng.choice((0, 1, 1, 2))):
            sib = vocab.siblings(first) if rng.random() < 0.5 else []
            cand = rng.choice(sib) if sib else pick_weighted(vocab.interest_cum_weights, rng)
            if cand not in interests:
                interests.append(cand)
        acc += rng.lognormvariate(0.0, 0.8)
        world.user_lang.append(lang)
        world.user_interests.append(tuple(interests))
        world.user_activity_cum.append(acc)
        boards: dict[int, list[int]] = {}
        for it in interests:
            for _ in range(1 + (rng.random() < 0.3)):
                b = world.n_boards
                interest = vocab.interests[it]
                focus = interest.phrases[pick_weighted(interest.cum_weights, rng)]
                world.board_interest.append(it)
                world.board_focus.append(focus)
                world.board_owner.append(u)
                boards.setdefault(it, []).append(b)
                world.boards_by_interest.setdefault(it, []).append(b)
                world.boards_by_focus.setdefault((it, focus), []).append(b)
                desc = ""
                if rng.random() < 0.5:
                    other = interest.phrases[pick_weighted(interest.cum_weights, rng)]
                    desc = rng.choice(SENTENCES[lang]).format(
                        p=vocab.text[lang][focus], q=vocab.text[lang][other],
                        season=rng.choice(SEASONS[lang]))
                boards_out.write({"id": board_id(b), "name": writer.board_name(lang, focus, rng),
                                  "description": desc, "owner": user_id(u)})
        world.user_boards.append(boards)
    return world
