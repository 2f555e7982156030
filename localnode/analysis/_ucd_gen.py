"""Generate ``_ucd.py``: the Unicode character classes the analyzers need, as code point ranges.

Why a generated file rather than ``regex``'s ``\\p{...}`` properties at run time:

* Speed. The standard tokenizer runs on every text field of every document. The stdlib ``re``
  engine with explicit ranges is 3-10x faster than ``regex`` with property lookups.
* Pinned Unicode versions. Lucene 9 (OpenSearch 2.19) compiles its StandardTokenizer grammar with
  JFlex ``%unicode 12.1``; ``Character.toLowerCase`` / ``isLetter`` come from the JDK that
  OpenSearch 2.19 bundles (JDK 21, Unicode 15.0). The installed ``regex`` module and Python's
  ``unicodedata`` follow other versions. Generating from one pinned UCD makes the result
  independent of whatever library version is installed.

Source: the Unicode 15.0 Character Database as shipped by Debian's ``unicode-data`` package
(``apt-get install unicode-data``; files under ``/usr/share/unicode``). Tokenizer classes are cut
down to code points assigned in Unicode <= 12.1 (``DerivedAge.txt``), because JFlex treats a code
point unassigned in its Unicode version as Word_Break=Other, i.e. as a separator. The one
exception is Extended_Pictographic, which has covered the reserved emoji blocks since Unicode 11,
so later emoji are pictographic to Lucene too.

Run:  python -m localnode.analysis._ucd_gen [/usr/share/unicode]  > localnode/analysis/_ucd.py
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict

JFLEX_UNICODE = (12, 1)   # StandardTokenizerImpl.jflex: %unicode 12.1 (Lucene 9.x)
JDK_UNICODE = "15.0"      # JDK 21 java.lang.Character


def _parse(path: str) -> dict[str, set[int]]:
    """Parse a UCD ``XXXX..YYYY ; Value # comment`` file into value -> code points."""
    out: dict[str, set[int]] = defaultdict(set)
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = [f.strip() for f in line.split(";")]
            rng, value = fields[0], fields[1]
            lo, _, hi = rng.partition("..")
            out[value].update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return out


def _ranges(cps: set[int]) -> list[tuple[int, int]]:
    """Sorted inclusive ranges covering ``cps``."""
    out: list[tuple[int, int]] = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _unicode_data(path: str) -> tuple[dict[int, str], dict[int, int]]:
    """General category and simple lowercase mapping for every assigned code point."""
    gc: dict[int, str] = {}
    lower: dict[int, int] = {}
    first = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            f = line.rstrip("\n").split(";")
            cp = int(f[0], 16)
            if f[1].endswith(", First>"):
                first = cp
                continue
            start = first if f[1].endswith(", Last>") else cp
            first = None
            for c in range(start, cp + 1):
                gc[c] = f[2]
                if f[13]:
                    lower[c] = int(f[13], 16)
    return gc, lower


def generate(ucd: str) -> str:
    age = _parse(os.path.join(ucd, "DerivedAge.txt"))
    old = set()
    for version, cps in age.items():
        major, minor = (int(x) for x in version.split("."))
        if (major, minor) <= JFLEX_UNICODE:
            old |= cps
    wb = _parse(os.path.join(ucd, "auxiliary", "WordBreakProperty.txt"))
    scripts = _parse(os.path.join(ucd, "Scripts.txt"))
    lb = _parse(os.path.join(ucd, "LineBreak.txt"))
    emoji = _parse(os.path.join(ucd, "emoji", "emoji-data.txt"))
    gc, lower = _unicode_data(os.path.join(ucd, "UnicodeData.txt"))

    classes: dict[str, set[int]] = {}
    for name in ("ALetter", "Hebrew_Letter", "Numeric", "Katakana", "MidLetter", "MidNumLet", "MidNum",
                 "Single_Quote", "Double_Quote", "ExtendNumLet", "Format", "Extend", "ZWJ",
                 "Regional_Indicator"):
        classes["WB_" + name] = wb[name] & old
    for name in ("Han", "Hiragana", "Hangul"):
        classes["SC_" + name] = scripts[name] & old
    classes["LB_SA"] = lb["SA"] & old
    for name in ("Emoji", "Emoji_Modifier", "Emoji_Modifier_Base"):
        classes[name] = emoji[name] & old
    classes["Extended_Pictographic"] = set(emoji["Extended_Pictographic"])
    # java.lang.Character.isLetter: general category Lu, Ll, Lt, Lm, Lo (JDK 21 = Unicode 15.0).
    classes["JAVA_LETTER"] = {cp for cp, cat in gc.items() if cat[0] == "L"}

    # java.lang.Character.toLowerCase(int): the simple mapping of UnicodeData.txt. Store only the
    # code points where Python's str.lower() of the single character says something else (full
    # SpecialCasing mappings such as U+0130, or a different Unicode version).
    lower_exceptions: dict[int, int] = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        java = lower.get(cp, cp)
        if chr(cp).lower() != chr(java):
            lower_exceptions[cp] = java

    lines = [
        '"""GENERATED by ``python -m localnode.analysis._ucd_gen`` - do not edit.',
        "",
        "Code point ranges (inclusive) from the Unicode 15.0 UCD; tokenizer classes limited to code points",
        "assigned in Unicode <= 12.1 (Lucene 9's JFlex grammar); see _ucd_gen.py for why.",
        '"""',
        "",
        f"UCD_VERSION = {JDK_UNICODE!r}",
        f"JFLEX_UNICODE = {'.'.join(map(str, JFLEX_UNICODE))!r}",
        "",
        "RANGES: dict[str, tuple[tuple[int, int], ...]] = {",
    ]
    for name, cps in classes.items():
        lines.append(f"    {name!r}: (")
        rs = _ranges(cps)
        for i in range(0, len(rs), 6):
            chunk = ", ".join(f"(0x{a:X}, 0x{b:X})" for a, b in rs[i:i + 6])
            lines.append(f"        {chunk},")
        lines.append("    ),")
    lines.append("}")
    lines.append("")
    lines.append("# Character.toLowerCase(cp) where it differs from Python's chr(cp).lower().")
    lines.append("JAVA_LOWER_EXCEPTIONS: dict[int, int] = {")
    items = sorted(lower_exceptions.items())
    for i in range(0, len(items), 6):
        lines.append("    " + " ".join(f"0x{a:X}: 0x{b:X}," for a, b in items[i:i + 6]))
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(generate(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"))
