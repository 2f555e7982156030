"""Pin2Vec: deterministic training, low-engagement filter, persistence, and neighbours that follow sessions."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from indexer.signals.pin2vec import Pin2Vec, VectorMapping, pin2vec_vectors, session_sentence


@pytest.fixture(scope="module")
def xs_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from indexer.corpus.sample import generate_sample
    out = tmp_path_factory.mktemp("xs")
    generate_sample(out, "XS", 0, progress=False, overwrite=True)
    return out / "corpus"


def _clustered_sentences(seed: int = 0, clusters: int = 4, size: int = 25, sessions: int = 600) -> list[list[str]]:
    """Sessions that stay inside one planted cluster of pins."""
    rng = random.Random(seed)
    out = []
    for _ in range(sessions):
        c = rng.randrange(clusters)
        out.append([f"p{c}_{rng.randrange(size)}" for _ in range(rng.randint(4, 10))])
    return out


def test_session_sentence_collapses_consecutive_repeats() -> None:
    assert session_sentence(["a", "a", "b", "a", "a"]) == ["a", "b", "a"]


def test_deterministic_mode_gives_identical_vectors_and_128_dims() -> None:
    sentences = _clustered_sentences()
    a = Pin2Vec(epochs=3, seed=7).fit(sentences)
    b = Pin2Vec(epochs=3, seed=7).fit(sentences)
    assert a.model_.wv.vector_size == 128
    assert np.array_equal(a.model_.wv.vectors, b.model_.wv.vectors)
    c = Pin2Vec(epochs=3, seed=8).fit(sentences)
    assert not np.array_equal(a.model_.wv.vectors, c.model_.wv.vectors)


def test_neighbours_stay_in_the_planted_cluster() -> None:
    model = Pin2Vec(vector_size=32, epochs=10, seed=1).fit(_clustered_sentences())
    same = 0
    for i in range(10):
        pin = f"p2_{i}"
        neighbours = model.similar([pin], topn=10)
        same += sum(n.startswith("p2_") for n, _ in neighbours)
    assert same / 100 >= 0.9


def test_low_engagement_pins_are_filtered() -> None:
    sentences = _clustered_sentences() + [["rare_pin", "p0_1"]]
    model = Pin2Vec(vector_size=16, epochs=1, min_count=2).fit(sentences)
    assert model.vector("rare_pin") is None and model.vector("p0_1") is not None
    with pytest.raises(ValueError, match="min_count"):
        Pin2Vec(min_count=10_000, epochs=1).fit(sentences)


def test_save_and_load_with_manifest(tmp_path: Path) -> None:
    model = Pin2Vec(vector_size=16, epochs=2).fit(_clustered_sentences())
    model.save(tmp_path / "m", inputs={"sentences": 600})
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["component"] == "pin2vec" and manifest["params"]["vector_size"] == 16
    assert manifest["inputs"]["sentences"] == 600 and manifest["words_per_second"] > 0
    loaded = Pin2Vec.load(tmp_path / "m")
    assert np.array_equal(loaded.vector("p1_3"), model.vector("p1_3"))


def test_vector_mapping_omits_zero_vectors() -> None:
    m = VectorMapping(["a", "b"], np.array([[0.0, 0.0], [1.0, 2.0]], dtype=np.float32))
    assert list(m) == ["b"] and "a" not in m and m["b"] == [1.0, 2.0]


def test_pin2vec_vectors_on_sample_corpus(xs_corpus: Path, tmp_path: Path) -> None:
    vectors = pin2vec_vectors(xs_corpus, model_dir=tmp_path / "p2v")
    assert len(vectors) > 900  # most of the 1.2k pins are engaged at least twice
    first = next(iter(vectors))
    assert len(vectors[first]) == 128 and any(vectors[first])
    assert (tmp_path / "p2v" / "manifest.json").exists()


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from indexer.corpus.sample import generate_sample
    out = tmp_path_factory.mktemp("tiny")
    generate_sample(out, "XS", 4, progress=False, overwrite=True, n_pins=200)
    return out / "corpus"


def test_pipeline_reindex_saves_the_model_behind_the_indexed_vectors(tiny_corpus: Path, tmp_path: Path) -> None:
    import pinsearch
    from indexer.reindex import reindex_corpus
    from indexer.signals.pipeline import (SIGNALS, cache_key, compute_signals, configure, model_dir,
                                          read_model_record)

    cache = tmp_path / "cache"
    signals = compute_signals(tiny_corpus, cache, ["pin2vec"], strict=True, params={"pin2vec": {"epochs": 2}})
    assert not signals.cached["pin2vec"] and len(signals.values["pin2vec"]) > 100
    model = Pin2Vec.load(model_dir(cache, "pin2vec"))
    assert model.epochs == 2 and model.window == 5
    record = read_model_record(cache, "pin2vec")
    assert record is not None and record["version"] == SIGNALS["pin2vec"].version
    assert record["params"] == {"window": 5, "epochs": 2}
    assert record["inputs"] == ["pins.jsonl", "boards.jsonl", "sessions.jsonl"]  # pins are checked against boards
    assert record["cache_key"] == cache_key(configure(SIGNALS["pin2vec"], {"epochs": 2}), tiny_corpus)
    assert record["cache_key"].split("-")[1] == record["fingerprint"] and "pin2vec.model" in record["model_files"]
    es = pinsearch.connect(f"embedded://{tmp_path / 'data'}")
    try:
        reindex_corpus(es, tiny_corpus, signals=signals.for_pin, progress=False)
        for pin_id in model.ids[:25]:
            indexed = es.get(index="pins", id=pin_id)["_source"]["pin2vec"]
            assert np.array_equal(np.asarray(indexed, dtype=np.float32), model.vector(pin_id)), pin_id
    finally:
        pinsearch.close(es)
    # unchanged inputs and parameters: cached values, the saved model is theirs and stays
    again = compute_signals(tiny_corpus, cache, ["pin2vec"], strict=True, params={"pin2vec": {"epochs": 2}})
    assert again.cached["pin2vec"]
    # the model directory went missing: the cached vectors no longer have a model, so it retrains
    import shutil
    shutil.rmtree(model_dir(cache, "pin2vec"))
    rebuilt = compute_signals(tiny_corpus, cache, ["pin2vec"], strict=True, params={"pin2vec": {"epochs": 2}})
    assert not rebuilt.cached["pin2vec"] and Pin2Vec.load(model_dir(cache, "pin2vec")).epochs == 2


def test_pin2vec_parameters_are_part_of_the_cache_key(tiny_corpus: Path, tmp_path: Path) -> None:
    from indexer.signals.pipeline import SIGNALS, cache_key, compute_signals, configure, model_dir

    spec = SIGNALS["pin2vec"]
    default = cache_key(configure(spec), tiny_corpus)
    assert dict(configure(spec).settings) == {"window": 5, "epochs": 10}  # pin2vec_vectors' own defaults
    assert default == cache_key(configure(spec, {"epochs": 10, "window": 5}), tiny_corpus)
    assert default != cache_key(configure(spec, {"epochs": 3}), tiny_corpus)
    assert default != cache_key(configure(spec, {"window": 3}), tiny_corpus)
    with pytest.raises(ValueError, match=r"signal \[pin2vec\] has no parameter\(s\) \['epoch'\]"):
        configure(spec, {"epoch": 3})
    cache = tmp_path / "cache"
    first = compute_signals(tiny_corpus, cache, ["pin2vec"], strict=True, params={"pin2vec": {"epochs": 1}})
    second = compute_signals(tiny_corpus, cache, ["pin2vec"], strict=True, params={"pin2vec": {"epochs": 2}})
    assert not first.cached["pin2vec"] and not second.cached["pin2vec"]  # changed epochs: recomputed
    assert Pin2Vec.load(model_dir(cache, "pin2vec")).epochs == 2
    assert first.values["pin2vec"][next(iter(first.values["pin2vec"]))] != \
        second.values["pin2vec"][next(iter(first.values["pin2vec"]))]


def test_incremental_run_retrains_pin2vec_in_batch_when_sessions_change(tiny_corpus: Path, tmp_path: Path) -> None:
    """Pin2Vec trains a model but has no instant path: an incremental run must not keep stale vectors."""
    import shutil
    from indexer.signals.pipeline import compute_signals, model_dir

    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, corpus)
    cache = tmp_path / "cache"
    compute_signals(corpus, cache, ["pin2vec"], strict=True, params={"pin2vec": {"epochs": 1}})
    stamp = (model_dir(cache, "pin2vec") / "manifest.json").read_text()
    lines = (corpus / "sessions.jsonl").read_text().splitlines()
    (corpus / "sessions.jsonl").write_text("".join(line + "\n" for line in lines[:-5]))
    out = compute_signals(corpus, cache, ["pin2vec"], strict=True, incremental=True,
                          params={"pin2vec": {"epochs": 1}})
    assert not out.cached["pin2vec"] and "pin2vec" not in out.instant
    assert (model_dir(cache, "pin2vec") / "manifest.json").read_text() != stamp  # retrained and saved
