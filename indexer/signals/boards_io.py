"""Reading and writing the plain-text interaction formats used by the evaluation commands.

Two formats, both taken from public data sets so that other real sets in the same shape can be
evaluated unchanged:

* **boards**: ``board_id<TAB>space-separated pin ids`` (``pinterest-boards/boards.tsv``). A first
  line whose first field is ``board_id`` is a header and skipped.
* **sessions**: one session per line, space-separated item ids in click order
  (``sessions/diginetica-train.tsv``); a test file holds ``prefix items<TAB>next item``. A first
  line ``session_items`` (or any first line with a non-item header such as ``prefix``) is skipped.

Bad lines are reported with file, line number and reason through ``on_error`` (default: collected
into :class:`FormatIssues` and raised only when *no* valid line was found), so one bad line never
discards a whole file. The split helpers are deterministic for a given seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

BOARD_HEADERS = {"board_id", "board"}
SESSION_HEADERS = {"session_items", "items", "session", "prefix", "prefix_items"}


class InteractionFormatError(ValueError):
    """A file in the boards/sessions format has no usable line (message names file and fix)."""


@dataclass(slots=True)
class FormatIssues:
    """Bad lines seen while reading, as ``(file, line number, reason)``."""
    items: list[tuple[str, int, str]] = field(default_factory=list)

    def __call__(self, path: str, line_no: int, reason: str) -> None:
        self.items.append((path, line_no, reason))

    def summary(self, limit: int = 5) -> str:
        shown = "; ".join(f"{p}:{n}: {r}" for p, n, r in self.items[:limit])
        more = f" (and {len(self.items) - limit} more)" if len(self.items) > limit else ""
        return shown + more


ErrorHandler = Callable[[str, int, str], None]


def _lines(path: str | Path) -> Iterator[tuple[int, str]]:
    path = Path(path)
    if not path.is_file():
        raise InteractionFormatError(f"{path}: file not found")
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for no, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if line.strip() and not line.startswith("#"):
                yield no, line


def read_boards(path: str | Path, *, on_error: ErrorHandler | None = None) -> list[tuple[str, list[str]]]:
    """``[(board_id, [pin ids])]`` in file order; repeated pins within a board are collapsed."""
    issues = FormatIssues()
    report = on_error or issues
    boards: list[tuple[str, list[str]]] = []
    for no, line in _lines(path):
        parts = line.split("\t")
        if no == 1 and parts[0].strip().lower() in BOARD_HEADERS:
            continue
        if len(parts) != 2:
            report(str(path), no, f"expected 'board_id<TAB>pin ids', found {len(parts)} tab-separated fields")
            continue
        board_id, pins = parts[0].strip(), parts[1].split()
        if not board_id:
            report(str(path), no, "field board_id is empty")
            continue
        boards.append((board_id, list(dict.fromkeys(pins))))
    if not boards:
        detail = f": {issues.summary()}" if issues.items else ""
        raise InteractionFormatError(f"{path}: no valid 'board_id<TAB>pin ids' line{detail}")
    return boards


def read_sessions(path: str | Path, *, on_error: ErrorHandler | None = None) -> list[list[str]]:
    """Sessions (lists of item ids, click order); one-item sessions are kept (they count for popularity)."""
    sessions: list[list[str]] = []
    for no, line in _lines(path):
        if no == 1 and line.strip().lower() in SESSION_HEADERS:
            continue
        if "\t" in line:
            (on_error or (lambda *a: None))(str(path), no, "a training session line must not contain a TAB")
            line = line.replace("\t", " ")
        sessions.append(line.split())
    if not sessions:
        raise InteractionFormatError(f"{path}: no session line (expected space-separated item ids)")
    return sessions


def read_session_tests(path: str | Path, *, on_error: ErrorHandler | None = None) -> list[tuple[list[str], str]]:
    """``[(prefix items, next item)]`` from ``prefix items<TAB>next item`` lines."""
    issues = FormatIssues()
    report = on_error or issues
    tests: list[tuple[list[str], str]] = []
    for no, line in _lines(path):
        parts = line.split("\t")
        if no == 1 and parts[0].strip().lower() in SESSION_HEADERS:
            continue
        if len(parts) != 2 or not parts[0].split() or len(parts[1].split()) != 1:
            report(str(path), no, "expected 'prefix items<TAB>next item' (non-empty prefix, one next item)")
            continue
        tests.append((parts[0].split(), parts[1].strip()))
    if not tests:
        detail = f": {issues.summary()}" if issues.items else ""
        raise InteractionFormatError(f"{path}: no valid 'prefix items<TAB>next item' line{detail}")
    return tests


def write_boards(path: str | Path, boards: Iterable[tuple[str, list[str]]]) -> None:
    with Path(path).open("w", encoding="utf-8") as out:
        out.write("board_id\tpin_ids\n")
        for board_id, pins in boards:
            out.write(f"{board_id}\t{' '.join(pins)}\n")


def split_boards(boards: list[tuple[str, list[str]]], *, heldout_fraction: float = 0.2, seed: int = 0,
                 min_visible: int = 1) -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
    """Hide ``heldout_fraction`` of each board's pins (rounded down, at least one when the board has
    more than ``min_visible`` pins). Boards too small to hide anything stay whole in train.

    Deterministic: each board is shuffled with ``Random(f"{seed}:{board_id}")``, so the split of a
    board does not depend on the other boards or on file order.
    """
    train: list[tuple[str, list[str]]] = []
    heldout: list[tuple[str, list[str]]] = []
    for board_id, pins in boards:
        n_hide = min(max(int(len(pins) * heldout_fraction), 1), len(pins) - min_visible)
        if n_hide <= 0:
            train.append((board_id, list(pins)))
            continue
        order = list(pins)
        random.Random(f"{seed}:{board_id}").shuffle(order)
        hidden = set(order[:n_hide])
        train.append((board_id, [p for p in pins if p not in hidden]))
        heldout.append((board_id, [p for p in pins if p in hidden]))
    return train, heldout


def split_sessions(sessions: list[list[str]], *, test_fraction: float = 0.1
                   ) -> tuple[list[list[str]], list[tuple[list[str], str]]]:
    """The last ``test_fraction`` of the sessions (file order, which is time order in the SR-GNN
    files) become tests: prefix = all items but the last, target = the last item. Sessions shorter
    than two items cannot be tests and stay in train."""
    cut = len(sessions) - int(len(sessions) * test_fraction)
    train = [s for s in sessions[:cut]]
    tests = [(s[:-1], s[-1]) for s in sessions[cut:] if len(s) >= 2]
    train.extend(s for s in sessions[cut:] if len(s) < 2)
    return train, tests


def write_sessions(path: str | Path, sessions: Iterable[list[str]]) -> None:
    with Path(path).open("w", encoding="utf-8") as out:
        out.write("session_items\n")
        for items in sessions:
            out.write(" ".join(items) + "\n")


def write_session_tests(path: str | Path, tests: Iterable[tuple[list[str], str]]) -> None:
    with Path(path).open("w", encoding="utf-8") as out:
        out.write("prefix\tnext\n")
        for prefix, target in tests:
            out.write(f"{' '.join(prefix)}\t{target}\n")
