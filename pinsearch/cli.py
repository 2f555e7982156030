"""The ``pinsearch`` command line.

Every command talks to a cluster URL (``--cluster``, default the embedded engine in
``./pinsearch-data``) through the same client the Python API uses, prints a readable table by
default and JSON with ``--json``, and exits non-zero with a one-line error on failure.

Exit status: 0 success; 1 error; 2 bad command line (argparse); ``validate``: 3 usable corpus with
rejected records, 4 unusable corpus; ``reindex``: 5 refused by the reindex guard (alias not moved);
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pinsearch.client import DEFAULT_CLUSTER
from pinsearch.commands.options import add_cache_option

EXAMPLES = """examples:
  pinsearch demo                                  the whole pipeline on a generated sample corpus
  pinsearch sample --size S --seed 7 ./corpus      write a deterministic sample corpus
  pinsearch validate ./corpus                      check every record, write rejects
  pinsearch reindex ./corpus                       build pins-vN and swap the 'pins' alias
  pinsearch reindex --incremental ./corpus         apply only changed pins to the live index
  pinsearch reindex --rollback                     point 'pins' back to the previous version
  pinsearch search "vegan dinner ideas" --k 10     search the live index
  pinsearch --cluster https://admin:pw@localhost:9200 search "boho bedroom"
"""


EXIT_OK = 0
EXIT_ERROR = 1
EXIT_VALIDATE_REJECTS = 3    # validate: usable, some records rejected (they are skipped)
EXIT_VALIDATE_UNUSABLE = 4   # validate: nothing to index (no valid pin, missing pins.jsonl, unreadable)
EXIT_REINDEX_REFUSED = 5     # reindex: the guard refused the new index; the alias was not moved

VALIDATE_EXIT_CODES = """exit status:
  0  clean: every record is valid
  3  usable: at least one valid pin, some records rejected (reindex skips them; see the rejects)
  4  unusable: no valid pin (e.g. empty or all-invalid pins.jsonl, or a boards.jsonl every pin's
     board reference fails), a missing pins.jsonl, or an unreadable corpus directory
  1  any other error; 2 bad command line
"""

REINDEX_GUARD_HELP = """the reindex guard:
  The alias is not moved (an --incremental run changes nothing) when the new index
    - has no documents, or fewer than --min-docs N (default 1; an empty index needs --min-docs 0,
      and --allow-shrink too when the live index has documents);
    - has fewer than --min-share of the live index's documents (default 0.5; --allow-shrink accepts it);
    - lacks a signal: one that failed, or whose coverage (share of pins carrying it) fell to zero or
      below half of the live index's (--allow-missing-signals accepts it and records the missing
      signals in the new index's _meta, pinsearch.missing_signals).
  A refused full reindex keeps the new index, un-aliased, for inspection; the next reindex deletes it.
  The summary prints per-signal coverage (pins with pin2vec, cohesion, annotations, interests,
  cooccur) next to the live index's.

exit status:
  0  the alias points at the new index (or the incremental changes were applied)
  5  refused by the guard: alias and live index unchanged; the message names each cause and the
     option that accepts it
  1  any other failure (refused documents, failed verification, cluster error); 2 bad command line
"""


KNN_ENGINES = ("faiss", "lucene")   # indexer.documents.KNN_ENGINES (not imported: --help stays fast)
DEFAULT_KNN_ENGINE = "faiss"
KNN_ENGINE_HELP = ("HNSW engine of the pin2vec vectors (default faiss, as OpenSearch distributions; lucene "
                   "needs no native code: use it on a node from `pinsearch cluster start`); recorded in the "
                   "index _meta")


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status ``exit_code`` (default 1)."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cluster", default=argparse.SUPPRESS,
                        help=f"embedded://PATH or http(s)://host:port (default {DEFAULT_CLUSTER})")
    common.add_argument("--index", default=argparse.SUPPRESS, help="index or alias name (default: pins)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    common.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bars or chatter")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="pinsearch", parents=[common], epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Pin search and Related Pins for OpenSearch, with an embedded engine.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("sample", parents=[common], help="generate a deterministic sample corpus")
    p.add_argument("out", type=Path, help="output directory")
    p.add_argument("--size", choices=["XS", "S", "M", "L"], default="S", help="S ~5k pins, M ~100k, L ~1M")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite a previous sample in OUT")
    p.set_defaults(handler=cmd_sample)

    p = sub.add_parser("validate", parents=[common], help="validate a corpus and write rejects",
                       epilog=VALIDATE_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", type=Path)
    p.add_argument("--out", type=Path, default=None, help="where rejects go (default: CORPUS/.validation)")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("reindex", parents=[common], help="build a new index version and swap the alias",
                       epilog=REINDEX_GUARD_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", type=Path, nargs="?")
    p.add_argument("--rollback", action="store_true", help="point the alias back to the previous version")
    p.add_argument("--incremental", action="store_true",
                   help="apply only new, changed and deleted pins to the live index (content hashes); "
                        "annotations, interests and cohesion of new or changed pins come from the saved "
                        "models (no retraining)")
    p.add_argument("--full-signals", action="store_true",
                   help="with --incremental: recompute every signal over the whole corpus and retrain "
                        "its model, as a full reindex does")
    p.add_argument("--signals", default="all",
                   help="signals to compute: all, none, or a comma list of " + ", ".join(_signal_names()))
    add_cache_option(p, "where computed signals and their models are cached by input fingerprint")
    p.add_argument("--pin2vec-window", type=_positive_int, default=None, metavar="N",
                   help="Pin2Vec skip-gram window (default 5); part of the cache key, so changing it retrains")
    p.add_argument("--pin2vec-epochs", type=_positive_int, default=None, metavar="N",
                   help="Pin2Vec training epochs (default 10); part of the cache key, so changing it retrains")
    p.add_argument("--knn-engine", choices=KNN_ENGINES, default=DEFAULT_KNN_ENGINE,
                   help=KNN_ENGINE_HELP)
    p.add_argument("--rejects-dir", type=Path, default=None, metavar="DIR",
                   help="where a full reindex lists documents the engine refused "
                        "(default CORPUS/.validation/rejects, beside the corpus rejects of `validate`)")
    p.add_argument("--min-docs", type=_non_negative_int, default=1, metavar="N",
                   help="refuse a new index with fewer than N documents (default 1: never an empty index)")
    p.add_argument("--min-share", type=_share, default=0.5, metavar="FRACTION",
                   help="refuse a new index with fewer than this share of the live index's documents "
                        "(default 0.5)")
    p.add_argument("--allow-shrink", action="store_true",
                   help="accept a new index below --min-share of the live index's documents")
    p.add_argument("--allow-missing-signals", action="store_true",
                   help="accept a new index without a signal that failed or whose coverage dropped "
                        "(recorded in the index _meta as pinsearch.missing_signals)")
    p.set_defaults(handler=cmd_reindex)

    p = sub.add_parser("search", parents=[common], help="search pins")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=20, help="number of results")
    p.add_argument("--explain", action="store_true",
                   help="show per-feature LTR contributions (weight x normalised value) and the engine's explanation")
    p.add_argument("--no-ltr", action="store_true", help="first pass only, without the active LTR model")
    add_cache_option(p, "the signal cache reindex wrote (its models give the query-side features)")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("demo", parents=[common], help="run the main job end to end on a sample corpus")
    p.add_argument("--workdir", type=Path, default=Path("pinsearch-demo"),
                   help="where the corpus and the embedded data go (default ./pinsearch-demo)")
    p.add_argument("--size", choices=["XS", "S", "M"], default="S")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--knn-engine", choices=KNN_ENGINES, default=DEFAULT_KNN_ENGINE, help=KNN_ENGINE_HELP)
    p.set_defaults(handler=cmd_demo)

    import importlib

    from pinsearch.commands import COMMAND_MODULES
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub, common)
    return parser


def _opt(args: argparse.Namespace, name: str, default: Any) -> Any:
    return getattr(args, name, default)


def _client(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pinsearch.client import ClusterURLError, connect
    try:
        return connect(_opt(args, "cluster", DEFAULT_CLUSTER))
    except ClusterURLError as exc:
        raise CommandError(str(exc)) from None


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console
    return Console()


# -- commands ----------------------------------------------------------------------------------------
def cmd_sample(args: argparse.Namespace) -> int:
    from indexer.corpus.sample import generate_sample
    try:
        summary = generate_sample(args.out, args.size, args.seed, progress=not _opt(args, "quiet", False),
                                  overwrite=args.force)
    except FileExistsError as exc:
        raise CommandError(f"{exc} (use --force to overwrite)") from None
    payload = summary.to_dict() if hasattr(summary, "to_dict") else vars(summary)
    if _opt(args, "json", False):
        _print_json(payload)
    elif not _opt(args, "quiet", False):
        _console().print(f"[bold]sample corpus[/] {args.out} (size {args.size}, seed {args.seed}): "
                         + ", ".join(f"{k}={v}" for k, v in payload.get("counts", {}).items()))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Exit status (VALIDATE_EXIT_CODES): 0 clean, 3 usable with rejected records, 4 unusable."""
    from indexer.corpus import CorpusFatalError, validate_corpus
    out = args.out or args.corpus / ".validation"
    try:
        report = validate_corpus(args.corpus, out, quiet=_opt(args, "quiet", False))
    except CorpusFatalError as exc:
        raise CommandError(f"unusable corpus: {exc}", exit_code=EXIT_VALIDATE_UNUSABLE) from None
    if _opt(args, "json", False):
        _print_json(report.to_dict())
    else:
        print(report.summary())
    if not report.usable:
        return EXIT_VALIDATE_UNUSABLE
    return EXIT_OK if report.ok else EXIT_VALIDATE_REJECTS


def cmd_reindex(args: argparse.Namespace) -> int:
    """Exit status (REINDEX_GUARD_HELP): 0 swapped/applied, 5 refused by the guard, 1 other failures."""
    from indexer.reindex import ReindexError, ReindexRefused, reindex_corpus, rollback
    from indexer.reindex_guard import GuardOptions, format_coverage
    client = _client(args)
    alias = _opt(args, "index", "pins")
    try:
        if args.rollback:
            old, new = rollback(client, alias)
            payload: dict[str, Any] = {"alias": alias, "from": old, "to": new}
            if _opt(args, "json", False):
                _print_json(payload)
            else:
                print(f"alias [{alias}] now points to [{new}] (was [{old}])")
            return 0
        if args.corpus is None:
            raise CommandError("reindex needs a CORPUS directory (or --rollback)")
        guard = GuardOptions(min_docs=args.min_docs, min_share=args.min_share, allow_shrink=args.allow_shrink,
                             allow_missing_signals=args.allow_missing_signals)
        signal_set = _compute_signals(args)
        if args.incremental:
            from indexer.incremental import reindex_incremental
            incremental = reindex_incremental(client, args.corpus, alias=alias, signals=signal_set, guard=guard)
            if _opt(args, "json", False):
                _print_json(incremental.to_dict() | {"signals": signal_set.summary()})
            elif not _opt(args, "quiet", False):
                instant = ", ".join(f"{name} {counts['computed']}" for name, counts in signal_set.instant.items())
                print(f"incremental reindex of [{alias}]: {incremental.added} added, {incremental.changed} changed, "
                      f"{incremental.signals_updated} signal updates, {incremental.deleted} deleted, "
                      f"{incremental.unchanged} unchanged in {incremental.seconds:.1f}s"
                      + (f"; instant signals (pins): {instant}" if instant else ""))
                print("signal coverage (pins): " + format_coverage(incremental.coverage, incremental.live_coverage))
                _print_missing(incremental.missing_signals)
            return 0
        from ranking.ltr.upload import active_models_summary
        report = reindex_corpus(client, args.corpus, alias=alias, progress=not _opt(args, "quiet", False),
                                signals=signal_set, rejects_dir=args.rejects_dir, guard=guard,
                                knn_engine=args.knn_engine, active_models=active_models_summary(client))
    except ReindexRefused as exc:
        if _opt(args, "json", False):
            _print_json(exc.to_dict())
        raise CommandError(str(exc), exit_code=EXIT_REINDEX_REFUSED) from None
    except ReindexError as exc:
        raise CommandError(str(exc)) from None
    finally:
        client.transport.close()
    if _opt(args, "json", False):
        _print_json(report.to_dict() | {"signals": signal_set.summary()})
    elif not _opt(args, "quiet", False):
        print(f"indexed {report.indexed} pins into [{report.index}], alias [{alias}] swapped "
              f"(previous: {report.previous_index or 'none'}); {report.corpus_rejects} corpus records "
              f"rejected; {report.pins_per_second:.0f} pins/s")
        print("signal coverage (pins): " + format_coverage(report.coverage, report.live_coverage))
        _print_missing(report.missing_signals)
    return 0


def _print_missing(missing: dict[str, str]) -> None:
    """The signals --allow-missing-signals let through (recorded in the index _meta too)."""
    for name, why in missing.items():
        print(f"pinsearch reindex: warning: signal [{name}] missing (--allow-missing-signals): {why}",
              file=sys.stderr)


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """argparse type for a whole number >= ``minimum`` (counts: a zero window or epoch count trains
    nothing, so those need 1; --min-docs may be 0)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


_non_negative_int = _int_at_least(0)
_positive_int = _int_at_least(1)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _signal_params(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Per-signal parameters set on the command line (only the ones given: the rest keep the signal
    function's defaults, and the cache key is the same whether a default is spelled out or not)."""
    pin2vec = {name: value for name, value in (("window", getattr(args, "pin2vec_window", None)),
                                               ("epochs", getattr(args, "pin2vec_epochs", None)))
               if value is not None}
    return {"pin2vec": pin2vec} if pin2vec else {}


def _signal_names() -> list[str]:
    from indexer.signals.pipeline import SIGNALS
    return list(SIGNALS)


def _compute_signals(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from indexer.signals.pipeline import SIGNALS, SignalSet, compute_signals
    if args.signals == "none":
        return SignalSet()
    names = list(SIGNALS) if args.signals == "all" else [n.strip() for n in args.signals.split(",") if n.strip()]
    unknown = [n for n in names if n not in SIGNALS]
    if unknown:
        raise CommandError(f"unknown signal(s) {unknown}; known: {', '.join(SIGNALS)}")
    quiet = _opt(args, "quiet", False) or _opt(args, "json", False)
    incremental = bool(getattr(args, "incremental", False)) and not getattr(args, "full_signals", False)
    signal_set = compute_signals(args.corpus, args.cache, names, log=(lambda m: None) if quiet else
                                 (lambda m: print(m, file=sys.stderr)), incremental=incremental,
                                 params=_signal_params(args))
    for name, error in signal_set.errors.items():
        print(f"pinsearch reindex: warning: signal [{name}] failed: {error}", file=sys.stderr)
    return signal_set


def cmd_search(args: argparse.Namespace) -> int:
    from ranking.ltr.rescore import explain_search, search_rescore
    from ranking.search import search_pins
    client = _client(args)
    index = _opt(args, "index", "pins")
    try:
        from ranking.query_signals import query_signals_for
        signals = query_signals_for(args.cache)(args.query)
        rescore = None if args.no_ltr else search_rescore(client, args.query, signals=signals)
        hits = search_pins(client, args.query, args.k, index=index, signals=signals, explain=args.explain,
                           rescore=rescore)
        if args.explain and rescore:
            ltr = explain_search(client, args.query, [h.pin_id for h in hits], index=index, signals=signals)
            for hit in hits:
                if hit.pin_id in ltr:
                    hit.explanation = {"ltr": ltr[hit.pin_id], "engine": hit.explanation}
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    finally:
        client.transport.close()
    if _opt(args, "json", False):
        _print_json({"query": args.query, "hits": [h.to_dict() for h in hits]})
        return 0
    _print_hits(args.query, hits)
    if args.explain:
        for hit in hits:
            _console().print(f"[bold]{hit.pin_id}[/]", hit.explanation)
    return 0


def _print_hits(query: str, hits: list[Any]) -> None:
    from rich.table import Table
    from rich.text import Text
    table = Table(title=Text(f'search "{query}"'), show_lines=False)
    for column in ("#", "pin", "score", "title", "boards", "domain"):
        table.add_column(column, overflow="fold")
    for rank, hit in enumerate(hits, 1):
        table.add_row(*(Text(cell) for cell in (str(rank), hit.pin_id, f"{hit.score:.3f}", hit.title[:60],
                                                ", ".join(hit.board_names[:2])[:40], hit.link_domain or "")))
    _console().print(table)


def cmd_demo(args: argparse.Namespace) -> int:
    from pinsearch.demo import run_demo
    payload = run_demo(args.workdir, size=args.size, seed=args.seed, cluster=getattr(args, "cluster", None),
                       knn_engine=args.knn_engine, quiet=_opt(args, "quiet", False), as_json=_opt(args, "json", False))
    if _opt(args, "json", False):
        _print_json(payload)
    return 0


# -- entry point -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    started = time.perf_counter()
    try:
        return handler(args)
    except CommandError as exc:
        print(f"pinsearch {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"pinsearch {args.command}: interrupted after {time.perf_counter() - started:.1f}s", file=sys.stderr)
        return 130
    except Exception as exc:  # an engine or cluster error: one clear line, not a traceback
        from opensearchpy.exceptions import TransportError
        if isinstance(exc, TransportError):
            print(f"pinsearch {args.command}: cluster error {exc.status_code}: {exc.error}: "
                  f"{_reason(exc.info)}", file=sys.stderr)
            return 1
        from localnode.store import DataDirLockedError, TranslogError
        from ranking.ltr.plugin import LtrPluginMissing
        if isinstance(exc, (DataDirLockedError, LtrPluginMissing, TranslogError)):
            print(f"pinsearch {args.command}: error: {exc}", file=sys.stderr)
            return 1
        raise


def _reason(info: Any) -> str:
    if isinstance(info, dict) and isinstance(info.get("error"), dict):
        error, causes = info["error"], info["error"].get("root_cause")
        if error.get("reason") == "all shards failed" and causes and isinstance(causes[0], dict):
            return f"all shards failed: {causes[0].get('reason')}"   # e.g. a red index: say why
        return str(error.get("reason"))
    return str(info)


if __name__ == "__main__":
    sys.exit(main())
