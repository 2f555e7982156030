"""``pinsearch demo``: the main job end to end on a generated sample corpus.

sample corpus -> validation -> reindex (zero-downtime alias swap) -> searches printed as tables ->
an evaluation of search quality against the sample's ground truth. Each stage that later issues
add (signals, Related Pins, learning to rank) plugs in here, so the demo always shows everything
the project can do on a fresh machine.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console

from indexer.corpus import validate_corpus
from indexer.corpus.sample import generate_sample
from indexer.documents import DEFAULT_KNN_ENGINE
from indexer.reindex import reindex_corpus
from indexer.signals.pipeline import SIGNALS, compute_signals
from pinsearch.client import connect
from ranking.ltr.pipeline import train_and_activate
from ranking.ltr.plugin import ltr_plugin_missing
from ranking.ltr.upload import active_models_summary
from ranking.ltr.rescore import search_rescore
from ranking.metrics import ndcg_at_k
from ranking.query_signals import query_signals_for
from ranking.related import related_pins
from ranking.search import search_pins


def run_demo(workdir: Path, *, size: str = "S", seed: int = 0, cluster: str | None = None,
             knn_engine: str = DEFAULT_KNN_ENGINE,
             quiet: bool = False, as_json: bool = False, n_example_queries: int = 3,
             n_eval_queries: int = 200) -> dict[str, Any]:
    console = Console(quiet=quiet or as_json)
    say = lambda message: console.print(message, markup=False, highlight=False)  # noqa: E731  (data, not markup)
    timings: dict[str, float] = {}
    workdir.mkdir(parents=True, exist_ok=True)
    sample_dir = workdir / f"sample-{size}-{seed}"

    t0 = time.perf_counter()
    if not (sample_dir / "manifest.json").exists():
        console.rule(f"1. sample corpus (size {size}, seed {seed})")
        generate_sample(sample_dir, size, seed, progress=not (quiet or as_json), overwrite=True)
    else:
        console.rule(f"1. sample corpus (size {size}, seed {seed}): reusing {sample_dir}")
    timings["sample"] = time.perf_counter() - t0
    corpus = sample_dir / "corpus"

    t0 = time.perf_counter()
    console.rule("2. validate")
    report = validate_corpus(corpus, workdir / "validation", quiet=quiet or as_json)
    timings["validate"] = time.perf_counter() - t0
    say(report.summary() if hasattr(report, "summary") else report.to_dict())

    client = connect(cluster or f"embedded://{workdir / 'data'}")
    try:
        t0 = time.perf_counter()
        console.rule("3. signals: " + ", ".join(SIGNALS))
        signal_set = compute_signals(corpus, workdir / "cache", log=say)
        timings["signals"] = time.perf_counter() - t0
        say(signal_set.summary())

        t0 = time.perf_counter()
        console.rule("4. reindex")
        reindex = reindex_corpus(client, corpus, progress=not (quiet or as_json), signals=signal_set,
                                 knn_engine=knn_engine, active_models=active_models_summary(client))
        timings["reindex"] = time.perf_counter() - t0
        say(f"indexed {reindex.indexed} pins into [{reindex.index}] and swapped alias [pins] "
                      f"({reindex.pins_per_second:.0f} pins/s; stages {reindex.stage_seconds})")

        t0 = time.perf_counter()
        console.rule("5. learning to rank (search and Related Pins): click model -> triplets -> RankSVM -> "
                     "model/linear -> parity -> activate")
        query_signals = query_signals_for(workdir / "cache")
        ltr_missing = ltr_plugin_missing(client)
        if ltr_missing is None:
            ltr = train_and_activate(client, sample_dir, progress=None if (quiet or as_json) else say,
                                     query_signals=query_signals)
        else:
            console.print(f"[bold yellow]LTR skipped:[/] {ltr_missing}", highlight=False)
            ltr = {kind: {"skipped": ltr_missing} for kind in ("search", "related")}
        timings["ltr"] = time.perf_counter() - t0
        for kind, summary in ltr.items():
            say(f"{kind}: {_ltr_line(summary)}")

        truth = _search_truth(sample_dir / "ground_truth" / "search_relevance.jsonl")
        queries = sorted(truth)
        t0 = time.perf_counter()
        console.rule("6. search (first pass + LTR rescore)")
        examples = []
        for query in queries[:n_example_queries]:
            signals = query_signals(query)
            hits = search_pins(client, query, k=5, signals=signals,
                               rescore=search_rescore(client, query, signals=signals))
            examples.append({"query": query, "hits": [h.to_dict() for h in hits]})
            if not (quiet or as_json):
                from pinsearch.cli import _print_hits
                _print_hits(query, hits)
        timings["search"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        console.rule("7. related pins (first pass + the active Related Pins model's rescore)")
        related_examples = []
        for hit in examples[0]["hits"][:2] if examples and examples[0]["hits"] else []:
            result = related_pins(client, hit["pin_id"], k=5)
            rescore = result.request_body.get("rescore") or {}
            related_examples.append({**result.to_dict(),
                                     "ltr_model": rescore.get("query", {}).get("rescore_query", {}).get("sltr", {}).get("model")})
            if not (quiet or as_json):
                _print_related(console, result)
        timings["related"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        console.rule("8. evaluation against the sample's ground truth")
        scores = []
        for query in queries[:n_eval_queries]:
            ranked = [h.pin_id for h in search_pins(client, query, k=10, signals=query_signals(query))]
            scores.append(ndcg_at_k(ranked, truth[query], 10))
        evaluation = {"pinsearch_first_pass": {"ndcg@10": round(sum(scores) / max(len(scores), 1), 4),
                                               "queries": len(scores)},
                      "ltr_heldout": {kind: {k: summary.get(k) for k in ("first_pass", "ltr", "delta", "skipped")
                                             if k in summary}
                                      for kind, summary in ltr.items()}}
        timings["evaluate"] = time.perf_counter() - t0
        console.print(evaluation)  # a dict: rich pretty-prints it
    finally:
        client.transport.close()
    summary = {"workdir": str(workdir), "reindex": reindex.to_dict(), "validation": report.to_dict(),
               "signals": signal_set.summary(), "ltr": ltr, "examples": examples,
               "related_examples": related_examples, "evaluation": evaluation,
               "seconds": {k: round(v, 2) for k, v in timings.items()}}
    console.rule("done")
    say(f"stage times (s): {summary['seconds']}")
    return summary


def _print_related(console: Console, result: Any) -> None:
    from rich.table import Table
    from rich.text import Text
    table = Table(title=Text(f"related to {result.query_pin}: {result.query_title[:50]}"))
    for column in ("#", "pin", "score", "title", "sources"):
        table.add_column(column, overflow="fold")
    for rank, hit in enumerate(result.hits, 1):
        table.add_row(*(Text(cell) for cell in (str(rank), hit.pin_id, f"{hit.score:.3f}", hit.title[:50],
                                                ", ".join(hit.sources))))
    console.print(table)


def _ltr_line(summary: dict[str, Any]) -> str:
    if "skipped" in summary:
        return f"skipped ({summary['skipped']})"
    delta = summary.get("delta", {}).get("ndcg@10", {})
    first = summary.get("first_pass", {}).get("ndcg@10")
    ltr = summary.get("ltr", {}).get("ndcg@10")
    return (f"held-out NDCG@10: first pass {first}, LTR {ltr}, delta {delta}; "
            f"active model: {summary.get('activation', {}).get('active')}")


def _search_truth(path: Path) -> dict[str, dict[str, float]]:
    truth: dict[str, dict[str, float]] = defaultdict(dict)
    with path.open() as fh:
        for line in fh:
            row = json.loads(line)
            truth[row["query"]][row["pin_id"]] = float(row["relevance"])
    return truth
