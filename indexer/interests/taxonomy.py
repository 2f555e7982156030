"""Interest taxonomies: a tree of labelled nodes with stable numeric ids.

Pin2Interest scores (pin, interest) pairs and rolls scores up to ancestors, so everything downstream
keys on a node's numeric id: index fields (``interests_l1``, ``interest_ids``), judgement files and
trained models. The ids must therefore come from the source taxonomy, never from file order, and
they must survive adding interests later (adding a node needs no retraining because the ranker
scores generic (pin, interest) features, not one weight per interest).

Two source formats are read:

* the IAB Tech Lab Content Taxonomy 3.x TSV (two header rows; ``Unique ID``, ``Parent``, ``Name``,
  ``Tier 1`` .. ``Tier 4``, ``Extension``). Most IAB ids are integers; the 3.x additions use six
  alphanumeric characters (``80DV8O``). Those are mapped to ``ALNUM_ID_OFFSET + base62(code)``, a
  pure function of the code, so the numeric id is stable across releases and file orders; the
  original code stays in :attr:`TaxonomyNode.source_id`.
* the Google product taxonomy text format: ``id - A > B > C``, ``#`` comments.

A translations file adds labels in other languages. Its format is UTF-8 TSV, one translation per
line, ``id<TAB>lang<TAB>label`` where ``id`` is the node's numeric id or its source id,
``lang`` an ISO 639-1 code; blank lines and lines starting with ``#`` are skipped.

An extensions file adds interests: UTF-8 TSV ``id<TAB>parent_id<TAB>label`` (``parent_id`` empty
for a new root), same comment rules.

Malformed input raises :class:`TaxonomyFormatError` naming the file, the line and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

__all__ = [
    "ALNUM_ID_OFFSET",
    "Taxonomy",
    "TaxonomyFormatError",
    "TaxonomyNode",
    "load_default_taxonomy",
    "load_google_taxonomy",
    "load_iab_taxonomy",
    "numeric_id",
]

#: Offset added to the base-62 value of alphanumeric IAB codes, far above any integer IAB id, so the
#: two id spaces never collide; the result stays below 2**53 (exact in JSON and float64).
ALNUM_ID_OFFSET = 100_000_000_000

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_INDEX = {c: i for i, c in enumerate(_BASE62)}
_ALNUM = re.compile(r"[0-9A-Za-z]+")
_GOOGLE_LINE = re.compile(r"^(\d+) - (.+)$")
_LANG = re.compile(r"^[a-z]{2}$")
_SPACES = re.compile(r"\s+")

DEFAULT_DATA_PACKAGE = "pinsearch.data"
DEFAULT_IAB_FILE = "iab-content-taxonomy-3.1.tsv"


class TaxonomyFormatError(ValueError):
    """A taxonomy, translations or extensions file line that cannot be used.

    Carries ``path``, ``line`` (1-based, ``None`` for whole-file problems) and ``reason`` so a CLI can
    print them and a user can fix the file.
    """

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


def numeric_id(source_id: str) -> int:
    """The stable numeric id of a taxonomy code: integers as is, alphanumerics offset base-62.

    >>> numeric_id("150")
    150
    >>> numeric_id("80DV8O") > ALNUM_ID_OFFSET
    True
    """
    code = source_id.strip()
    if code.isdigit():
        return int(code)
    if not _ALNUM.fullmatch(code):
        raise ValueError(f"taxonomy id {source_id!r} is neither an integer nor alphanumeric")
    value = 0
    for ch in code:
        value = value * 62 + _BASE62_INDEX[ch]
    return ALNUM_ID_OFFSET + value


def _norm_label(label: str) -> str:
    return _SPACES.sub(" ", label.strip()).casefold()


@dataclass(eq=False)
class TaxonomyNode:
    """One interest.

    ``path`` holds the labels from the root down to this node, so ``path[-1] == label`` and
    ``len(path) == level``. ``children`` are numeric ids in source order. ``extension`` keeps the
    IAB ``Extension`` column (e.g. ``SCD`` for sensitive-content categories), ``None`` otherwise.
    """

    id: int
    label: str
    level: int
    parent_id: int | None
    path: tuple[str, ...]
    source_id: str
    children: list[int] = field(default_factory=list)
    extension: str | None = None
    translations: dict[str, str] = field(default_factory=dict)

    def label_in(self, lang: str | None) -> str:
        """The label in ``lang`` when a translation exists, else the source label."""
        if lang and lang != "en":
            return self.translations.get(lang, self.label)
        return self.label

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "source_id": self.source_id,
            "label": self.label,
            "level": self.level,
            "parent_id": self.parent_id,
            "path": list(self.path),
            "children": list(self.children),
            "extension": self.extension,
            "translations": dict(sorted(self.translations.items())),
        }


class Taxonomy:
    """A rooted forest of :class:`TaxonomyNode` keyed by stable numeric id.

    Build one with :func:`load_iab_taxonomy`, :func:`load_google_taxonomy`,
    :func:`load_default_taxonomy` or node by node with :meth:`add_interest`.
    """

    def __init__(self, name: str = "taxonomy") -> None:
        self.name = name
        self._nodes: dict[int, TaxonomyNode] = {}
        self._by_source: dict[str, int] = {}
        self._roots: list[int] = []
        self._label_index: dict[str, list[int]] | None = None
        #: Inconsistencies repaired while loading (file:line and what was done), for reports.
        self.warnings: list[str] = []

    # -- access ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[TaxonomyNode]:
        return iter(self._nodes.values())

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __getitem__(self, node_id: int) -> TaxonomyNode:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise KeyError(f"interest id {node_id!r} is not in taxonomy {self.name!r}") from None

    def get(self, node_id: int) -> TaxonomyNode | None:
        return self._nodes.get(node_id)

    @property
    def nodes(self) -> dict[int, TaxonomyNode]:
        """All nodes by id, in source order (read-only by convention)."""
        return self._nodes

    @property
    def max_level(self) -> int:
        return max((n.level for n in self._nodes.values()), default=0)

    def roots(self) -> list[TaxonomyNode]:
        return [self._nodes[i] for i in self._roots]

    def resolve(self, ref: int | str) -> int:
        """The numeric id for a numeric id or a source id (``150``, ``"150"``, ``"80DV8O"``)."""
        if isinstance(ref, int) and not isinstance(ref, bool):
            if ref in self._nodes:
                return ref
        else:
            text = str(ref).strip()
            if text in self._by_source:
                return self._by_source[text]
            if text.isdigit() and int(text) in self._nodes:
                return int(text)
        raise KeyError(f"interest {ref!r} is not in taxonomy {self.name!r}")

    def parent(self, node_id: int) -> TaxonomyNode | None:
        pid = self[node_id].parent_id
        return None if pid is None else self._nodes[pid]

    def children(self, node_id: int) -> list[TaxonomyNode]:
        return [self._nodes[c] for c in self[node_id].children]

    def ancestors(self, node_id: int, *, include_self: bool = False) -> list[TaxonomyNode]:
        """Ancestors nearest first (parent, grandparent, ..., root).

        Pin2Interest rolls a score up this chain; ``include_self`` puts the node itself first.
        """
        node = self[node_id]
        out = [node] if include_self else []
        while node.parent_id is not None:
            node = self._nodes[node.parent_id]
            out.append(node)
        return out

    def lineage(self, node_id: int) -> list[TaxonomyNode]:
        """Root first down to the node itself (the order of :attr:`TaxonomyNode.path`)."""
        return list(reversed(self.ancestors(node_id, include_self=True)))

    def ancestor_at_level(self, node_id: int, level: int) -> TaxonomyNode | None:
        """The ancestor (or the node) at ``level``; ``None`` when the node is shallower."""
        for n in self.ancestors(node_id, include_self=True):
            if n.level == level:
                return n
        return None

    def descendants(self, node_id: int) -> list[TaxonomyNode]:
        """All nodes below ``node_id``, depth first in source order."""
        out: list[TaxonomyNode] = []
        stack = list(reversed(self[node_id].children))
        while stack:
            n = self._nodes[stack.pop()]
            out.append(n)
            stack.extend(reversed(n.children))
        return out

    def by_level(self, level: int) -> list[TaxonomyNode]:
        """Every node at ``level`` (1 = roots), in source order."""
        return [n for n in self._nodes.values() if n.level == level]

    def find_by_label(self, label: str, lang: str | None = None) -> list[TaxonomyNode]:
        """Nodes whose label (case-insensitive, whitespace-collapsed) equals ``label``.

        Labels are not unique (``Music`` is a tier-2 of Entertainment and there are several
        ``Recalls``), hence a list in source order. ``lang=None`` searches source labels and all
        translations, ``lang="en"`` only source labels, another code only that language.
        """
        if self._label_index is None:
            self._build_label_index()
        assert self._label_index is not None
        key = _norm_label(label)
        out: list[TaxonomyNode] = []
        seen: set[int] = set()
        for tag in ([None] if lang is None else [lang]):
            for nid in self._label_index.get(f"{tag or '*'}\x00{key}", []):
                if nid not in seen:
                    seen.add(nid)
                    out.append(self._nodes[nid])
        return out

    def _build_label_index(self) -> None:
        index: dict[str, list[int]] = {}
        for n in self._nodes.values():
            labels = [("en", n.label)] + sorted(n.translations.items())
            for lang, lab in labels:
                key = _norm_label(lab)
                for tag in (lang, "*"):
                    ids = index.setdefault(f"{tag}\x00{key}", [])
                    if not ids or ids[-1] != n.id:
                        ids.append(n.id)
        self._label_index = index

    # -- building ---------------------------------------------------------------------------------
    def add_interest(
        self,
        label: str,
        parent_id: int | None = None,
        *,
        id: int | None = None,
        source_id: str | None = None,
        translations: dict[str, str] | None = None,
        extension: str | None = None,
    ) -> TaxonomyNode:
        """Add an interest under ``parent_id`` (``None`` for a new root) and return it.

        Pass an explicit ``id`` to keep it stable across runs; without one the next free integer
        above the current maximum is used. Nothing else needs to change: the interest ranker scores
        (pin, interest) features, so a new node is scored as soon as it exists.
        """
        label = label.strip()
        if not label:
            raise ValueError("interest label must be a non-empty string")
        if parent_id is not None and parent_id not in self._nodes:
            raise KeyError(f"parent interest {parent_id!r} is not in taxonomy {self.name!r}")
        if id is None:
            id = max(self._nodes, default=0) + 1
        if isinstance(id, bool) or not isinstance(id, int) or id < 0:
            raise ValueError(f"interest id must be a non-negative integer, got {id!r}")
        if id in self._nodes:
            raise ValueError(f"interest id {id} already exists ({self._nodes[id].label!r})")
        src = source_id if source_id is not None else str(id)
        if src in self._by_source:
            raise ValueError(f"source id {src!r} already exists")
        if parent_id is None:
            level, path = 1, (label,)
        else:
            parent = self._nodes[parent_id]
            level, path = parent.level + 1, parent.path + (label,)
        node = TaxonomyNode(id=id, label=label, level=level, parent_id=parent_id, path=path,
                            source_id=src, extension=extension)
        for lang, text in (translations or {}).items():
            _check_lang(lang)
            node.translations[lang] = text.strip()
        self._nodes[id] = node
        self._by_source[src] = id
        if parent_id is None:
            self._roots.append(id)
        else:
            self._nodes[parent_id].children.append(id)
        self._label_index = None
        return node

    def add_translation(self, node_ref: int | str, lang: str, label: str) -> None:
        _check_lang(lang)
        if not label.strip():
            raise ValueError("translation label must be non-empty")
        self[self.resolve(node_ref)].translations[lang] = label.strip()
        self._label_index = None

    def load_translations(self, path: str | Path) -> int:
        """Read a ``id<TAB>lang<TAB>label`` file (see module docstring); returns lines applied."""
        count = 0
        for lineno, cols in _iter_tsv(path):
            if len(cols) != 3:
                raise TaxonomyFormatError(path, lineno, f"expected 3 tab-separated columns "
                                          f"(id, lang, label), got {len(cols)}")
            ref, lang, label = (c.strip() for c in cols)
            if not _LANG.match(lang):
                raise TaxonomyFormatError(path, lineno, f"lang {lang!r} is not an ISO 639-1 code")
            if not label:
                raise TaxonomyFormatError(path, lineno, "empty label")
            try:
                nid = self.resolve(ref)
            except KeyError:
                raise TaxonomyFormatError(path, lineno, f"unknown interest id {ref!r}") from None
            self._nodes[nid].translations[lang] = label
            count += 1
        self._label_index = None
        return count

    def load_extensions(self, path: str | Path) -> list[TaxonomyNode]:
        """Add interests from a ``id<TAB>parent_id<TAB>label`` file (see module docstring)."""
        added: list[TaxonomyNode] = []
        for lineno, cols in _iter_tsv(path):
            if len(cols) != 3:
                raise TaxonomyFormatError(path, lineno, f"expected 3 tab-separated columns "
                                          f"(id, parent_id, label), got {len(cols)}")
            ref, parent_ref, label = (c.strip() for c in cols)
            try:
                nid = numeric_id(ref)
            except ValueError as exc:
                raise TaxonomyFormatError(path, lineno, str(exc)) from None
            try:
                parent = self.resolve(parent_ref) if parent_ref else None
            except KeyError:
                raise TaxonomyFormatError(path, lineno,
                                          f"unknown parent interest {parent_ref!r}") from None
            try:
                added.append(self.add_interest(label, parent, id=nid, source_id=ref))
            except (ValueError, KeyError) as exc:
                raise TaxonomyFormatError(path, lineno, str(exc)) from None
        return added

    def check(self) -> None:
        """Assert the tree invariants (levels, paths, parents, children); raises ``ValueError``."""
        for n in self._nodes.values():
            if n.parent_id is None:
                if n.level != 1 or n.path != (n.label,):
                    raise ValueError(f"root {n.id} has level {n.level} / path {n.path}")
                continue
            p = self._nodes.get(n.parent_id)
            if p is None:
                raise ValueError(f"node {n.id} has unknown parent {n.parent_id}")
            if n.level != p.level + 1 or n.path != p.path + (n.label,) or n.id not in p.children:
                raise ValueError(f"node {n.id} ({n.label!r}) disagrees with parent {p.id}")

    def to_records(self) -> list[dict[str, object]]:
        return [n.to_dict() for n in self._nodes.values()]


def _check_lang(lang: str) -> None:
    if not _LANG.match(lang):
        raise ValueError(f"lang {lang!r} is not an ISO 639-1 code (two lowercase letters)")


def _read_lines(path: str | Path, data: bytes | None = None) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without line end); UTF-8 decoded per line for precise errors."""
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise TaxonomyFormatError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            yield lineno, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TaxonomyFormatError(path, lineno, f"invalid UTF-8 at byte {exc.start}") from None


def _iter_tsv(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    for lineno, text in _read_lines(path):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        yield lineno, text.split("\t")


# -- IAB ------------------------------------------------------------------------------------------
def load_iab_taxonomy(path: str | Path | None = None, *, translations: str | Path | None = None,
                      name: str = "iab-content-taxonomy-3.1") -> Taxonomy:
    """Load an IAB Content Taxonomy 3.x TSV (the bundled 3.1 copy when ``path`` is ``None``)."""
    if path is None:
        data = resources.files(DEFAULT_DATA_PACKAGE).joinpath(DEFAULT_IAB_FILE).read_bytes()
        shown: str | Path = f"{DEFAULT_DATA_PACKAGE}/{DEFAULT_IAB_FILE}"
        tax = _parse_iab(_read_lines(shown, data), shown, name)
    else:
        tax = _parse_iab(_read_lines(path), path, name)
    if translations is not None:
        tax.load_translations(translations)
    return tax


def load_default_taxonomy() -> Taxonomy:
    """The bundled IAB Content Taxonomy 3.1 (works without ``/work/shared``)."""
    return load_iab_taxonomy(None)


def _parse_iab(lines: Iterable[tuple[int, str]], path: str | Path, name: str) -> Taxonomy:
    header: list[str] | None = None
    pre_header: list[str] = []
    rows: list[tuple[int, str, str, str, list[str], str | None]] = []
    col: dict[str, int] = {}
    tier_cols: list[int] = []
    ext_col: int | None = None
    for lineno, text in lines:
        if not text.strip():
            continue
        cells = text.split("\t")
        if header is None:
            if cells[0].strip().casefold() == "unique id":
                header = [c.strip() for c in cells]
                for i, h in enumerate(header):
                    col.setdefault(h.casefold(), i)
                tier_cols = [i for i, h in enumerate(header) if re.fullmatch(r"(?i)tier \d+", h)]
                missing = [h for h in ("unique id", "parent", "name") if h not in col]
                if missing or not tier_cols:
                    raise TaxonomyFormatError(path, lineno, "IAB header needs 'Unique ID', "
                                              "'Parent', 'Name' and 'Tier N' columns; missing "
                                              + ", ".join(missing or ["Tier 1"]))
                for i, h in enumerate(pre_header):
                    if h.strip().casefold() == "extension":
                        ext_col = i
                if ext_col is None and "extension" in col:
                    ext_col = col["extension"]
            elif lineno > 5:
                raise TaxonomyFormatError(path, lineno, "no IAB header row starting with "
                                          "'Unique ID' in the first lines; is this an IAB TSV?")
            else:
                pre_header = cells
            continue
        need = max([col["unique id"], col["parent"], col["name"]] + tier_cols) + 1
        if len(cells) < need:
            raise TaxonomyFormatError(path, lineno, f"expected at least {need} tab-separated "
                                      f"columns, got {len(cells)}")
        uid = cells[col["unique id"]].strip()
        parent = cells[col["parent"]].strip()
        label = cells[col["name"]].strip()
        tiers = [cells[i].strip() for i in tier_cols]
        if not uid:
            raise TaxonomyFormatError(path, lineno, "empty 'Unique ID'")
        if not label:
            raise TaxonomyFormatError(path, lineno, f"empty 'Name' for id {uid}")
        filled = [t for t in tiers if t]
        if not filled or tiers[: len(filled)] != filled:
            raise TaxonomyFormatError(path, lineno, f"tier columns of id {uid} must be filled "
                                      f"from 'Tier 1' without gaps, got {tiers}")
        if filled[-1] != label:
            raise TaxonomyFormatError(path, lineno, f"'Name' {label!r} differs from the last "
                                      f"tier {filled[-1]!r} for id {uid}")
        ext = cells[ext_col].strip() if ext_col is not None and ext_col < len(cells) else ""
        rows.append((lineno, uid, parent, label, filled, ext or None))
    if header is None:
        raise TaxonomyFormatError(path, None, "empty file or no IAB header row ('Unique ID ...')")

    tax = Taxonomy(name)
    numeric: dict[str, int] = {}
    used: set[int] = set()
    for lineno, uid, _parent, _label, _tiers, _ext in rows:
        try:
            nid = numeric_id(uid)
        except ValueError as exc:
            raise TaxonomyFormatError(path, lineno, str(exc)) from None
        if uid in numeric:
            raise TaxonomyFormatError(path, lineno, f"duplicate id {uid}")
        if nid in used:
            raise TaxonomyFormatError(path, lineno, f"id {uid} collides with another numeric id")
        numeric[uid] = nid
        used.add(nid)
    # Rows are not in tree order in 3.1 (e.g. Music children follow Medical Health), so insert
    # level by level; source order is kept within a level.
    by_uid = {r[1]: r for r in rows}
    by_path: dict[tuple[str, ...], list[str]] = {}
    for r in rows:
        by_path.setdefault(tuple(r[4]), []).append(r[1])
    for level in range(1, max(len(r[4]) for r in rows) + 1):
        for lineno, uid, parent, label, tiers, ext in rows:
            if len(tiers) != level:
                continue
            if level == 1:
                if parent:
                    raise TaxonomyFormatError(path, lineno, f"tier-1 id {uid} has parent {parent}")
                tax.add_interest(label, None, id=numeric[uid], source_id=uid, extension=ext)
                continue
            if not parent:
                raise TaxonomyFormatError(path, lineno, f"id {uid} at tier {level} has no parent")
            prow = by_uid.get(parent)
            if prow is None:
                raise TaxonomyFormatError(path, lineno, f"parent {parent} of id {uid} is not "
                                          "in the file")
            if prow[4] != tiers[:-1]:
                # IAB 3.1 has two such rows (376 Public Radio, 497 Horse Racing) whose Parent
                # column skips a tier. The tier columns are the published hierarchy, so the
                # parent is the node at the tier path when exactly one exists.
                fixes = by_path.get(tuple(tiers[:-1]), [])
                if len(fixes) != 1:
                    raise TaxonomyFormatError(path, lineno, f"tiers of id {uid} "
                                              f"({' > '.join(tiers)}) do not extend those of its "
                                              f"parent {parent} ({' > '.join(prow[4])})")
                tax.warnings.append(f"{path}:{lineno}: id {uid} ({label}) has Parent {parent} "
                                    f"but tiers {' > '.join(tiers)}; used parent {fixes[0]} "
                                    "from the tier columns")
                parent = fixes[0]
            tax.add_interest(label, numeric[parent], id=numeric[uid], source_id=uid,
                             extension=ext)
    # Restore source order for iteration (add_interest inserted level by level).
    tax._nodes = {numeric[r[1]]: tax._nodes[numeric[r[1]]] for r in rows}
    return tax


# -- Google ---------------------------------------------------------------------------------------
def load_google_taxonomy(path: str | Path, *, translations: str | Path | None = None,
                         name: str = "google-product-taxonomy") -> Taxonomy:
    """Load the Google product taxonomy text format (``id - A > B > C``)."""
    tax = Taxonomy(name)
    by_path: dict[tuple[str, ...], int] = {}
    pending: list[tuple[int, int, tuple[str, ...]]] = []
    for lineno, text in _read_lines(path):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        m = _GOOGLE_LINE.match(text.strip())
        if m is None:
            raise TaxonomyFormatError(path, lineno, "expected 'id - Category > Sub > ...', got "
                                      f"{text[:80]!r}")
        nid = int(m.group(1))
        labels = tuple(p.strip() for p in m.group(2).split(" > "))
        if any(not p for p in labels):
            raise TaxonomyFormatError(path, lineno, f"empty category name in {m.group(2)!r}")
        if labels in by_path:
            raise TaxonomyFormatError(path, lineno, f"duplicate path {' > '.join(labels)}")
        by_path[labels] = nid
        pending.append((lineno, nid, labels))
    seen: set[int] = set()
    for lineno, nid, labels in pending:
        if nid in seen:
            raise TaxonomyFormatError(path, lineno, f"duplicate id {nid}")
        seen.add(nid)
    # Parents normally precede children; insert by depth so an out-of-order file still loads.
    for depth in range(1, max((len(p[2]) for p in pending), default=0) + 1):
        for lineno, nid, labels in pending:
            if len(labels) != depth:
                continue
            parent = None
            if depth > 1:
                parent = by_path.get(labels[:-1])
                if parent is None:
                    raise TaxonomyFormatError(path, lineno, "parent category "
                                              f"{' > '.join(labels[:-1])!r} is not in the file")
            tax.add_interest(labels[-1], parent, id=nid, source_id=str(nid))
    tax._nodes = {p[1]: tax._nodes[p[1]] for p in pending}
    if translations is not None:
        tax.load_translations(translations)
    return tax
