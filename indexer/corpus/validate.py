"""``validate_corpus``: check every record of every file before any work starts.

It drains :class:`~indexer.corpus.reader.CorpusReader` over all files in dependency order, so the
report says exactly what indexing would keep and what it would skip. Rejected lines are written to
``<out>/rejects/`` for fixing. Only an unreadable directory or a missing ``pins.jsonl`` is fatal;
the function never raises for bad data, the CLI decides the exit code from the report.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from indexer.corpus.files import CORPUS_FILES
from indexer.corpus.reader import CorpusReader, ValidationOptions
from indexer.corpus.rejects import RejectWriter
from indexer.corpus.report import ValidationReport

__all__ = ["validate_corpus"]


def validate_corpus(
    corpus_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    options: ValidationOptions | None = None,
    max_field_bytes: int | None = None,
    quiet: bool = False,
) -> ValidationReport:
    """Validate ``corpus_dir``; write rejects under ``out_dir/rejects`` when ``out_dir`` is given.

    ``max_field_bytes`` overrides ``options.max_field_bytes``; ``quiet`` disables the progress bar.
    """
    opts = options or ValidationOptions()
    if max_field_bytes is not None:
        opts = replace(opts, max_field_bytes=max_field_bytes)
    if quiet:
        opts = replace(opts, progress=False)
    started = time.perf_counter()
    writer = RejectWriter(out_dir) if out_dir is not None else None
    reader = CorpusReader(corpus_dir, options=opts, on_reject=writer)
    report: ValidationReport = reader.report
    try:
        if reader.check_directory():
            return report
        if writer is not None:
            writer.clear_stale()
            report.rejects_dir = str(writer.dir)
        for spec in CORPUS_FILES:
            for _ in reader.records(spec.kind):
                pass
    finally:
        if writer is not None:
            writer.close()
        report.seconds = time.perf_counter() - started
    return report
