"""The LTR evaluation report: PNG plots and one HTML page from the summaries ``ltr train --activate`` writes.

Why a file in between: training is slow and needs the engine, drawing is cheap and needs neither, so
the loop writes its JSON summary (``summary.json``, keyed by kind: ``{"search": {...}, "related":
{...}}``, exactly what ``pinsearch ltr train --activate --json`` prints) and the report is drawn from
it, by ``ltr train --report DIR`` right away or later by ``pinsearch eval --report DIR``.

Per kind the page has a section with the held-out comparison (first pass vs LTR: NDCG@10, MAP,
MRR@10, paired delta with its 95 % bootstrap CI and wins/losses) and four plots, named
``<kind>-<plot>.png``: metrics by model, feature weights, the position-bias curve per device and
the histogram of per-query NDCG@10 deltas. A kind the loop skipped (no click log) gets a line
saying why. A summary that cannot be drawn raises :class:`ReportError` naming the file and the
missing piece, never a ``KeyError`` from deep inside the plotting.

matplotlib runs on the Agg backend: no display and no network.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

KINDS = ("search", "related")
METRICS = ("ndcg@10", "map", "mrr@10")
SUMMARY_FILE = "summary.json"
PLOTS = ("metrics_by_model", "feature_weights", "position_bias", "per_query_delta")
_FEATURESET_KIND = {"pinsearch_search": "search", "pinsearch_related": "related"}


class ReportError(ValueError):
    """A summary the report cannot be drawn from (missing, not JSON, or without the held-out metrics)."""


# -- reading and writing summaries ---------------------------------------------------------------------

def load_summaries(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{kind: summary}`` from a summary file, checked (see :func:`normalise_summaries`)."""
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"{path} not found: run 'pinsearch ltr train CORPUS --activate --report DIR' (it writes "
                          f"DIR/{SUMMARY_FILE} and the report) or point --summary at the {SUMMARY_FILE} "
                          "'ltr train --activate' wrote beside its models (--out)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read the summary ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    return normalise_summaries(data, source=str(path))


def normalise_summaries(data: Any, *, source: str = "summary") -> dict[str, dict[str, Any]]:
    """``{kind: summary}`` from either layout ``ltr train --activate`` produces.

    Accepted: the keyed layout (``{"search": {...}, "related": {...}}``, a kind may be
    ``{"skipped": reason}``) and one kind's summary on its own (``train_and_activate(...)["search"]``,
    its kind from ``kind`` or the feature set name). Each summary needs the held-out metrics
    (``first_pass`` and ``ltr`` with numeric NDCG@10, MAP, MRR@10); the plot inputs (``weights``,
    ``position_bias``, ``per_query_delta_ndcg@10``, ``delta``) are type-checked when present.
    """
    if not isinstance(data, dict):
        raise ReportError(f"{source}: expected a JSON object keyed by kind ({', '.join(KINDS)}), "
                          f"found {type(data).__name__}")
    if data and set(data) <= set(KINDS):
        not_objects = [k for k, v in data.items() if not isinstance(v, dict)]
        if not_objects:
            raise ReportError(f"{source}: the summary of {', '.join(not_objects)} should be a JSON object")
        keyed = dict(data)
    elif "first_pass" in data or "ltr" in data or "model_file" in data:
        kind = data.get("kind") or _FEATURESET_KIND.get(str(data.get("featureset")))
        if kind not in KINDS:
            raise ReportError(f"{source}: a single summary without a 'kind' ({', '.join(KINDS)}) or a known "
                              "'featureset': cannot tell whether it is search or Related Pins")
        keyed = {kind: data}
    else:
        raise ReportError(f"{source}: not an LTR summary: expected keys {', '.join(KINDS)} (what 'pinsearch ltr "
                          f"train --activate' writes), found {', '.join(sorted(map(str, data))) or 'none'}")
    for kind, summary in keyed.items():
        if "skipped" not in summary:
            _check_summary(summary, f"{source} [{kind}]")
    return {kind: keyed[kind] for kind in KINDS if kind in keyed}


def _check_summary(summary: Mapping[str, Any], where: str) -> None:
    if "model_file" in summary and "first_pass" not in summary:
        raise ReportError(f"{where}: no held-out metrics: this is 'ltr train' output without --activate, which "
                          "trains but does not evaluate; run 'pinsearch ltr train CORPUS --activate --report DIR'")
    for method in ("first_pass", "ltr"):
        values = summary.get(method)
        if not isinstance(values, dict):
            raise ReportError(f"{where}: missing '{method}' (the held-out metrics of the "
                              f"{'first pass' if method == 'first_pass' else 'LTR model'})")
        bad = [m for m in METRICS if not _is_number(values.get(m))]
        if bad:
            raise ReportError(f"{where}: '{method}' lacks numeric {', '.join(bad)}")
    checks = {"weights": dict, "position_bias": dict, "per_query_delta_ndcg@10": dict, "delta": dict}
    for key, kind in checks.items():
        if key in summary and not isinstance(summary[key], kind):
            raise ReportError(f"{where}: '{key}' should be a JSON object, found {type(summary[key]).__name__}")
    bad_weights = [n for n, w in summary.get("weights", {}).items() if not _is_number(w)]
    if bad_weights:
        raise ReportError(f"{where}: non-numeric feature weights {', '.join(map(str, bad_weights))}")
    for device, curve in summary.get("position_bias", {}).items():
        if not isinstance(curve, dict) or not all(_is_int(p) and _is_number(v) for p, v in curve.items()):
            raise ReportError(f"{where}: position_bias[{device}] should map positions to numbers")
    if not all(_is_number(v) for v in summary.get("per_query_delta_ndcg@10", {}).values()):
        raise ReportError(f"{where}: per_query_delta_ndcg@10 should map keys to numbers")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    try:
        int(value)
        return True
    except (TypeError, ValueError):
        return False


def save_summaries(path: str | Path, summaries: Mapping[str, Mapping[str, Any]], *, merge: bool = True) -> Path:
    """Write ``{kind: summary}`` to ``path``; with ``merge`` the kinds of an earlier valid file that this run
    did not train are kept, so ``--kind search`` then ``--kind related`` into one DIR reports both.

    An unreadable earlier file is replaced rather than merged: it is this command's output location.
    """
    path = Path(path)
    out: dict[str, Any] = {}
    if merge and path.is_file():
        try:
            out.update(load_summaries(path))
        except ReportError:
            out = {}
    out.update(summaries)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = {k: out[k] for k in (*KINDS, *sorted(set(out) - set(KINDS))) if k in out}
    path.write_text(json.dumps(ordered, indent=2, default=_json_default), encoding="utf-8")
    return path


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays as numbers and lists (``default=str`` would turn metrics into strings)."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


# -- drawing ---------------------------------------------------------------------------------------------

def write_report(summaries: Mapping[str, Any], out_dir: str | Path) -> Path:
    """PNG plots per kind and ``index.html`` under ``out_dir``; returns the page.

    ``summaries`` is either layout :func:`normalise_summaries` accepts.
    """
    import matplotlib
    matplotlib.use("Agg")

    by_kind = normalise_summaries(summaries)
    drawable = [k for k, s in by_kind.items() if "skipped" not in s]
    if not drawable:
        raise ReportError("nothing to report: every kind in the summary was skipped ("
                          + "; ".join(f"{k}: {s['skipped']}" for k, s in by_kind.items()) + ")")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    for kind, summary in by_kind.items():
        if "skipped" in summary:
            sections.append(f"<section id='{kind}'><h2>{html.escape(_title(kind))}</h2>"
                            f"<p>skipped: {html.escape(str(summary['skipped']))}</p></section>")
            continue
        images = _plots(kind, summary, out)
        sections.append(_section(kind, summary, images))
    nav = " | ".join(f"<a href='#{k}'>{html.escape(_title(k))}</a>" for k in by_kind)
    body = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>pinsearch LTR report</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:auto}td,th{text-align:right}"
            "td:first-child{text-align:left}img{max-width:100%}</style></head><body>"
            f"<h1>pinsearch LTR report</h1><p>{nav}</p>{''.join(sections)}</body></html>")
    page = out / "index.html"
    page.write_text(body, encoding="utf-8")
    return page


def _title(kind: str) -> str:
    return {"search": "Search", "related": "Related Pins"}.get(kind, kind)


def _plots(kind: str, summary: Mapping[str, Any], out: Path) -> list[tuple[str, str]]:
    """The four PNGs of one kind: (file name, caption)."""
    import matplotlib.pyplot as plt

    images: list[tuple[str, str]] = []

    def save(fig: Any, plot: str, caption: str) -> None:
        name = f"{kind}-{plot}.png"
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        images.append((name, caption))

    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.38
    for j, method in enumerate(("first_pass", "ltr")):
        values = [float(summary[method][m]) for m in METRICS]
        bars = ax.bar([i + (j - 0.5) * width for i in range(len(METRICS))], values, width,
                      label=method.replace("_", " "))
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(range(len(METRICS)), METRICS)
    ax.set_ylim(0, 1.08)
    ax.set_title(f"{_title(kind)}: first pass vs LTR ({summary.get('test_queries', '?')} held-out keys)")
    ax.legend(loc="lower right")
    save(fig, "metrics_by_model", "NDCG@10, MAP and MRR@10 by model")

    weights = {str(k): float(v) for k, v in summary.get("weights", {}).items()}
    fig, ax = plt.subplots(figsize=(6, 0.3 * max(len(weights), 4) + 1))
    names = sorted(weights, key=lambda n: weights[n])
    ax.barh(names, [weights[n] for n in names], color=["#c44" if weights[n] < 0 else "#48c" for n in names])
    ax.axvline(0, color="k", lw=0.8)
    ax.set_title("feature weights (on normalised features)" if weights else "feature weights: none in the summary")
    save(fig, "feature_weights", "feature weights of the model")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    curves = summary.get("position_bias", {})
    for device, curve in curves.items():
        points = sorted((int(p), float(v)) for p, v in curve.items())
        ax.plot([p for p, _ in points], [v for _, v in points], marker="o", label=str(device))
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("position")
    ax.set_ylabel("examination relative to position 1")
    ax.set_title("estimated position bias" if curves else "position bias: none in the summary")
    if curves:
        ax.legend()
    save(fig, "position_bias", "position-bias curve per device (from the impression log)")

    deltas = [float(v) for v in summary.get("per_query_delta_ndcg@10", {}).values()]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(deltas, bins=30, color="#888")
    ax.axvline(0, color="k", lw=1)
    ax.set_xlabel("NDCG@10 (LTR) - NDCG@10 (first pass)")
    ax.set_ylabel("held-out keys")
    ax.set_title(f"per-key NDCG@10 delta ({len(deltas)} keys)")
    save(fig, "per_query_delta", "per-key NDCG@10 delta histogram")
    return images


def _section(kind: str, summary: Mapping[str, Any], images: list[tuple[str, str]]) -> str:
    delta = summary.get("delta", {})
    rows = []
    for m in METRICS:
        d = delta.get(m, {}) if isinstance(delta.get(m), dict) else {}
        ci = d.get("ci95")
        ci_text = (f"[{ci[0]:+.4f}, {ci[1]:+.4f}]" if isinstance(ci, (list, tuple)) and len(ci) == 2
                   and all(_is_number(c) for c in ci) else "")
        delta_text = f"{d['delta']:+.4f}" if _is_number(d.get("delta")) else \
            f"{summary['ltr'][m] - summary['first_pass'][m]:+.4f}"
        wl = f"{d['wins']} / {d['losses']}" if "wins" in d and "losses" in d else ""
        rows.append(f"<tr><td>{html.escape(m)}</td><td>{summary['first_pass'][m]:.4f}</td>"
                    f"<td>{summary['ltr'][m]:.4f}</td><td>{delta_text}</td><td>{ci_text}</td>"
                    f"<td>{html.escape(wl)}</td></tr>")
    extra = sorted(k for k in summary["first_pass"] if k not in METRICS and k != "queries"
                   and _is_number(summary["first_pass"][k]) and _is_number(summary["ltr"].get(k)))
    for m in extra:
        rows.append(f"<tr><td>{html.escape(m)}</td><td>{summary['first_pass'][m]:.4f}</td>"
                    f"<td>{summary['ltr'][m]:.4f}</td><td></td><td></td><td></td></tr>")
    parity = summary.get("parity", {}) if isinstance(summary.get("parity"), dict) else {}
    activation = summary.get("activation", {}) if isinstance(summary.get("activation"), dict) else {}
    training = summary.get("training", {}) if isinstance(summary.get("training"), dict) else {}
    status = ("active" if activation.get("active") == summary.get("model")
              else f"not activated ({activation['refused']})" if activation.get("refused") else "")
    facts = [f"model <code>{html.escape(str(summary.get('model')))}</code>",
             f"{summary.get('test_queries', '?')} held-out keys",
             f"parity {'passed' if parity.get('passed') else 'FAILED'}"
             + (f" on {parity['checked']} documents" if "checked" in parity else ""),
             *([html.escape(status)] if status else []),
             *([f"{training['triplets']} triplets, C={training.get('C')}, "
                f"solver {training.get('solver') or 'linearsvc'}"]
               if "triplets" in training else [])]
    plain = {k: v for k, v in summary.items() if k != "per_query_delta_ndcg@10"}
    return (f"<section id='{kind}'><h2>{html.escape(_title(kind))}</h2><p>{', '.join(facts)}</p>"
            "<table border='1' cellpadding='4' cellspacing='0'><tr><th>metric</th><th>first pass</th><th>LTR</th>"
            f"<th>delta</th><th>95% CI</th><th>wins / losses</th></tr>{''.join(rows)}</table>"
            + "".join(f"<h3>{html.escape(caption)}</h3><img src='{html.escape(name)}' alt='{html.escape(caption)}'>"
                      for name, caption in images)
            + f"<details><summary>summary JSON</summary><pre>"
              f"{html.escape(json.dumps(plain, indent=1, default=_json_default)[:20000])}</pre></details></section>")
