"""Analysis must produce OpenSearch 2.19 / Lucene 9 token streams exactly.

Expected outputs come from Lucene's own tests (TestStandardAnalyzer, the Porter reference
behaviour) and from the OpenSearch documentation's ``_analyze`` examples; each case says where.
"""

from __future__ import annotations

import random

import pytest

from localnode.analysis import (ANALYZER_NAMES, Analyzer, Token, UnknownAnalyzerError, build_analyzer,
                                get_analyzer)
from localnode.analysis import uax29
from localnode.analysis.filters import ENGLISH_STOP_WORDS, java_lower
from localnode.analysis.porter import porter_stem_uncached
from localnode.analysis.tokenizers import StandardTokenizer, WhitespaceTokenizer
from localnode.errors import IllegalArgumentError


def tokens(text: str, max_token_length: int = 255) -> list[str]:
    """Raw StandardTokenizer output (no lowercasing), via the offsets/types path."""
    return [t for t, _, _, _ in StandardTokenizer(max_token_length).tokens(text)]


def types(text: str) -> list[str]:
    return [k for _, _, _, k in StandardTokenizer().tokens(text)]


# -- StandardTokenizer: Lucene's TestStandardAnalyzer -----------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("B2B", ["B2B"]), ("2B", ["2B"]),
    ("some-dashed-phrase", ["some", "dashed", "phrase"]),
    ("dogs,chase,cats", ["dogs", "chase", "cats"]),
    ("ac/dc", ["ac", "dc"]),
    ("O'Reilly", ["O'Reilly"]), ("you're", ["you're"]), ("she's", ["she's"]), ("Jim's", ["Jim's"]),
    ("don't", ["don't"]), ("O'Reilly's", ["O'Reilly's"]),
    ("21.35", ["21.35"]), ("R2D2 C3PO", ["R2D2", "C3PO"]), ("216.239.63.104", ["216.239.63.104"]),
    ("David has 5000 bones", ["David", "has", "5000", "bones"]),
    ("C embedded developers wanted", ["C", "embedded", "developers", "wanted"]),
    ("foo      bar .  FOO <> BAR", ["foo", "bar", "FOO", "BAR"]),
    ('"QUOTED" word', ["QUOTED", "word"]),
    ("안녕하세요 한글입니다", ["안녕하세요", "한글입니다"]),
    ("", []), (".", []), (" ", []),
    ("moͤchte", ["moͤchte"]),  # LUCENE-1545: combining mark stays in the token
    # testMid
    ("A:B", ["A:B"]), ("A::B", ["A", "B"]), ("1.2", ["1.2"]), ("A.B", ["A.B"]), ("1..2", ["1", "2"]),
    ("A..B", ["A", "B"]), ("1,2", ["1,2"]), ("1,,2", ["1", "2"]), ("A.:B", ["A", "B"]), ("A:.B", ["A", "B"]),
    ("1,.2", ["1", "2"]), ("1.,2", ["1", "2"]), ("A:B_A:B", ["A:B_A:B"]), ("A:B_A::B", ["A:B_A", "B"]),
    ("1.2_1.2", ["1.2_1.2"]), ("A.B_A.B", ["A.B_A.B"]), ("1.2_1..2", ["1.2_1", "2"]), ("A.B_A..B", ["A.B_A", "B"]),
    ("1,2_1,2", ["1,2_1,2"]), ("1,2_1,,2", ["1,2_1", "2"]), ("C_A.:B", ["C_A", "B"]), ("C_A:.B", ["C_A", "B"]),
    ("3_1,.2", ["3_1", "2"]), ("3_1.,2", ["3_1", "2"]),
    # testThai / testLao / testChinese
    ("การที่ได้ต้องแสดงว่างานดี. แล้วเธอจะไปไหน? ๑๒๓๔", ["การที่ได้ต้องแสดงว่างานดี", "แล้วเธอจะไปไหน", "๑๒๓๔"]),
    ("ສາທາລະນະລັດ ປະຊາທິປະໄຕ ປະຊາຊົນລາວ", ["ສາທາລະນະລັດ", "ປະຊາທິປະໄຕ", "ປະຊາຊົນລາວ"]),
    ("我是中国人。 １２３４ Ｔｅｓｔｓ ", ["我", "是", "中", "国", "人", "１２３４", "Ｔｅｓｔｓ"]),
    ("ざ", ["ざ"]), ("ザ", ["ザ"]), ("壹゙", ["壹゙"]), ("아゙", ["아゙"]),  # testCombiningMarks
])
def test_standard_tokenizer_lucene_cases(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected
    assert StandardTokenizer().raw_terms(text) == expected


def test_standard_tokenizer_long_scripts() -> None:
    # TestStandardAnalyzer.testGreek / testFarsi (first tokens) and testArabic (mixed with Latin)
    assert tokens("Γράφεται σε συνεργασία από εθελοντές με το λογισμικό wiki, κάτι που")[:9] == [
        "Γράφεται", "σε", "συνεργασία", "από", "εθελοντές", "με", "το", "λογισμικό", "wiki"]
    assert tokens("ویکی پدیای انگلیسی در تاریخ ۲۵ دی ۱۳۷۹ به صورت") == [
        "ویکی", "پدیای", "انگلیسی", "در", "تاریخ", "۲۵", "دی", "۱۳۷۹", "به", "صورت"]
    assert tokens('يسمى "الحقيقة بالأرقام: قصة ويكيبيديا" (بالإنجليزية: Truth in Numbers)') == [
        "يسمى", "الحقيقة", "بالأرقام", "قصة", "ويكيبيديا", "بالإنجليزية", "Truth", "in", "Numbers"]


@pytest.mark.parametrize("text, expected, kinds", [
    ("David has 5000 bones", ["David", "has", "5000", "bones"], ["<ALPHANUM>", "<ALPHANUM>", "<NUM>", "<ALPHANUM>"]),
    ("𩬅艱鍟䇹愯瀛", ["𩬅", "艱", "鍟", "䇹", "愯", "瀛"], ["<IDEOGRAPHIC>"] * 6),
    ("훈민정음", ["훈민정음"], ["<HANGUL>"]),
    ("仮名遣い カタカナ", ["仮", "名", "遣", "い", "カタカナ"],
     ["<IDEOGRAPHIC>", "<IDEOGRAPHIC>", "<IDEOGRAPHIC>", "<HIRAGANA>", "<KATAKANA>"]),
    ("ひらがな", ["ひ", "ら", "が", "な"], ["<HIRAGANA>"] * 4),  # one token per hiragana
    ("💩 💩💩", ["💩", "💩", "💩"], ["<EMOJI>"] * 3),
    ("👩\u200d❤️\u200d👩", ["👩\u200d❤️\u200d👩"], ["<EMOJI>"]),  # zwj sequence
    ("👨🏼\u200d⚕️", ["👨🏼\u200d⚕️"], ["<EMOJI>"]),  # with a fitzpatrick modifier
    ("🇺🇸🇺🇸", ["🇺🇸", "🇺🇸"], ["<EMOJI>", "<EMOJI>"]),  # regional indicators pair up
    ("#️⃣", ["#️⃣"], ["<EMOJI>"]), ("3️⃣", ["3️⃣"], ["<EMOJI>"]),  # keycaps
    ("#\ufe0e", [], []),
    ("3\ufe0e", ["3\ufe0e"], ["<NUM>"]),  # text presentation: a number
    ("\u2b55\ufe0e", ["\u2b55"], ["<EMOJI>"]),
    ("\u2b55\ufe0e\u200d\u2b55\ufe0e", ["\u2b55", "\u200d\u2b55"], ["<EMOJI>", "<EMOJI>"]),
    ("🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
     ["🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"], ["<EMOJI>"]),  # tag sequence
    ("poo💩poo", ["poo", "💩", "poo"], ["<ALPHANUM>", "<EMOJI>", "<ALPHANUM>"]),
    ("💩中國💩", ["💩", "中", "國", "💩"], ["<EMOJI>", "<IDEOGRAPHIC>", "<IDEOGRAPHIC>", "<EMOJI>"]),
    ("ราคา 100 บาท", ["ราคา", "100", "บาท"], ["<SOUTHEAST_ASIAN>", "<NUM>", "<SOUTHEAST_ASIAN>"]),
])
def test_standard_tokenizer_types(text: str, expected: list[str], kinds: list[str]) -> None:
    assert tokens(text) == expected
    assert types(text) == kinds


def test_reference_behaviour_of_section_4_4() -> None:
    # apostrophes and dots between letters/digits stay; '_' joins; hyphens, emails and URLs split
    assert tokens("don't 3.14 U.S.A foo_bar _x_ well-known") == [
        "don't", "3.14", "U.S.A", "foo_bar", "_x_", "well", "known"]
    assert tokens("mail john.doe@example.com or visit https://www.example.com/a/b?q=1") == [
        "mail", "john.doe", "example.com", "or", "visit", "https", "www.example.com", "a", "b", "q", "1"]


def test_offsets() -> None:  # TestStandardAnalyzer.testOffsets
    assert [(s, e) for _, s, e, _ in StandardTokenizer().tokens("David has 5000 bones")] == [
        (0, 5), (6, 9), (10, 14), (15, 20)]


def test_max_token_length_splits_long_tokens() -> None:
    b255 = "b" * 255
    # testMaxTokenLengthDefault: exactly 255 stays whole, 256 becomes 255 + 1
    assert get_analyzer("standard").terms(f"x {b255} {b255}b") == ["x", b255, b255, "b"]
    assert tokens(f"x {b255} {b255}b") == ["x", b255, b255, "b"]
    # testMaxTokenLengthNonDefault (max_token_length 5)
    assert tokens("ab cd toolong xy z", 5) == ["ab", "cd", "toolo", "ng", "xy", "z"]
    assert StandardTokenizer(5).raw_terms("ab cd toolong xy z") == ["ab", "cd", "toolo", "ng", "xy", "z"]
    # the split is the longest match that fits: "a.b" must not end on the dot
    assert tokens("abc.de", 4) == ["abc", "de"]
    # UTF-16 units: a supplementary character counts twice
    assert tokens("𩬅" * 3) == ["𩬅", "𩬅", "𩬅"]
    assert tokens("a" * 254 + "𐌀b") == ["a" * 254, "𐌀b"]


def test_custom_max_token_length_from_settings() -> None:
    analysis = {"analyzer": {"short": {"type": "standard", "max_token_length": 5}}}
    assert build_analyzer("short", analysis).terms("ab cd toolong xy z") == ["ab", "cd", "toolo", "ng", "xy", "z"]


# -- lowercase ------------------------------------------------------------------------------------

def test_lowercase_is_per_code_point_java() -> None:
    assert java_lower("İSTANBUL") == "istanbul"        # Java: U+0130 -> 'i'; Python: 'i̇'
    assert "İ".lower() != "i"
    assert java_lower("ΟΔΟΣ") == "οδοσ"                # no final-sigma rule in Java
    assert java_lower("ǅ") == "ǆ" and java_lower("Straße") == "straße"
    assert get_analyzer("standard").terms("İSTANBUL ΟΔΟΣ Straße") == ["istanbul", "οδοσ", "straße"]


# -- built-in analyzers ---------------------------------------------------------------------------

DOC_TEXT = "It’s fun to contribute a brand-new PR or 2 to OpenSearch!"


@pytest.mark.parametrize("name, expected", [  # OpenSearch docs, "Built-in analyzers" table
    ("standard", ["it’s", "fun", "to", "contribute", "a", "brand", "new", "pr", "or", "2", "to", "opensearch"]),
    ("simple", ["it", "s", "fun", "to", "contribute", "a", "brand", "new", "pr", "or", "to", "opensearch"]),
    ("whitespace", ["It’s", "fun", "to", "contribute", "a", "brand-new", "PR", "or", "2", "to", "OpenSearch!"]),
    ("stop", ["s", "fun", "contribute", "brand", "new", "pr", "opensearch"]),
    ("keyword", [DOC_TEXT]),
    ("english", ["fun", "contribut", "brand", "new", "pr", "2", "opensearch"]),
])
def test_builtin_analyzers_on_the_docs_sentence(name: str, expected: list[str]) -> None:
    assert get_analyzer(name).terms(DOC_TEXT) == expected
    assert [t.term for t in get_analyzer(name).analyze(DOC_TEXT)] == expected


def test_standard_docs_example() -> None:  # docs: tokenizers/standard.md
    out = get_analyzer("standard").analyze("OpenSearch is powerful, fast, and scalable.")
    assert out[:2] == [Token("opensearch", 0, 0, 10, "<ALPHANUM>"), Token("is", 1, 11, 13, "<ALPHANUM>")]
    assert [t.term for t in out] == ["opensearch", "is", "powerful", "fast", "and", "scalable"]


def test_english_possessives_and_order() -> None:
    english = get_analyzer("english")
    assert english.terms("John's") == ["john"]
    assert english.terms("JOHN'S") == ["john"]
    assert english.terms("John’s car") == ["john", "car"]
    assert english.terms("John＇s") == ["john"]
    # possessive runs before stop: "It's" -> "It" -> "it" is a stop word
    assert english.terms("It's the dog's toy") == ["dog", "toi"]
    # ... and lowercase before stop: "The" is removed
    assert english.terms("The Running Students") == ["run", "student"]
    assert english.terms("the foxes jumping quickly") == ["fox", "jump", "quickli"]


@pytest.mark.parametrize("word, stem", [
    ("study", "studi"), ("students", "student"), ("running", "run"), ("generalization", "gener"),
    ("happiness", "happi"), ("relational", "relat"), ("conditional", "condit"), ("ponies", "poni"),
    ("caresses", "caress"), ("sky", "sky"), ("runners", "runner"), ("ran", "ran"),
    # Porter's own examples in the reference implementation
    ("ties", "ti"), ("caress", "caress"), ("cats", "cat"), ("feed", "feed"), ("agreed", "agre"),
    ("disabled", "disabl"), ("matting", "mat"), ("mating", "mate"), ("meeting", "meet"), ("milling", "mill"),
    ("messing", "mess"), ("meetings", "meet"), ("happy", "happi"), ("hopeful", "hope"), ("goodness", "good"),
    ("electrical", "electr"), ("adjustable", "adjust"), ("rate", "rate"), ("controll", "control"),
    # where Lucene (Porter's reference code) departs from Snowball's "porter" (PyStemmer)
    ("archaeology", "archaeolog"), ("apology", "apolog"),   # logi -> log
    ("horribly", "horribl"), ("humbly", "humbl"),           # bli -> ble
    ("trekking", "trek"), ("revved", "rev"),                # any double consonant undoubled
    ("us", "us"), ("is", "is"), ("ps", "ps"),               # 1-2 letter words untouched
])
def test_porter_matches_lucene(word: str, stem: str) -> None:
    assert porter_stem_uncached(word) == stem
    assert get_analyzer("english").terms(word) == ([stem] if word not in ENGLISH_STOP_WORDS else [])


def test_porter_counts_utf16_units_like_java() -> None:
    # A supplementary character is two UTF-16 units: "𐌀s" has length 3 and loses its "s".
    assert porter_stem_uncached("𐌀s") == "𐌀"
    assert porter_stem_uncached("és") == "és"  # two units: left alone


def test_stop_words_are_the_33_english_words() -> None:
    assert len(ENGLISH_STOP_WORDS) == 33
    assert get_analyzer("english").terms(" ".join(sorted(ENGLISH_STOP_WORDS))) == []


# -- positions, count, end_position ---------------------------------------------------------------

def test_stop_words_leave_position_gaps() -> None:
    english = get_analyzer("english")
    assert english.terms_with_positions("the quick brown fox jumps over the lazy dog") == (
        ["quick", "brown", "fox", "jump", "over", "lazi", "dog"], [1, 2, 3, 4, 5, 7, 8])
    out = english.analyze("The cat and the hat")
    assert [(t.term, t.position, t.start_offset, t.end_offset) for t in out] == [
        ("cat", 1, 4, 7), ("hat", 4, 16, 19)]


def test_count_is_the_bm25_field_length() -> None:
    english, standard = get_analyzer("english"), get_analyzer("standard")
    assert english.count("the cat and the hat") == 2      # stop words do not count
    assert standard.count("the cat and the hat") == 5     # standard keeps stop words
    assert english.count("") == 0 and standard.count("...") == 0
    assert get_analyzer("keyword").count("") == 1         # KeywordTokenizer emits an empty token
    assert get_analyzer("keyword").terms("") == [""]
    folding = build_analyzer("f", {"analyzer": {"f": {"tokenizer": "standard", "filter": ["lowercase", "pf"]}},
                                    "filter": {"pf": {"type": "asciifolding", "preserve_original": True}}})
    assert folding.terms_with_positions("Açaí bowl") == (["acai", "açaí", "bowl"], [0, 0, 1])
    assert folding.count("Açaí bowl") == 2                # the stacked original overlaps: not counted


def test_end_position_includes_trailing_stop_words() -> None:
    english = get_analyzer("english")
    assert english.end_position("cat in the") == 3
    assert english.terms_with_positions("cat in the") == (["cat"], [0])


def test_fast_paths_agree_with_full_analysis() -> None:
    texts = ["Easy DIY Home Decor Ideas for Small Spaces", "Mom's 10-Minute Chicken, Rice & Beans!",
             "Pâtes à la crème 🍝 — recette facile 😍👍🏻 #dinner", "İSTANBUL ΟΔΟΣ", "a_b __c__ 1,000.50",
             "Ⓜ️ and א'ב", "", "   ", "x" * 600]
    for name in ANALYZER_NAMES:
        analyzer = get_analyzer(name)
        for text in texts:
            full = analyzer.analyze(text)
            assert analyzer.terms(text) == [t.term for t in full], (name, text)
            assert analyzer.terms_with_positions(text) == ([t.term for t in full], [t.position for t in full])
            assert analyzer.count(text) == len({t.position for t in full})


def test_fast_tokenizer_matches_exact_grammar_on_random_text() -> None:
    """The leftmost-first fast pattern must find JFlex's leftmost-longest tokens."""
    alphabet = list("aZ9 _.:,;'\"-#*") + ["\u0301", "\u00ad", "\u200d", "\ufe0f", "\ufe0e", "\u20e3", "א", "カ",
                                           "ー", "한", "中", "々", "ひ", "ก", "\u0e31", "👍", "🏻", "❤", "🇺", "é",
                                           "１", "\u2019", "٣", "©", "Ⓜ"]
    rng = random.Random(7)
    exact = uax29.exact_pattern()
    tokenizer = StandardTokenizer()
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        sym = uax29.symbols(text)
        expected = [text[m.start():m.end()] for m in exact.finditer(sym)]
        if not uax29.needs_exact(sym):
            assert [text[m.start():m.end()] for m in uax29.FAST.finditer(sym)] == expected, repr(text)
        assert tokenizer.raw_terms(text) == expected, repr(text)
        assert tokenizer.raw_terms(text, lower=True) == ([t.lower() for t in expected] if text.isascii()
                                                         else expected), repr(text)


def test_conflict_characters_use_the_exact_matcher() -> None:
    # U+24C2 is both a letter (ALetter) and an emoji: the ZWJ sequence is longer than the word.
    assert tokens("Ⓜ\u200d👍 x") == ["Ⓜ\u200d👍", "x"]
    # Hebrew letter + ASCII apostrophe at the end (WB7a): kept, although ASCII "a'" drops it.
    assert tokens("אב' a'") == ["אב'", "a"]


# -- whitespace / simple / keyword details --------------------------------------------------------

def test_whitespace_uses_java_whitespace() -> None:
    ws = get_analyzer("whitespace")
    assert ws.terms("a\u00a0b c\u2007d e\u2003f") == ["a\u00a0b", "c\u2007d", "e", "f"]  # no-break spaces join
    assert ws.terms("x" * 300) == ["x" * 255, "x" * 45]                            # CharTokenizer limit
    assert WhitespaceTokenizer().tokens("ab  cd") == [("ab", 0, 2, "word"), ("cd", 4, 6, "word")]


def test_simple_splits_on_non_letters() -> None:
    assert get_analyzer("simple").terms("Don't STOP-me now 2day café") == ["don", "t", "stop", "me", "now", "day",
                                                                           "café"]


# -- custom analyzers -----------------------------------------------------------------------------

def test_custom_analyzer_chain() -> None:
    analysis = {
        "analyzer": {
            "folded": {"type": "custom", "tokenizer": "standard",
                       "filter": ["lowercase", "asciifolding", "my_stop", "porter_stem"]},
            "poss": {"tokenizer": "whitespace", "filter": ["possessive", "lowercase"]},
            "kept": {"type": "english", "stem_exclusion": ["running"], "stopwords": ["cat"]},
            "std_stop": {"type": "standard", "stopwords": "_english_"},
        },
        "filter": {"my_stop": {"type": "stop", "stopwords": ["le", "la"]},
                   "possessive": {"type": "stemmer", "language": "possessive_english"}},
    }
    assert build_analyzer("folded", analysis).terms("Le Café de la Crème Brûlée") == ["cafe", "de", "creme", "brule"]
    assert build_analyzer("poss", analysis).terms("Bob's DOG'S") == ["bob", "dog"]
    kept = build_analyzer("kept", analysis)
    assert kept.terms("the running cat jumps") == ["the", "running", "jump"]
    assert build_analyzer("std_stop", analysis).terms_with_positions("The Cat") == (["cat"], [1])
    assert build_analyzer("standard", analysis) is get_analyzer("standard")
    assert build_analyzer({"tokenizer": "keyword", "filter": ["lowercase"]}).terms("New York") == ["new york"]
    gap = build_analyzer({"type": "custom", "tokenizer": "standard", "position_increment_gap": 10})
    assert isinstance(gap, Analyzer) and gap.position_increment_gap == 10


@pytest.mark.parametrize("definition, needle", [
    ({"type": "custom", "tokenizer": "ngram"}, "[ngram]"),
    ({"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "kstem"]}, "[kstem]"),
    ({"type": "custom", "tokenizer": "standard", "filter": ["english_possessive_stemmer"]},
     "[english_possessive_stemmer]"),
    ({"type": "custom", "tokenizer": "standard", "char_filter": ["html_strip"]}, "[html_strip]"),
    ({"type": "custom", "tokenizer": "standard", "filter": ["snow"]}, "[snowball]"),
    ({"type": "custom", "tokenizer": "standard", "filter": ["fr_stem"]}, "[french]"),
    ({"type": "standard", "stopwords": "_french_"}, "[_french_]"),
    ({"type": "pattern"}, "[pattern]"),
    ({"type": "custom"}, "tokenizer"),
    ({"type": "standard", "stopwords_path": "x.txt"}, "[stopwords_path]"),
])
def test_unsupported_components_are_named(definition: dict, needle: str) -> None:
    analysis = {"analyzer": {"bad": definition},
                "filter": {"snow": {"type": "snowball", "language": "English"},
                           "fr_stem": {"type": "stemmer", "language": "french"}}}
    with pytest.raises(UnknownAnalyzerError) as info:
        build_analyzer("bad", analysis)
    assert needle in str(info.value)
    assert isinstance(info.value, IllegalArgumentError) and info.value.status == 400


def test_unknown_names() -> None:
    with pytest.raises(UnknownAnalyzerError, match=r"\[nope\]"):
        get_analyzer("nope")
    with pytest.raises(UnknownAnalyzerError, match=r"\[nope\]"):
        build_analyzer("nope", {"analyzer": {}})
    assert set(ANALYZER_NAMES) == {"standard", "english", "simple", "stop", "whitespace", "keyword"}
