"""The Porter stemmer exactly as Lucene's ``PorterStemmer`` (used by ``PorterStemFilter``).

Lucene's class is Martin Porter's reference implementation ("Release 3", the ANSI C / Java
versions from tartarus.org), which departs from the 1980 paper in a few documented ways:
``-bli -> -ble`` replaces ``-abli -> -able``, ``-logi -> -log`` is added, and words of one or two
characters are left alone. This module re-implements that algorithm step by step, with the same
order of suffix tests inside each step (the first matching suffix decides, even when its
condition then fails).

Why not PyStemmer (``Stemmer.Stemmer('porter')``): it is Snowball's rendering of the *paper*,
and it disagrees with Lucene on real words, e.g. ``"generalization"`` (Lucene ``"gener"``),
``"abilities"``-style ``-bli`` words, ``"archaeology"`` (``-logi``), and two-letter words such
as ``"us"`` / ``"is"`` (Snowball strips the ``s``). See ``tests/localnode/test_analysis.py``.

Like Java, the algorithm works on UTF-16 code units: a character outside the BMP counts as two
consonants. Results are memoised in a bounded dict (stemming is the costly part of analysis and
vocabularies are Zipfian).
"""

from __future__ import annotations

_VOWELS = frozenset("aeiou")

# Step 2 (Lucene's step3) and step 3 (step4): suffix -> replacement, grouped by the character the
# reference implementation switches on, in its test order.
_STEP2 = {
    "a": (("ational", "ate"), ("tional", "tion")),
    "c": (("enci", "ence"), ("anci", "ance")),
    "e": (("izer", "ize"),),
    "l": (("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous")),
    "o": (("ization", "ize"), ("ation", "ate"), ("ator", "ate")),
    "s": (("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous")),
    "t": (("aliti", "al"), ("iviti", "ive"), ("biliti", "ble")),
    "g": (("logi", "log"),),
}
_STEP3 = {
    "e": (("icate", "ic"), ("ative", ""), ("alize", "al")),
    "i": (("iciti", "ic"),),
    "l": (("ical", "ic"), ("ful", "")),
    "s": (("ness", ""),),
}
_STEP4 = {
    "a": ("al",), "c": ("ance", "ence"), "e": ("er",), "i": ("ic",), "l": ("able", "ible"),
    "n": ("ant", "ement", "ment", "ent"), "s": ("ism",), "t": ("ate", "iti"), "u": ("ous",),
    "v": ("ive",), "z": ("ize",),
}


class _Word:
    """The mutable state of one stemming run: buffer ``b``, end ``k`` and the mark ``j``."""

    __slots__ = ("b", "k", "j")

    def __init__(self, word: str) -> None:
        self.b = list(word)
        self.k = len(self.b) - 1
        self.j = 0

    def cons(self, i: int) -> bool:
        ch = self.b[i]
        if ch in _VOWELS:
            return False
        if ch == "y":
            return True if i == 0 else not self.cons(i - 1)
        return True

    def m(self) -> int:
        """Number of VC sequences in b[0..j]."""
        n, i, j = 0, 0, self.j
        while True:
            if i > j:
                return n
            if not self.cons(i):
                break
            i += 1
        i += 1
        while True:
            while True:
                if i > j:
                    return n
                if self.cons(i):
                    break
                i += 1
            i += 1
            n += 1
            while True:
                if i > j:
                    return n
                if not self.cons(i):
                    break
                i += 1
            i += 1

    def vowel_in_stem(self) -> bool:
        return any(not self.cons(i) for i in range(self.j + 1))

    def doublec(self, j: int) -> bool:
        return j >= 1 and self.b[j] == self.b[j - 1] and self.cons(j)

    def cvc(self, i: int) -> bool:
        if i < 2 or not self.cons(i) or self.cons(i - 1) or not self.cons(i - 2):
            return False
        return self.b[i] not in "wxy"

    def ends(self, s: str) -> bool:
        o = self.k - len(s) + 1
        if o < 0 or "".join(self.b[o:self.k + 1]) != s:
            return False
        self.j = self.k - len(s)
        return True

    def setto(self, s: str) -> None:
        b, o = self.b, self.j + 1
        for idx, ch in enumerate(s):
            if o + idx < len(b):
                b[o + idx] = ch
            else:
                b.append(ch)
        self.k = self.j + len(s)

    def r(self, s: str) -> None:
        if self.m() > 0:
            self.setto(s)

    # -- the steps (Lucene's step1 .. step6) ------------------------------------------------------
    def step1ab(self) -> None:
        b = self.b
        if b[self.k] == "s":
            if self.ends("sses"):
                self.k -= 2
            elif self.ends("ies"):
                self.setto("i")
            elif b[self.k - 1] != "s":
                self.k -= 1
        if self.ends("eed"):
            if self.m() > 0:
                self.k -= 1
        elif (self.ends("ed") or self.ends("ing")) and self.vowel_in_stem():
            self.k = self.j
            if self.ends("at"):
                self.setto("ate")
            elif self.ends("bl"):
                self.setto("ble")
            elif self.ends("iz"):
                self.setto("ize")
            elif self.doublec(self.k):
                ch = b[self.k]
                if ch not in "lsz":
                    self.k -= 1
            elif self.m() == 1 and self.cvc(self.k):
                self.setto("e")

    def step1c(self) -> None:
        if self.ends("y") and self.vowel_in_stem():
            self.b[self.k] = "i"

    def step2(self) -> None:
        if self.k == 0:
            return
        for suffix, repl in _STEP2.get(self.b[self.k - 1], ()):
            if self.ends(suffix):
                self.r(repl)
                return

    def step3(self) -> None:
        for suffix, repl in _STEP3.get(self.b[self.k], ()):
            if self.ends(suffix):
                self.r(repl)
                return

    def step4(self) -> None:
        if self.k == 0:
            return
        ch = self.b[self.k - 1]
        if ch == "o":
            if not ((self.ends("ion") and self.j >= 0 and self.b[self.j] in "st") or self.ends("ou")):
                return
        else:
            for suffix in _STEP4.get(ch, ()):
                if self.ends(suffix):
                    break
            else:
                return
        if self.m() > 1:
            self.k = self.j

    def step5(self) -> None:
        self.j = self.k
        if self.b[self.k] == "e":
            a = self.m()
            if a > 1 or (a == 1 and not self.cvc(self.k - 1)):
                self.k -= 1
        if self.b[self.k] == "l" and self.doublec(self.k) and self.m() > 1:
            self.k -= 1


def _utf16_units(word: str) -> str:
    """The word as Java sees it: one Python character per UTF-16 code unit."""
    data = word.encode("utf-16-le", "surrogatepass")
    return "".join(chr(data[i] | (data[i + 1] << 8)) for i in range(0, len(data), 2))


def _stem_units(word: str) -> str:
    if len(word) <= 2:
        return word
    w = _Word(word)
    w.step1ab()
    w.step1c()
    w.step2()
    w.step3()
    w.step4()
    w.step5()
    return "".join(w.b[:w.k + 1])


def porter_stem_uncached(word: str) -> str:
    """Stem one (lowercased) word the way Lucene's PorterStemmer does."""
    if word.isascii() or max(word) <= "\uffff":
        return _stem_units(word)
    return _stem_units(_utf16_units(word)).encode("utf-16-le", "surrogatepass").decode("utf-16-le")


_CACHE: dict[str, str] = {}
CACHE_LIMIT = 200_000


def porter_stem(word: str) -> str:
    """:func:`porter_stem_uncached` behind a bounded memo (cleared when full)."""
    stem = _CACHE.get(word)
    if stem is None:
        stem = porter_stem_uncached(word)
        if len(_CACHE) >= CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[word] = stem
    return stem
