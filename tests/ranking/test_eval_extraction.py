"""Extraction evaluation: the shingle metric, and quality on Mozilla Readability's test pages."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ranking.eval_extraction import evaluate_extraction, shingle_prf


def test_shingle_prf_counts_multiplicity() -> None:
    assert shingle_prf("a b c d", "a b c d") == (1.0, 1.0, 1.0)
    p, r, f = shingle_prf("a b c d e", "a b c d")
    assert p == 0.5 and r == 1.0 and abs(f - 2 / 3) < 1e-9
    # repeated shingles count with multiplicity: 2 copies extracted, 1 in gold
    p, r, _ = shingle_prf("a b c d a b c d", "a b c d")
    assert r == 1.0 and p == pytest.approx(1 / 5)
    assert shingle_prf("", "") == (1.0, 1.0, 1.0) and shingle_prf("", "a b c d")[2] == 0.0
    assert shingle_prf("A, b! c d", "a b c d")[2] == 1.0  # \w+ tokens, case-folded


def _tiny_dir(tmp_path: Path) -> Path:
    d = tmp_path / "pages" / "one"
    d.mkdir(parents=True)
    text = "Lentils and coconut milk make a quick curry for busy weeknights at home. " * 6
    (d / "source.html").write_text(
        f"<html><head><title>Quick curry | Site</title><meta name='description' content='Quick.'></head>"
        f"<body><nav>Home Shop Blog</nav><article><p>{text}</p><p>{text}</p></article>"
        f"<footer>Privacy policy</footer></body></html>")
    (d / "expected.txt").write_text(f"{text}\n{text}")
    (d / "expected-metadata.json").write_text(json.dumps({"title": "Quick curry | Site", "excerpt": "Quick."}))
    (tmp_path / "pages" / "no-gold").mkdir()
    (tmp_path / "pages" / "no-gold" / "source.html").write_text("<html></html>")
    return tmp_path / "pages"


def test_tiny_layout_and_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pages = _tiny_dir(tmp_path)
    r = evaluate_extraction(pages, methods=["pinsearch", "readability-lxml"])
    assert r["pages"] == 1
    assert r["methods"]["pinsearch"]["f1"] > 0.9 and r["methods"]["pinsearch"]["description_match"] == 1.0
    assert r["methods"]["readability-lxml"]["description_match"] is None

    from pinsearch.commands.pages import cmd_eval_extraction
    assert cmd_eval_extraction(argparse.Namespace(pages=pages, per_page=False, json=True)) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["methods"]) >= {"pinsearch", "readability-lxml"}


def test_missing_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a directory"):
        evaluate_extraction(tmp_path / "nope")


@pytest.mark.slow
def test_readability_suite_quality(shared_data: Path) -> None:
    r = evaluate_extraction(shared_data / "web-pages" / "readability", methods=["pinsearch", "readability-lxml"])
    ps, rl = r["methods"]["pinsearch"], r["methods"]["readability-lxml"]
    assert r["pages"] >= 100
    assert ps["f1"] >= 0.95 and ps["f1"] >= rl["f1"] - 0.005
    assert ps["title_exact"] >= 0.9 and ps["title_exact"] > rl["title_exact"]
    assert ps["description_match"] >= 0.85
    assert ps["errors"] == 0


def test_readability_subset_quality(shared_data: Path) -> None:
    """A fast fixed subset (first 20 ids in sorted order) of the suite."""
    import shutil

    src = shared_data / "web-pages" / "readability"
    ids = sorted(p.name for p in src.iterdir() if p.is_dir())[:20]
    return_dir = Path(__import__("tempfile").mkdtemp())
    try:
        for i in ids:
            shutil.copytree(src / i, return_dir / i)
        r = evaluate_extraction(return_dir, methods=["pinsearch"])
        assert r["methods"]["pinsearch"]["f1"] >= 0.9 and r["methods"]["pinsearch"]["title_exact"] >= 0.85
    finally:
        shutil.rmtree(return_dir)


def test_register_shares_the_eval_parser() -> None:
    from pinsearch.commands import pages

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    ev = sub.add_parser("eval")
    ev._eval_sub = ev.add_subparsers(dest="eval_command")
    ev._eval_sub.add_parser("other")  # another engineer's evaluation stays
    pages.register(sub, common)
    args = parser.parse_args(["eval", "extraction", "--pages", "/x", "--json"])
    assert args.handler is pages.cmd_eval_extraction and args.json
    assert parser.parse_args(["eval", "cohesion", "/s"]).handler is pages.cmd_eval_cohesion
    assert parser.parse_args(["pages", "fetch", "u.txt", "--out", "o"]).handler is pages.cmd_pages_fetch
    assert "other" in ev._eval_sub.choices
