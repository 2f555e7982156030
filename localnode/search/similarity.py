"""BM25 exactly as OpenSearch 2.x scores it (LegacyBM25Similarity over Lucene 9's BM25Similarity).

Two details make a naive BM25 differ from OpenSearch: the (k1 + 1) = 2.2 factor that OpenSearch's
legacy similarity keeps, and Lucene's one-byte length norms (``SmallFloat.intToByte4``), which
quantise document lengths above 40 tokens. Every step below is done in float32 in Lucene's order
so scores agree bit for bit; see reference §4.1-4.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

K1 = np.float32(1.2)
B = np.float32(0.75)
_NUM_FREE_VALUES = 24  # SmallFloat.NUM_FREE_VALUES: lengths below this are stored exactly


def _long_to_int4(value: int) -> int:
    if value < 0:
        raise ValueError("only supports positive values")
    num_bits = value.bit_length()
    if num_bits < 4:
        return value
    shift = num_bits - 4
    encoded = (value >> shift) & 0x07
    return encoded | ((shift + 1) << 3)


def _int4_to_long(i: int) -> int:
    bits = i & 0x07
    shift = (i >> 3) - 1
    if shift == -1:
        return bits
    return (bits | 0x08) << shift


def int_to_byte4(length: int) -> int:
    """Lucene ``SmallFloat.intToByte4``: the norm byte (0..255) for a field length."""
    if length < 0:
        raise ValueError("length must be >= 0")
    if length < _NUM_FREE_VALUES:
        return length
    return min(_NUM_FREE_VALUES + _long_to_int4(length - _NUM_FREE_VALUES), 255)


def byte4_to_int(b: int) -> int:
    """Lucene ``SmallFloat.byte4ToInt``: the (truncated) length a norm byte stands for."""
    b &= 0xFF
    if b < _NUM_FREE_VALUES:
        return b
    return _NUM_FREE_VALUES + _int4_to_long(b - _NUM_FREE_VALUES)


LENGTH_TABLE = np.array([byte4_to_int(i) for i in range(256)], dtype=np.float64)
_NORM_BYTE_CACHE = np.array([int_to_byte4(i) for i in range(4096)], dtype=np.uint8)


def norm_bytes(lengths: np.ndarray) -> np.ndarray:
    """Vectorised ``int_to_byte4`` for an array of field lengths (fast path for short fields)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size == 0 or int(lengths.max()) < len(_NORM_BYTE_CACHE):
        return _NORM_BYTE_CACHE[lengths]
    return np.array([int_to_byte4(int(x)) for x in lengths], dtype=np.uint8)


def idf(doc_freq: int, doc_count: int) -> np.float32:
    """``log(1 + (N - n + 0.5) / (n + 0.5))`` in double, cast to float (Lucene BM25Similarity.idf)."""
    return np.float32(math.log(1.0 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5)))


def avg_field_length(sum_total_term_freq: int, doc_count: int) -> np.float32:
    if doc_count <= 0:
        return np.float32(1.0)
    return np.float32(sum_total_term_freq / float(doc_count))


def inverse_norm_cache(avgdl: np.float32) -> np.ndarray:
    """Per-norm-byte ``1 / (k1 * ((1 - b) + b * dl / avgdl))``, precomputed as Lucene does.

    Memoised by avgdl: every term weight of a field shares one table (read-only), and building
    it per term was a visible share of the cost of queries with many clauses (LTR feature sets)."""
    key = float(np.float32(avgdl))
    table = _INV_NORMS.get(key)
    if table is None:
        table = _inverse_norms(np.float32(avgdl))
        table.flags.writeable = False
        if len(_INV_NORMS) > 4096:
            _INV_NORMS.clear()
        _INV_NORMS[key] = table
    return table


_INV_NORMS: dict[float, np.ndarray] = {}
_FLOAT32_LENGTHS = LENGTH_TABLE.astype(np.float32)


def _inverse_norms(avgdl: np.float32) -> np.ndarray:
    dl = _FLOAT32_LENGTHS
    one_minus_b = np.float32(np.float32(1.0) - B)
    inner = (one_minus_b + (B * dl) / avgdl).astype(np.float32)
    return (np.float32(1.0) / (K1 * inner).astype(np.float32)).astype(np.float32)


@dataclass(frozen=True, slots=True)
class TermWeight:
    """What Lucene's BM25Scorer precomputes for one term of one field, given the query boost."""

    weight: np.float32          # W = boost * 2.2 * idf
    inv_norms: np.ndarray       # float32[256]
    idf: np.float32
    avgdl: np.float32
    boost: np.float32

    @staticmethod
    def create(boost: float, doc_freq: int, doc_count: int, sum_total_term_freq: int,
               idf_value: np.float32 | None = None) -> "TermWeight":
        term_idf = idf(doc_freq, doc_count) if idf_value is None else idf_value
        avgdl = avg_field_length(sum_total_term_freq, doc_count)
        legacy_boost = np.float32(np.float32(boost) * np.float32(np.float32(1.0) + K1))
        weight = np.float32(legacy_boost * term_idf)
        return TermWeight(weight, inverse_norm_cache(avgdl), term_idf, avgdl, np.float32(boost))

    def score(self, tf: np.ndarray, norm_bytes_: np.ndarray) -> np.ndarray:
        """float32 scores for term frequencies ``tf`` in documents whose norm bytes are given."""
        tf32 = tf.astype(np.float32, copy=False)
        inv = self.inv_norms[norm_bytes_]
        denominator = (np.float32(1.0) + (tf32 * inv).astype(np.float32)).astype(np.float32)
        return (self.weight - (self.weight / denominator).astype(np.float32)).astype(np.float32)
