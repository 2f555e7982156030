"""``pinsearch eval interests``: TREC-format reading, the fixed split, the two-level taxonomy,
accuracy against a linear SVM, and the command registered next to other ``eval`` commands."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import pytest

from pinsearch.commands import interests as cmd
from ranking.eval_interests import (build_label_taxonomy, evaluate_corpus, evaluate_labelled,
                                    read_labelled, split_every)

_TEMPLATES = {
    "NUM:count": ["How many {} are there ?", "How many {} live in the city ?"],
    "NUM:date": ["When was the {} invented ?", "What year did the {} start ?"],
    "HUM:ind": ["Who invented the {} ?", "Who was the first {} ?"],
    "LOC:city": ["What city has the largest {} ?", "Which city is famous for its {} ?"],
    "DESC:def": ["What is a {} ?", "What does {} mean ?"],
}
_NOUNS = "telephone bridge river museum guitar engine painting rocket novel train castle".split()


def _write(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        label = rng.choice(sorted(_TEMPLATES))
        lines.append(f"{label} {rng.choice(_TEMPLATES[label]).format(rng.choice(_NOUNS))}")
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path


def test_reader_taxonomy_and_split(tmp_path: Path) -> None:
    p = tmp_path / "t.label"
    p.write_bytes(b"NUM:count How many caf\xe9s ?\nnot a label line\nHUM:ind Who is it ?\n\n"
                  b"NUM:date When ?\n")
    errors: list[str] = []
    rows = read_labelled(p, errors)
    assert [r.fine for r in rows] == ["NUM:count", "HUM:ind", "NUM:date"]
    assert rows[0].text == "How many caf\u00e9s ?"
    assert errors and f"{p}:2:" in errors[0]
    tax, ids = build_label_taxonomy(rows)
    assert tax[ids["NUM:date"]].parent_id == ids["NUM"] and tax[ids["NUM"]].level == 1
    train, test = split_every(rows * 10)
    assert len(test) == 3 and len(train) == 27
    with pytest.raises(ValueError, match="COARSE:fine"):
        read_labelled(_bad(tmp_path))


def _bad(tmp_path: Path) -> Path:
    p = tmp_path / "bad.label"
    p.write_text("nothing here\n")
    return p


def test_accuracy_on_synthetic_questions(tmp_path: Path) -> None:
    report = evaluate_labelled(_write(tmp_path / "train", 400, 1), _write(tmp_path / "test", 100, 2))
    assert report["pin2interest"]["accuracy_coarse"] > 0.95
    assert report["pin2interest"]["accuracy_fine"] > 0.95
    assert report["linear-svm"]["accuracy_fine"] > 0.9
    assert report["data"]["coarse_classes"] == 4 and report["data"]["fine_classes"] == 5


def test_command_registers_under_shared_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    common.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", parents=[common])          # another engineer's module came first
    ev._eval_sub = ev.add_subparsers(dest="eval_command", required=True)
    ev._eval_sub.add_parser("other")
    cmd.register(sub, common)
    assert sub.choices["eval"] is ev and "interests" in ev._eval_sub.choices
    train = _write(tmp_path / "train", 300, 3)
    args = parser.parse_args(["eval", "interests", "--train", str(train), "--json"])
    assert args.handler(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["data"]["split"].startswith("every 10th line")
    assert set(out) >= {"pin2interest", "linear-svm", "published"}
    args = parser.parse_args(["interests", "classify", "vegan dinner recipes", "--json"])
    assert args.handler(args) == 0
    labels = [i["label"] for i in json.loads(capsys.readouterr().out)["interests"]]
    assert "Food & Drink" in labels


@pytest.mark.slow
def test_trec_beats_bag_of_words_svm(shared_data: Path) -> None:
    report = evaluate_labelled(shared_data / "question-classes" / "trec-train.label")
    p, s = report["pin2interest"], report["linear-svm"]
    assert p["accuracy_coarse"] >= s["accuracy_coarse"] - 0.01 and p["accuracy_coarse"] > 0.85
    assert p["accuracy_fine"] >= s["accuracy_fine"] - 0.01 and p["accuracy_fine"] > 0.78


@pytest.mark.slow
def test_corpus_ground_truth(tmp_path: Path) -> None:
    from indexer.corpus.sample import generate_sample
    generate_sample(tmp_path / "xs", "XS", 5, progress=False, overwrite=True)
    report = evaluate_corpus(tmp_path / "xs")["pin2interest"]
    assert report["accuracy_l1"] > 0.9 and report["p@1"] > 0.9
    assert report["avg_candidates"] <= 200
