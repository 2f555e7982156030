"""Lucene 9's StandardTokenizer grammar (UAX#29 word breaks) as regular expressions.

Lucene generates ``StandardTokenizerImpl`` with JFlex from a grammar (``%unicode 12.1``) whose
token rules are, in priority order: EMOJI, NUM, HANGUL, KATAKANA, WORD (``<ALPHANUM>``),
SOUTHEAST_ASIAN, IDEOGRAPHIC (one Han character), HIRAGANA (one character); any other character
is skipped. JFlex takes the *longest* match at each position and breaks ties by rule order.

Why regular expressions, and how they stay fast:

* PyICU's word ``BreakIterator`` implements ICU's rules, which are not Lucene's grammar (no
  Lucene-shaped emoji rule, dictionary-based Thai, different token kinds), and is not installed.
  The grammar is small and regular, so it is transcribed here rule by rule.
* Character classes are huge (ALetter alone is ~600 ranges), and ``re`` with such classes costs
  ~50 µs per title. So the text is first mapped, one character to one character, onto a small
  alphabet of *symbols*: every code point with the same set of grammar properties gets the same
  symbol (Latin-1 characters are their own symbols, so most Western text needs no mapping). The
  grammar then runs over the symbol string with small classes, and spans carry over unchanged.
  This is the alphabet compression a JFlex-generated DFA does too. Texts without combining
  marks, joiners or ExtendNumLet (most of them) use :data:`FLAT`, a simpler equivalent pattern.
* The stdlib ``re`` engine is leftmost-first, not leftmost-longest, so the fast pattern is
  arranged so that its first match *is* the longest (argued below; checked by a differential
  test against :func:`exact_pattern`, the literal grammar under the ``regex`` module's POSIX
  leftmost-longest mode). The exact matcher is used for the rare texts where the argument does
  not hold: a character that may start an emoji and another rule (e.g. U+24C2 Ⓜ, U+3297 ㊗),
  or a Hebrew letter together with an ASCII quote (WB7a-c).

Why the fast pattern's first match is the longest one:

* NUM, HANGUL and KATAKANA are sub-languages of WORD, so only WORD is searched; the rule that
  names the token is recovered afterwards (:func:`token_type`).
* Inside WORD each junction is decided by the next one or two characters (letter, digit,
  ExtendNumLet run, one mid character), so the greedy path cannot stop early; Format/Extend/ZWJ
  never start a grammar element, so the ``X*`` after each character can be possessive.
* A digit starts both WORD and a keycap emoji, but WORD's ``X*`` covers all a keycap covers, so
  WORD is at least as long; a tie goes to EMOJI, which changes only the type.
* In an emoji ZWJ sequence the ``X*`` after a pictograph may swallow the joining ZWJ; the fast
  pattern also accepts the next element right after a ZWJ (``(?<=\\u200d)``): same language.

Unicode data: see ``_ucd_gen.py`` (Unicode 15.0 UCD, cut to code points assigned by 12.1).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

import regex

from localnode.analysis._ucd import RANGES

Ranges = list[tuple[int, int]]


def _norm(rs: Iterable[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for a, b in sorted(rs):
        if out and a <= out[-1][1] + 1:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _minus(base: Ranges, cut: Ranges) -> Ranges:
    out: Ranges = []
    for a, b in base:
        for c, d in cut:
            if d < a or c > b:
                continue
            if c > a:
                out.append((a, c - 1))
            a = d + 1
            if a > b:
                break
        if a <= b:
            out.append((a, b))
    return out


def _chars(s: str) -> Ranges:
    return _norm((ord(c), ord(c)) for c in s)


def _r(*names: str) -> Ranges:
    return _norm(r for n in names for r in RANGES[n])


# -- grammar properties (the macros of StandardTokenizerImpl.jflex) --------------------------------

_X = _r("WB_Format", "WB_Extend", "WB_ZWJ")
_KEYCAP_BASE = _chars("0123456789#*")
_EMOJI_RKAM = _norm(list(RANGES["WB_Regional_Indicator"]) + _KEYCAP_BASE + _chars("\u00a9\u00ae\u2122\u3030\u303d")
                    + list(RANGES["Emoji_Modifier"]))
PROPERTIES: dict[str, Ranges] = {
    "X": _X,                                                   # [\p{WB:Format}\p{WB:Extend}\p{WB:ZWJ}]
    "XS": _minus(_X, _chars("\ufe0e\ufe0f")),                  # ... minus presentation selectors
    "AL": _r("WB_ALetter", "WB_Hebrew_Letter"),
    "HL": _r("WB_Hebrew_Letter"),
    "NU": _r("WB_Numeric"),
    "KA": _r("WB_Katakana"),
    "ML": _r("WB_MidLetter", "WB_MidNumLet", "WB_Single_Quote"),
    "MN": _r("WB_MidNum", "WB_MidNumLet", "WB_Single_Quote"),
    "EN": _r("WB_ExtendNumLet"),
    "SQ": _r("WB_Single_Quote"),
    "DQ": _r("WB_Double_Quote"),
    "HANGUL": _r("SC_Hangul"),                                 # && AL: see _build_alphabet
    "HAN": _r("SC_Han"),
    "HIRA": _r("SC_Hiragana"),
    "SA": _r("LB_SA"),
    "RI": _r("WB_Regional_Indicator"),
    "EC": _norm(list(RANGES["Extended_Pictographic"]) + _minus(_r("Emoji"), _EMOJI_RKAM)),
    "MB": _r("Emoji_Modifier_Base"),
    "MO": _r("Emoji_Modifier"),
    "KB": _KEYCAP_BASE,
    "ZWJ": _chars("\u200d"),
    "VS16": _chars("\ufe0f"),
    "KEYCAP": _chars("\u20e3"),
    "TAGSPEC": [(0xE0020, 0xE007E)],
    "TAGTERM": [(0xE007F, 0xE007F)],
}


# -- the symbol alphabet --------------------------------------------------------------------------

_IDENTITY = 0x100


def _build_alphabet() -> tuple[str, dict[str, str]]:
    """Map every code point to a symbol; return the translate table and property -> symbols.

    Latin-1 code points (U+0000-U+00FF) are their own symbols, so Latin-1 text needs no mapping.
    Every other code point gets the symbol of its set of properties (``' '`` for none, i.e. a
    separator), drawn from U+0100 upwards.
    """
    events: list[tuple[int, int, str]] = []
    for name, rs in PROPERTIES.items():
        for a, b in rs:
            events.append((a, 1, name))
            events.append((b + 1, -1, name))
    events.sort()
    active: dict[str, int] = {}
    pieces: list[str] = []
    members: dict[str, set[str]] = {name: set() for name in PROPERTIES}
    symbol_of: dict[frozenset[str], str] = {frozenset(): " "}
    pos = 0
    i = 0

    def signature() -> frozenset[str]:
        sig = {n for n, k in active.items() if k > 0}
        if "HANGUL" in sig and "AL" not in sig:
            sig.discard("HANGUL")
        return frozenset(sig)

    def emit(lo: int, hi: int) -> None:  # [lo, hi)
        if lo >= hi:
            return
        sig = signature()
        if lo < _IDENTITY:  # Latin-1: identity symbols
            top = min(hi, _IDENTITY)
            for cp in range(lo, top):
                pieces.append(chr(cp))
                for n in sig:
                    members[n].add(chr(cp))
            lo = top
            if lo >= hi:
                return
        sym = symbol_of.get(sig)
        if sym is None:
            sym = symbol_of[sig] = chr(_IDENTITY + len(symbol_of))
            for n in sig:
                members[n].add(sym)
        pieces.append(sym * (hi - lo))

    while i < len(events):
        at = events[i][0]
        emit(pos, at)
        pos = at
        while i < len(events) and events[i][0] == at:
            _, delta, name = events[i]
            active[name] = active.get(name, 0) + delta
            i += 1
    emit(pos, 0x110000)
    table = "".join(pieces)
    assert len(table) == 0x110000
    # Lone surrogates (possible in Python strings) are separators, whatever ranges said.
    table = table[:0xD800] + " " * 0x800 + table[0xE000:]
    return table, {n: "".join(sorted(s)) for n, s in members.items()}


TABLE, _SYMBOLS = _build_alphabet()


def _cls(name: str) -> str:
    syms = _SYMBOLS[name]
    if not syms:
        return "(?!)"
    return "[" + "".join(f"\\u{ord(c):04x}" for c in syms) + "]"


# -- rule patterns over symbols -------------------------------------------------------------------

def _rules(exact: bool) -> dict[str, str]:
    """The grammar's rules. ``exact``: the literal grammar, for a leftmost-longest engine;
    otherwise the leftmost-first-safe arrangement described in the module docstring."""
    x = _cls("X")
    if exact:
        def ex(name: str) -> str:
            return f"{_cls(name)}{x}*"
        en, nu, ka, al, hl = ex("EN"), ex("NU"), ex("KA"), ex("AL"), ex("HL")
        ml, mn, sq, dq = ex("ML"), ex("MN"), ex("SQ"), ex("DQ")
        kloop = f"{ka}(?:(?:{en})*{ka})*"
        nloop = f"{nu}(?:(?:(?:{en})*|{mn}){nu})*"
        aloop = f"{al}(?:(?:(?:{en})*|{ml}){al})*"
        units = f"(?:{hl}(?:{sq}|{dq}{hl})|{nloop}|{aloop})+"
        inner = f"(?:{kloop}|{units})"
        word = f"(?:{en})*{inner}(?:(?:{en})+{inner})*(?:{en})*"
        num = f"(?:{en})*{nloop}(?:{en})*"
    else:
        # C X* repeated == C (C|X)*: one class test per character on the common path.
        def run(name: str) -> str:
            c = _SYMBOLS[name] + _SYMBOLS["X"]
            return f"{_cls(name)}[{''.join(f'{chr(92)}u{ord(s):04x}' for s in sorted(set(c)))}]*+"

        def ex(name: str) -> str:
            return f"{_cls(name)}{x}*+"
        en_run, nu_run, al_run, ka = run("EN"), run("NU"), run("AL"), ex("KA")
        ml, mn, sq, dq, hl = ex("ML"), ex("MN"), ex("SQ"), ex("DQ"), ex("HL")
        kloop = f"{ka}(?:(?:{en_run})?{ka})*"
        nloop = f"{nu_run}(?:(?:{en_run}|{mn}){nu_run})*"
        aloop = f"{al_run}(?:(?:{en_run}|{ml}){al_run})*"
        units = f"(?:{aloop}|{nloop}|{hl}(?:{sq}|{dq}{hl}))+"
        inner = f"(?:{units}|{kloop})"
        word = f"(?:{en_run})?{inner}(?:{en_run}{inner})*(?:{en_run})?"
        num = f"(?:{en_run})?{nloop}(?:{en_run})?"

    xs = f"{_cls('XS')}*"
    zwj, ec, mb, mo = _cls("ZWJ"), _cls("EC"), _cls("MB"), _cls("MO")
    elem = f"(?:{zwj}*{ec}{xs}{_cls('VS16')}?|(?:{zwj}*{mb}{xs})?{mo}{xs})"
    tags = f"{_cls('TAGSPEC')}+{_cls('TAGTERM')}"
    if exact:
        seq = f"{elem}(?:(?:{zwj}{elem})*|{tags})"
    else:
        seq = f"{elem}(?:(?:(?:{zwj}|(?<={zwj})){elem})+|{tags})?"
    keycap = f"{_cls('KB')}{xs}{_cls('VS16')}?{_cls('KEYCAP')}{xs}"
    ri = f"{_cls('RI')}{x}*"
    return {
        "EMOJI": f"{seq}|{keycap}|{ri}{ri}",
        "NUM": num,
        "HANGUL": f"(?:{_cls('HANGUL')}{x}*)+",
        "KATAKANA": f"(?:{_cls('KA')}{x}*)+",
        "WORD": word,
        "SEA": f"(?:{_cls('SA')}{x}*)+",
        "HAN": f"{_cls('HAN')}{x}*",
        "HIRA": f"{_cls('HIRA')}{x}*",
    }


_RULE_ORDER = ("EMOJI", "NUM", "HANGUL", "KATAKANA", "WORD", "SEA", "HAN", "HIRA")
TYPE_NAMES = {"EMOJI": "<EMOJI>", "NUM": "<NUM>", "HANGUL": "<HANGUL>", "KATAKANA": "<KATAKANA>",
              "WORD": "<ALPHANUM>", "SEA": "<SOUTHEAST_ASIAN>", "HAN": "<IDEOGRAPHIC>", "HIRA": "<HIRAGANA>"}

_FAST_RULES = _rules(exact=False)
#: Leftmost-first pattern over symbols whose matches are Lucene's tokens (no conflicts present).
FAST: re.Pattern[str] = re.compile("|".join(f"(?:{_FAST_RULES[k]})" for k in ("WORD", "EMOJI", "SEA", "HAN", "HIRA")))


def _flat() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A flatter, faster pattern for the common text with no Format/Extend/ZWJ character (a
    U+FE0F right after a pictograph excepted) and no ExtendNumLet: then WORD reduces to runs of
    letters/digits joined by one mid character between two letters (or two digits), katakana
    runs stand alone, and an emoji is one pictograph with an optional U+FE0F.

    Returns the pattern and a function telling whether a symbol string is outside its domain."""
    def chars(*names: str, minus: str = "") -> str:
        syms = sorted(set("".join(_SYMBOLS[n] for n in names)) - set(minus))
        return "[" + "".join(f"\\u{ord(c):04x}" for c in syms) + "]" if syms else "(?!)"
    t, al, nu = chars("AL", "NU"), chars("AL"), chars("NU")
    word = (f"{t}++(?:(?:(?<={al}){chars('ML')}(?={al})|(?<={nu}){chars('MN')}(?={nu})){t}++)*")
    vs16 = chars("VS16")  # U+FE0F's symbol (its property set is its own)
    emoji = f"{chars('RI')}{chars('RI')}|{chars('EC')}{vs16}?"
    pattern = "|".join((word, f"{chars('KA')}++", emoji, f"{chars('SA')}++", chars("HAN"), chars("HIRA")))
    other_x = re.compile(chars("X", "EN", minus=_SYMBOLS["VS16"])).search
    lone_vs16 = re.compile(f"(?<!{chars('EC')}){vs16}").search
    vs16_symbol = _SYMBOLS["VS16"]

    def not_flat(sym: str) -> bool:
        return other_x(sym) is not None or (vs16_symbol in sym and lone_vs16(sym) is not None)
    return re.compile(pattern), not_flat


#: Leftmost-first pattern for symbol strings where ``not_flat`` is false (and no conflicts).
FLAT, not_flat = _flat()

_emoji_start = set(_SYMBOLS["EC"] + _SYMBOLS["MB"] + _SYMBOLS["MO"] + _SYMBOLS["RI"] + _SYMBOLS["ZWJ"])
_other_start = set(_SYMBOLS["AL"] + _SYMBOLS["NU"] + _SYMBOLS["KA"] + _SYMBOLS["EN"] + _SYMBOLS["HAN"]
                   + _SYMBOLS["HIRA"] + _SYMBOLS["SA"])
_conflict = sorted((_emoji_start & _other_start) - set("0123456789#*"))
#: Symbol strings containing one of these need the exact matcher.
CONFLICT: re.Pattern[str] = re.compile("[" + "".join(f"\\u{ord(c):04x}" for c in _conflict) + "]" if _conflict else "(?!)")
_HEBREW: re.Pattern[str] = re.compile(_cls("HL"))

# Types use the literal rules: a backtracking fullmatch decides membership exactly.
_EXACT_RULES = _rules(exact=True)
_TYPE_PATTERNS = [(TYPE_NAMES[k], re.compile(_EXACT_RULES[k])) for k in _RULE_ORDER]


@lru_cache(maxsize=1)
def exact_pattern() -> "regex.Pattern[str]":
    """The literal grammar over symbols under POSIX (leftmost-longest) matching, like JFlex."""
    return regex.compile("(?p)" + "|".join(f"(?:{_EXACT_RULES[k]})" for k in _RULE_ORDER))


def symbols(text: str) -> str:
    """The symbol string of ``text`` (same length; Latin-1 text maps to itself)."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return text.translate(TABLE)
    return text


def needs_exact(sym: str) -> bool:
    """True when leftmost-first matching might differ from JFlex on this symbol string (rare)."""
    if CONFLICT.search(sym) is not None:
        return True
    return ("'" in sym or '"' in sym) and _HEBREW.search(sym) is not None


def token_type(sym_token: str) -> str:
    """Lucene's type for a token (given as symbols): the first rule, in grammar order, matching all of it."""
    for name, pattern in _TYPE_PATTERNS:
        if pattern.fullmatch(sym_token):
            return name
    return "<ALPHANUM>"  # unreachable for spans this grammar produced
