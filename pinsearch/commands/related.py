"""``pinsearch related PIN_ID`` and the ``eval related`` / ``eval sessions`` evaluations.

``eval split-boards`` and ``eval split-sessions`` write the fixed, seeded development splits the
evaluations are documented with (20 % of each board's pins hidden; last 10 % of sessions as tests).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from pinsearch.commands.common import client_for, fail, option, print_json


def _eval_subparsers(subparsers: Any, common: argparse.ArgumentParser) -> Any:
    """The shared ``eval`` parser's subparsers (created here only if no other module did)."""
    if "eval" in subparsers.choices:
        parser = subparsers.choices["eval"]
    else:
        parser = subparsers.add_parser("eval", parents=[common], help="offline evaluations")
        parser._eval_sub = parser.add_subparsers(dest="eval_command", required=True, metavar="EVALUATION")
    return parser._eval_sub


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("related", parents=[common], help="Related Pins of a pin (one engine request)")
    p.add_argument("pin_id")
    p.add_argument("--k", type=int, default=20, help="number of results")
    p.add_argument("--explain", action="store_true", help="show candidate sources and scores per result")
    p.add_argument("--no-ltr", action="store_true",
                   help="first pass only, without the active Related Pins LTR model's rescore")
    p.set_defaults(handler=cmd_related)

    ev = _eval_subparsers(subparsers, common)
    p = ev.add_parser("related", parents=[common], help="Related Pins quality: recover hidden board pins")
    p.add_argument("--boards", type=Path, required=True, help="training boards: board_id<TAB>pin ids")
    p.add_argument("--heldout", type=Path, required=True, help="hidden pins per board, same format")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=5, help="Pin2Vec epochs")
    p.set_defaults(handler=cmd_eval_related)

    p = ev.add_parser("sessions", parents=[common], help="Pin2Vec next-item prediction (P@20, MRR@20)")
    p.add_argument("--train", type=Path, required=True, help="one session per line")
    p.add_argument("--test", type=Path, required=True, help="prefix items<TAB>next item")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=10, help="Pin2Vec epochs")
    p.add_argument("--no-itemknn", action="store_true", help="skip the Item-KNN baseline")
    p.set_defaults(handler=cmd_eval_sessions)

    p = ev.add_parser("split-boards", parents=[common], help="hide a share of each board's pins (seeded)")
    p.add_argument("boards", type=Path)
    p.add_argument("--out", type=Path, required=True, help="writes OUT/train.tsv and OUT/heldout.tsv")
    p.add_argument("--fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_split_boards)

    p = ev.add_parser("split-sessions", parents=[common], help="last sessions as next-item tests")
    p.add_argument("sessions", type=Path)
    p.add_argument("--out", type=Path, required=True, help="writes OUT/train.tsv and OUT/test.tsv")
    p.add_argument("--fraction", type=float, default=0.1)
    p.set_defaults(handler=cmd_split_sessions)


def cmd_related(args: argparse.Namespace) -> int:
    from ranking.related import RelatedPinsError, related_pins
    client = client_for(args)
    try:
        extra: dict[str, Any] = {"rescore": None} if args.no_ltr else {}   # default: the active model
        result = related_pins(client, args.pin_id, args.k, index=option(args, "index", "pins"), explain=args.explain,
                              **extra)
    except RelatedPinsError as exc:
        raise fail(str(exc)) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    finally:
        client.transport.close()
    if option(args, "json", False):
        print_json(result.to_dict(include_body=args.explain))
        return 0
    print(f"Related Pins of {result.query_pin} ({result.query_title!r}), {len(result.hits)} results "
          f"in {result.took_ms:.1f} ms")
    for rank, hit in enumerate(result.hits, 1):
        print(f"{rank:3d}. {hit.pin_id}  {hit.score:8.4f}  [{','.join(hit.sources)}]  {hit.title[:70]}")
        if args.explain and hit.source_scores:
            print("       " + ", ".join(f"{k}={v:.4g}" for k, v in hit.source_scores.items()))
    return 0


def _progress(args: argparse.Namespace, label: str) -> tuple[Callable[[int, int], None] | None, Any]:
    if option(args, "quiet", False) or option(args, "json", False):
        return None, None
    from rich.progress import Progress
    bar = Progress(transient=True)
    bar.start()
    task = bar.add_task(label, total=None)
    return (lambda done, total: bar.update(task, completed=done, total=total)), bar


def _read(fn: Callable[..., Any], path: Path) -> Any:
    from indexer.signals.boards_io import InteractionFormatError
    try:
        return fn(path)
    except InteractionFormatError as exc:
        raise fail(str(exc)) from None


def _print_table(result: dict[str, Any], title: str) -> None:
    methods = [m for m in result if m != "meta"]
    metrics = list(result[methods[0]])
    print(title)
    print(f"{'method':14s}" + "".join(f"{m:>12s}" for m in metrics))
    for m in methods:
        print(f"{m:14s}" + "".join(f"{result[m][x]:12.4f}" for x in metrics))


def cmd_eval_related(args: argparse.Namespace) -> int:
    from indexer.signals.boards_io import read_boards
    from ranking.eval_related import RelatedEvalConfig, evaluate_related
    train, heldout = _read(read_boards, args.boards), _read(read_boards, args.heldout)
    progress, bar = _progress(args, "scoring boards")
    try:
        result = evaluate_related(train, heldout, RelatedEvalConfig(seed=args.seed, epochs=args.epochs), progress)
    finally:
        if bar is not None:
            bar.stop()
    result["meta"]["inputs"] = {"boards": str(args.boards), "heldout": str(args.heldout)}
    if option(args, "json", False):
        print_json(result)
    else:
        meta = result["meta"]
        _print_table(result, f"Related Pins on {args.boards.name}: {meta['boards_evaluated']} boards, "
                             f"{meta['heldout_pins']} hidden pins, {meta['pins']} pins")
    return 0


def cmd_eval_sessions(args: argparse.Namespace) -> int:
    from indexer.signals.boards_io import read_session_tests, read_sessions
    from ranking.eval_sessions import SessionEvalConfig, evaluate_sessions
    train, tests = _read(read_sessions, args.train), _read(read_session_tests, args.test)
    progress, bar = _progress(args, "scoring sessions")
    try:
        config = SessionEvalConfig(seed=args.seed, epochs=args.epochs, itemknn=not args.no_itemknn)
        result = evaluate_sessions(train, tests, config, progress)
    finally:
        if bar is not None:
            bar.stop()
    result["meta"]["inputs"] = {"train": str(args.train), "test": str(args.test)}
    if option(args, "json", False):
        print_json(result)
    else:
        _print_table(result, f"next-item prediction on {args.test.name}: {result['meta']['tests']} tests "
                             "(percent; published SR-GNN split: Item-KNN 35.75 / 11.57, POP 0.89 / 0.20)")
    return 0


def cmd_split_boards(args: argparse.Namespace) -> int:
    from indexer.signals.boards_io import read_boards, split_boards, write_boards
    boards = _read(read_boards, args.boards)
    train, heldout = split_boards(boards, heldout_fraction=args.fraction, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write_boards(args.out / "train.tsv", train)
    write_boards(args.out / "heldout.tsv", heldout)
    payload = {"train": str(args.out / "train.tsv"), "heldout": str(args.out / "heldout.tsv"),
               "boards": len(boards), "heldout_boards": len(heldout),
               "heldout_pins": sum(len(p) for _, p in heldout), "fraction": args.fraction, "seed": args.seed}
    print_json(payload) if option(args, "json", False) else print(payload)
    return 0


def cmd_split_sessions(args: argparse.Namespace) -> int:
    from indexer.signals.boards_io import read_sessions, split_sessions, write_session_tests, write_sessions
    sessions = _read(read_sessions, args.sessions)
    train, tests = split_sessions(sessions, test_fraction=args.fraction)
    args.out.mkdir(parents=True, exist_ok=True)
    write_sessions(args.out / "train.tsv", train)
    write_session_tests(args.out / "test.tsv", tests)
    payload = {"train": str(args.out / "train.tsv"), "test": str(args.out / "test.tsv"),
               "train_sessions": len(train), "tests": len(tests), "fraction": args.fraction}
    print_json(payload) if option(args, "json", False) else print(payload)
    return 0
