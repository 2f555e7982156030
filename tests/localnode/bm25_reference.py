"""An independent, test-only restatement of the reference's BM25 formula (§4.1-4.2).

Written from the reference text, not from the engine code, so engine tests compare two
implementations rather than one with itself.
"""

from __future__ import annotations

import math

import numpy as np

f32 = np.float32


def quantised_length(length: int) -> int:
    """Decode(encode(length)) per SmallFloat.intToByte4/byte4ToInt: 4 significant bits above 24."""
    if length < 24:
        return length
    x = length - 24
    if x.bit_length() < 4:
        return 24 + x
    shift = x.bit_length() - 4
    return 24 + ((x >> shift) << shift)  # keep the 4 top bits, zero the rest


def bm25(tf: float, dl: int, sum_ttf: int, doc_count: int, doc_freq: int, boost: float = 1.0) -> np.float32:
    idf = f32(math.log(1 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5)))
    avgdl = f32(sum_ttf / float(doc_count))
    k1, b = f32(1.2), f32(0.75)
    inv = f32(1) / f32(k1 * f32(f32(1) - b + f32(f32(b * f32(quantised_length(dl))) / avgdl)))
    weight = f32(f32(f32(boost) * f32(2.2)) * idf)
    return f32(weight - f32(weight / f32(1 + f32(f32(tf) * inv))))


def double_sum(*scores: np.float32) -> np.float32:
    total = 0.0
    for s in scores:
        total += float(s)
    return f32(total)
