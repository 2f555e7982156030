"""An annotation model: dictionary + matcher + feature context + scorer, trained and persisted.

Layout of a model directory (``save``/``load``)::

    dictionary.json     the versioned dictionary (see dictionary.py)
    features.joblib     FeatureContext (corpus sizes, word vectors)
    scorer.joblib       the fitted AnnotationScorer (absent: heuristic scorer)
    manifest.json       inputs, parameters, metrics, version

Training labels (``judgements/annotations.jsonl``, one object per line)::

    {"pin_id": "p1", "annotation": "vegan dinner", "lang": "en", "relevant": 1}

``annotation`` is a phrase in ``lang``; it is mapped to a dictionary term with the same
normalisation, stemming and spelling correction as pin text. A training row is a candidate
extracted from a judged pin: label 1 if it is (the canonical term of) a phrase judged relevant,
0 if judged irrelevant, and 0 if not judged at all -- judges label every good phrase of a pin
they look at, so an unjudged candidate of a judged pin is a negative.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import joblib
import numpy as np

from indexer.annotations.build import BuildOptions, build_dictionary
from indexer.annotations.candidates import Matcher
from indexer.annotations.dictionary import Dictionary
from indexer.annotations.features import FEATURE_NAMES, FeatureContext, featurize, \
    train_word_vectors
from indexer.annotations.scorer import AnnotationScorer
from indexer.annotations.sources import CorpusContext, PinText
from indexer.text import analyze

__all__ = ["MODEL_VERSION", "Annotation", "AnnotationModel", "is_test_pin"]

MODEL_VERSION = 1


class Annotation(NamedTuple):
    """One annotation of a pin: ``(lang, annotation, score)`` plus the term's stable ``id``."""

    lang: str
    annotation: str
    score: float
    id: str


def is_test_pin(pin_id: str, test_share: float = 0.2) -> bool:
    """The fixed train/test split of pins: sha1 of the id, so it never depends on file order."""
    h = int.from_bytes(hashlib.sha1(pin_id.encode("utf-8")).digest()[:8], "big")
    return (h % 10_000) < test_share * 10_000


def _heuristic(X: np.ndarray) -> np.ndarray:
    """Scorer without judgements: relative TF-IDF, more sources and specific terms score higher."""
    col = {n: i for i, n in enumerate(FEATURE_NAMES)}
    rel = np.nan_to_num(X[:, col["tfidf_rel"]], nan=0.0)
    srcs = np.minimum(X[:, col["n_sources"]], 4) / 4
    sub = X[:, col["subsumed"]]
    return np.clip(0.6 * rel + 0.4 * srcs - 0.2 * sub, 0.0, 1.0)


@dataclass
class AnnotationModel:
    dictionary: Dictionary
    features: FeatureContext
    scorer: AnnotationScorer | None = None
    manifest: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.matcher = Matcher(self.dictionary)

    # -- annotate ----------------------------------------------------------------------------
    def score_pin(self, text: PinText) -> tuple[list[str], np.ndarray, np.ndarray]:
        cands = self.matcher.candidates(text)
        ids, X = featurize(text, cands, self.dictionary, self.features)
        if not ids:
            return ids, X, np.zeros(0)
        scores = self.scorer.decision_scores(X) if self.scorer is not None else _heuristic(X)
        return ids, X, scores

    def annotate(self, text: PinText, *, top_k: int = 10, threshold: float = 0.3
                 ) -> list[Annotation]:
        """Sorted ``Annotation`` s of one pin: best first, at most ``top_k``, score >= threshold."""
        ids, _, scores = self.score_pin(text)
        return self._top(ids, scores, top_k, threshold)

    def annotate_many(self, texts: list[PinText], *, top_k: int = 10, threshold: float = 0.3
                      ) -> list[list[Annotation]]:
        """``annotate`` for many pins with one scorer call (the batch path: same candidates,
        same features, same scores -- only the scorer call is shared)."""
        per_pin = []
        for t in texts:
            ids, X = featurize(t, self.matcher.candidates(t), self.dictionary, self.features)
            per_pin.append((ids, X))
        if not per_pin:
            return []
        X_all = np.vstack([X for _, X in per_pin])
        if len(X_all) == 0:
            return [[] for _ in texts]
        scores_all = self.scorer.decision_scores(X_all) if self.scorer is not None \
            else _heuristic(X_all)
        out, at = [], 0
        for ids, X in per_pin:
            out.append(self._top(ids, scores_all[at:at + len(ids)], top_k, threshold))
            at += len(ids)
        return out

    def _top(self, ids: list[str], scores: np.ndarray, top_k: int, threshold: float
             ) -> list[Annotation]:
        order = np.argsort(-scores, kind="stable")
        out: list[Annotation] = []
        for i in order[:top_k]:
            s = float(scores[i])
            if s < threshold:
                break
            e = self.dictionary.entries[ids[i]]
            out.append(Annotation(e.lang, e.text, round(s, 6), e.id))
        return out

    # -- training ----------------------------------------------------------------------------
    @classmethod
    def build(cls, corpus_dir: str | Path, *, kind: str = "gbdt", seed: int = 0,
              embeddings: bool = True, options: BuildOptions | None = None,
              dictionary: Dictionary | None = None, context: CorpusContext | None = None,
              train_pins: Iterable[str] | None = None, progress: bool = False
              ) -> "AnnotationModel":
        """Dictionary (unless given), word vectors and a scorer trained on the corpus's
        ``judgements/annotations.jsonl`` (heuristic scorer when there are none).
        ``train_pins`` restricts the judged pins used for training (evaluation splits)."""
        ctx = context or CorpusContext(corpus_dir)
        d = dictionary or build_dictionary(corpus_dir, options=options, context=ctx,
                                           progress=progress)
        vectors = None
        if embeddings:
            sentences = []
            for pin in ctx.pins():
                lang = ctx.language_of(pin)
                sentences.append((lang, analyze(f"{pin.title} {pin.description}", lang).keys))
            vectors = train_word_vectors(sentences, seed=seed)
        fctx = FeatureContext.from_dictionary(d, vectors)
        model = cls(d, fctx)
        metrics: dict[str, Any] = {}
        X, y, n_pins = model.training_rows(ctx, train_pins)
        if n_pins and len(set(y.tolist())) == 2:
            model.scorer = AnnotationScorer(kind=kind, random_state=seed).fit(X, y)
            metrics = {"train_rows": int(len(y)), "train_pins": n_pins,
                       "train_positive_rate": round(float(y.mean()), 4),
                       "train_accuracy": round(float(model.scorer.score(X, y)), 4)}
        model.manifest = {
            "format": "pinsearch-annotation-model", "version": MODEL_VERSION,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "inputs": {"corpus": str(Path(corpus_dir).resolve()),
                       "dictionary_terms": len(d)},
            "parameters": {"kind": kind if model.scorer else "heuristic", "seed": seed,
                           "embeddings": embeddings, "features": list(FEATURE_NAMES)},
            "metrics": metrics,
        }
        return model

    def training_rows(self, ctx: CorpusContext, train_pins: Iterable[str] | None = None
                      ) -> tuple[np.ndarray, np.ndarray, int]:
        """Feature rows and labels of the candidates of judged pins (see module docstring)."""
        path = ctx.corpus_dir / "judgements" / "annotations.jsonl"
        if not path.exists():
            return np.zeros((0, len(FEATURE_NAMES))), np.zeros(0, int), 0
        allowed = set(train_pins) if train_pins is not None else None
        labels: dict[str, dict[str, int]] = defaultdict(dict)
        for j in ctx.reader.annotation_judgements():
            if allowed is not None and j.pin_id not in allowed:
                continue
            entry = self.dictionary.lookup(j.annotation, j.lang)
            if entry is not None:
                labels[j.pin_id][entry.id] = max(j.relevant, labels[j.pin_id].get(entry.id, 0))
            else:
                labels[j.pin_id].setdefault("", 0)  # judged pin with no known phrase
        rows, ys = [], []
        for pin in ctx.pins():
            lab = labels.get(pin.id)
            if lab is None:
                continue
            ids, X = featurize(t := ctx.pin_text(pin), self.matcher.candidates(t),
                               self.dictionary, self.features)
            rows.append(X)
            ys.extend(lab.get(i, 0) for i in ids)
        if not rows:
            return np.zeros((0, len(FEATURE_NAMES))), np.zeros(0, int), 0
        return np.vstack(rows), np.asarray(ys, dtype=int), len(labels)

    # -- persistence -------------------------------------------------------------------------
    def save(self, model_dir: str | Path) -> Path:
        out = Path(model_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.dictionary.save(out / "dictionary.json")
        joblib.dump(self.features, out / "features.joblib")
        scorer_path = out / "scorer.joblib"
        if self.scorer is not None:
            joblib.dump(self.scorer, scorer_path)
        elif scorer_path.exists():
            scorer_path.unlink()
        manifest = dict(self.manifest or {})
        manifest["dictionary_version"] = self.dictionary.version
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        return out

    @classmethod
    def load(cls, model_dir: str | Path) -> "AnnotationModel":
        src = Path(model_dir)
        manifest_path = src / "manifest.json"
        if not manifest_path.exists():
            raise FileNotFoundError(f"{src}: no manifest.json; train a model with "
                                    "AnnotationModel.build(corpus).save(dir)")
        manifest = json.loads(manifest_path.read_text("utf-8"))
        if manifest.get("version") != MODEL_VERSION:
            raise ValueError(f"{manifest_path}: model version {manifest.get('version')} is not "
                             f"{MODEL_VERSION}; retrain the model")
        d = Dictionary.load(src / "dictionary.json")
        feats = joblib.load(src / "features.joblib")
        scorer = joblib.load(src / "scorer.joblib") if (src / "scorer.joblib").exists() else None
        return cls(d, feats, scorer, manifest)


