"""The web page in headless Chromium: search, result cards, Related Pins, and the failure messages.

Needs Debian's ``chromium`` (/usr/bin/chromium) and the ``playwright`` Python package (only its
driver: no browser download); skipped with the reason when either is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

import pinsearch
from pinsearch.server import ServerConfig, start_server, stop_server

CHROMIUM = os.environ.get("PINSEARCH_CHROMIUM", "/usr/bin/chromium")
# The README's screenshot is refreshed with PINSEARCH_SCREENSHOT=docs/screenshot.png; by default the
# test writes to its temporary directory so a test run never changes the working tree.
SCREENSHOT_ENV = "PINSEARCH_SCREENSHOT"

sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed "
                               "(pip install playwright; no `playwright install` needed)")
if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                                      args=["--headless", "--no-sandbox", "--disable-gpu",
                                            "--disable-background-networking"])
        yield chromium
        chromium.close()


def _ground_truth_signals(truth: Path):  # type: ignore[no-untyped-def]
    """The sample's true annotations and interests as signals: the cards then show their chips."""
    import json
    from collections import defaultdict
    from indexer.documents import PinSignals
    annotations = {row["pin_id"]: {k["canonical"]: 1.0 for k in row["keyphrases"]}
                   for row in map(json.loads, (truth / "annotations.jsonl").read_text().splitlines())}
    interests: dict[str, dict[int, dict[str, float]]] = {}
    for row in map(json.loads, (truth / "pin_interests.jsonl").read_text().splitlines()):
        levels: dict[int, dict[str, float]] = defaultdict(dict)
        for item in row["interests"]:
            levels[item["level"]][str(item["interest_id"])] = float(item["weight"])
        interests[row["pin_id"]] = dict(levels)
    return lambda pin: PinSignals(annotations=annotations.get(pin.id, {}), interests=interests.get(pin.id, {}))


@pytest.fixture(scope="module")
def xs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from indexer.corpus.sample import generate_sample
    from indexer.reindex import reindex_corpus
    root = tmp_path_factory.mktemp("xs_page")
    generate_sample(root, "XS", 0, progress=False, overwrite=True)
    srv, thread = start_server(ServerConfig(data_path=str(root / "data"), port=0))
    es = pinsearch.connect("embedded://" + str(srv.node.data_path))
    reindex_corpus(es, root / "corpus", progress=False, signals=_ground_truth_signals(root / "ground_truth"))
    pinsearch.close(es)
    yield srv
    stop_server(srv, thread)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def test_search_cards_related_pins_and_screenshot(xs_server: Any, page: Any, tmp_path: Path) -> None:
    page.goto(xs_server.url + "/")  # a browser's Accept header: redirected to the page
    assert page.url.endswith("/_pinsearch/")
    page.wait_for_selector("#index-version")
    assert page.inner_text("#index-version").startswith("pins-v")
    page.fill("#q", "soup recipe")
    page.press("#q", "Enter")
    page.wait_for_selector("article.result")
    cards = page.query_selector_all("article.result")
    assert len(cards) >= 5
    first = cards[0]
    assert first.query_selector("h3").inner_text().strip()
    assert "score" in first.query_selector(".score").inner_text()
    assert first.query_selector(".chip.annotation") and first.query_selector(".chip.interest")
    assert first.query_selector("img").get_attribute("src").startswith("/_pinsearch/placeholder/")
    assert page.evaluate("document.querySelector('article.result img').naturalWidth") > 0  # the SVG rendered
    text = " ".join(c.inner_text().lower() for c in cards[:5])
    assert "soup" in text or "recipe" in text
    first.query_selector("button.why").click()
    page.wait_for_selector(".contributions :is(table, .meta)")  # contributions, or "no active model"
    first.query_selector("button.open-related").click()
    page.wait_for_selector("article.related-hit")
    assert not page.is_hidden("#related")
    related = page.query_selector_all("article.related-hit")
    assert len(related) >= 3
    query_pin = first.get_attribute("data-pin")
    assert query_pin not in [r.get_attribute("data-pin") for r in related]
    target = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "screenshot.png")
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 10_000


def test_failed_request_shows_message(xs_server: Any, page: Any) -> None:
    page.goto(xs_server.url + "/_pinsearch/")
    page.wait_for_selector("#index-version")
    page.route("**/_pinsearch/api/search*", lambda route: route.fulfill(
        status=500, content_type="application/json", body='{"error": "engine exploded"}'))
    page.fill("#q", "soup")
    page.press("#q", "Enter")
    page.wait_for_selector("#message.error")
    assert "Search failed: engine exploded" in page.inner_text("#message")
    page.unroute("**/_pinsearch/api/search*")
    page.route("**/_pinsearch/api/search*", lambda route: route.abort())
    page.press("#q", "Enter")
    page.wait_for_function("document.querySelector('#message').innerText.includes('did not answer')")


def test_empty_index_message(tmp_path: Path, page: Any) -> None:
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "empty"), port=0))
    try:
        page.goto(srv.url + "/_pinsearch/")
        page.wait_for_selector("#message.error")
        assert "is empty" in page.inner_text("#message") and "pinsearch reindex" in page.inner_text("#message")
    finally:
        stop_server(srv, thread)
