"""Pin titles, descriptions and board names written from interest phrases.

Real pin text is short, multilingual and messy, so the writer adds what signals must survive:
template words around the keyphrases, chatty noise ("omg", "link in bio"), hashtags, emojis, and
misspellings (a swapped, dropped or doubled letter in a share of the words).
"""

from __future__ import annotations

import random
import re

from indexer.corpus.sample.config import SampleConfig
from indexer.corpus.sample.lexicon import (EMOJIS, NOISE, SEASONS, SENTENCES, TITLE_TEMPLATES)
from indexer.corpus.sample.vocab import Vocabulary

__all__ = ["TextWriter", "misspell"]

_COUNTS = (5, 7, 10, 12, 15, 20, 25, 30, 50)
_PLACEHOLDER = re.compile(r"\{\w+\}")
_REPEAT = re.compile(r"\b(\w+)(?:\s+\1\b)+", re.IGNORECASE)


def _dedupe(text: str) -> str:
    """Collapse a word repeated by template + phrase ("Simple simple astronomy")."""
    return _REPEAT.sub(r"\1", text)


def misspell(word: str, rng: random.Random) -> str:
    """One typo: swap two neighbouring letters, drop one, or double one."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.random()
    if op < 0.4:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op < 0.75:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


class TextWriter:
    def __init__(self, vocab: Vocabulary, cfg: SampleConfig) -> None:
        self.vocab = vocab
        self.cfg = cfg

    def _typos(self, text: str, rng: random.Random) -> str:
        rate = self.cfg.misspelling_rate
        if rate <= 0:
            return text
        words = text.split(" ")
        for k, w in enumerate(words):
            if w.isalpha() and rng.random() < rate:
                words[k] = misspell(w, rng)
        return " ".join(words)

    def _case(self, text: str, rng: random.Random) -> str:
        r = rng.random()
        if r < 0.4:
            return text
        if r < 0.8:
            return text[:1].upper() + text[1:]
        return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))

    def title(self, lang: str, phrases: list[int], rng: random.Random) -> str:
        text = self.vocab.text[lang]
        p1 = text[phrases[0]]
        p2 = text[phrases[1]] if len(phrases) > 1 else p1
        words = set(p1.lower().split())
        for _ in range(3):  # avoid "ideas de jardinería ideas"
            tpl = rng.choice(TITLE_TEMPLATES[lang])
            if not words & set(_PLACEHOLDER.sub("", tpl).lower().split()):
                break
        out = _dedupe(tpl.format(p1=p1, p2=p2, n=rng.choice(_COUNTS)))
        out = self._case(self._typos(out, rng), rng)
        if rng.random() < self.cfg.emoji_rate:
            out = f"{out} {rng.choice(EMOJIS)}"
        return out

    def description(self, lang: str, phrases: list[int], rng: random.Random) -> str:
        if rng.random() < 0.05:
            return ""
        text = self.vocab.text[lang]
        n = rng.choice((1, 2, 2, 3))
        sentences = []
        for k in range(n):
            p = text[phrases[k % len(phrases)]]
            q = text[phrases[(k + 1) % len(phrases)]]
            tpl = rng.choice(SENTENCES[lang])
            sentences.append(_dedupe(tpl.format(p=p, q=q, season=rng.choice(SEASONS[lang]))))
        out = self._typos(" ".join(sentences), rng)
        if rng.random() < self.cfg.noise_word_rate:
            noise = rng.choice(NOISE[lang])
            out = f"{noise}! {out}" if rng.random() < 0.5 else f"{out} {noise}"
        if rng.random() < self.cfg.hashtag_rate:
            tags = ["#" + self.vocab.text[lang][p].replace(" ", "") for p in phrases[:3]]
            out = f"{out} {' '.join(tags)}"
        if rng.random() < self.cfg.emoji_rate:
            out = f"{out} {rng.choice(EMOJIS)}"
        return out

    def board_name(self, lang: str, phrase: int, rng: random.Random) -> str:
        base = self.vocab.text[lang][phrase]
        r = rng.random()
        if r < 0.35:
            suffix = {"en": "ideas", "es": "ideas", "fr": "idées", "de": "Ideen",
                      "pt": "ideias"}[lang]
            base = f"{base} {suffix}"
        elif r < 0.45:
            base = f"{base} {rng.choice(EMOJIS)}"
        return self._case(base, rng)
