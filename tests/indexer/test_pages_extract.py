"""Page extraction: metadata rules, main text, language, images, and hostile input."""

from __future__ import annotations

import time

import pytest

from indexer.pages.extract import extract_batch, extract_page
from indexer.pages.safety import PageError

ARTICLE = """<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">
<title>Lentil curry in 30 minutes | Cozy Kitchen</title>
<meta name="description" content="A weeknight lentil curry.">
<meta property="og:title" content="Lentil curry in 30 minutes">
<meta property="og:description" content="The best weeknight lentil curry with coconut milk.">
<meta property="og:image" content="/img/curry.jpg">
</head><body><div class="cookie-banner" id="cookies">We use cookies. Accept all cookies.</div>
<nav><a href="/">Home</a> <a href="/shop">Shop</a></nav>
<main class="content"><article class="post"><h1>Lentil curry in 30 minutes</h1>
<p>This lentil curry is the dinner we cook every week when the fridge is empty and time is short.
Red lentils, coconut milk, garlic, ginger and a spoon of curry paste are all you need for it.</p>
<p>Fry the onion and the garlic, add the spices, then the lentils and the coconut milk. Simmer for
twenty minutes and serve the curry with rice, yoghurt and fresh coriander on top of the bowl.</p>
<p>Leftovers keep for three days in the fridge and the curry tastes even better the next day, when
the lentils have soaked up the spices. Freeze portions in jars for lunches during a busy week.</p>
<p>For a milder curry use less paste and more coconut milk; for a hotter one add fresh chilli with
the garlic. Spinach or kale stirred in at the end adds colour and makes it a complete meal.</p>
<img src="/img/step1.jpg" alt="Lentils simmering in a pot"><img src="/px.gif" width="1" height="1">
</article></main><footer class="site-footer">Free shipping on orders over $50. Privacy policy.</footer></body></html>"""


def test_metadata_text_language_images() -> None:
    page = extract_page(ARTICLE.encode(), "https://cozy.example/blog/curry")
    assert page.title == "Lentil curry in 30 minutes"  # og:title beats <title> with the site suffix
    assert page.description == "The best weeknight lentil curry with coconut milk."
    assert "coconut milk" in page.text and "Simmer" in page.text
    assert "Free shipping" not in page.text and "cookies" not in page.text
    assert page.lang == "en"
    srcs = [i.src for i in page.images]
    assert srcs[0] == "https://cozy.example/img/curry.jpg"
    assert ("https://cozy.example/img/step1.jpg", "Lentils simmering in a pot") in [(i.src, i.alt) for i in page.images]
    assert not any(s.endswith("px.gif") for s in srcs)  # tracking pixel dropped


def test_title_fallback_strips_site_and_description_falls_back_to_first_paragraph() -> None:
    html = ARTICLE.replace('<meta property="og:title" content="Lentil curry in 30 minutes">', "") \
        .replace('<meta name="description" content="A weeknight lentil curry.">', "") \
        .replace('<meta property="og:description" content="The best weeknight lentil curry with coconut milk.">', "")
    page = extract_page(html)
    assert page.title == "Lentil curry in 30 minutes"
    assert page.description.startswith("This lentil curry is the dinner")


def test_language_detected_without_declaration() -> None:
    html = ("<html><body><article><p>" + "Dans cet article nous partageons tout ce que nous avons "
            "appris sur la cuisine des légumes pour les fêtes et le week-end avec la famille. " * 5
            + "</p></article></body></html>")
    assert extract_page(html).lang == "fr"


def test_encodings_declared_wrong_and_missing() -> None:
    body = "<html><head><meta charset='windows-1252'><title>Crème brûlée</title></head><body><p>x</p></body></html>"
    assert extract_page(body.encode("cp1252")).title == "Crème brûlée"
    # declared utf-8 but actually latin-1: still decodes, never raises
    wrong = body.replace("windows-1252", "utf-8").encode("latin-1")
    assert "Cr" in extract_page(wrong).title
    # UTF-16 with a BOM
    assert extract_page(body.replace("windows-1252", "utf-16").encode("utf-16")).title == "Crème brûlée"


@pytest.mark.parametrize("data,code", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 500, "binary"),
    (b"%PDF-1.7\n" + bytes(range(256)) * 10, "binary"),
    (bytes(range(256)) * 20, "binary"),
    (b"   \n  ", "empty"),
])
def test_hostile_payloads_raise_clear_errors(data: bytes, code: str) -> None:
    with pytest.raises(PageError) as err:
        extract_page(data)
    assert err.value.code == code


def test_huge_and_deeply_nested_pages_are_bounded() -> None:
    huge = b"<html><body><article>" + b"<p>word " * 400_000 + b"</article></body></html>"
    t0 = time.perf_counter()
    [page] = list(extract_batch([("huge", huge)], max_bytes=100_000, timeout=3))
    # either extracted from the truncated bytes or stopped by the time limit: never unbounded
    assert time.perf_counter() - t0 < 6
    assert page.truncated or page.error.startswith("timeout")
    deep = "<html><body>" + "<div>" * 50_000 + "deep text" + "</div>" * 50_000 + "</body></html>"
    t0 = time.perf_counter()
    results = list(extract_batch([("u1", deep), ("u2", ARTICLE)], timeout=10))
    assert time.perf_counter() - t0 < 20
    assert results[1].error is None and results[1].title == "Lentil curry in 30 minutes"


def test_batch_goes_on_after_bad_pages() -> None:
    pages = list(extract_batch([("a", b"\x89PNG\r\n\x1a\n\x00\x00\x00"), ("b", "<<<>>>&&&"), ("c", ARTICLE),
                                ("d", b"")]))
    assert [p.url for p in pages] == ["a", "b", "c", "d"]
    assert pages[0].error.startswith("binary") and pages[3].error.startswith("empty")
    assert pages[2].error is None and "lentil" in pages[2].text.lower()


def test_timeout_interrupts_slow_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.pages.extract as ex

    def slow(*a, **k):
        time.sleep(3)
        return "", ""

    monkeypatch.setattr(ex, "_readability_text", slow)
    t0 = time.perf_counter()
    with pytest.raises(PageError) as err:
        extract_page(ARTICLE, timeout=0.3)
    assert err.value.code == "timeout" and time.perf_counter() - t0 < 2
