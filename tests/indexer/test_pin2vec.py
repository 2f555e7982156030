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
