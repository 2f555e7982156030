"""Cohesion for a whole corpus: extract pages, fit BM25 and the word space, blend, score every pin.

``cohesion_scores`` is what reindex calls. The unsupervised parts (BM25 statistics, Word2Vec) are
fitted on the corpus being scored, since they describe its vocabulary; the blender is loaded from
``model_dir`` when one is saved there, otherwise trained on ``judgements/cohesion.jsonl`` (and
saved to ``model_dir`` when given). Pins without a link, or whose link has no fetched page, get
``unknown`` (default: the share of cohesive pages in the training labels): no evidence either way.

With ``model_dir``, the fitted BM25 statistics and word space are saved next to the blender
(``features.joblib``), so ``cohesion_for_pins`` can score new or changed pins later without refitting
anything: the instant path of ``pinsearch reindex --incremental``.

``evaluate_cohesion`` uses a fixed split: with a sample output directory (``ground_truth/`` next to
``corpus/``) it trains on the corpus judgements and tests on the ground-truth pins that were not
judged; without ground truth, judgements whose ``crc32(pin_id) % 10 < 3`` are the test set.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.cohesion.blender import CohesionBlender
from indexer.cohesion.corpus_pages import CorpusPage, load_corpus_pages
from indexer.cohesion.features import FEATURES, PairText, WordSpace, pair_features
from indexer.cohesion.keywords import BM25Keywords
from indexer.cohesion.text import tokens
from indexer.corpus.records import Page, Pin

__all__ = ["FEATURES_FILE", "CohesionFeatures", "build_features", "cohesion_for_pins", "cohesion_scores",
           "evaluate_cohesion"]

FEATURES_FILE = "features.joblib"   # {"bm25", "space", "prior"} beside the blender in model_dir


@dataclass(slots=True)
class CohesionFeatures:
    pin_ids: list[str]              # pins with a fetched page, in corpus order
    X: np.ndarray                   # (len(pin_ids), len(FEATURES))
    all_pin_ids: list[str]          # every valid pin
    page_errors: dict[str, str]     # url -> extraction error
    n_pages: int
    extract_seconds: float
    feature_seconds: float
    bm25: BM25Keywords | None = None
    space: WordSpace | None = None


def _page_tokens(cp: CorpusPage) -> list[str] | None:
    if cp.page is None:
        return None
    return tokens(f"{cp.page.title}\n{cp.page.description}\n{cp.page.text}")


def build_features(corpus_dir: str | Path, *, n_jobs: int = 1, seed: int = 0, progress: bool = False,
                   page_image_embeddings: dict[str, list[list[float]]] | None = None) -> CohesionFeatures:
    """Feature rows for every pin whose link has a ``pages.jsonl`` row."""
    from indexer.corpus.reader import CorpusReader, ValidationOptions

    corpus_dir = Path(corpus_dir)
    t0 = time.perf_counter()
    pages = load_corpus_pages(corpus_dir, n_jobs=n_jobs, progress=progress)
    t1 = time.perf_counter()
    reader = CorpusReader(corpus_dir, options=ValidationOptions(progress=False))
    boards = {b.id: b.name for b in reader.boards()} if (corpus_dir / "boards.jsonl").is_file() else {}
    pins = list(reader.pins())
    page_toks = {u: _page_tokens(cp) for u, cp in pages.items()}
    bm25 = BM25Keywords().fit(t for t in page_toks.values() if t)
    onsite = {p.id: _onsite(p, boards) for p in pins}
    sentences: list[list[str]] = list(onsite.values())
    sentences += [tokens(" ".join(p.image_annotations)) for p in pins if p.image_annotations]
    for cp in pages.values():
        if cp.page is not None:
            sentences.append(tokens(cp.page.title))
            sentences.extend(tokens(line) for line in cp.page.text.split("\n"))
    space = WordSpace(seed=seed).fit(sentences)
    ids, X = _pin_rows(pins, pages, onsite, page_toks, space, bm25, page_image_embeddings)
    errors = {u: cp.error for u, cp in pages.items() if cp.error}
    return CohesionFeatures(ids, X, [p.id for p in pins], errors, len(pages), t1 - t0,
                            time.perf_counter() - t1, bm25, space)


def _onsite(pin: Pin, boards: dict[str, str]) -> list[str]:
    return tokens(" ".join([pin.title, pin.description] + [boards.get(b, "") for b in pin.board_ids]))


def _pin_rows(pins: list[Pin], pages: dict[str, CorpusPage], onsite: dict[str, list[str]],
              page_toks: dict[str, list[str] | None], space: WordSpace, bm25: BM25Keywords,
              page_image_embeddings: dict[str, list[list[float]]] | None) -> tuple[list[str], np.ndarray]:
    """Feature rows of the pins whose link has a page in ``pages`` (others are left out)."""
    rows, ids = [], []
    for p in pins:
        cp = pages.get(p.link) if p.link else None
        if cp is None:
            continue
        page = cp.page
        pair = PairText(onsite=onsite[p.id], pin_title=tokens(p.title),
                        image_annotations=tokens(" ".join(p.image_annotations)),
                        image_embedding=p.image_embedding, status=cp.status,
                        page_tokens=page_toks.get(cp.url),
                        page_title=tokens(page.title) if page else [],
                        alt_text=tokens(" ".join(i.alt for i in page.images)) if page else [],
                        page_image_embeddings=(page_image_embeddings or {}).get(cp.url))
        rows.append(pair_features(pair, space, bm25))
        ids.append(p.id)
    return ids, np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))


def _labels(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    if not path.is_file():
        return out
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                out[str(rec["pin_id"])] = int(rec["cohesive"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}: line {n}: field pin_id/cohesive: {exc}") from None
    return out


def _train(feats: CohesionFeatures, labels: dict[str, int], kind: str, seed: int) -> CohesionBlender:
    idx = [i for i, pid in enumerate(feats.pin_ids) if pid in labels]
    if not idx:
        raise ValueError("no judged pin has a fetched page: cannot train the cohesion blender "
                         "(add judgements/cohesion.jsonl or pass model_dir with a saved model)")
    y = np.array([labels[feats.pin_ids[i]] for i in idx])
    return CohesionBlender(kind=kind, seed=seed).fit(feats.X[idx], y)


def cohesion_scores(corpus_dir: str | Path, model_dir: str | Path | None = None, *, n_jobs: int = 1,
                    seed: int = 0, kind: str = "logistic", unknown: float | None = None,
                    progress: bool = False) -> dict[str, float]:
    """``pin_id -> cohesion`` in (0, 1] for every valid pin of ``corpus_dir`` (see module doc)."""
    corpus_dir = Path(corpus_dir)
    feats = build_features(corpus_dir, n_jobs=n_jobs, seed=seed, progress=progress)
    labels = _labels(corpus_dir / "judgements" / "cohesion.jsonl")
    model_path = Path(model_dir) / "cohesion.joblib" if model_dir else None
    if model_path is not None and model_path.is_file():
        blender = CohesionBlender.load(model_dir)  # type: ignore[arg-type]
    else:
        blender = _train(feats, labels, kind, seed)
        if model_dir:
            blender.save(model_dir, inputs={"corpus": str(corpus_dir), "labels": len(labels)},
                         features=FEATURES)
    prior = unknown if unknown is not None else (sum(labels.values()) / len(labels) if labels else 0.5)
    prior = min(1.0, max(blender.floor, prior))
    if model_dir:
        import joblib

        joblib.dump({"bm25": feats.bm25, "space": feats.space, "prior": prior}, Path(model_dir) / FEATURES_FILE)
    scores = {pid: prior for pid in feats.all_pin_ids}
    if feats.pin_ids:
        p = blender.predict_proba(feats.X)[:, 1]
        scores.update({pid: float(v) for pid, v in zip(feats.pin_ids, p)})
    return scores


def cohesion_for_pins(corpus_dir: str | Path, model_dir: str | Path, pins: list[Pin],
                      boards: dict[str, str], pages: dict[str, Page]) -> dict[str, float]:
    """``pin_id -> cohesion`` for some pins with the saved blender, BM25 statistics and word space
    (``cohesion_scores(..., model_dir=...)`` saves them): only these pins' pages are extracted, nothing
    is refitted. ``boards`` maps board id -> name, ``pages`` url -> ``pages.jsonl`` row."""
    import joblib

    from indexer.cohesion.corpus_pages import extract_pages

    model_dir = Path(model_dir)
    path = model_dir / FEATURES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no saved cohesion features; run a full reindex (or "
                                "cohesion_scores(corpus, model_dir=...)) to train them")
    saved = joblib.load(path)
    blender = CohesionBlender.load(model_dir)
    rows = {pg.url: (pg.url, pg.status, pg.path) for p in pins if p.link and (pg := pages.get(p.link))}
    extracted = extract_pages(corpus_dir, list(rows.values()))
    page_toks = {u: _page_tokens(cp) for u, cp in extracted.items()}
    onsite = {p.id: _onsite(p, boards) for p in pins}
    ids, X = _pin_rows(pins, extracted, onsite, page_toks, saved["space"], saved["bm25"], None)
    scores = {p.id: float(saved["prior"]) for p in pins}
    if ids:
        scores.update(zip(ids, map(float, blender.predict_proba(X)[:, 1])))
    return scores


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    pred = p >= 0.5
    tp = int(np.sum(pred & (y == 1)))
    neg_pred = ~pred
    return {"auc": round(float(roc_auc_score(y, p)), 4) if len(set(y.tolist())) > 1 else None,
            "map": round(float(average_precision_score(y, p)), 4) if y.any() else None,
            "precision": round(tp / int(pred.sum()), 4) if pred.any() else None,
            "recall": round(tp / int((y == 1).sum()), 4) if (y == 1).any() else None,
            "precision_noncohesive": round(int(np.sum(neg_pred & (y == 0))) / int(neg_pred.sum()), 4)
            if neg_pred.any() else None,
            "accuracy": round(float(np.mean(pred == (y == 1))), 4), "n": len(y),
            "positives": int(y.sum())}


def evaluate_cohesion(sample_dir: str | Path, *, n_jobs: int = 1, seed: int = 0, kind: str = "logistic",
                      progress: bool = False) -> dict[str, Any]:
    """Cohesion AUC / precision on the fixed split described in the module doc, plus speed."""
    sample_dir = Path(sample_dir)
    corpus = sample_dir / "corpus" if (sample_dir / "corpus").is_dir() else sample_dir
    if not (corpus / "pins.jsonl").is_file():
        raise FileNotFoundError(f"{sample_dir}: no corpus (expected {corpus / 'pins.jsonl'})")
    judged = _labels(corpus / "judgements" / "cohesion.jsonl")
    truth_path = sample_dir / "ground_truth" / "cohesion.jsonl"
    if truth_path.is_file():
        truth = _labels(truth_path)
        train = judged
        test = {k: v for k, v in truth.items() if k not in judged}
        split = "train: corpus/judgements/cohesion.jsonl; test: ground_truth pins not judged"
    else:
        test = {k: v for k, v in judged.items() if zlib.crc32(k.encode()) % 10 < 3}
        train = {k: v for k, v in judged.items() if k not in test}
        split = "judgements split by crc32(pin_id) % 10 < 3 (test) / >= 3 (train)"
    feats = build_features(corpus, n_jobs=n_jobs, seed=seed, progress=progress)
    t0 = time.perf_counter()
    blender = _train(feats, train, kind, seed)
    train_s = time.perf_counter() - t0
    idx = [i for i, pid in enumerate(feats.pin_ids) if pid in test]
    if not idx:
        raise ValueError(f"{sample_dir}: no test pin with a fetched page")
    y = np.array([test[feats.pin_ids[i]] for i in idx])
    X = feats.X[idx]
    methods: dict[str, Any] = {"blend": _metrics(y, blender.predict_proba(X)[:, 1])}
    for name in ("text_cos", "kw_overlap", "onsite_coverage"):
        col = X[:, FEATURES.index(name)]
        methods[name] = _metrics(y, np.where(np.isnan(col), -1.0, col))
    return {"split": split, "train_labels": len(train), "test_pins": len(idx), "seed": seed,
            "blender": kind, "features": list(FEATURES), "methods": methods,
            "speed": {"pages": feats.n_pages, "n_jobs": n_jobs,
                      "extract_seconds": round(feats.extract_seconds, 3),
                      "pages_per_second": round(feats.n_pages / feats.extract_seconds, 1)
                      if feats.extract_seconds > 0 else None,
                      "features_seconds": round(feats.feature_seconds, 3),
                      "train_seconds": round(train_s, 3)},
            "page_errors": len(feats.page_errors)}
