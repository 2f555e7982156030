"""Offline Related Pins and session evaluations: planted structure is recovered, baselines rank as expected."""

from __future__ import annotations

import argparse
import json
import random
from itertools import islice
from pathlib import Path

import pytest

from indexer.signals.boards_io import read_boards, read_session_tests, split_boards, split_sessions
from ranking.eval_related import RelatedEvalConfig, evaluate_related
from ranking.eval_sessions import SessionEvalConfig, evaluate_sessions


def _planted_boards(seed: int = 0, topics: int = 20, per_topic: int = 30, boards: int = 600) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    out = []
    for b in range(boards):
        t = rng.randrange(topics)
        pins = rng.sample([f"t{t}_{i}" for i in range(per_topic)], 10)
        pins += [f"t{rng.randrange(topics)}_{rng.randrange(per_topic)}"]  # one off-topic save
        out.append((str(b), list(dict.fromkeys(pins))))
    return out


def test_planted_topics_are_recovered_by_every_learned_method() -> None:
    train, heldout = split_boards(_planted_boards(), seed=0)
    result = evaluate_related(train, heldout, RelatedEvalConfig(vector_size=32, epochs=5))
    assert set(result) == {"itempop", "itemknn", "cooccurrence", "pin2vec", "blend", "meta"}
    pop = result["itempop"]["recall@20"]
    for method in ("itemknn", "cooccurrence", "pin2vec", "blend"):
        assert result[method]["recall@20"] > max(3 * pop, 0.3), (method, result)
        assert 0 <= result[method]["ndcg@20"] <= 1 and 0 <= result[method]["hr@10"] <= 1
    assert result["meta"]["boards_evaluated"] == len(heldout)


@pytest.mark.slow
def test_real_boards_subset(shared_data: Path, tmp_path: Path) -> None:
    lines = list(islice((shared_data / "pinterest-boards" / "boards.tsv").open(), 4001))
    (tmp_path / "b.tsv").write_text("".join(lines))
    train, heldout = split_boards(read_boards(tmp_path / "b.tsv"), seed=0)
    result = evaluate_related(train, heldout, RelatedEvalConfig(epochs=2, vector_size=64))
    assert result["cooccurrence"]["recall@20"] > 3 * result["itempop"]["recall@20"]
    assert result["itemknn"]["recall@20"] > 0.08
    assert result["blend"]["recall@20"] >= 0.9 * result["cooccurrence"]["recall@20"]


@pytest.mark.slow
def test_sessions_pin2vec_beats_popularity(shared_data: Path) -> None:
    lines = list(islice((shared_data / "sessions" / "diginetica-train.tsv").open(), 30001))[1:]
    train, tests = split_sessions([l.split() for l in lines], test_fraction=0.1)
    result = evaluate_sessions(train, tests, SessionEvalConfig(vector_size=64, epochs=5))
    assert result["pin2vec"]["p@20"] > 2 * result["itempop"]["p@20"]  # 27k sessions: most items are rare
    assert result["itemknn"]["p@20"] > 5 * max(result["itempop"]["p@20"], 0.5)
    assert 0 < result["pin2vec"]["mrr@20"] < result["pin2vec"]["p@20"]


def test_eval_commands_print_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from indexer.signals.boards_io import write_boards, write_session_tests, write_sessions
    from pinsearch.commands import related as cmd
    train, heldout = split_boards(_planted_boards(boards=200), seed=0)
    write_boards(tmp_path / "train.tsv", train)
    write_boards(tmp_path / "heldout.tsv", heldout)
    args = argparse.Namespace(boards=tmp_path / "train.tsv", heldout=tmp_path / "heldout.tsv", seed=0, epochs=1,
                              json=True)
    assert cmd.cmd_eval_related(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert "recall@20" in payload["blend"] and payload["meta"]["inputs"]["heldout"].endswith("heldout.tsv")
    sessions = [[f"i{j}" for j in range(k, k + 4)] for k in range(50)] * 3
    s_train, s_tests = split_sessions(sessions, test_fraction=0.2)
    write_sessions(tmp_path / "s.tsv", s_train)
    write_session_tests(tmp_path / "t.tsv", s_tests)
    assert read_session_tests(tmp_path / "t.tsv") == [(p, t) for p, t in s_tests]
    args = argparse.Namespace(train=tmp_path / "s.tsv", test=tmp_path / "t.tsv", seed=0, epochs=2, no_itemknn=False,
                              json=True)
    assert cmd.cmd_eval_sessions(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["itemknn"]["p@20"] > payload["itempop"]["p@20"]
    bad = tmp_path / "bad.tsv"
    bad.write_text("only-one-field\n")
    args.test = bad
    with pytest.raises(Exception, match="bad.tsv"):
        cmd.cmd_eval_sessions(args)
