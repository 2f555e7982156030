"""PNG plots and one HTML page from a ``train_and_activate`` summary (matplotlib, Agg backend, no network)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Mapping


def write_report(summary: Mapping[str, Any], out_dir: str | Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images: list[tuple[str, str]] = []

    metrics = ["ndcg@10", "map", "mrr@10"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.38
    for j, method in enumerate(("first_pass", "ltr")):
        values = [summary[method].get(m, 0.0) for m in metrics]
        ax.bar([i + (j - 0.5) * width for i in range(len(metrics))], values, width, label=method)
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_title("first pass vs LTR (held-out queries)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "metrics_by_model.png", dpi=110)
    plt.close(fig)
    images.append(("metrics_by_model.png", "NDCG@10, MAP, MRR by model"))

    weights = {k: v for k, v in summary.get("weights", {}).items()}
    fig, ax = plt.subplots(figsize=(6, 0.3 * max(len(weights), 4) + 1))
    names = sorted(weights, key=lambda n: weights[n])
    ax.barh(names, [weights[n] for n in names], color=["#c44" if weights[n] < 0 else "#48c" for n in names])
    ax.set_title("feature weights (normalised features)")
    fig.tight_layout()
    fig.savefig(out / "feature_weights.png", dpi=110)
    plt.close(fig)
    images.append(("feature_weights.png", "feature weights"))

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for device, curve in summary.get("position_bias", {}).items():
        points = sorted((int(p), v) for p, v in curve.items())
        ax.plot([p for p, _ in points], [v for _, v in points], marker="o", label=device)
    ax.set_xlabel("position")
    ax.set_ylabel("examination relative to position 1")
    ax.set_title("estimated position bias")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "position_bias.png", dpi=110)
    plt.close(fig)
    images.append(("position_bias.png", "position bias per device"))

    deltas = list(summary.get("per_query_delta_ndcg@10", {}).values())
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(deltas, bins=30, color="#888")
    ax.axvline(0, color="k", lw=1)
    ax.set_title("per-query NDCG@10 delta (LTR - first pass)")
    fig.tight_layout()
    fig.savefig(out / "per_query_delta.png", dpi=110)
    plt.close(fig)
    images.append(("per_query_delta.png", "per-query delta histogram"))

    delta = summary.get("delta", {})
    rows = "".join(f"<tr><td>{html.escape(m)}</td><td>{summary['first_pass'].get(m, 0):.4f}</td>"
                   f"<td>{summary['ltr'].get(m, 0):.4f}</td><td>{delta.get(m, {}).get('delta', 0):+.4f}</td>"
                   f"<td>{delta.get(m, {}).get('ci95')}</td></tr>" for m in metrics)
    body = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>pinsearch LTR report</title></head><body>"
            f"<h1>pinsearch LTR report</h1><p>model <code>{html.escape(str(summary.get('model')))}</code>, "
            f"{summary.get('test_queries')} held-out queries, parity "
            f"{'passed' if summary.get('parity', {}).get('passed') else 'FAILED'}</p>"
            f"<table border='1' cellpadding='4'><tr><th>metric</th><th>first pass</th><th>LTR</th><th>delta</th>"
            f"<th>95% CI</th></tr>{rows}</table>"
            + "".join(f"<h2>{html.escape(t)}</h2><img src='{f}' alt='{html.escape(t)}'>" for f, t in images)
            + f"<h2>summary</h2><pre>{html.escape(json.dumps({k: v for k, v in summary.items() if k != 'per_query_delta_ndcg@10'}, indent=1, default=str)[:20000])}</pre>"
            "</body></html>")
    page = out / "index.html"
    page.write_text(body, encoding="utf-8")
    return page
