"""Extract every landing page of a corpus (``pages.jsonl`` + HTML files), in parallel.

Pages are independent, so the job is a pure function over chunks of ``pages.jsonl`` rows run with
joblib processes (each worker gets its own SIGALRM time limit per page). A page that fails is kept
with its error so cohesion can still use its HTTP status.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.pages.extract import ExtractedPage, extract_page
from indexer.pages.safety import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S, PageError

__all__ = ["CorpusPage", "extract_pages", "load_corpus_pages"]


@dataclass(slots=True)
class CorpusPage:
    url: str
    status: int
    page: ExtractedPage | None  # None when no HTML file was written
    error: str | None = None


def _extract_chunk(corpus_dir: str, rows: list[tuple[str, int, str | None]], max_bytes: int,
                   timeout: float) -> list[CorpusPage]:
    out: list[CorpusPage] = []
    for url, status, path in rows:
        if not path:
            out.append(CorpusPage(url, status, None))
            continue
        try:
            with open(Path(corpus_dir) / path, "rb") as fh:
                data = fh.read(max_bytes + 1)
            out.append(CorpusPage(url, status, extract_page(data, url, max_bytes=max_bytes, timeout=timeout)))
        except PageError as exc:
            out.append(CorpusPage(url, status, None, f"{path}: {exc}"))
        except OSError as exc:
            out.append(CorpusPage(url, status, None, f"{path}: unreadable: {exc.strerror or exc}"))
        except Exception as exc:  # noqa: BLE001 - one hostile page must not end the batch
            out.append(CorpusPage(url, status, None, f"{path}: failed: {type(exc).__name__}: {exc}"))
    return out


def _chunks(rows: list, size: int) -> Iterator[list]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def load_corpus_pages(corpus_dir: str | Path, *, n_jobs: int = 1, chunk_size: int = 64,
                      max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT_S,
                      progress: bool = False) -> dict[str, CorpusPage]:
    """``url -> CorpusPage`` for every valid row of ``corpus_dir/pages.jsonl`` (empty if absent)."""
    from indexer.corpus.reader import CorpusReader, ValidationOptions

    corpus_dir = Path(corpus_dir)
    if not (corpus_dir / "pages.jsonl").is_file():
        return {}
    reader = CorpusReader(corpus_dir, options=ValidationOptions(progress=False))
    rows = [(p.url, p.status, p.path) for p in reader.pages()]
    chunks = list(_chunks(rows, chunk_size))
    if n_jobs == 1:
        results = (_extract_chunk(str(corpus_dir), c, max_bytes, timeout) for c in chunks)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_extract_chunk)(str(corpus_dir), c, max_bytes, timeout) for c in chunks)
    out: dict[str, CorpusPage] = {}
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("extracting pages", total=len(rows))
    try:
        for chunk in results:
            for cp in chunk:
                out[cp.url] = cp
            if bar:
                bar.advance(task, len(chunk))
    finally:
        if bar:
            bar.stop()
    return out


def extract_pages(corpus_dir: str | Path, rows: list[tuple[str, int, str | None]], *,
                  max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT_S) -> dict[str, CorpusPage]:
    """``url -> CorpusPage`` for some ``(url, status, path)`` rows of ``pages.jsonl`` (in this process)."""
    return {cp.url: cp for cp in _extract_chunk(str(corpus_dir), rows, max_bytes, timeout)}
