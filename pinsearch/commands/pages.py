"""``pinsearch pages fetch``, ``pinsearch eval extraction`` and ``pinsearch eval cohesion``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pinsearch.commands.common import fail, option, print_json

__all__ = ["cmd_eval_cohesion", "cmd_eval_extraction", "cmd_pages_fetch", "register"]


def _eval_subparsers(subparsers, common):  # type: ignore[no-untyped-def]
    """The shared ``eval`` parser's subparsers (created once; other modules add to it too)."""
    ev = subparsers.choices.get("eval")
    if ev is None:
        ev = subparsers.add_parser("eval", parents=[common], help="offline evaluations")
        ev._eval_sub = ev.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    return ev._eval_sub


def register(subparsers, common_parser) -> None:  # type: ignore[no-untyped-def]
    pages = subparsers.add_parser("pages", parents=[common_parser], help="landing pages")
    psub = pages.add_subparsers(dest="pages_command", required=True, metavar="ACTION")
    p = psub.add_parser("fetch", parents=[common_parser],
                        help="fetch URLs politely (robots.txt, limits, retries, incremental)")
    p.add_argument("urls_file", type=Path, help="text file, one URL per line (# comments)")
    p.add_argument("--out", type=Path, required=True, help="output directory (pages.jsonl + pages/)")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--max-bytes", type=int, default=2 * 1024 * 1024)
    p.add_argument("--delay", type=float, default=1.0, help="seconds between requests to one host")
    p.add_argument("--retries", type=int, default=2)
    p.add_argument("--user-agent", default=None)
    p.set_defaults(handler=cmd_pages_fetch)

    ev = _eval_subparsers(subparsers, common_parser)
    e = ev.add_parser("extraction", parents=[common_parser],
                      help="title/description/body quality of page extraction vs readability-lxml")
    e.add_argument("--pages", type=Path, required=True, help="<id>/source.html + expected.html|txt")
    e.add_argument("--per-page", action="store_true", help="include per-page scores in --json")
    e.set_defaults(handler=cmd_eval_extraction)
    c = ev.add_parser("cohesion", parents=[common_parser],
                      help="cohesion AUC/precision on gold labels (sample output dir)")
    c.add_argument("sample_dir", type=Path, help="sample output dir (corpus/ + ground_truth/) or a corpus")
    c.add_argument("--jobs", type=int, default=2)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--blender", choices=["logistic", "hgb"], default="logistic")
    c.set_defaults(handler=cmd_eval_cohesion)


def cmd_pages_fetch(args: argparse.Namespace) -> int:
    from indexer.pages.fetcher import FetchConfig, fetch_urls_file

    cfg = FetchConfig(timeout=args.timeout, max_bytes=args.max_bytes, host_delay=args.delay,
                      retries=args.retries, **({"user_agent": args.user_agent} if args.user_agent else {}))
    try:
        report = fetch_urls_file(args.urls_file, args.out, cfg, progress=not option(args, "quiet", False))
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    if option(args, "json", False):
        print_json(report)
    elif not option(args, "quiet", False):
        print(", ".join(f"{k}={v}" for k, v in report.items() if not isinstance(v, (list, dict))))
    return 0


def cmd_eval_extraction(args: argparse.Namespace) -> int:
    from ranking.eval_extraction import evaluate_extraction

    try:
        result = evaluate_extraction(args.pages, progress=not option(args, "quiet", False)
                                     and not option(args, "json", False), per_page=args.per_page)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    if option(args, "json", False):
        print_json(result)
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"extraction on {result['pages']} pages ({args.pages})")
    for col in ("method", "title exact", "description", "body P", "body R", "body F1", "errors", "s/page"):
        t.add_column(col)
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"
    for name, m in result["methods"].items():
        t.add_row(name, fmt(m["title_exact"]), fmt(m["description_match"]), fmt(m["precision"]),
                  fmt(m["recall"]), fmt(m["f1"]), str(m["errors"]), f"{m['seconds_per_page']:.3f}")
    Console().print(t)
    return 0


def cmd_eval_cohesion(args: argparse.Namespace) -> int:
    from indexer.cohesion import evaluate_cohesion

    try:
        result = evaluate_cohesion(args.sample_dir, n_jobs=args.jobs, seed=args.seed, kind=args.blender,
                                   progress=not option(args, "quiet", False) and not option(args, "json", False))
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    if option(args, "json", False):
        print_json(result)
        return 0
    print(f"split: {result['split']} ({result['train_labels']} train labels, {result['test_pins']} test pins)")
    for name, m in result["methods"].items():
        print(f"  {name:16s} auc={m['auc']} precision={m['precision']} recall={m['recall']} "
              f"accuracy={m['accuracy']}")
    s = result["speed"]
    print(f"  pages: {s['pages']} extracted at {s['pages_per_second']} pages/s with {s['n_jobs']} jobs; "
          f"{result['page_errors']} page errors")
    return 0
