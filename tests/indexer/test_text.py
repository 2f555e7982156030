"""indexer.text: the normalisation every text signal shares."""

from __future__ import annotations

import pytest

from indexer.text import (SNOWBALL_LANGUAGES, analyze, detect_language, detect_language_scores,
                          ngrams, normalize, stem_tokens, strip_accents, tokenize)


def test_tokenize_drops_punctuation_emoji_and_hash_keeps_accents() -> None:
    assert tokenize("Easy VEGAN dinner-ideas! 🌿 #VeganDinner women's café") == \
        ["easy", "vegan", "dinner", "ideas", "vegandinner", "womens", "café"]
    assert normalize("  Hello,   world!! ") == "hello world"
    assert tokenize("") == []


def test_strip_accents() -> None:
    assert strip_accents("jardinería crème brûlée Übung") == "jardineria creme brulee Ubung"


@pytest.mark.parametrize("lang,a,b", [
    ("en", "sloth", "sloths"), ("es", "receta", "recetas"), ("fr", "recette", "recettes"),
    ("de", "Garten", "Gärten"), ("pt", "receita", "receitas"), ("it", "ricetta", "ricette"),
    ("nl", "recept", "recepten"), ("sv", "recept", "recepten"), ("da", "opskrift", "opskrifter"),
    ("ru", "рецепт", "рецепты"), ("fi", "resepti", "reseptit"), ("tr", "tarif", "tarifler"),
])
def test_stemming_joins_inflections_in_many_languages(lang: str, a: str, b: str) -> None:
    assert stem_tokens(tokenize(a), lang) == stem_tokens(tokenize(b), lang)


def test_at_least_ten_snowball_languages_and_unknown_is_identity() -> None:
    assert len(SNOWBALL_LANGUAGES) >= 10
    assert stem_tokens(["寿司"], "ja") == ["寿司"]


def test_keys_are_accent_folded_after_stemming() -> None:
    assert analyze("Jardinería", "es").keys == analyze("jardineria", "es").keys


def test_language_detection_offline() -> None:
    assert detect_language("Ideas fáciles de jardinería para el verano en casa") == "es"
    assert detect_language("Die besten Ideen für den Garten im Sommer") == "de"
    assert detect_language("Recettes faciles pour un dîner végétarien en famille") == "fr"
    assert detect_language("Easy vegan dinner recipes for busy weeknights") == "en"


def test_short_text_uses_hint_or_default() -> None:
    assert detect_language("yoga", hint="pt") == "pt"
    assert detect_language("DIY", default="en") == "en"
    assert detect_language("🌿🌿 123") == "en"


def test_mixed_text_dominant_language_and_distribution() -> None:
    text = "Cozy bedroom ideas para el verano de la casa con plantas y flores bonitas"
    scores = detect_language_scores(text)
    assert scores[0][0] == detect_language(text)
    assert abs(sum(p for _, p in scores) - 1.0) < 1e-3
    # a hint wins when the model is unsure
    assert detect_language("bedroom casa", hint="en", min_chars=1, min_confidence=0.99) == "en"


def test_ngram_windows_1_to_6() -> None:
    toks = "a b c d e f g".split()
    grams = list(ngrams(toks))
    assert "a b c d e f" in grams and "a b c d e f g" not in grams
    assert len(grams) == 7 + 6 + 5 + 4 + 3 + 2
    assert list(ngrams(["x", "y"], 2, 2)) == ["x y"]
