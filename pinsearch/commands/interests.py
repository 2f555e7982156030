"""``pinsearch eval interests`` and ``pinsearch interests classify|train``: Pin2Interest commands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pinsearch.commands.common import fail, option, print_json

__all__ = ["cmd_classify", "cmd_eval_interests", "cmd_train", "register"]


def register(subparsers: Any, common_parser: argparse.ArgumentParser) -> None:
    """Add ``eval interests`` (sharing the ``eval`` parser with other modules) and ``interests``."""
    eval_parser = subparsers.choices.get("eval")
    if eval_parser is None:
        eval_parser = subparsers.add_parser("eval", parents=[common_parser],
                                            help="offline evaluations")
        eval_parser._eval_sub = eval_parser.add_subparsers(dest="eval_command", required=True,
                                                           metavar="WHAT")
    p = eval_parser._eval_sub.add_parser(
        "interests", parents=[common_parser],
        help="train the interest ranker on 'COARSE:fine text' lines, print coarse/fine accuracy")
    p.add_argument("--train", type=Path, required=True, help="labelled file (TREC format)")
    p.add_argument("--test", type=Path, default=None,
                   help="test file; without it every 10th line of --train is held out")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_eval_interests)

    ip = subparsers.add_parser("interests", parents=[common_parser],
                               help="Pin2Interest: classify text, train a model on a corpus")
    isub = ip.add_subparsers(dest="interests_command", required=True, metavar="ACTION")
    c = isub.add_parser("classify", parents=[common_parser],
                        help="interests of a text (a new pin or a query, Q2I)")
    c.add_argument("text")
    c.add_argument("--model", type=Path, default=None,
                   help="model directory (from 'interests train'); default: lexical-only")
    c.add_argument("--lang", default=None)
    c.set_defaults(handler=cmd_classify)
    t = isub.add_parser("train", parents=[common_parser],
                        help="train on a corpus's judgements/interests.jsonl and save the model")
    t.add_argument("corpus", type=Path)
    t.add_argument("model", type=Path, help="output model directory")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(handler=cmd_train)


def _say(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    if option(args, "quiet", False) or option(args, "json", False):
        return None
    from rich.console import Console

    console = Console(stderr=True)
    return lambda msg: console.print(f"[dim]… {msg}[/dim]")


def cmd_eval_interests(args: argparse.Namespace) -> int:
    from ranking.eval_interests import evaluate_labelled

    try:
        report = evaluate_labelled(args.train, args.test, seed=args.seed, progress=_say(args))
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    if option(args, "json", False):
        print_json(report)
        return 0
    d, p, s = report["data"], report["pin2interest"], report["linear-svm"]
    print(f"split: {d['split']} ({d['n_train']} train, {d['n_test']} test, "
          f"{d['coarse_classes']} coarse / {d['fine_classes']} fine classes)")
    print(f"{'method':<28}{'coarse':>10}{'fine':>10}")
    print(f"{'pin2interest':<28}{p['accuracy_coarse']:>10.1%}{p['accuracy_fine']:>10.1%}")
    print(f"{'linear-svm (bag of words)':<28}{s['accuracy_coarse']:>10.1%}{s['accuracy_fine']:>10.1%}")
    print(f"{'published bow-svm':<28}{0.858:>10.1%}{0.802:>10.1%}  (standard TREC-10 test set)")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from indexer.interests.classify import Pin2Interest
    from indexer.interests.q2i import _lexical_default

    try:
        model = Pin2Interest.load(args.model) if args.model else _lexical_default()
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    scores = model.classify_text(args.text, lang=args.lang)
    if option(args, "json", False):
        print_json({"text": args.text, "interests": [s.to_dict() for s in scores]})
        return 0
    for s in scores:
        print(f"L{s.level}  {s.interest_id:>6}  {s.score:6.3f}  {'  ' * (s.level - 1)}{s.label}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from indexer.interests.classify import Pin2Interest, load_corpus_items

    try:
        items, judged = load_corpus_items(args.corpus)
    except Exception as exc:  # the reader names the file and the problem
        raise fail(f"{args.corpus}: {exc}") from None
    model = Pin2Interest(seed=args.seed).fit(items, judged, progress=_say(args))
    model.save(args.model)
    if option(args, "json", False):
        print_json(model.manifest_)
    else:
        print(f"saved {args.model} ({model.manifest_.get('ranker')}, "
              f"{model.manifest_.get('n_train_items')} judged pins)")
    return 0
