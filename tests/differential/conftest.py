"""Differential tests: localnode against a real OpenSearch node.

They run when ``PINSEARCH_TEST_CLUSTER`` names a node (``pinsearch cluster start`` starts one; CI
sets the variable) and are skipped with that reason otherwise. A variable naming a node that does
not answer is an error, not a skip: somebody asked for the comparison.
"""

from __future__ import annotations

import os
import re
import urllib.request
from typing import Iterator

import pytest

import pinsearch
from tests.differential.harness import Pair

CLUSTER_ENV = "PINSEARCH_TEST_CLUSTER"


def _real_url() -> str:
    url = os.environ.get(CLUSTER_ENV)
    if not url:
        pytest.skip(f"{CLUSTER_ENV} is not set (start a real node with `pinsearch cluster start` and set "
                    f"{CLUSTER_ENV}=http://127.0.0.1:9200)")
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/", timeout=10) as response:  # noqa: S310 (test node)
            response.read()
    except OSError as exc:
        pytest.fail(f"{CLUSTER_ENV}={url} does not answer: {exc}")
    return url


@pytest.fixture(scope="module")
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    url = _real_url()
    real = pinsearch.connect(url, timeout=120)
    local = pinsearch.connect(f"embedded://{tmp_path_factory.mktemp('localnode') / 'data'}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    prefix = "diff-" + re.sub(r"[^a-z0-9]+", "-", request.module.__name__.rsplit(".", 1)[-1].lower()) + f"-{worker}"
    pair = Pair(local, real, prefix)
    try:
        yield pair
    finally:
        real.indices.delete(index=f"{prefix}-*", ignore=[404])
        real.transport.close()
        pinsearch.close(local)
