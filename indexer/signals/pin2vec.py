"""Pin2Vec: word2vec over engagement sessions (and optionally boards), pins as words.

Pins engaged together in one session (or saved to one board) get nearby vectors, so the nearest
neighbours of a pin's vector are Related Pins candidates the engine finds with ``knn`` on the
``pin2vec`` field. Training is gensim's Word2Vec, skip-gram with negative sampling (Pinterest's
Pin2Vec setup), 128 dimensions by default.

* **Low-engagement pins** are dropped by ``min_count`` (a pin needs that many engagements across
  the sentences); their vectors would be noise around the random initialisation.
* **Sentences**: a session becomes the ordered pin ids of its events with consecutive repeats of a
  pin collapsed (view -> closeup -> click of one pin is one token, not a pin predicting itself).
  A board is an unordered set; for board sentences use a window as large as a typical board and
  ``shrink_windows=False``.
* **Deterministic mode** (``deterministic=True``, the default): a fixed ``seed``, ``workers=1``
  (gensim's thread scheduling is the only other source of run-to-run variation) and a hash function
  that does not depend on ``PYTHONHASHSEED`` (gensim's default ``hash`` is randomised per process
  for strings; we pass a CRC32-based one, so no environment variable is needed -- setting
  ``PYTHONHASHSEED=0`` is still harmless). Same inputs + same parameters -> identical vectors.
* **Persistence**: ``save(dir)`` writes ``pin2vec.model`` (gensim's own format) and
  ``manifest.json`` (parameters, inputs, vocabulary size, training throughput, versions).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST_VERSION = 1
DEFAULT_ACTIONS = ("view", "closeup", "click", "save")


def stable_hash(text: str) -> int:
    """A process-independent string hash for gensim's ``hashfxn`` (deterministic mode)."""
    return zlib.crc32(text.encode("utf-8"))


def session_sentence(pin_ids: Iterable[str]) -> list[str]:
    """Pin ids in order with consecutive repeats collapsed."""
    out: list[str] = []
    for pin in pin_ids:
        if not out or out[-1] != pin:
            out.append(pin)
    return out


class Pin2Vec:
    """Skip-gram with negative sampling over sentences of pin ids (scikit-learn conventions)."""

    def __init__(self, vector_size: int = 128, window: int = 5, epochs: int = 10, negative: int = 5,
                 min_count: int = 2, sample: float = 1e-3, alpha: float = 0.025, ns_exponent: float = 0.75,
                 shrink_windows: bool = True, seed: int = 0, workers: int = 1, deterministic: bool = True) -> None:
        self.vector_size = vector_size
        self.window = window
        self.epochs = epochs
        self.negative = negative
        self.min_count = min_count
        self.sample = sample
        self.alpha = alpha
        self.ns_exponent = ns_exponent
        self.shrink_windows = shrink_windows
        self.seed = seed
        self.workers = workers
        self.deterministic = deterministic

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("vector_size", "window", "epochs", "negative", "min_count",
                                               "sample", "alpha", "ns_exponent", "shrink_windows", "seed",
                                               "workers", "deterministic")}

    def gensim_params(self) -> dict[str, Any]:
        """The exact keyword arguments given to ``gensim.models.Word2Vec``."""
        params: dict[str, Any] = dict(vector_size=self.vector_size, window=self.window, epochs=self.epochs,
                                      negative=self.negative, min_count=self.min_count, sample=self.sample,
                                      alpha=self.alpha, ns_exponent=self.ns_exponent,
                                      shrink_windows=self.shrink_windows, sg=1, hs=0, seed=self.seed,
                                      workers=1 if self.deterministic else self.workers)
        if self.deterministic:
            params["hashfxn"] = stable_hash
        return params

    def fit(self, sentences: Sequence[Sequence[str]] | Iterable[Sequence[str]]) -> "Pin2Vec":
        """Train on a re-iterable corpus of sentences (a list, or an object whose ``__iter__``
        restarts; a one-shot generator is materialised first)."""
        from gensim.models import Word2Vec
        if iter(sentences) is sentences:  # a generator: gensim iterates epochs + 1 times
            sentences = list(sentences)
        started = time.perf_counter()
        model = Word2Vec(**self.gensim_params())
        model.build_vocab(sentences)
        if len(model.wv) == 0:
            raise ValueError(f"Pin2Vec: no pin has at least min_count={self.min_count} occurrences; "
                             "lower min_count or give more sessions")
        model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
        self.train_seconds_ = time.perf_counter() - started
        self.corpus_words_ = int(model.corpus_total_words)
        self.words_per_second_ = self.corpus_words_ * self.epochs / max(self.train_seconds_, 1e-9)
        self.model_ = model
        self._normed: np.ndarray | None = None
        return self

    # -- reading ---------------------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        return list(self.model_.wv.index_to_key)

    def vector(self, pin_id: str) -> np.ndarray | None:
        wv = self.model_.wv
        return wv[pin_id].astype(np.float32) if pin_id in wv.key_to_index else None

    def normed_matrix(self) -> np.ndarray:
        """Unit-length vectors (rows in ``ids`` order), float32."""
        if getattr(self, "_normed", None) is None:
            m = self.model_.wv.vectors.astype(np.float32)
            norms = np.linalg.norm(m, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            self._normed = m / norms
        return self._normed  # type: ignore[return-value]

    def similar(self, pin_ids: Sequence[str], topn: int = 20, exclude: Iterable[str] = ()) -> list[tuple[str, float]]:
        """Nearest pins (cosine) to the mean unit vector of ``pin_ids``."""
        wv = self.model_.wv
        rows = [wv.key_to_index[p] for p in pin_ids if p in wv.key_to_index]
        if not rows:
            return []
        m = self.normed_matrix()
        q = m[rows].mean(axis=0)
        scores = m @ q
        banned = {wv.key_to_index[p] for p in set(pin_ids) | set(exclude) if p in wv.key_to_index}
        if banned:
            scores[list(banned)] = -np.inf
        top = np.argsort(-scores, kind="stable")[:topn]
        return [(wv.index_to_key[i], float(scores[i])) for i in top if np.isfinite(scores[i])]

    # -- persistence -----------------------------------------------------------------------------
    def save(self, directory: str | Path, inputs: Mapping[str, Any] | None = None,
             metrics: Mapping[str, Any] | None = None) -> Path:
        import gensim
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model_.save(str(directory / "pin2vec.model"))
        manifest = {"component": "pin2vec", "version": MANIFEST_VERSION, "params": self.get_params(),
                    "inputs": dict(inputs or {}), "metrics": dict(metrics or {}),
                    "vocabulary": len(self.model_.wv), "corpus_words": self.corpus_words_,
                    "train_seconds": round(self.train_seconds_, 3),
                    "words_per_second": round(self.words_per_second_, 1),
                    "gensim": gensim.__version__, "numpy": np.__version__,
                    "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "Pin2Vec":
        from gensim.models import Word2Vec
        directory = Path(directory)
        manifest_path = directory / "manifest.json"
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{manifest_path}: Pin2Vec manifest missing (save with Pin2Vec.save)")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("component") != "pin2vec" or manifest.get("version") != MANIFEST_VERSION:
            raise ValueError(f"{manifest_path}: not a version-{MANIFEST_VERSION} Pin2Vec manifest")
        self = cls(**manifest["params"])
        self.model_ = Word2Vec.load(str(directory / "pin2vec.model"))
        self.corpus_words_ = manifest.get("corpus_words", 0)
        self.train_seconds_ = manifest.get("train_seconds", 0.0)
        self.words_per_second_ = manifest.get("words_per_second", 0.0)
        self._normed = None
        return self


# -- corpus batch -------------------------------------------------------------------------------------
def corpus_sentences(corpus_dir: str | Path, *, actions: Sequence[str] = DEFAULT_ACTIONS,
                     use_sessions: bool = True, use_boards: bool = False) -> list[list[str]]:
    """Sentences from a corpus: sessions (events with the given actions, repeats collapsed) and/or
    boards (the pins of each board, from ``pins.jsonl`` ``board_ids``, in file order)."""
    from indexer.corpus import iter_valid
    from indexer.corpus.reader import ValidationOptions
    corpus_dir = Path(corpus_dir)
    options = ValidationOptions(progress=False)
    wanted = set(actions)
    sentences: list[list[str]] = []
    if use_sessions and (corpus_dir / "sessions.jsonl").exists():
        for session in iter_valid(corpus_dir, "sessions", options=options):
            sentence = session_sentence(e.pin_id for e in session.events if e.action in wanted)
            if len(sentence) >= 2:
                sentences.append(sentence)
    if use_boards:
        boards: dict[str, list[str]] = {}
        for pin in iter_valid(corpus_dir, "pins", options=options):
            for b in pin.board_ids:
                boards.setdefault(b, []).append(pin.id)
        sentences.extend(p for p in boards.values() if len(p) >= 2)
    return sentences


class VectorMapping(Mapping[str, list[float]]):
    """``pin id -> list of floats`` over one float32 matrix (a list is built on access only)."""

    def __init__(self, ids: list[str], matrix: np.ndarray) -> None:
        norms = np.linalg.norm(matrix, axis=1)
        keep = np.flatnonzero(np.isfinite(norms) & (norms > 0))  # cosinesimil rejects zero vectors
        self._ids = [ids[i] for i in keep]
        self._m = matrix[keep].astype(np.float32)
        self._pos = {p: i for i, p in enumerate(self._ids)}

    def __getitem__(self, pin_id: str) -> list[float]:
        return self._m[self._pos[pin_id]].tolist()

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, pin_id: object) -> bool:
        return pin_id in self._pos


def pin2vec_vectors(corpus_dir: str | Path, *, vector_size: int = 128, window: int = 5, epochs: int = 10,
                    min_count: int = 2, use_boards: bool = False, actions: Sequence[str] = DEFAULT_ACTIONS,
                    seed: int = 0, workers: int = 1, deterministic: bool = True,
                    model_dir: str | Path | None = None) -> Mapping[str, list[float]]:
    """Train Pin2Vec on a corpus and return ``pin id -> vector`` (``vector_size`` floats) for every
    pin that has a (non-zero) vector; pins below ``min_count`` engagements are absent. When
    ``model_dir`` is given the model and its manifest are saved there."""
    sentences = corpus_sentences(corpus_dir, actions=actions, use_boards=use_boards)
    if not sentences:
        return VectorMapping([], np.zeros((0, vector_size), dtype=np.float32))
    model = Pin2Vec(vector_size=vector_size, window=window, epochs=epochs, min_count=min_count, seed=seed,
                    workers=workers, deterministic=deterministic)
    try:
        model.fit(sentences)
    except ValueError:
        return VectorMapping([], np.zeros((0, vector_size), dtype=np.float32))
    if model_dir is not None:
        model.save(model_dir, inputs={"corpus_dir": str(corpus_dir), "sentences": len(sentences),
                                      "use_boards": use_boards, "actions": list(actions)})
    return VectorMapping(model.ids, model.model_.wv.vectors)
