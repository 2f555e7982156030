"""The sample generator: determinism, planted statistics, and a corpus the validator fully accepts."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest

from indexer.corpus import iter_valid, read_valid_pins, validate_corpus
from indexer.corpus.sample import SIZES, config_for, generate_sample
from indexer.corpus.sample.lexicon import TIER1


def _rows(path: Path) -> list[dict]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample_s(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("sample_s")
    summary = generate_sample(out, "S", seed=7, progress=False)
    return out, summary


def test_size_s_is_fast_and_complete(sample_s) -> None:
    out, summary = sample_s
    assert summary.seconds < 30
    assert summary.counts["pins"] == SIZES["S"].n_pins == 5000
    for rel in ("pins.jsonl", "boards.jsonl", "sessions.jsonl", "pages.jsonl", "search_log.jsonl",
                "related_log.jsonl", "judgements/annotations.jsonl", "judgements/interests.jsonl",
                "judgements/cohesion.jsonl", "judgements/search_relevance.jsonl",
                "judgements/related_relevance.jsonl"):
        assert (out / "corpus" / rel).stat().st_size > 0, rel
    for rel in ("pin_interests.jsonl", "cohesion.jsonl", "search_relevance.jsonl",
                "related_relevance.jsonl", "annotations.jsonl", "position_bias.json"):
        assert (out / "ground_truth" / rel).stat().st_size > 0, rel
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["size"] == "S" and manifest["seed"] == 7
    assert manifest["counts"]["pins"] == 5000 and manifest["generator_version"]
    sizes = [p.stat().st_size for p in (out / "corpus" / "pages").rglob("*.html")]
    assert len(sizes) == summary.counts["pages"]
    big = [s for s in sizes if s > 1500]  # articles and error pages; parked/500 pages are tiny
    assert max(sizes) <= 8192 and sum(2048 <= s for s in big) / len(big) > 0.95


def test_sample_passes_validation(sample_s) -> None:
    out, summary = sample_s
    report = validate_corpus(out / "corpus", quiet=True)
    assert report.ok, report.summary()
    assert report.rejected == 0 and report.embedding_dim == 32
    assert report.files["pins.jsonl"].valid == 5000
    assert report.files["sessions.jsonl"].valid == summary.counts["sessions"]


def test_interest_mix_follows_configured_weights(sample_s) -> None:
    out, _ = sample_s
    total = sum(t.weight for t in TIER1.values())
    counts: Counter[str] = Counter()
    for row in _rows(out / "ground_truth" / "pin_interests.jsonl"):
        roots = [i["label"] for i in row["interests"] if i["level"] == 1]
        primary = [i for i in row["interests"] if i["role"] == "primary"][0]
        counts[roots[0] if roots else primary["label"]] += 1
    n = sum(counts.values())
    tv = 0.5 * sum(abs(t.weight / total - counts[k] / n) for k, t in TIER1.items())
    assert tv < 0.15, f"total variation {tv:.3f} between configured and generated tier-1 mix"
    assert set(counts) <= set(TIER1)  # no pins in unweighted (sensitive) categories
    top = sorted(TIER1, key=lambda k: -TIER1[k].weight)[:3]
    assert all(counts[k] / n > 0.06 for k in top)


def test_click_through_follows_the_position_bias(sample_s) -> None:
    out, _ = sample_s
    truth = {(r["query"], r["pin_id"]): r["relevance"]
             for r in _rows(out / "ground_truth" / "search_relevance.jsonl")}
    model = orjson.loads((out / "ground_truth" / "position_bias.json").read_bytes())
    clicks: dict[tuple[str, int], float] = defaultdict(float)
    expected: dict[tuple[str, int], float] = defaultdict(float)
    for entry in _rows(out / "corpus" / "search_log.jsonl"):
        for imp in entry["impressions"]:
            key = (entry["device"], imp["position"])
            clicks[key] += imp["clicked"]
            expected[key] += model["relevance_prob"][truth[(entry["query"], imp["pin_id"])]]
            assert not imp["saved"] or imp["clicked"]
    for device in ("desktop", "mobile"):
        # bias(p) estimated as clicks / sum of relevance_prob at p; fit log bias = -eta log p
        xs = [math.log(p) for p in range(1, 11)]
        ys = [math.log(clicks[(device, p)] / expected[(device, p)]) for p in range(1, 11)]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        eta = -sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        assert abs(eta - model["eta"][device]) < 0.15, (device, eta)
        assert abs(clicks[(device, 1)] / expected[(device, 1)] - 1.0) < 0.15
    assert model["eta"]["mobile"] > model["eta"]["desktop"]


def test_unrelated_page_share(sample_s) -> None:
    out, summary = sample_s
    rows = _rows(out / "ground_truth" / "cohesion.jsonl")
    share = sum(1 - r["cohesive"] for r in rows) / len(rows)
    assert abs(share - summary.config.unrelated_page_share) < 0.03
    kinds = Counter(r["page_kind"] for r in rows)
    assert {"article", "other_topic", "spam", "parked", "soft_404", "hard_404",
            "server_error"} <= set(kinds)
    status = Counter(r["status"] for r in _rows(out / "corpus" / "pages.jsonl"))
    assert status[404] > 0 and status[500] > 0
    domains = Counter(r["url"].split("/")[2] for r in rows)
    assert domains.most_common(1)[0][1] > 20  # many pins share a domain
    article = next(r for r in _rows(out / "corpus" / "pages.jsonl") if r["status"] == 200)
    html = (out / "corpus" / article["path"]).read_text(encoding="utf-8")
    for marker in ("og:title", "og:description", 'name="description"', "Free shipping",
                   "Privacy policy", "Sign up for our newsletter", "<nav", "<footer"):
        assert marker in html


def test_languages_duplicates_and_popularity(sample_s) -> None:
    out, _ = sample_s
    pins = _rows(out / "corpus" / "pins.jsonl")
    langs = Counter(p.get("lang") for p in pins)
    assert sum(1 for lang, c in langs.items() if lang and c >= 50) >= 4
    assert langs["en"] / len(pins) > 0.5
    sigs = Counter(p["image_signature"] for p in pins)
    assert sum(c for c in sigs.values() if c > 1) > 0.1 * len(pins)  # near-duplicates share images
    repins = sorted(p["repin_count"] for p in pins)
    assert repins[len(repins) // 2] <= 2 and repins[-1] > 100 * max(1, repins[len(repins) // 2])
    assert sum("image_embedding" in p for p in pins) > 0.3 * len(pins)
    assert any("image_annotations" in p for p in pins)
    assert any(any(ord(ch) > 0x2600 for ch in p["title"]) for p in pins)  # emojis occur
    judged = {r["pin_id"] for r in _rows(out / "corpus" / "judgements" / "cohesion.jsonl")}
    assert 0.25 < len(judged) / len(pins) < 0.35


def test_sessions_have_sequential_locality(sample_s) -> None:
    out, _ = sample_s
    boards = {p.id: set(p.board_ids) for p in read_valid_pins(out / "corpus")}
    same = total = 0
    for s in iter_valid(out / "corpus", "sessions"):
        ts = [e.ts for e in s.events]
        assert ts == sorted(ts)
        for a, b in zip(s.events, s.events[1:]):
            total += 1
            same += bool(boards[a.pin_id] & boards[b.pin_id])
    assert same / total > 0.3  # random pairs would almost never share a board


def test_keyphrases_appear_in_the_text(sample_s) -> None:
    out, _ = sample_s
    pins = {p["id"]: p for p in _rows(out / "corpus" / "pins.jsonl")}
    hits = total = 0
    for row in _rows(out / "ground_truth" / "annotations.jsonl")[:2000]:
        text = (pins[row["pin_id"]]["title"] + " " + pins[row["pin_id"]]["description"]).lower()
        for kp in row["keyphrases"]:
            total += 1
            hits += kp["text"].lower() in text
    assert hits / total > 0.6  # the rest were hit by typos or left out of the text


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    a = generate_sample(tmp_path / "a", "XS", seed=3, progress=False)
    b = generate_sample(tmp_path / "b", "XS", seed=3, progress=False)
    c = generate_sample(tmp_path / "c", "XS", seed=4, progress=False)
    fa, fb, fc = _files(Path(a.out_dir)), _files(Path(b.out_dir)), _files(Path(c.out_dir))
    assert fa.keys() == fb.keys() and len(fa) > 20
    for name in fa:
        assert fa[name] == fb[name], f"{name} differs between two runs with the same seed"
    for name in ("corpus/pins.jsonl", "corpus/sessions.jsonl", "corpus/search_log.jsonl",
                 "ground_truth/pin_interests.jsonl"):
        assert fa[name] != fc[name], f"{name} identical for different seeds"


def test_overwrite_rules_and_n_pins_override(tmp_path: Path) -> None:
    s = generate_sample(tmp_path, "S", seed=1, progress=False, n_pins=300)
    assert s.counts["pins"] == 300 and s.config.n_sessions == config_for("S", 300).n_sessions
    with pytest.raises(FileExistsError):
        generate_sample(tmp_path, "S", seed=1, progress=False, n_pins=300)
    again = generate_sample(tmp_path, "S", seed=2, progress=False, n_pins=300, overwrite=True)
    assert again.seed == 2
    with pytest.raises(ValueError):
        config_for("XXL")
