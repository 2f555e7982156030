"""Inverted views of the pin table (board -> pins, interest -> pins, phrase -> pins).

Sessions walk boards and interests; the search ranker draws candidates by phrase. CSR arrays keep
this to a few integers per pin, so the L preset stays within memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.corpus.sample.pins import PinTable

__all__ = ["Csr", "PinIndex", "build_index"]


@dataclass
class Csr:
    offsets: np.ndarray
    values: np.ndarray

    def row(self, k: int) -> np.ndarray:
        if k < 0 or k + 1 >= len(self.offsets):
            return self.values[:0]
        return self.values[self.offsets[k]:self.offsets[k + 1]]

    @classmethod
    def from_pairs(cls, keys: np.ndarray, values: np.ndarray, n_keys: int) -> "Csr":
        order = np.argsort(keys, kind="stable")
        counts = np.bincount(keys, minlength=n_keys)
        offsets = np.zeros(n_keys + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(offsets, values[order].astype(np.int32))


@dataclass
class PinIndex:
    board_pins: Csr
    interest_pins: Csr
    phrase_pins: Csr


def build_index(table: PinTable, n_boards: int, n_interests: int, n_phrases: int) -> PinIndex:
    n = table.n
    per_pin = np.diff(table.board_offsets)
    board_pins = Csr.from_pairs(table.board_flat.astype(np.int64),
                                np.repeat(np.arange(n, dtype=np.int32), per_pin), n_boards)
    interest_pins = Csr.from_pairs(table.primary.astype(np.int64), np.arange(n, dtype=np.int32),
                                   n_interests)
    rows, cols = np.nonzero(table.phrases >= 0)
    phrase_pins = Csr.from_pairs(table.phrases[rows, cols].astype(np.int64),
                                 rows.astype(np.int32), n_phrases)
    return PinIndex(board_pins, interest_pins, phrase_pins)
