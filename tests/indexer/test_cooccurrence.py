"""Board co-occurrence: exact pair counts, caps, PinJoin, and the inverted layout the index needs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from indexer.signals.boards_io import InteractionFormatError, read_boards, split_boards
from indexer.signals.cooccurrence import (BoardCooccurrence, ItemIndex, cap_group_sizes, cooccurrence_candidates,
                                          feature_key, incidence_matrix, pin_join, top_n_neighbours)


def _random_boards(seed: int = 0, boards: int = 200, items: int = 60) -> list[list[str]]:
    rng = random.Random(seed)
    return [[f"i{j}" for j in rng.sample(range(items), rng.randint(1, 12))] for _ in range(boards)]


def _brute_counts(groups: list[list[str]]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for g in groups:
        for a in set(g):
            for b in set(g):
                if a != b:
                    counts[a, b] = counts.get((a, b), 0) + 1
    return counts


@pytest.mark.parametrize("block_size", [7, 4096])
def test_pair_counts_match_brute_force(block_size: int) -> None:
    groups = _random_boards()
    index = ItemIndex.build(groups)
    m = top_n_neighbours(incidence_matrix(groups, index), top_n=10_000, block_size=block_size)
    brute = _brute_counts(groups)
    coo = m.tocoo()
    got = {(index.ids[i], index.ids[j]): int(v) for i, j, v in zip(coo.row, coo.col, coo.data)}
    assert got == brute


def test_top_n_and_cosine() -> None:
    groups = _random_boards(1)
    model = BoardCooccurrence(top_n=5).fit(groups)
    brute = _brute_counts(groups)
    for item in ("i1", "i7"):
        best = sorted((v for (a, _), v in brute.items() if a == item), reverse=True)[:5]
        assert [v for _, v in model.neighbours(item)] == best
    cos = BoardCooccurrence(top_n=5, measure="cosine").fit(groups)
    n = {i: sum(i in g for g in groups) for i in ("i1",)}
    other, value = cos.neighbours("i1")[0]
    n_other = sum(other in g for g in groups)
    assert value == pytest.approx(brute["i1", other] / np.sqrt(n["i1"] * n_other), rel=1e-5)


def test_huge_boards_are_sampled_by_popularity_deterministically() -> None:
    popularity = np.array([1.0] * 50 + [1000.0] * 50)
    group = list(range(100))
    a = cap_group_sizes([group], popularity, 20, seed=3)[0]
    assert len(a) == 20 and a == cap_group_sizes([group], popularity, 20, seed=3)[0]
    assert sum(i >= 50 for i in a) >= 18  # popular pins are kept
    model = BoardCooccurrence(max_board_size=20).fit([[f"x{i}" for i in range(100)], ["x1", "x2"]])
    assert model.capped_groups_ == 1


def test_pin_join_picks_the_most_saved_pin() -> None:
    rep = pin_join([("a", "sig", 1), ("b", "sig", 9), ("c", None, 0), ("d", "sig", 9)])
    assert rep == {"a": "b", "b": "b", "c": "c", "d": "b"}


def _write_corpus(root: Path, pins: list[dict]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with (root / "pins.jsonl").open("w") as f:
        for p in pins:
            f.write(json.dumps(p) + "\n")
    return root


def test_candidates_are_written_on_candidate_docs_keyed_by_query_pin(tmp_path: Path) -> None:
    pins = [
        {"id": "q", "board_ids": ["b1", "b2", "b3"], "image_signature": "s1"},
        {"id": "q.dup", "board_ids": ["b4"], "image_signature": "s1", "repin_count": 0},
        {"id": "c1", "board_ids": ["b1", "b2", "b3"], "repin_count": 5, "image_signature": "s2"},
        {"id": "c1copy", "board_ids": ["b1"], "repin_count": 1, "image_signature": "s2"},
        {"id": "c2", "board_ids": ["b1"]},
        {"id": "lonely", "board_ids": ["b9"]},
    ]
    corpus = _write_corpus(tmp_path / "c", pins)
    cands = cooccurrence_candidates(corpus, top_n=5)
    # q's image (q + q.dup) shares b1,b2,b3 with c1's image and b1 with c2
    assert cands["c1"]["q"] == 3.0 and cands["c1"][feature_key("q.dup")] == 3.0
    assert feature_key("q.dup") == "q_dup"
    assert cands["c2"]["q"] == 1.0
    assert "c1copy" not in cands  # duplicates never carry keys: only the representative is a candidate
    assert "lonely" not in cands
    assert all("." not in key for doc in cands.values() for key in doc)
    # caps: each candidate keeps only its strongest keys
    capped = cooccurrence_candidates(corpus, top_n=5, max_keys_per_pin=1)
    assert all(len(doc) == 1 for doc in capped.values())


def test_board_files_read_split_and_report_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "boards.tsv"
    path.write_text("board_id\tpin_ids\n1\ta b c d e\nbroken line\n2\tf g g h\n")
    issues = []
    boards = read_boards(path, on_error=lambda f, n, r: issues.append((n, r)))
    assert boards == [("1", ["a", "b", "c", "d", "e"]), ("2", ["f", "g", "h"])]
    assert issues and issues[0][0] == 3
    train, heldout = split_boards(boards, seed=1)
    assert split_boards(boards, seed=1) == (train, heldout)
    assert dict(heldout)["1"] and len(dict(train)["1"]) == 4
    empty = tmp_path / "empty.tsv"
    empty.write_text("nonsense\n")
    with pytest.raises(InteractionFormatError, match="empty.tsv"):
        read_boards(empty)


@pytest.mark.parametrize("measure", ["count", "cosine"])
def test_parallel_blocks_give_exactly_the_serial_result(measure: str) -> None:
    """``n_jobs > 1`` only spreads row blocks over threads: values, order and ties must not move."""
    groups = _random_boards(seed=4, boards=400, items=90)
    x = incidence_matrix(groups, ItemIndex.build(groups))
    serial = top_n_neighbours(x, top_n=6, measure=measure, block_size=7, n_jobs=1)
    for n_jobs in (2, -1):
        parallel = top_n_neighbours(x, top_n=6, measure=measure, block_size=7, n_jobs=n_jobs)
        assert parallel.shape == serial.shape
        assert np.array_equal(parallel.indptr, serial.indptr)
        assert np.array_equal(parallel.indices, serial.indices)
        assert np.array_equal(parallel.data, serial.data)  # bit for bit, not approximately
    a = BoardCooccurrence(top_n=6, measure=measure, block_size=5).fit(groups)
    b = BoardCooccurrence(top_n=6, measure=measure, block_size=5, n_jobs=2).fit(groups)
    assert all(a.neighbours(i) == b.neighbours(i) for i in a.index_.ids)
