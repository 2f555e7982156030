"""``pinsearch ltr ...`` and ``pinsearch eval letor`` / ``pinsearch eval --report``: learning to rank from the CLI.

ltr features upload   validate the feature sets against the index and store them (_ltr)
ltr train CORPUS [--kind search|related|all] [--solver auto|linearsvc|sgd]
                      clicks -> bias -> COEC -> triplets -> logged features -> RankSVM (writes --out);
                      with --activate also upload, parity-check, activate if not worse and evaluate on
                      the held-out split (the whole loop; CORPUS is then a sample directory), and write
                      the summary to OUT/summary.json; --report DIR (needs --activate) also writes
                      DIR/summary.json and the report (PNG plots + index.html, one section per kind)
ltr upload MODEL.linear.json [--activate]   create the model, parity-check, activate if not worse
ltr evaluate JUDGEMENTS     first pass vs the active model (NDCG@10, MAP, MRR, bootstrap CI); the
                            file's key (query / query_pin) says search or Related Pins
eval letor --data DIR       five-fold RankSVM on LETOR partitions
eval --report DIR [--summary FILE]
                            PNG plots + HTML again from the summary 'ltr train --activate' wrote
                            (DIR/summary.json unless --summary names another, e.g. OUT/summary.json)

Summaries are keyed by kind (``{"search": {...}, "related": {...}}``, what ``ltr train --activate
--json`` prints); writing into an existing summary.json keeps the kinds this run did not train, so
``--kind search`` and then ``--kind related`` with one --report DIR give one page with both.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ranking.ltr.plugin import require_ltr_plugin
from pinsearch.commands.options import add_cache_option
from pinsearch.commands.common import client_for, fail, option, print_json

KINDS = ("search", "related")
#: per kind: the feature set name and the relevance file (its key field)
RELEVANCE = {"search": ("search_relevance.jsonl", "query"), "related": ("related_relevance.jsonl", "query_pin")}
#: ``ranking.ltr.ranksvm.SGD_MIN_PAIRS`` as the help shows it; spelled out so the CLI starts without numpy
#: (tests/ranking/test_ranksvm.py keeps the two in step)
SGD_MIN_PAIRS_HELP = "1,000,000"


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    ltr = subparsers.add_parser("ltr", parents=[common], help="learning to rank: feature sets, training, models")
    sub = ltr.add_subparsers(dest="ltr_command", required=True, metavar="LTR_COMMAND")

    features = sub.add_parser("features", parents=[common], help="feature sets")
    fsub = features.add_subparsers(dest="features_command", required=True)
    p = fsub.add_parser("upload", parents=[common], help="validate against the index and upload the feature sets")
    p.add_argument("--set", choices=["search", "related", "all"], default="all")
    p.set_defaults(handler=cmd_features_upload)

    p = sub.add_parser("train", parents=[common],
                       help="train a search or Related Pins model from the corpus's click log (--activate: whole loop)")
    p.add_argument("corpus", type=Path, help="corpus directory (or a sample directory holding corpus/)")
    p.add_argument("--kind", choices=[*KINDS, "all"], default="search",
                   help="search (search_log.jsonl), related (related_log.jsonl) or all")
    p.add_argument("--out", type=Path, default=Path("pinsearch-models"),
                   help="where the model files go (and, with --activate, summary.json)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--solver", choices=["auto", "linearsvc", "sgd"], default="auto",
                   help="RankSVM solver: LinearSVC (exact), SGD (hinge, for large data) or auto: SGD above "
                        f"{SGD_MIN_PAIRS_HELP} training pairs")
    p.add_argument("--report", type=Path, default=None, metavar="DIR",
                   help="with --activate: write DIR/summary.json and the report (PNG plots, index.html) there")
    p.add_argument("--activate", action="store_true",
                   help="also upload, parity-check, activate unless worse than the active model, and evaluate on "
                        "held-out keys against ground_truth/ (or the corpus judgements)")
    p.add_argument("--force", action="store_true", help="with --activate: activate even if worse (parity still required)")
    add_cache_option(p, "the signal cache reindex wrote (query-side features of search; as 'pinsearch search')")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("upload", parents=[common], help="upload a trained model; --activate after checks")
    p.add_argument("model", type=Path, help="MODEL.linear.json written by 'ltr train'")
    p.add_argument("--activate", action="store_true", help="activate when parity holds and it is not worse")
    p.add_argument("--judgements", type=Path, default=None,
                   help="search_relevance.jsonl or related_relevance.jsonl used to compare with the active model "
                        "(default: from the model's corpus)")
    p.add_argument("--force", action="store_true", help="activate even if offline metrics are worse (parity still required)")
    add_cache_option(p, "the signal cache reindex wrote (query-side features of search)")
    p.set_defaults(handler=cmd_upload)

    p = sub.add_parser("evaluate", parents=[common], help="first pass vs the active model on judged queries")
    p.add_argument("judgements", type=Path,
                   help="search_relevance.jsonl (query, pin_id, relevance) or related_relevance.jsonl (query_pin, ...)")
    p.add_argument("--kind", choices=KINDS, default=None, help="default: from the file's key field")
    p.add_argument("--all-queries", action="store_true", help="evaluate every query, not only the held-out split")
    add_cache_option(p, "the signal cache reindex wrote (query-side features of search)")
    p.set_defaults(handler=cmd_evaluate)

    if "eval" in subparsers.choices:
        eval_parser = subparsers.choices["eval"]
    else:
        eval_parser = subparsers.add_parser("eval", parents=[common], help="evaluations on real data sets")
        eval_parser.add_argument("--report", type=Path, default=None, metavar="DIR",
                                 help="write PNG plots and an HTML page to DIR from the summary of 'ltr train "
                                      "--activate' (DIR/summary.json, or --summary FILE)")
        eval_parser.add_argument("--summary", type=Path, default=None, metavar="FILE",
                                 help="with --report: the summary to draw (default DIR/summary.json)")
        eval_parser.set_defaults(handler=cmd_eval_report)
        eval_parser._eval_sub = eval_parser.add_subparsers(dest="eval_command", metavar="EVAL_COMMAND")  # type: ignore[attr-defined]
    if not hasattr(eval_parser, "_eval_sub"):
        eval_parser._eval_sub = eval_parser.add_subparsers(dest="eval_command", metavar="EVAL_COMMAND")  # type: ignore[attr-defined]
    p = eval_parser._eval_sub.add_parser("letor", parents=[common], help="five-fold RankSVM on LETOR partitions")
    p.add_argument("--data", type=Path, required=True, help="directory with partN/partition.txt (SVMlight)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_eval_letor)


def _say(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    if option(args, "quiet", False) or option(args, "json", False):
        return lambda message: None
    from rich.console import Console
    console = Console(stderr=True)
    return lambda message: console.print(f"[dim]{message}[/]")


def _query_signals(args: argparse.Namespace) -> Callable[[str], Any] | None:
    """Query-side features for search from the signal cache, exactly as ``pinsearch search`` computes them."""
    from ranking.query_signals import query_signals_for
    cache = getattr(args, "cache", None)
    return query_signals_for(cache) if cache is not None and Path(cache).exists() else None


def _kinds(kind: str) -> list[str]:
    return list(KINDS) if kind == "all" else [kind]


def cmd_features_upload(args: argparse.Namespace) -> int:
    from ranking.ltr.featuresets import (
        FeatureSetError,
        load_featureset,
        upload_featureset,
    )
    client = client_for(args)
    require_ltr_plugin(client)
    try:
        kinds = ["search", "related"] if args.set == "all" else [args.set]
        results = [upload_featureset(client, load_featureset(k), index=option(args, "index", "pins")) for k in kinds]
    except FeatureSetError as exc:
        raise fail(str(exc)) from None
    finally:
        client.transport.close()
    if option(args, "json", False):
        print_json({"featuresets": results})
    else:
        for r in results:
            print(f"feature set [{r['name']}] version {r['version']}: {len(r['features'])} features, valid on [{r['index']}]")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    if args.activate:
        return _train_activate(args)
    if getattr(args, "report", None) is not None:
        raise fail("--report needs --activate: the report compares the first pass with the new model on held-out "
                   "keys, which only the whole loop (upload, parity check, evaluation) measures")
    from ranking.ltr.pipeline import train_search_model
    from ranking.ltr.related_pipeline import train_related_model
    client = client_for(args)
    require_ltr_plugin(client)
    corpus = args.corpus / "corpus" if (args.corpus / "corpus").is_dir() else args.corpus
    index = option(args, "index", "pins")
    summaries = []
    try:
        for kind in _kinds(args.kind):
            if kind == "search":
                trained = train_search_model(client, corpus, index=index, seed=args.seed, solver=args.solver,
                                             query_signals=_query_signals(args), progress=_say(args))
            else:
                trained = train_related_model(client, corpus, index=index, seed=args.seed, solver=args.solver,
                                              progress=_say(args))
            summaries.append(_write_trained(args, corpus, kind, trained))
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    finally:
        client.transport.close()
    if option(args, "json", False):
        print_json(summaries[0] if len(summaries) == 1 else {s["kind"]: s for s in summaries})
    else:
        for s in summaries:
            print(f"{s['kind']}: trained on {s['triplets']} triplets ({s['solver']}, C={s['C']}); "
                  f"model written to {s['model_file']}")
    return 0


def _write_trained(args: argparse.Namespace, corpus: Path, kind: str, trained: dict[str, Any]) -> dict[str, Any]:
    """The model file ``ltr upload`` reads, the RankSVM joblib + manifest and the bias curve."""
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{trained['featureset'].name}-fs{trained['featureset_version']}-seed{args.seed}"
    model_path = args.out / f"{stem}.linear.json"
    payload = {**trained["model"].to_dict(), "featureset": trained["featureset"].name, "kind": kind,
               "featureset_version": trained["featureset_version"], "corpus": str(corpus), "C": trained["C"],
               "solver": trained["solver"],
               "validation_pairwise_accuracy": trained["validation"], "triplets": trained["triplets"],
               "validation_params": trained["validation_params"], "dropped_features": trained["dropped_features"]}
    model_path.write_text(json.dumps(payload, indent=2))
    trained["ranksvm"].save(args.out / f"{stem}.joblib", feature_names=list(trained["model"].weights),
                            inputs={"corpus": str(corpus), "featureset_version": trained["featureset_version"]},
                            metrics={"validation_pairwise_accuracy": trained["validation"]})
    bias_name = "position_bias.json" if kind == "search" else f"position_bias-{kind}.json"
    trained["bias"].save(args.out / bias_name)
    return {"kind": kind, "model_file": str(model_path), "weights": trained["model"].weights, "C": trained["C"],
            "solver": trained["solver"],
            "triplets": trained["triplets"], "impressions": trained["impressions"], "timings": trained["timings"]}


def _train_activate(args: argparse.Namespace) -> int:
    """The whole loop per kind (``train_and_activate``): prints the held-out comparison with CIs, saves
    the summary to OUT/summary.json and, with ``--report DIR``, to DIR/summary.json with the report."""
    from ranking.ltr.pipeline import train_and_activate
    from ranking.ltr.report import SUMMARY_FILE, ReportError, load_summaries, save_summaries, write_report
    client = client_for(args)
    require_ltr_plugin(client)
    try:
        summaries = train_and_activate(client, args.corpus, option(args, "index", "pins"), seed=args.seed,
                                       query_signals=_query_signals(args), force=args.force, out_dir=args.out,
                                       progress=_say(args), kinds=_kinds(args.kind), solver=args.solver)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    finally:
        client.transport.close()
    say = _say(args)
    say(f"summary written to {save_summaries(args.out / SUMMARY_FILE, summaries)}")
    report = getattr(args, "report", None)
    if report is not None:
        try:
            page = write_report(load_summaries(save_summaries(report / SUMMARY_FILE, summaries)), report)
        except (ReportError, OSError) as exc:
            raise fail(f"report not written: {exc}") from None
        say(f"report written to {page}")
    if option(args, "json", False):
        print_json(summaries)
    else:
        for kind, summary in summaries.items():
            if "skipped" in summary:
                print(f"{kind}: skipped ({summary['skipped']})")
                continue
            t = summary["training"]
            print(f"{kind}: model [{summary['model']}] {t['triplets']} triplets, C={t['C']}, parity "
                  f"{'ok' if summary['parity']['passed'] else 'FAILED'} ({summary['parity']['checked']} docs), "
                  f"{summary['test_queries']} held-out keys, "
                  + ("active" if summary["activation"].get("active") == summary["model"]
                     else f"NOT activated: {summary['activation'].get('refused')}"))
            _print_comparison(summary, summary["delta"])
    failed = [k for k, s in summaries.items() if "parity" in s and not s["parity"]["passed"]]
    return 1 if failed else 0


def _print_comparison(payload: dict[str, Any], delta: dict[str, Any]) -> None:
    for m in ("ndcg@10", "map", "mrr@10"):
        d = delta[m]
        print(f"  {m:8} first_pass {payload['first_pass'][m]:.4f}  ltr {payload['ltr'][m]:.4f}  "
              f"delta {d['delta']:+.4f}  95% CI [{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}]")


def _judged_kind(path: Path) -> str:
    """``search`` or ``related`` from the first row's key field (``query`` or ``query_pin``)."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                return "related" if "query_pin" in row else "search"
    raise ValueError(f"{path}: empty relevance file")


def _evaluator(client: Any, kind: str, truth: dict[str, dict[str, float]], keys: list[str], index: str,
               args: argparse.Namespace) -> Callable[[dict[str, str | None]], dict[str, Any]]:
    if kind == "search":
        from ranking.ltr.pipeline import evaluate_search_models
        signals = _query_signals(args)
        return lambda models: evaluate_search_models(client, truth, keys, index=index, models=models,
                                                     query_signals=signals)
    from ranking.ltr.related_pipeline import evaluate_related_models
    return lambda models: evaluate_related_models(client, truth, keys, index=index, models=models)


def cmd_upload(args: argparse.Namespace) -> int:
    from ranking.ltr.export import LinearModel
    from ranking.ltr.pipeline import held_out_keys, parity_samples, read_relevance
    from ranking.ltr.related_pipeline import related_parity_samples
    from ranking.ltr.rescore import RELATED_FEATURESET
    from ranking.ltr.activation import ActivationEvidence, activate_with_checks
    from ranking.ltr.evaluate import compare
    from ranking.ltr.upload import ActivationRefused, active_model, create_model, model_name, parity_check
    try:
        spec = json.loads(args.model.read_text())
        model = LinearModel.from_dict(spec)
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"{args.model}: not a model file written by 'ltr train' ({exc})") from None
    index = option(args, "index", "pins")
    client = client_for(args)
    require_ltr_plugin(client)
    try:
        fs, version = spec["featureset"], int(spec["featureset_version"])
        kind = spec.get("kind") or ("related" if fs == RELATED_FEATURESET else "search")
        filename, key = RELEVANCE[kind]
        name = model_name(fs, index, version)
        record = create_model(client, fs, version, name, model, index=index,
                              validation_params=spec.get("validation_params"), training={"file": str(args.model)})
        judgements = args.judgements or Path(spec.get("corpus", ".")) / "judgements" / filename
        truth = read_relevance(judgements, key=key) if judgements.exists() else {}
        queries = held_out_keys(truth)
        if kind == "search":
            samples = parity_samples(client, queries or ["pin"], index=index, query_signals=_query_signals(args))
        else:
            samples = related_parity_samples(client, queries, index=index)
        parity = parity_check(client, index, name, model, samples)
        result: dict[str, Any] = {"model": name, "kind": kind, "index": record["index"], "parity": parity}
        if args.activate:  # the same rule as `ltr train --activate` (ranking.ltr.activation)
            previous = active_model(client, fs)
            models = {"first_pass": None, "candidate": name, **({"active": previous["name"]} if previous else {})}
            evaluation = _evaluator(client, kind, truth, queries, index, args)(models) if queries else {}
            comparison = (compare(evaluation["first_pass"], evaluation["candidate"], ["ndcg@10"])
                          if evaluation else None)
            evidence = ActivationEvidence(parity=parity,
                                          candidate_metric=evaluation.get("candidate", {}).get("ndcg@10"),
                                          active_metric=evaluation.get("active", {}).get("ndcg@10"),
                                          first_pass_comparison=comparison)
            try:
                result["activation"] = activate_with_checks(client, fs, name, evidence, force=args.force)
            except ActivationRefused as exc:
                raise fail(str(exc)) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    finally:
        client.transport.close()
    if option(args, "json", False):
        print_json(result)
    else:
        print(f"uploaded [{name}] (index {record['index']}); parity {'ok' if parity['passed'] else 'FAILED'} on "
              f"{parity['checked']} docs" + (f"; active: {result['activation']['active']}" if "activation" in result else ""))
    return 0 if parity["passed"] else 1


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ranking.ltr.evaluate import compare
    from ranking.ltr.pipeline import is_test, read_relevance
    from ranking.ltr.rescore import RELATED_FEATURESET, SEARCH_FEATURESET
    from ranking.ltr.upload import active_model
    try:
        kind = args.kind or _judged_kind(args.judgements)
        truth = read_relevance(args.judgements, key=RELEVANCE[kind][1])
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from None
    queries = sorted(q for q in truth if (args.all_queries or is_test(q)) and any(r > 0 for r in truth[q].values()))
    index = option(args, "index", "pins")
    client = client_for(args)
    require_ltr_plugin(client)
    try:
        record = active_model(client, SEARCH_FEATURESET if kind == "search" else RELATED_FEATURESET)
        if record is None:
            raise fail(f"no active {kind} model: run 'pinsearch ltr train --kind {kind} --activate' or "
                       "'pinsearch ltr upload MODEL --activate' first")
        evaluation = _evaluator(client, kind, truth, queries, index, args)({"first_pass": None, "ltr": record["name"]})
    except ValueError as exc:
        raise fail(str(exc)) from None
    finally:
        client.transport.close()
    delta = compare(evaluation["first_pass"], evaluation["ltr"], ["ndcg@10", "map", "mrr@10"])
    payload = {"model": record["name"], "kind": kind, "queries": len(queries),
               **{m: {k: v for k, v in evaluation[m].items() if k != "per_query"} for m in ("first_pass", "ltr")},
               "delta": delta}
    if option(args, "json", False):
        print_json(payload)
    else:
        print(f"{kind}: model [{record['name']}], {len(queries)} {'held-out ' if not args.all_queries else ''}keys")
        _print_comparison(payload, delta)
    return 0


def cmd_eval_letor(args: argparse.Namespace) -> int:
    from ranking.eval_letor import LetorFormatError, evaluate_letor, format_table
    say = _say(args)
    try:
        result = evaluate_letor(args.data, random_state=args.seed, progress=say, on_error=say)
    except (LetorFormatError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    if option(args, "json", False):
        print_json(result)
    else:
        print(format_table(result))
    return 0


def cmd_eval_report(args: argparse.Namespace) -> int:
    """``eval --report DIR``: the plots and page from a saved summary (drawing needs no engine)."""
    if getattr(args, "report", None) is None:
        raise fail("give an evaluation subcommand (e.g. 'eval letor --data DIR') or --report DIR")
    from ranking.ltr.report import SUMMARY_FILE, ReportError, load_summaries, write_report
    summary_path = getattr(args, "summary", None) or args.report / SUMMARY_FILE
    try:
        summaries = load_summaries(summary_path)
        page = write_report(summaries, args.report)
    except ReportError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot write the report to {args.report}: {exc}") from None
    if option(args, "json", False):
        from ranking.ltr.report import PLOTS
        print_json({"report": str(page), "summary": str(summary_path), "kinds": list(summaries),
                    "images": [f"{k}-{plot}.png" for k, summary in summaries.items() if "skipped" not in summary
                               for plot in PLOTS]})
    else:
        print(f"report written to {page} ({', '.join(summaries)})")
    return 0
