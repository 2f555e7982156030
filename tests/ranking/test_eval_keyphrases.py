"""Keyphrase evaluation: zip layout, fixed split, metrics, and quality on the real sets."""

from __future__ import annotations

import argparse
import json
import random
import zipfile
from pathlib import Path

import pytest

from ranking.eval_keyphrases import (KeyphraseDataError, _prf, evaluate_keyphrases, fold_of,
                                     read_keyphrase_zip)

TOPICS = ["neural network", "query expansion", "collaborative filtering", "graph mining",
          "association rules", "support vector machine", "link analysis", "web crawler",
          "topic model", "anomaly detection", "data stream", "feature selection"]
FILLER = ("we study the problem and propose a new method with experiments on real data "
          "showing that our approach improves over previous work in many settings").split()


def _zip(path: Path, n_docs: int = 60, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(n_docs):
            keys = rng.sample(TOPICS, 3)
            words = []
            for _ in range(40):
                words.extend(rng.sample(FILLER, 3))
                if rng.random() < 0.35:
                    words.extend(rng.choice(keys).split())
            title = f"{keys[0].title()} for {keys[1]}"
            zf.writestr(f"toy/docsutf8/{i}.txt", title + "\n" + " ".join(words))
            zf.writestr(f"toy/keys/{i}.key", "\n".join(keys) + "\n")
    return path


def test_reads_layout_and_split_is_fixed(tmp_path: Path) -> None:
    docs = read_keyphrase_zip(_zip(tmp_path / "toy.zip"))
    assert len(docs) == 60 and docs[0].lang == "en" and len(docs[0].keys) == 3
    assert fold_of("42") == fold_of("42") and {fold_of(str(i)) for i in range(60)} == set(range(5))


def test_bad_zip_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("x/readme.txt", "nothing")
    with pytest.raises(KeyphraseDataError, match="docsutf8"):
        read_keyphrase_zip(empty)
    with pytest.raises(KeyphraseDataError, match="no such file"):
        read_keyphrase_zip(tmp_path / "missing.zip")


def test_prf() -> None:
    assert _prf(["a", "b", "x", "y", "z"], {"a", "b", "c", "d"}, 5) == \
        pytest.approx((0.4, 0.5, 2 * 0.4 * 0.5 / 0.9))


def test_dictionary_model_beats_tfidf_on_toy_data(tmp_path: Path) -> None:
    res = evaluate_keyphrases(_zip(tmp_path / "toy.zip"))
    ours, tfidf = res["methods"]["pinsearch"], res["methods"]["tfidf"]
    for m in ("p@5", "r@5", "f1@5", "p@10", "r@10", "f1@10"):
        assert 0.0 <= ours[m] <= 1.0
    assert len(ours["folds"]) == 5 and sum(f["test_docs"] for f in ours["folds"]) == 60
    assert ours["f1@5"] > 0.6 and ours["f1@5"] > tfidf["f1@5"]


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pinsearch.cli import _common
    from pinsearch.commands import annotations
    common = _common()
    parser = argparse.ArgumentParser(parents=[common])
    sub = parser.add_subparsers(dest="command")
    annotations.register(sub, common)
    # a second module adding its own eval subcommand reuses the parser
    sub.choices["eval"]._eval_sub.add_parser("other")
    args = parser.parse_args(["eval", "keyphrases", "--zip", str(_zip(tmp_path / "t.zip")),
                              "--json"])
    assert args.handler(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert "f1@10" in out["methods"]["pinsearch"] and "tfidf" in out["methods"]


@pytest.mark.slow
def test_kdd_f1_at_10_close_to_yake(shared_data: Path) -> None:
    res = evaluate_keyphrases(shared_data / "keyphrases" / "kdd.zip")
    ours, tfidf = res["methods"]["pinsearch"]["f1@10"], res["methods"]["tfidf"]["f1@10"]
    assert ours > 0.14 and ours > tfidf + 0.02, (ours, tfidf)
