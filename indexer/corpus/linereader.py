"""Bounded reading of JSON Lines files.

``file.readline()`` would happily build a 50 MB string for one hostile line. Here a line is read
with a byte limit; a line longer than the limit is never held in memory: it is streamed in chunks
through :class:`FieldSizeScanner`, which finds out which top-level field is too big (and the record
id when it comes before that field) so the error can still name the field. Only the first
``head_bytes`` are kept for the rejects file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

__all__ = ["FieldSizeScanner", "RawLine", "iter_lines"]

_CHUNK = 1 << 20
_STR_RUN = re.compile(rb'[^"\\]*')
_OUT_RUN = re.compile(rb'[^"{}\[\],:]*')
_BOM = b"\xef\xbb\xbf"


class FieldSizeScanner:
    """Streams one JSON object and measures the raw byte size of each top-level value.

    It understands just enough JSON (strings, escapes, nesting) to know where each top-level value
    starts and ends; it does not validate. Memory stays bounded: keys and the captured id value are
    truncated at 256 bytes.
    """

    _CAP = 256

    def __init__(self, capture_keys: tuple[str, ...] = ()) -> None:
        self.capture_keys = tuple(k.encode() for k in capture_keys)
        self.sizes: list[tuple[str, int]] = []
        self.captured: dict[str, str] = {}
        self._offset = 0
        self._depth = 0
        self._in_str = False
        self._escape = False
        self._expect_key = False
        self._key_buf: bytearray | None = None
        self._key: bytes | None = None
        self._value_start: int | None = None
        self._val_buf: bytearray | None = None
        self._value_is_str = False

    def feed(self, chunk: bytes) -> None:
        pos, n = 0, len(chunk)
        while pos < n:
            if self._escape:
                self._escape = False
                self._capture(chunk[pos:pos + 1])
                pos += 1
                continue
            if self._in_str:
                m = _STR_RUN.match(chunk, pos)
                assert m is not None
                end = m.end()
                if end > pos:
                    self._capture(chunk[pos:end])
                pos = end
                if pos >= n:
                    break
                c = chunk[pos]
                pos += 1
                if c == 0x5C:  # backslash
                    self._capture(b"\\")
                    self._escape = True
                else:  # closing quote
                    self._in_str = False
                    self._end_string()
                continue
            m = _OUT_RUN.match(chunk, pos)
            assert m is not None
            pos = m.end()
            if pos >= n:
                break
            c = chunk[pos]
            abs_pos = self._offset + pos
            pos += 1
            if c == 0x22:  # quote
                self._in_str = True
                if self._depth == 1 and self._expect_key:
                    self._key_buf = bytearray()
                elif (self._depth == 1 and self._value_start is not None
                      and self._key in self.capture_keys):
                    self._val_buf = bytearray()
                    self._value_is_str = True
            elif c in (0x7B, 0x5B):  # { [
                self._depth += 1
                if self._depth == 1:
                    self._expect_key = True
            elif c in (0x7D, 0x5D):  # } ]
                if self._depth == 1:
                    self._close_value(abs_pos)
                self._depth -= 1
            elif c == 0x3A and self._depth == 1:  # :
                self._value_start = abs_pos + 1
                self._expect_key = False
            elif c == 0x2C and self._depth == 1:  # ,
                self._close_value(abs_pos)
                self._expect_key = True
        self._offset += n

    def _capture(self, data: bytes) -> None:
        buf = self._key_buf if self._key_buf is not None else self._val_buf
        if buf is not None and len(buf) < self._CAP:
            buf.extend(data[: self._CAP - len(buf)])

    def _end_string(self) -> None:
        if self._key_buf is not None:
            self._key = bytes(self._key_buf)
            self._key_buf = None
        elif self._val_buf is not None and self._key is not None:
            self.captured.setdefault(self._key.decode("utf-8", "replace"),
                                     self._val_buf.decode("utf-8", "replace"))
            self._val_buf = None

    def _close_value(self, abs_pos: int) -> None:
        if self._value_start is not None and self._key is not None:
            self.sizes.append((self._key.decode("utf-8", "replace"), abs_pos - self._value_start))
        self._value_start = None
        self._key = None
        self._val_buf = None

    def open_field(self) -> str | None:
        """The top-level key whose value the data fed so far ends inside (``None`` if none)."""
        if self._key is not None and self._value_start is not None:
            return self._key.decode("utf-8", "replace")
        if self._key_buf is not None:
            return "(a field name)"
        return None

    def finish(self) -> None:
        """Close a value left open by a truncated line, so its size is still reported."""
        if self._depth >= 1 and self._value_start is not None:
            self._close_value(self._offset)


@dataclass(slots=True)
class RawLine:
    """One physical line. ``data`` is ``None`` when the line exceeded the limit (see ``scan``)."""

    number: int
    data: bytes | None
    size: int
    head: bytes
    end_offset: int
    scan: FieldSizeScanner | None = field(default=None)

    @property
    def oversized(self) -> bool:
        return self.data is None


def iter_lines(fh: BinaryIO, *, max_line_bytes: int, head_bytes: int = 1024,
               capture_keys: tuple[str, ...] = ()) -> Iterator[RawLine]:
    """Yield the lines of a binary file without ever holding more than ``max_line_bytes + 1``.

    Line ends (``\\n``, ``\\r\\n``) and a UTF-8 byte-order mark on line 1 are removed. Empty
    lines are yielded too (callers skip them) so numbering matches what an editor shows.
    """
    number = 0
    offset = 0
    while True:
        chunk = fh.readline(max_line_bytes + 1)
        if not chunk:
            return
        number += 1
        offset += len(chunk)
        if chunk.endswith(b"\n") or len(chunk) <= max_line_bytes:
            line = chunk[:-1] if chunk.endswith(b"\n") else chunk
            if line.endswith(b"\r"):
                line = line[:-1]
            if number == 1 and line.startswith(_BOM):
                line = line[3:]
            if len(line) <= max_line_bytes:
                yield RawLine(number, line, len(line), b"", offset)
                continue
            # exactly max_line_bytes + 1 bytes including "\n": stripped it fits; otherwise oversize
        scanner = FieldSizeScanner(capture_keys)
        first = chunk.rstrip(b"\r\n") if chunk.endswith(b"\n") else chunk
        if number == 1 and first.startswith(_BOM):
            first = first[3:]
        scanner.feed(first)
        head = first[:head_bytes]
        size = len(first)
        ended = chunk.endswith(b"\n")
        while not ended:
            part = fh.readline(_CHUNK)
            if not part:
                break
            offset += len(part)
            if part.endswith(b"\n"):
                ended = True
                part = part[:-1]
                if part.endswith(b"\r"):
                    part = part[:-1]
            scanner.feed(part)
            size += len(part)
        scanner.finish()
        yield RawLine(number, None, size, head, offset, scanner)
