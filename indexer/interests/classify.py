"""Pin2Interest: candidates -> features -> gradient-boosted ranker -> scores rolled up to ancestors.

:class:`Pin2Interest` is the whole pipeline as one estimator. ``fit`` learns, from the items of a
corpus and interest judgements (``judgements/interests.jsonl``: ``pin_id``, ``interest_id``,
``relevant`` 0|1; a judged pin's relevant interests are taken as complete, so its other candidates
are negatives), the text vectorisers, Word2Vec, the cross-fitted interest profiles and the ranker.
``predict_items`` scores any batch; ``classify_text`` is the instant path for one new pin or a query
(Q2I) through the same code. Without judgements the pipeline still runs with a lexical scorer.

Scores are P(relevant); an ancestor's score is the maximum of its own and its descendants' (a pin
about Digital Arts is about Fine Art). :func:`classify_corpus` is the batch entry point for reindex.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import joblib
import numpy as np
from sklearn.model_selection import KFold

from indexer.interests.candidates import MAX_CANDIDATES, CandidateGenerator, LabelIndex
from indexer.interests.features import (FEATURE_NAMES, ProfileModel, TextEmbedder, build_features,
                                        make_vectorizer)
from indexer.interests.items import InterestItem, item_from_pin
from indexer.interests.ranker import InterestRanker
from indexer.interests.taxonomy import Taxonomy, load_default_taxonomy

__all__ = ["InterestScore", "Pin2Interest", "as_rank_features", "classify_corpus",
           "load_corpus_items", "read_interest_judgements", "MODEL_FILE", "MANIFEST_FILE"]

VERSION = 1
MODEL_FILE = "pin2interest.joblib"
MANIFEST_FILE = "pin2interest.json"


@dataclass(frozen=True)
class InterestScore:
    """One interest of an item: taxonomy level, stable numeric id, English label, P(relevant)."""

    level: int
    interest_id: int
    label: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return {"level": self.level, "interest_id": self.interest_id, "label": self.label,
                "score": round(self.score, 6)}


class Pin2Interest:
    """The Pin2Interest pipeline as a scikit-learn style estimator (see module docstring).

    ``min_score`` decides which interests an item keeps in :meth:`predict_items` (the best one and
    its ancestors are always kept so every classified item has interests at level 1);
    ``profile_top`` learned-profile interests join the lexical and co-occurrence candidates.
    """

    def __init__(self, taxonomy: Taxonomy | None = None, *, max_candidates: int = MAX_CANDIDATES,
                 min_score: float = 0.3, profile_top: int = 10, n_folds: int = 5,
                 w2v_dim: int = 64, w2v_epochs: int = 10, profile_alpha: float = 1.0,
                 ranker_params: Mapping[str, object] | None = None, seed: int = 0) -> None:
        self.taxonomy = taxonomy
        self.max_candidates = max_candidates
        self.min_score = min_score
        self.profile_top = profile_top
        self.n_folds = n_folds
        self.w2v_dim = w2v_dim
        self.w2v_epochs = w2v_epochs
        self.profile_alpha = profile_alpha
        self.ranker_params = ranker_params
        self.seed = seed

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, items: Sequence[InterestItem], judgements: Mapping[str, Mapping[int, int]],
            progress: Callable[[str], None] | None = None) -> "Pin2Interest":
        """Learn from ``items`` (all of them feed the text models and co-occurrence) and the
        judgements ``{item id: {interest id: 0|1}}`` of some of them."""
        say = progress or (lambda _m: None)
        t0 = time.perf_counter()
        self.taxonomy_ = self.taxonomy if self.taxonomy is not None else load_default_taxonomy()
        tax = self.taxonomy_
        judgements = {k: {int(n): int(r) for n, r in v.items() if int(n) in tax}
                      for k, v in judgements.items()}
        self.label_index_ = LabelIndex(tax)
        self.generator_ = CandidateGenerator(self.label_index_, max_candidates=self.max_candidates)
        self.node_ids_ = np.array([n.id for n in tax], dtype=np.int64)
        self.node_row_ = {int(n): i for i, n in enumerate(self.node_ids_)}
        label_texts = [self._label_text(n) for n in self.node_ids_]
        texts = [it.text() for it in items]
        say("text models")
        self.vectorizer_ = make_vectorizer().fit(texts + label_texts)
        self.embedder_ = TextEmbedder(dim=self.w2v_dim, epochs=self.w2v_epochs,
                                      seed=self.seed).fit(texts, tax)
        self.label_tfidf_ = self.vectorizer_.transform(label_texts)
        self.label_w2v_ = self.embedder_.embed(label_texts)
        train_idx = [i for i, it in enumerate(items) if any(judgements.get(it.id, {}).values())]
        self.ranker_: InterestRanker | None = None
        self.profile_: ProfileModel | None = None
        self.manifest_: dict[str, object] = {"version": VERSION, "taxonomy": tax.name,
                                             "n_items": len(items), "n_train_items": len(train_idx),
                                             "features": list(FEATURE_NAMES),
                                             "params": self._params()}
        if not train_idx:
            self.manifest_["ranker"] = "lexical (no judgements)"
            return self
        item_tfidf = self.vectorizer_.transform(texts)
        item_w2v = self.embedder_.embed(texts)
        positives = [[n for n, r in judgements[items[i].id].items() if r] for i in train_idx]
        tr = np.array(train_idx)
        say("cross-fitted profiles")
        folds = KFold(n_splits=min(self.n_folds, len(tr)) if len(tr) > 1 else 2, shuffle=True,
                      random_state=self.seed)
        fold_of = np.zeros(len(tr), dtype=np.int64)
        splits = list(folds.split(tr)) if len(tr) > 1 else [(np.array([0]), np.array([0]))]
        profiles = []
        # candidates need board support from the whole batch; profiles add their top interests
        extra: list[dict[int, float]] = [{} for _ in items]
        proba_rows: dict[int, np.ndarray] = {}
        for k, (fit_rows, out_rows) in enumerate(splits):
            fold_of[out_rows] = k
            pm = ProfileModel(alpha=self.profile_alpha, seed=self.seed).fit(
                item_tfidf[tr[fit_rows]], [positives[r] for r in fit_rows], item_w2v[tr[fit_rows]])
            profiles.append(pm)
            rows = tr[fold_of == k]
            if len(rows):
                P = pm.predict_proba(item_tfidf[rows])
                for r, i in enumerate(rows):
                    proba_rows[int(i)] = P[r]
                    extra[i] = self._profile_extra(pm, P[r])
            pm.model_ = None  # its scores are taken; the features below use only the centroids
        say("candidates")
        cands, lexical, support = self.generator_.generate(items, extra)
        Xs, ys = [], []
        recall_hits = recall_all = 0
        for k, pm in enumerate(profiles):
            rows = tr[fold_of == k]
            if not len(rows):
                continue
            c_rows = []
            for i in rows:
                c = dict(cands[i])
                pos = {n for n, r in judgements[items[i].id].items() if r}
                recall_hits += len(pos & set(c))
                recall_all += len(pos)
                for n in judgements[items[i].id]:
                    c.setdefault(n, 0.0)
                c_rows.append(c)
            X, ri, rn = self._features([items[i] for i in rows], c_rows,
                                       [lexical[i] for i in rows], [support[i] for i in rows],
                                       item_tfidf[rows], item_w2v[rows], pm,
                                       np.stack([proba_rows[int(i)] for i in rows]))
            y = np.array([judgements[items[rows[a]].id].get(int(n), 0) for a, n in zip(ri, rn)])
            Xs.append(X)
            ys.append(y)
        X = np.concatenate(Xs)
        y = np.concatenate(ys)
        say(f"ranker on {len(y)} pairs")
        self.ranker_ = InterestRanker(seed=self.seed, **dict(self.ranker_params or {})).fit(X, y)
        self.profile_ = ProfileModel(alpha=self.profile_alpha, seed=self.seed).fit(item_tfidf[tr], positives, item_w2v[tr])
        self.manifest_.update({
            "ranker": "HistGradientBoostingClassifier",
            "train_pairs": int(len(y)), "train_positive_pairs": int(y.sum()),
            "train_candidate_recall": recall_hits / max(1, recall_all),
            "avg_candidates": float(np.mean([len(c) for c in cands])),
            "fit_seconds": round(time.perf_counter() - t0, 2),
        })
        return self

    def refresh_taxonomy(self) -> "Pin2Interest":
        """Re-index labels after interests were added to ``taxonomy_`` (``add_interest``,
        ``load_extensions``): new interests are candidates and scored at once, no retraining."""
        tax = self.taxonomy_
        self.label_index_ = LabelIndex(tax)
        self.generator_.index = self.label_index_
        self.node_ids_ = np.array([n.id for n in tax], dtype=np.int64)
        self.node_row_ = {int(n): i for i, n in enumerate(self.node_ids_)}
        label_texts = [self._label_text(n) for n in self.node_ids_]
        self.label_tfidf_ = self.vectorizer_.transform(label_texts)
        self.label_w2v_ = self.embedder_.embed(label_texts)
        return self

    def _params(self) -> dict[str, object]:
        return {"max_candidates": self.max_candidates, "min_score": self.min_score,
                "profile_top": self.profile_top, "n_folds": self.n_folds, "w2v_dim": self.w2v_dim,
                "w2v_epochs": self.w2v_epochs, "profile_alpha": self.profile_alpha,
                "ranker_params": dict(self.ranker_params or {}), "seed": self.seed}

    def _label_text(self, node_id: int) -> str:
        node = self.taxonomy_[int(node_id)]
        return " ".join([node.label, *node.path, *node.translations.values()])

    def _profile_extra(self, pm: ProfileModel, p: np.ndarray) -> dict[int, float]:
        if self.profile_top <= 0 or not len(p):
            return {}
        top = np.argsort(-p)[: self.profile_top]
        return {int(pm.classes_[j]): float(p[j]) for j in top
                if p[j] >= 0.05 and int(pm.classes_[j]) in self.taxonomy_}

    def _features(self, items, cands, lexical, support, tfidf, w2v, pm: ProfileModel | None,
                  proba: np.ndarray | None):  # type: ignore[no-untyped-def]
        cw = getattr(pm, "w2v_centroids_", None) if pm is not None else None
        return build_features(
            items, cands, lexical, support, self.taxonomy_,
            item_tfidf=tfidf, label_tfidf=self.label_tfidf_, item_w2v=w2v,
            label_w2v=self.label_w2v_, node_row=self.node_row_, profile_proba=proba,
            centroid_tfidf_cos=pm.centroid_cos(tfidf) if pm is not None else None,
            centroid_w2v=cw, profile_col=pm.col_ if pm is not None else {},
            train_freq=pm.freq_ if pm is not None else None)

    # -- prediction -----------------------------------------------------------------------------
    def score_candidates(self, items: Sequence[InterestItem]) -> list[dict[int, float]]:
        """Every candidate of every item with its rolled-up score (no threshold)."""
        if not items:
            return []
        texts = [it.text() for it in items]
        tfidf = self.vectorizer_.transform(texts)
        w2v = self.embedder_.embed(texts)
        pm = self.profile_
        proba = pm.predict_proba(tfidf) if pm is not None else None
        extra = [self._profile_extra(pm, proba[i]) for i in range(len(items))] if pm is not None \
            else None
        cands, lexical, support = self.generator_.generate(items, extra)
        if self.ranker_ is None:
            raw = [{n: min(1.0, 0.7 * m.best + 0.3 * m.phrase) if (m := lexical[i].get(n)) else 0.0
                    for n in c} for i, c in enumerate(cands)]
        else:
            X, ri, rn = self._features(items, cands, lexical, support, tfidf, w2v, pm, proba)
            s = self.ranker_.decision_scores(X)
            raw = [dict() for _ in items]
            for a, n, v in zip(ri.tolist(), rn.tolist(), s.tolist()):
                raw[a][n] = v
        return [self._roll_up(r) for r in raw]

    def _roll_up(self, scores: Mapping[int, float]) -> dict[int, float]:
        tax = self.taxonomy_
        out = dict(scores)
        for n in sorted(out, key=lambda n: -tax[n].level):
            p = tax[n].parent_id
            if p is not None:
                out[p] = max(out.get(p, 0.0), out[n])
        return out

    def _select(self, scores: Mapping[int, float]) -> list[InterestScore]:
        tax = self.taxonomy_
        keep = {n for n, s in scores.items() if s >= self.min_score}
        if scores:
            best = max(scores, key=lambda n: (scores[n], tax[n].level))
            keep |= {a.id for a in tax.ancestors(best, include_self=True)}
        out = [InterestScore(tax[n].level, n, tax[n].label, float(scores[n])) for n in keep]
        return sorted(out, key=lambda s: (s.level, -s.score, s.interest_id))

    def predict_items(self, items: Sequence[InterestItem], batch_size: int = 2000,
                      on_batch: Callable[[int], None] | None = None) -> list[list[InterestScore]]:
        """Interests of each item (``min_score`` and up, plus the best one and its ancestors).

        Co-occurrence support is computed within a batch, so pass a whole corpus (it is split into
        ``batch_size`` chunks for features only after candidates are known).
        """
        out: list[list[InterestScore]] = []
        for scores in self.score_candidates(items):
            out.append(self._select(scores))
            if on_batch is not None and len(out) % batch_size == 0:
                on_batch(batch_size)
        return out

    def classify_text(self, text: str, lang: str | None = None, **fields: str) -> list[InterestScore]:
        """Instant interests of one new pin or a query (Q2I): same code path, no co-occurrence."""
        item = InterestItem(id="_instant", fields={"title": text, **fields}, lang=lang)
        return self.predict_items([item])[0]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, model_dir: str | Path) -> Path:
        d = Path(model_dir)
        d.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, d / MODEL_FILE, compress=3)
        (d / MANIFEST_FILE).write_text(json.dumps(self.manifest_, indent=2, sort_keys=True) + "\n")
        return d

    @staticmethod
    def load(model_dir: str | Path) -> "Pin2Interest":
        path = Path(model_dir) / MODEL_FILE
        if not path.exists():
            raise FileNotFoundError(f"{path}: no Pin2Interest model; train one with classify_corpus("
                                    "corpus_dir, model_dir=...) or Pin2Interest.fit(...).save(dir)")
        model = joblib.load(path)
        if not isinstance(model, Pin2Interest):
            raise ValueError(f"{path}: not a Pin2Interest model")
        return model


def as_rank_features(interests: Iterable[InterestScore]) -> dict[int, dict[str, float]]:
    """``{level: {"<interest id>": score}}``: keys usable as ``rank_features`` keys (no dots),
    scores clamped above 0 (``rank_features`` values must be positive)."""
    out: dict[int, dict[str, float]] = defaultdict(dict)
    for s in interests:
        out[s.level][str(s.interest_id)] = max(float(s.score), 1e-4)
    return dict(out)


def read_interest_judgements(path: str | Path) -> dict[str, dict[int, int]]:
    """``judgements/interests.jsonl`` as ``{pin id: {interest id: relevant}}``.

    Bad lines raise ``ValueError`` naming the file, line and field (the corpus validator reports
    the same rules; this reader is for files used outside a validated corpus)."""
    out: dict[str, dict[int, int]] = defaultdict(dict)
    p = Path(path)
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{p}:{lineno}: malformed JSON ({exc.msg})") from None
            for fname, typ in (("pin_id", str), ("interest_id", int), ("relevant", int)):
                if not isinstance(rec.get(fname), typ) or isinstance(rec.get(fname), bool):
                    raise ValueError(f"{p}:{lineno}: field {fname!r} must be {typ.__name__}")
            out[rec["pin_id"]][rec["interest_id"]] = 1 if rec["relevant"] else 0
    return dict(out)


def load_corpus_items(corpus_dir: str | Path) -> tuple[list[InterestItem], dict[str, dict[int, int]]]:
    """Items of every valid pin (board names joined) and the corpus's interest judgements."""
    from indexer.corpus import CorpusReader, ValidationOptions

    reader = CorpusReader(corpus_dir, options=ValidationOptions(progress=False))
    try:
        boards = {b.id: b.name for b in reader.boards()}
    except Exception:  # boards.jsonl is optional
        boards = {}
    items = [item_from_pin(p, boards) for p in reader.pins()]
    judged: dict[str, dict[int, int]] = defaultdict(dict)
    try:
        for j in reader.interest_judgements():
            judged[j.pin_id][int(j.interest_id)] = int(j.relevant)
    except (AttributeError, FileNotFoundError):
        pass
    return items, dict(judged)


def classify_corpus(corpus_dir: str | Path, model_dir: str | Path | None = None, *,
                    taxonomy: Taxonomy | None = None, min_score: float | None = None,
                    seed: int = 0, progress: Callable[[str], None] | None = None,
                    ) -> dict[str, dict[int, dict[str, float]]]:
    """Interests of every pin: ``{pin id: {level: {"<interest id>": score}}}`` for reindex.

    With ``model_dir`` holding a saved model, that model is used; otherwise a model is trained on
    the corpus's own ``judgements/interests.jsonl`` (lexical scoring when it has none) and saved to
    ``model_dir`` when one is given. ``PinSignals(interests=result[pin_id])`` feeds
    ``interests_l1..lN`` and ``interest_ids``.
    """
    items, judged = load_corpus_items(corpus_dir)
    if model_dir is not None and (Path(model_dir) / MODEL_FILE).exists():
        model = Pin2Interest.load(model_dir)
    else:
        model = Pin2Interest(taxonomy, seed=seed).fit(items, judged, progress=progress)
        if model_dir is not None:
            model.save(model_dir)
    if min_score is not None:
        model.min_score = min_score
    return {it.id: as_rank_features(s) for it, s in zip(items, model.predict_items(items))}
