"""``pinsearch annotations ...`` and ``pinsearch eval keyphrases``.

    pinsearch annotations dict build CORPUS [--dict FILE]     build (curation re-applied)
    pinsearch annotations dict add "vegan dinner" --lang en [--canonical TEXT] [--note N]
    pinsearch annotations dict delete "ideas" --lang en       (or a term id)
    pinsearch annotations dict show [TEXT_OR_ID] [--lang L] [--limit N]
    pinsearch annotations dict log
    pinsearch annotations train CORPUS --model DIR [--kind gbdt|lr]
    pinsearch annotations annotate PIN_JSON --model DIR [--top-k 10] [--threshold 0.3]
    pinsearch eval keyphrases --zip FILE.zip

``PIN_JSON`` is a pins.jsonl record (a file path or the JSON text itself); two optional extra
fields give context the corpus would: ``board_names`` (list of strings) and ``queries``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pinsearch.commands.common import fail, option, print_json

DEFAULT_DICT = Path("pinsearch-annotations") / "dictionary.json"


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    ann = subparsers.add_parser("annotations", parents=[common],
                                help="annotation dictionary, model and instant annotator")
    asub = ann.add_subparsers(dest="annotations_command", required=True, metavar="ACTION")

    dct = asub.add_parser("dict", parents=[common], help="build and curate the dictionary")
    dsub = dct.add_subparsers(dest="dict_command", required=True, metavar="ACTION")

    def dict_parser(name: str, help_: str) -> argparse.ArgumentParser:
        p = dsub.add_parser(name, parents=[common], help=help_)
        p.add_argument("--dict", type=Path, default=DEFAULT_DICT, dest="dict_path",
                       help=f"dictionary file (default {DEFAULT_DICT})")
        return p

    p = dict_parser("build", "build the dictionary from a corpus (curation kept)")
    p.add_argument("corpus", type=Path)
    p.add_argument("--min-count", type=int, default=2)
    p.add_argument("--min-npmi", type=float, default=0.3)
    p.set_defaults(handler=cmd_dict_build)
    p = dict_parser("add", "add a curated term (or alias with --canonical)")
    p.add_argument("text")
    p.add_argument("--lang", required=True)
    p.add_argument("--canonical", default=None, help="make TEXT an alias of this term")
    p.add_argument("--note", default=None)
    p.set_defaults(handler=cmd_dict_add)
    p = dict_parser("delete", "delete a term (kept deleted across rebuilds)")
    p.add_argument("term", help="term id or phrase (with --lang)")
    p.add_argument("--lang", default=None)
    p.add_argument("--note", default=None)
    p.set_defaults(handler=cmd_dict_delete)
    p = dict_parser("show", "show terms, or one term")
    p.add_argument("term", nargs="?", default=None)
    p.add_argument("--lang", default=None)
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(handler=cmd_dict_show)
    p = dict_parser("log", "the change log")
    p.set_defaults(handler=cmd_dict_log)

    p = asub.add_parser("train", parents=[common], help="build dictionary + train the scorer")
    p.add_argument("corpus", type=Path)
    p.add_argument("--model", type=Path, required=True, help="output model directory")
    p.add_argument("--kind", choices=["gbdt", "lr"], default="gbdt")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_train)

    p = asub.add_parser("annotate", parents=[common], help="annotate one pin (instant path)")
    p.add_argument("pin_json", help="a pins.jsonl record: file path or JSON text")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--threshold", type=float, default=0.3)
    p.set_defaults(handler=cmd_annotate)

    ev = subparsers.choices.get("eval")
    if ev is None:
        ev = subparsers.add_parser("eval", parents=[common], help="offline evaluations")
        ev._eval_sub = ev.add_subparsers(dest="eval_command", required=True, metavar="EVAL")
    p = ev._eval_sub.add_parser("keyphrases", parents=[common],
                                help="keyphrase extraction P/R/F1@5/@10 on a LIAAD-layout zip")
    p.add_argument("--zip", type=Path, required=True, dest="zip_path")
    p.add_argument("--kind", choices=["gbdt", "lr"], default="gbdt")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_eval_keyphrases)


# -- handlers -----------------------------------------------------------------------------------
def _load_dict(path: Path):  # type: ignore[no-untyped-def]
    from indexer.annotations import Dictionary, DictionaryError
    try:
        return Dictionary.load(path)
    except DictionaryError as exc:
        raise fail(str(exc)) from None


def _entry_json(e: Any) -> dict[str, Any]:
    from dataclasses import asdict
    return asdict(e)


def _say(args: argparse.Namespace, payload: Any, text: str) -> None:
    if option(args, "json", False):
        print_json(payload)
    elif not option(args, "quiet", False):
        print(text)


def cmd_dict_build(args: argparse.Namespace) -> int:
    from indexer.annotations import BuildOptions, Dictionary, build_dictionary
    if not (args.corpus / "pins.jsonl").exists():
        raise fail(f"{args.corpus}: no pins.jsonl; give a corpus directory")
    previous = Dictionary.load(args.dict_path) if args.dict_path.exists() else None
    d = build_dictionary(args.corpus, previous=previous,
                         options=BuildOptions(min_count=args.min_count, min_npmi=args.min_npmi),
                         progress=not option(args, "quiet", False) and not option(args, "json",
                                                                                  False))
    d.save(args.dict_path)
    per_lang: dict[str, int] = {}
    for e in d:
        per_lang[e.lang] = per_lang.get(e.lang, 0) + 1
    _say(args, {"dictionary": str(args.dict_path), "version": d.version, "terms": len(d),
                "per_lang": per_lang},
         f"{args.dict_path}: version {d.version}, {len(d)} terms "
         + ", ".join(f"{k}={v}" for k, v in sorted(per_lang.items())))
    return 0


def cmd_dict_add(args: argparse.Namespace) -> int:
    from indexer.annotations import DictionaryError
    d = _load_dict(args.dict_path)
    try:
        e = d.add(args.text, args.lang, canonical=args.canonical, note=args.note)
    except DictionaryError as exc:
        raise fail(str(exc)) from None
    d.save(args.dict_path)
    _say(args, _entry_json(e), f"added {e.id} ({e.text!r})"
         + (f" -> {e.canonical_id}" if e.canonical_id else ""))
    return 0


def cmd_dict_delete(args: argparse.Namespace) -> int:
    from indexer.annotations import DictionaryError
    d = _load_dict(args.dict_path)
    try:
        e = d.delete(args.term, args.lang, note=args.note)
    except DictionaryError as exc:
        raise fail(str(exc)) from None
    d.save(args.dict_path)
    _say(args, _entry_json(e), f"deleted {e.id} ({e.text!r})")
    return 0


def cmd_dict_show(args: argparse.Namespace) -> int:
    d = _load_dict(args.dict_path)
    if args.term:
        e = d.get(args.term) or (d.lookup(args.term, args.lang) if args.lang else None)
        if e is None:
            raise fail(f"{args.term!r} is not in {args.dict_path}"
                       + ("" if args.lang else " (give --lang to look up a phrase)"))
        entries = [e]
    else:
        entries = sorted((e for e in d if args.lang in (None, e.lang)),
                         key=lambda e: (-e.df - e.search_freq, e.id))[:args.limit]
    _say(args, [_entry_json(e) for e in entries],
         "\n".join(f"{e.id:<40} {e.text!r:<32} df={e.df} search={e.search_freq} "
                   f"sources={e.sources}" + (f" -> {e.canonical_id}" if e.canonical_id else "")
                   for e in entries))
    return 0


def cmd_dict_log(args: argparse.Namespace) -> int:
    d = _load_dict(args.dict_path)
    _say(args, d.log, "\n".join(f"{r['ts']} v{r['version']} {r['action']:<7} "
                                f"{r.get('id') or ''} {r.get('note') or ''}" for r in d.log))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from indexer.annotations import AnnotationModel
    if not (args.corpus / "pins.jsonl").exists():
        raise fail(f"{args.corpus}: no pins.jsonl; give a corpus directory")
    m = AnnotationModel.build(args.corpus, kind=args.kind, seed=args.seed,
                              progress=not option(args, "quiet", False)
                              and not option(args, "json", False))
    m.save(args.model)
    _say(args, m.manifest, f"{args.model}: {len(m.dictionary)} terms, scorer "
         f"{m.manifest['parameters']['kind']}, {m.manifest['metrics']}")
    return 0


def _read_pin(raw: str) -> tuple[Any, list[str], list[str]]:
    from indexer.corpus import Pin
    path = Path(raw)
    text = path.read_text("utf-8") if len(raw) < 4096 and path.exists() else raw
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"PIN_JSON: not valid JSON (line {exc.lineno}, column {exc.colno}): "
                   f"{exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise fail("PIN_JSON: field 'id' (string) is required, as in pins.jsonl")
    for name in ("title", "description"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise fail(f"PIN_JSON: field {name!r} must be a string")
    pin = Pin(id=data["id"], title=data.get("title") or "",
              description=data.get("description") or "", lang=data.get("lang"),
              image_annotations=tuple(data.get("image_annotations") or ()),
              repin_count=int(data.get("repin_count") or 0))
    return pin, list(data.get("board_names") or []), list(data.get("queries") or [])


def cmd_annotate(args: argparse.Namespace) -> int:
    from indexer.annotations import annotate_pin
    from indexer.corpus import Board
    pin, board_names, queries = _read_pin(args.pin_json)
    try:
        anns = annotate_pin(pin, args.model, boards=[Board(id=f"b{i}", name=n)
                                                     for i, n in enumerate(board_names)],
                            queries=queries, top_k=args.top_k, threshold=args.threshold)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    _say(args, {"pin_id": pin.id, "annotations": [a._asdict() for a in anns]},
         "\n".join(f"{a.score:.3f}  {a.lang}  {a.annotation}  ({a.id})" for a in anns)
         or "(no annotations)")
    return 0


def cmd_eval_keyphrases(args: argparse.Namespace) -> int:
    import sys
    from ranking.eval_keyphrases import KeyphraseDataError, evaluate_keyphrases, format_text
    quiet = option(args, "quiet", False) or option(args, "json", False)
    try:
        result = evaluate_keyphrases(args.zip_path, seed=args.seed, kind=args.kind,
                                     progress=None if quiet else
                                     (lambda m: print(m, file=sys.stderr)))
    except (KeyphraseDataError, OSError) as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # zipfile.BadZipFile and friends
        import zipfile
        if isinstance(exc, zipfile.BadZipFile):
            raise fail(f"{args.zip_path}: not a zip file") from None
        raise
    _say(args, result, format_text(result))
    return 0
