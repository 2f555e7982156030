"""Build the dictionary from a corpus: board names, titles, search queries and collocations.

What becomes a term (per language; a pin's language is declared or detected, a board's and a
query's is the majority language of its pins / clicked pins):

* a **board name** used by at least ``min_count`` boards, and a **search query** typed at least
  ``min_count`` times -- after trimming stop words and generic words at the edges ("vegan dinner
  ideas" -> "vegan dinner");
* a 2-``max_n``-gram of titles and descriptions seen in ``min_count`` pins whose **NPMI**
  (normalised pointwise mutual information, the minimum over its binary splits) is at least
  ``min_npmi``: words that occur together far more often than chance;
* a single word seen in ``min_count`` pin titles.

What is dropped: phrases that start or end with a stop word ("of liberty"), phrases made only of
generic words ("ideas", "best tips"), numbers at the edges, words seen in more than
``max_df_share`` of a language's pins (too generic to annotate), and **misspellings**: a rare token
(count <= ``typo_max_count``) one edit away from a token ``typo_ratio`` times more frequent is
recorded in the dictionary's spelling map and corrected before matching, so "eleegant graduation"
annotates as "elegant graduation"; terms containing a misspelled token are not terms.

Metadata per term: ``sources`` (board/query/title/collocation counts), ``df`` (pins whose title or
description contains it), ``search_freq`` (query-log entries containing it), and the category
distribution summarised as ``category_entropy`` (normalised entropy of the boards of the pins
containing it: high for words spread over unrelated boards) and ``n_categories``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from indexer.annotations.dictionary import Dictionary, Entry, make_id
from indexer.annotations.sources import CorpusContext
from indexer.text import GENERIC_WORDS, analyze, fold, ngram_spans, stem_tokens, stopwords_for

__all__ = ["BuildOptions", "build_dictionary", "is_fragment"]


@dataclass(frozen=True)
class BuildOptions:
    min_count: int = 2
    min_npmi: float = 0.3
    max_n: int = 4
    max_df_share: float = 0.25
    typo_max_count: int = 2
    typo_ratio: float = 10.0
    typo_min_len: int = 5


def _generic_keys(lang: str) -> frozenset[str]:
    words = GENERIC_WORDS.get(lang, frozenset())
    return frozenset(words) | frozenset(stem_tokens(list(words), lang))


def is_fragment(tokens: list[str], lang: str) -> bool:
    """True if the phrase starts/ends with a stop word or number, or is only generic words."""
    if not tokens:
        return True
    stops = stopwords_for(lang)
    generic = GENERIC_WORDS.get(lang, frozenset())
    first, last = fold(tokens[0]), fold(tokens[-1])
    if first in stops or last in stops or first.isdigit() or last.isdigit():
        return True
    if all(fold(t) in generic or fold(t) in stops for t in tokens):
        return True
    inner = [fold(t) in stops for t in tokens[1:-1]]
    return sum(inner) > 1  # "easy and it looks": a clause, not a name ("statue of liberty" ok)


def _trim(tokens: list[str], keys: list[str], lang: str) -> tuple[list[str], list[str]]:
    """Drop stop words, generic words and numbers at both edges."""
    stops = stopwords_for(lang)
    generic = GENERIC_WORDS.get(lang, frozenset())

    def bad(t: str) -> bool:
        f = fold(t)
        return f in stops or f in generic or f.isdigit()

    i, j = 0, len(tokens)
    while i < j and bad(tokens[i]):
        i += 1
    while j > i and bad(tokens[j - 1]):
        j -= 1
    return tokens[i:j], keys[i:j]


def _edit1(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1 (one swap, drop, insert or substitution)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                and a[diff[1]] == b[diff[0]])
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]


def _spelling_map(token_counts: Counter[str], opts: BuildOptions) -> dict[str, str]:
    """Rare token key -> frequent token key one edit away (symmetric-delete index)."""
    frequent = {t: c for t, c in token_counts.items()
                if c >= opts.typo_ratio and len(t) >= opts.typo_min_len - 1}
    index: dict[str, list[str]] = defaultdict(list)
    for t in frequent:
        index[t].append(t)
        for i in range(len(t)):
            index[t[:i] + t[i + 1:]].append(t)
    out: dict[str, str] = {}
    for t, c in token_counts.items():
        if c > opts.typo_max_count or len(t) < opts.typo_min_len or t.isdigit():
            continue
        best, best_count = None, 0
        probes = [t] + [t[:i] + t[i + 1:] for i in range(len(t))]
        for probe in probes:
            for cand in index.get(probe, ()):
                fc = frequent[cand]
                if cand != t and fc >= opts.typo_ratio * c and fc > best_count and _edit1(t, cand):
                    best, best_count = cand, fc
        if best is not None:
            out[t] = best
    return out


class _Stats:
    """Counts for one language."""

    def __init__(self) -> None:
        self.n_pins = 0
        self.total_tokens = 0
        self.ngram_count: Counter[str] = Counter()    # corpus frequency (for NPMI)
        self.df: Counter[str] = Counter()             # pins containing the n-gram
        self.title_df: Counter[str] = Counter()
        self.surface: dict[str, Counter[str]] = defaultdict(Counter)
        self.boards_of: dict[str, Counter[str]] = defaultdict(Counter)  # key -> board counts
        self.board_names: Counter[str] = Counter()
        self.queries: Counter[str] = Counter()
        self.query_ngrams: Counter[str] = Counter()
        self.token_counts: Counter[str] = Counter()


def _add_surface(stats: _Stats, tokens: list[str], keys: list[str]) -> None:
    stats.surface[" ".join(keys)][" ".join(tokens)] += 1


def build_dictionary(corpus_dir: str | Path, *, options: BuildOptions | None = None,
                     previous: Dictionary | None = None, context: CorpusContext | None = None,
                     progress: bool = False) -> Dictionary:
    """A new dictionary built from ``corpus_dir``; curation and log of ``previous`` re-applied."""
    opts = options or BuildOptions()
    ctx = context or CorpusContext(corpus_dir, pages=False)
    stats: dict[str, _Stats] = defaultdict(_Stats)
    board_langs: dict[str, Counter[str]] = defaultdict(Counter)
    pin_langs: dict[str, str] = {}
    pins = ctx.pins()
    for pin in _progress(pins, "dictionary: pins", progress):
        lang = ctx.language_of(pin)
        pin_langs[pin.id] = lang
        st = stats[lang]
        st.n_pins += 1
        seen: set[str] = set()
        title_seen: set[str] = set()
        for source, text in (("title", pin.title), ("description", pin.description)):
            a = analyze(text, lang)
            st.total_tokens += len(a.keys)
            st.token_counts.update(a.keys)
            for s, e in ngram_spans(len(a.keys), 1, opts.max_n):
                key = " ".join(a.keys[s:e])
                st.ngram_count[key] += 1
                seen.add(key)
                if source == "title":
                    title_seen.add(key)
                if e - s <= 2:
                    st.surface[key][" ".join(a.tokens[s:e])] += 1
        st.df.update(seen)
        st.title_df.update(title_seen)
        first_board = pin.board_ids[0] if pin.board_ids else None
        if first_board:
            for key in seen:
                st.boards_of[key][first_board] += 1
        for b in pin.board_ids:
            board_langs[b][lang] += 1
    for bid, board in ctx.boards.items():
        langs = board_langs.get(bid)
        lang = langs.most_common(1)[0][0] if langs else ctx.detect(board.name)
        a = analyze(board.name, lang)
        toks, keys = _trim(a.tokens, a.keys, lang)
        if keys:
            st = stats[lang]
            st.board_names[" ".join(keys)] += 1
            _add_surface(st, toks, keys)
    for query, count in ctx.query_counts.items():
        langs = Counter(pin_langs[p] for p in _clicked_pins(ctx, query) if p in pin_langs)
        lang = langs.most_common(1)[0][0] if langs else ctx.detect(query)
        a = analyze(query, lang)
        st = stats[lang]
        for s, e in ngram_spans(len(a.keys), 1, opts.max_n):
            st.query_ngrams[" ".join(a.keys[s:e])] += count
        toks, keys = _trim(a.tokens, a.keys, lang)
        if keys:
            st.queries[" ".join(keys)] += count
            _add_surface(st, toks, keys)

    _fill_surfaces(ctx, pins, pin_langs, stats, opts)
    d = Dictionary()
    n_boards_total = max(2, len(ctx.boards))
    for lang, st in sorted(stats.items()):
        spelling = _spelling_map(st.token_counts, opts)
        d.spelling[lang] = spelling
        chosen: dict[str, dict[str, int]] = defaultdict(dict)
        for key, c in st.board_names.items():
            if c >= opts.min_count:
                chosen[key]["board"] = c
        for key, c in st.queries.items():
            if c >= opts.min_count:
                chosen[key]["query"] = c
        n = max(1, st.total_tokens)
        for key, c in st.ngram_count.items():
            if c < opts.min_count:
                continue
            parts = key.split(" ")
            if len(parts) == 1:
                if st.title_df[key] >= opts.min_count:
                    chosen[key]["title"] = st.title_df[key]
                continue
            if _npmi(parts, c, st.ngram_count, n) >= opts.min_npmi:
                chosen[key]["collocation"] = c
        max_df = max(opts.min_count, opts.max_df_share * st.n_pins)
        generic = _generic_keys(lang)
        for key, sources in chosen.items():
            parts = key.split(" ")
            if any(p in spelling for p in parts):
                continue  # a misspelled variant: matched through the spelling map instead
            surfaces = st.surface.get(key)
            text = surfaces.most_common(1)[0][0] if surfaces else key
            tokens = text.split(" ")
            if len(tokens) != len(parts) or is_fragment(tokens, lang):
                continue
            if all(p in generic for p in parts):
                continue
            if len(parts) == 1 and st.df[key] > max_df and "board" not in sources:
                continue
            boards = st.boards_of.get(key, Counter())
            d.put(Entry(id=make_id(lang, key), lang=lang, text=text, key=key,
                        sources=dict(sources), df=st.df.get(key, 0),
                        search_freq=st.query_ngrams.get(key, 0),
                        category_entropy=_entropy(boards, n_boards_total),
                        n_categories=len(boards)))
    d.built_from = {"corpus": str(Path(corpus_dir).resolve()), "pins": len(pins),
                    "boards": len(ctx.boards), "queries": sum(ctx.query_counts.values()),
                    "options": opts.__dict__,
                    "pins_per_lang": {k: v.n_pins for k, v in sorted(stats.items())}}
    if previous is not None:
        d.curation, d.log, d.version = previous.curation, previous.log, previous.version
        d.apply_curation()
    d.log.append({"ts": _now_iso(), "version": d.version + 1, "action": "build",
                  "id": None, "lang": None, "text": None,
                  "note": f"{sum(1 for _ in d)} terms from {corpus_dir}"})
    return d


def _fill_surfaces(ctx: CorpusContext, pins: list, pin_langs: dict[str, str],
                   stats: dict[str, _Stats], opts: BuildOptions) -> None:
    """Second pass: surface forms of the longer n-grams (kept out of the first pass to save
    memory: only n-grams that are frequent enough to become terms are looked at)."""
    for pin in pins:
        st = stats[pin_langs[pin.id]]
        for text in (pin.title, pin.description):
            a = analyze(text, pin_langs[pin.id])
            for s, e in ngram_spans(len(a.keys), 3, opts.max_n):
                key = " ".join(a.keys[s:e])
                if st.ngram_count[key] >= opts.min_count:
                    st.surface[key][" ".join(a.tokens[s:e])] += 1


def _clicked_pins(ctx: CorpusContext, query: str) -> Iterable[str]:
    index = getattr(ctx, "_pins_by_query", None)
    if index is None:
        index = defaultdict(list)
        for pid, qs in ctx.queries.items():
            for q in qs:
                index[q].append(pid)
        ctx._pins_by_query = index  # type: ignore[attr-defined]
    return index.get(query, ())


def _npmi(parts: list[str], count: int, counts: Counter[str], n: int) -> float:
    p_xy = count / n
    if p_xy >= 1.0:
        return 1.0
    best = 1.0
    for i in range(1, len(parts)):
        cl = counts.get(" ".join(parts[:i]), 0)
        cr = counts.get(" ".join(parts[i:]), 0)
        if not cl or not cr:
            return -1.0
        pmi = math.log(p_xy / ((cl / n) * (cr / n)))
        best = min(best, pmi / -math.log(p_xy))
    return best


def _entropy(counts: Counter[str], n_total: int) -> float | None:
    total = sum(counts.values())
    if total <= 1:
        return None
    h = -sum((c / total) * math.log(c / total) for c in counts.values())
    return h / math.log(min(total, n_total))


def _now_iso() -> str:
    from indexer.annotations.dictionary import _now
    return _now()


def _progress(items: list, label: str, enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return items
    from rich.progress import track
    return track(items, description=label, transient=True)
