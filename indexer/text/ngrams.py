"""1-6-gram windows over token lists: how phrases are enumerated everywhere."""

from __future__ import annotations

from typing import Iterator, Sequence

__all__ = ["MAX_N", "ngram_spans", "ngrams"]

MAX_N = 6


def ngram_spans(n_tokens: int, min_n: int = 1, max_n: int = MAX_N) -> Iterator[tuple[int, int]]:
    """``(start, end)`` half-open spans of every window of ``min_n..max_n`` tokens, in order."""
    for start in range(n_tokens):
        for n in range(min_n, max_n + 1):
            end = start + n
            if end > n_tokens:
                break
            yield start, end


def ngrams(tokens: Sequence[str], min_n: int = 1, max_n: int = MAX_N) -> Iterator[str]:
    """Space-joined windows of ``tokens`` (``["a","b"]`` -> ``"a"``, ``"a b"``, ``"b"``)."""
    for start, end in ngram_spans(len(tokens), min_n, max_n):
        yield " ".join(tokens[start:end])
