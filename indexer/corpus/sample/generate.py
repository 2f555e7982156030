"""``generate_sample``: one call, a corpus plus the truth it was generated from.

Layout of ``out_dir``::

    manifest.json           size, seed, generator version, config, counts, file sizes
    corpus/                 what pinsearch reads (docs/corpus-format.md), incl. judgements/
    ground_truth/           what only evaluation reads: pin_interests, annotations, cohesion,
                            search_relevance, related_relevance, position_bias.json,
                            interest_vocab.jsonl

Same seed and size give byte-identical files: every random draw comes from a named stream of the
seed, timestamps derive from the seed (never the clock), and output order never depends on
hashing. The ground truth lives outside the corpus so signals cannot read it by accident.
"""

from __future__ import annotations

import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import orjson

from indexer.corpus.sample.config import SampleConfig, config_for
from indexer.corpus.sample.index import build_index
from indexer.corpus.sample.judgements import PinJudge
from indexer.corpus.sample.jsonl import JsonlWriter, iso
from indexer.corpus.sample.logs import build_queries, generate_related_log, generate_search_log
from indexer.corpus.sample.pages import PagePlanner
from indexer.corpus.sample.pins import PinSinks, generate_pins
from indexer.corpus.sample.sessions import generate_sessions
from indexer.corpus.sample.text import TextWriter
from indexer.corpus.sample.vocab import build_vocabulary
from indexer.corpus.sample.world import build_world
from indexer.interests.taxonomy import Taxonomy, load_default_taxonomy

__all__ = ["GENERATOR", "GENERATOR_VERSION", "SampleSummary", "generate_sample"]

GENERATOR = "pinsearch.sample"
GENERATOR_VERSION = "1.0.0"
_EPOCH_2024 = 1704067200  # 2024-01-01T00:00:00Z


@dataclass
class SampleSummary:
    out_dir: str
    corpus_dir: str
    ground_truth_dir: str
    size: str
    seed: int
    n_pins: int
    counts: dict[str, int]
    bytes: dict[str, int]
    seconds: float
    config: SampleConfig = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": self.out_dir, "corpus_dir": self.corpus_dir,
                "ground_truth_dir": self.ground_truth_dir, "size": self.size, "seed": self.seed,
                "n_pins": self.n_pins, "counts": dict(self.counts), "bytes": dict(self.bytes),
                "seconds": round(self.seconds, 3)}

    def summary(self) -> str:
        total = sum(self.bytes.values())
        lines = [f"sample {self.size} (seed {self.seed}) in {self.out_dir}: "
                 f"{self.counts['pins']:,} pins, {total / 1e6:.1f} MB, {self.seconds:.1f} s"]
        lines += [f"  {k}: {v:,}" for k, v in self.counts.items()]
        return "\n".join(lines)


class _Phases:
    """A rich progress display with one bar per phase, or nothing when disabled."""

    def __init__(self, enabled: bool) -> None:
        self._progress = None
        if enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)
            self._progress = Progress(TextColumn("{task.description:<14}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(),
                                      console=Console(stderr=True))
            self._progress.start()

    def task(self, name: str, total: int) -> Callable[[int], None]:
        if self._progress is None:
            return lambda done: None
        progress = self._progress
        tid = progress.add_task(name, total=total)
        return lambda done: progress.update(tid, completed=done)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _prepare(out: Path, overwrite: bool) -> None:
    targets = [out / "corpus", out / "ground_truth", out / "manifest.json"]
    if not any(t.exists() for t in targets):
        out.mkdir(parents=True, exist_ok=True)
        return
    manifest = out / "manifest.json"
    ours = False
    if manifest.is_file():
        try:
            ours = orjson.loads(manifest.read_bytes()).get("generator") == GENERATOR
        except (orjson.JSONDecodeError, AttributeError):
            ours = False
    if not overwrite or not ours:
        raise FileExistsError(f"{out} already holds a corpus; pass overwrite=True to replace a "
                              "previous sample (only directories made by this generator are "
                              "removed)")
    for t in targets:
        if t.is_dir():
            shutil.rmtree(t)
        elif t.exists():
            t.unlink()


def generate_sample(out_dir: str | Path, size: str = "S", seed: int = 0, progress: bool = True,
                    *, n_pins: int | None = None, overwrite: bool = False,
                    config: SampleConfig | None = None,
                    taxonomy: Taxonomy | None = None) -> SampleSummary:
    """Generate a sample corpus with ground truth under ``out_dir``.

    ``size`` is ``"S"`` (~5k pins, seconds), ``"M"`` (~100k) or ``"L"`` (~1M, streamed, pages for
    10% of pins); ``"XS"`` (1.2k) exists for tests. ``n_pins`` rescales a preset; ``config``
    replaces it entirely. Raises ``FileExistsError`` if ``out_dir`` already holds a corpus unless
    ``overwrite`` (which only removes a previous output of this generator).
    """
    started = time.perf_counter()
    cfg = config or config_for(size, n_pins)
    out = Path(out_dir)
    _prepare(out, overwrite)
    corpus = out / "corpus"
    truth = out / "ground_truth"
    corpus.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    end_ts = _EPOCH_2024 + (int(seed) % 365) * 86400
    taxonomy = taxonomy or load_default_taxonomy()
    vocab = build_vocabulary(taxonomy, seed, cfg.embedding_dim)
    writer = TextWriter(vocab, cfg)
    counts: dict[str, int] = {}
    phases = _Phases(progress)
    try:
        with ExitStack() as stack:
            def w(path: Path) -> JsonlWriter:
                return stack.enter_context(JsonlWriter(path))

            boards_out = w(corpus / "boards.jsonl")
            world = build_world(vocab, cfg, seed, writer, boards_out)
            pages_out = w(corpus / "pages.jsonl")
            planner = PagePlanner(vocab, cfg, seed, corpus, pages_out, end_ts + 86400)
            judge = PinJudge(vocab, cfg, seed, w(corpus / "judgements" / "annotations.jsonl"),
                             w(corpus / "judgements" / "interests.jsonl"),
                             w(corpus / "judgements" / "cohesion.jsonl"))
            sinks = PinSinks(w(corpus / "pins.jsonl"), w(truth / "pin_interests.jsonl"),
                             w(truth / "annotations.jsonl"), w(truth / "cohesion.jsonl"))

            def ancestor_label(iid: int) -> tuple[str, int]:
                node = taxonomy[iid]
                return node.label, node.level

            table = generate_pins(vocab, world, cfg, seed, writer, planner, sinks, end_ts,
                                  ancestor_label, on_pin=judge,
                                  progress=phases.task("pins", cfg.n_pins))
            counts.update(users=world.n_users, boards=boards_out.count, pins=sinks.pins.count,
                          links=planner.n_pages, pages=pages_out.count,
                          judged_pins=judge.judged)
        index = build_index(table, world.n_boards, len(vocab.interests), len(vocab.phrases))
        with JsonlWriter(corpus / "sessions.jsonl") as out_s:
            counts["session_events"] = generate_sessions(
                world, table, index, cfg, seed, end_ts, out_s,
                progress=phases.task("sessions", cfg.n_sessions))
            counts["sessions"] = out_s.count
        queries = build_queries(vocab, cfg, seed)
        with ExitStack() as stack:
            log = stack.enter_context(JsonlWriter(corpus / "search_log.jsonl"))
            t = stack.enter_context(JsonlWriter(truth / "search_relevance.jsonl"))
            j = stack.enter_context(JsonlWriter(corpus / "judgements" / "search_relevance.jsonl"))
            counts["queries"] = generate_search_log(
                vocab, table, index, cfg, seed, end_ts, queries, log, t, j,
                progress=phases.task("search log", cfg.n_search_entries))
            counts.update(search_log=log.count, search_relevance_truth=t.count,
                          search_relevance_judged=j.count)
        with ExitStack() as stack:
            log = stack.enter_context(JsonlWriter(corpus / "related_log.jsonl"))
            t = stack.enter_context(JsonlWriter(truth / "related_relevance.jsonl"))
            j = stack.enter_context(JsonlWriter(corpus / "judgements" / "related_relevance.jsonl"))
            counts["related_queries"] = generate_related_log(
                vocab, table, index, cfg, seed, end_ts, log, t, j,
                progress=phases.task("related log", cfg.n_related_entries))
            counts.update(related_log=log.count, related_relevance_truth=t.count,
                          related_relevance_judged=j.count)
    finally:
        phases.close()
    counts["unrelated_links"] = int(len(table.cohesive) - int(table.cohesive.sum()))
    (truth / "position_bias.json").write_bytes(
        orjson.dumps(cfg.click_model.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    with JsonlWriter(truth / "interest_vocab.jsonl") as iv:
        for it in vocab.interests:
            iv.write({"interest_id": it.id, "label": it.label, "level": it.level,
                      "tier1": vocab.tier1_labels[it.tier1], "weight": round(it.weight, 8),
                      "phrases": [" ".join(vocab.phrases[p]) for p in it.phrases],
                      "translations": {lang: [vocab.text[lang][p] for p in it.phrases]
                                       for lang in vocab.text if lang != "en"}})
    sizes = _file_sizes(out)
    manifest = {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "size": cfg.size,
        "seed": int(seed),
        "n_pins": cfg.n_pins,
        "reference_time": iso(end_ts),
        "taxonomy": {"name": taxonomy.name, "interests_used": len(vocab.interests)},
        "counts": counts,
        "files": sizes,
        "config": cfg.to_dict(),
    }
    (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
                                        + b"\n")
    return SampleSummary(out_dir=str(out), corpus_dir=str(corpus), ground_truth_dir=str(truth),
                         size=cfg.size, seed=int(seed), n_pins=cfg.n_pins, counts=counts,
                         bytes=sizes, seconds=time.perf_counter() - started, config=cfg)


def _file_sizes(out: Path) -> dict[str, int]:
    """Bytes per JSON file, and the pages directory as one total (sorted, deterministic)."""
    sizes: dict[str, int] = {}
    for p in sorted(out.rglob("*.json*")):
        sizes[p.relative_to(out).as_posix()] = p.stat().st_size
    pages = out / "corpus" / "pages"
    if pages.is_dir():
        sizes["corpus/pages/"] = sum(p.stat().st_size for p in pages.rglob("*.html"))
    return sizes
