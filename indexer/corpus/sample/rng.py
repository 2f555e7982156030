"""Named random streams derived from one seed.

Each part of the generator draws from its own stream (``stream(seed, "pins")``), so changing how
many numbers one part draws never shifts another part, and the same seed gives byte-identical
files. Seeds are derived with BLAKE2b, not ``hash()``, which is salted per process.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np

__all__ = ["derive_seed", "np_stream", "stream", "stable_hash"]


def derive_seed(seed: int, *names: object) -> int:
    """A 64-bit seed from ``seed`` and a path of names (``derive_seed(7, "interest", 150)``)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(str(int(seed)).encode())
    for n in names:
        h.update(b"\x00")
        h.update(str(n).encode())
    return int.from_bytes(h.digest(), "big")


def stream(seed: int, *names: object) -> random.Random:
    return random.Random(derive_seed(seed, *names))


def np_stream(seed: int, *names: object) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(derive_seed(seed, *names)))


def stable_hash(*parts: object) -> int:
    """A process-independent 64-bit hash (for sampling decisions keyed by id)."""
    return derive_seed(0, *parts)
