"""Shared fixtures: an embedded client on a fresh data directory, and the shared data sets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

import pinsearch

SHARED_DATA = Path(os.environ.get("PINSEARCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture
def client(tmp_path: Path) -> Iterator["pinsearch.client.OpenSearch"]:
    es = pinsearch.connect(f"embedded://{tmp_path / 'data'}")
    try:
        yield es
    finally:
        pinsearch.close(es)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data sets not found at {SHARED_DATA} (set PINSEARCH_SHARED_DATA)")
    return SHARED_DATA
