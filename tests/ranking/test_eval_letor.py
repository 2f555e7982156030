"""LETOR five-fold evaluation: format errors, metric conventions, and MQ2008 numbers near the published ones."""

from __future__ import annotations

import pytest

from ranking import metrics as rm
from ranking.eval_letor import LetorFormatError, evaluate_letor, read_svmlight


def test_letor_conventions_differ_from_standard_as_documented():
    # 3 documents, k=10: the official script gives 0 (fewer than k documents), standard cuts the list.
    assert rm.ndcg_labels([2, 0, 1], 10, convention="letor") == 0.0
    assert 0 < rm.ndcg_labels([2, 0, 1], 10) < 1
    # positions 1 and 2 are both undiscounted in the official script
    assert rm.ndcg_labels([1, 2], 2, convention="letor") == pytest.approx(1.0)
    assert rm.ndcg_labels([1, 2], 2) < 1.0
    # a query without relevant documents: 0 and counted (letor), left out (standard)
    assert rm.per_query_metric([1, 2], [0, 0], ["q", "q"], "map", convention="letor") == {"q": 0.0}
    assert rm.per_query_metric([1, 2], [0, 0], ["q", "q"], "map") == {}


def test_bad_lines_name_file_line_and_field(tmp_path):
    f = tmp_path / "partition.txt"
    f.write_text("1 qid:1 1:0.5 2:0.1\nx qid:1 1:0.2\n0 1:0.3\n0 qid:1 1:0.1 2:zz\n0 qid:2 1:0.1 #c\n")
    with pytest.raises(LetorFormatError, match=r"partition.txt:2: field 'label'"):
        read_svmlight(f)
    errors: list[str] = []
    part = read_svmlight(f, on_error=errors.append)
    assert len(part.y) == 2 and part.rejected == 3
    assert any(":3: field 'qid'" in e for e in errors) and any(":4:" in e for e in errors)


@pytest.mark.slow
def test_mq2008_five_fold_matches_published_ranksvm(shared_data):
    result = evaluate_letor(shared_data / "letor-mq2008")
    assert result["queries"] == 784
    assert result["ranksvm"]["map"] == pytest.approx(0.4696, abs=0.015)
    assert result["ranksvm"]["ndcg@10"] == pytest.approx(0.2279, abs=0.015)


@pytest.mark.slow
def test_mq2008_one_c_is_close_to_published(shared_data):
    result = evaluate_letor(shared_data / "letor-mq2008", Cs=(0.01,))
    assert result["ranksvm"]["map"] > 0.45 and result["ranksvm"]["ndcg@10"] > 0.21
    assert result["ranksvm"]["standard"]["ndcg@10"] > result["ranksvm"]["ndcg@10"]
    assert [f["fold"] for f in result["ranksvm"]["folds"]] == [1, 2, 3, 4, 5]
    assert result["ranksvm"]["folds"][0]["validation"].endswith("part5/partition.txt")
