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


# -- differential tests (tests/differential): the run's tally of localnode vs the real node ------------
from tests.differential.harness import TALLY, TALLY_DIR, Tally  # noqa: E402


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist)
        for stale in TALLY_DIR.glob("*.json"):
            stale.unlink()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if TALLY.compared or TALLY.skipped:
        TALLY.save(TALLY_DIR)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if hasattr(config, "workerinput") or not TALLY_DIR.exists():
        return
    total = Tally.load_all(TALLY_DIR)
    if not (total.compared or total.skipped):
        return
    terminalreporter.write_sep("-", "localnode vs real OpenSearch")
    terminalreporter.write_line(f"requests compared: {total.compared}, identical: {total.identical}, "
                                f"known differences: {total.known}, unexplained differences: {total.different}")
    for reason, count in sorted(total.known_reasons.items()):
        terminalreporter.write_line(f"  known ({count}): {reason}")
    for reason, count in sorted(total.skipped.items()):
        terminalreporter.write_line(f"  not compared ({count}): {reason}")
