"""Keyphrase extraction evaluation on any zip of the LIAAD layout
(``*/docsutf8/<id>.txt`` + ``*/keys/<id>.key``, one gold keyphrase per line).

The annotation pipeline, as it would run on pins: a **dictionary built from the gold keys of the
training documents only**, candidates by Aho-Corasick matching of that dictionary plus the
document's own 1-3-grams (no stop word or number at an edge), features, and a
HistGradientBoosting scorer trained on the training documents' candidates.

Split (fixed, documented, independent of file order): 5 folds by ``sha1(doc id) % 5``; every
document is tested once, by a model whose dictionary and scorer saw only the other four folds.
In training, the dictionary features of a document's candidates are computed leave-one-out (the
document's own keys do not count), as they would be for an unseen document.

Baseline computed in the same run: **TF-IDF** (the same 1-3-gram candidates, tf x idf with idf
over all documents of the zip). Published YAKE numbers (F1@10) are printed next to them for the
three data sets of the LIAAD collection.

Metrics (per document, macro-averaged): ``p@k``, ``r@k``, ``f1@k`` for k = 5, 10, matching
stemmed, accent-folded keys (Snowball for the detected language); recall is over all gold keys,
found in the text or not.
"""

from __future__ import annotations

import hashlib
import math
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from indexer.annotations.build import is_fragment
from indexer.annotations.scorer import AnnotationScorer
from indexer.text import analyze, detect_language, ngram_spans

__all__ = ["PUBLISHED_F1_AT_10", "Doc", "evaluate_keyphrases", "read_keyphrase_zip"]

N_FOLDS = 5
KS = (5, 10)
PUBLISHED_F1_AT_10: dict[str, dict[str, float]] = {
    # YAKE README (LIAAD), F1@10
    "kdd": {"yake": 0.156, "tfidf": 0.115},
    "www": {"yake": 0.172, "tfidf": 0.130},
    "semeval2010": {"yake": 0.211, "kp-miner": 0.261},
}
_DOC = re.compile(r"(?:^|/)docsutf8/([^/]+)\.txt$")
_KEY = re.compile(r"(?:^|/)keys/([^/]+)\.key$")
FEATURES = ("tf", "first_pos", "spread", "idf", "tfidf", "n_tokens", "in_dict", "dict_freq",
            "in_first_line", "n_contained")


@dataclass
class Doc:
    id: str
    text: str
    keys: list[str]
    lang: str = "en"


class KeyphraseDataError(ValueError):
    pass


def read_keyphrase_zip(path: str | Path) -> list[Doc]:
    """Documents with their gold keys; documents without a key file are skipped (named)."""
    path = Path(path)
    if not path.exists():
        raise KeyphraseDataError(f"{path}: no such file")
    texts: dict[str, str] = {}
    keys: dict[str, list[str]] = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if (m := _DOC.search(name)):
                texts[m.group(1)] = zf.read(name).decode("utf-8", errors="replace")
            elif (m := _KEY.search(name)):
                raw = zf.read(name).decode("utf-8", errors="replace")
                keys[m.group(1)] = [k.strip() for k in raw.splitlines() if k.strip()]
    if not texts:
        raise KeyphraseDataError(f"{path}: no '*/docsutf8/<id>.txt' member; expected the LIAAD "
                                 "layout (docsutf8/ and keys/ folders)")
    docs = [Doc(i, texts[i], keys[i]) for i in sorted(texts) if keys.get(i)]
    if len(docs) < N_FOLDS * 2:
        raise KeyphraseDataError(f"{path}: only {len(docs)} documents with keys; need at least "
                                 f"{N_FOLDS * 2}")
    langs = Counter()
    for d in docs:
        d.lang = detect_language(d.text[:2000])
        langs[d.lang] += 1
    main = langs.most_common(1)[0][0]
    for d in docs:  # one collection, one language: detection noise on short abstracts is ignored
        d.lang = main
    return docs


def fold_of(doc_id: str) -> int:
    return int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest(), 16) % N_FOLDS


@dataclass
class _Analysed:
    doc: Doc
    keys: list[str]                  # stemmed tokens of the text
    surface: list[str]
    first_line_len: int
    gold: set[str]
    grams: dict[str, list[int]]      # candidate key -> token positions


def _analyse(doc: Doc, max_n: int = 3) -> _Analysed:
    first_line = doc.text.strip().split("\n", 1)[0]
    a = analyze(doc.text, doc.lang)
    grams: dict[str, list[int]] = defaultdict(list)
    for s, e in ngram_spans(len(a.keys), 1, max_n):
        if is_fragment(a.tokens[s:e], doc.lang) or any(len(t) < 2 for t in a.tokens[s:e]):
            continue
        grams[" ".join(a.keys[s:e])].append(s)
    gold = {k for k in (analyze(g, doc.lang).key_text() for g in doc.keys) if k}
    return _Analysed(doc, a.keys, a.tokens, len(analyze(first_line, doc.lang).keys), gold,
                     dict(grams))


def _dict_matches(x: _Analysed, dictionary: set[str], max_n: int) -> dict[str, list[int]]:
    """Dictionary keys (up to ``max_n`` tokens) found in the text, with positions."""
    out: dict[str, list[int]] = defaultdict(list)
    for s, e in ngram_spans(len(x.keys), 1, max_n):
        k = " ".join(x.keys[s:e])
        if k in dictionary:
            out[k].append(s)
    return out


def _features(x: _Analysed, df: Counter[str], n_docs: int, key_freq: Counter[str],
              loo: bool, dict_max_n: int, max_cands: int = 150
              ) -> tuple[list[str], np.ndarray]:
    own = x.gold if loo else set()
    freq = {k: key_freq[k] - (1 if k in own else 0) for k in key_freq} if loo else key_freq
    dictionary = {k for k, c in freq.items() if c > 0}
    cands: dict[str, list[int]] = dict(x.grams)
    for k, pos in _dict_matches(x, dictionary, dict_max_n).items():
        cands[k] = pos
    n_tok = max(1, len(x.keys))
    idf = {k: math.log((n_docs + 1) / (df.get(k, 0) + 1)) for k in cands}
    ranked = sorted(cands, key=lambda k: (-(k in dictionary), -len(cands[k]) * idf[k], k))
    ranked = ranked[:max_cands]
    X = np.zeros((len(ranked), len(FEATURES)))
    key_set = set(ranked)
    for row, k in enumerate(ranked):
        pos = cands[k]
        tf = len(pos)
        parts = k.split(" ")
        inner = sum(1 for a in range(len(parts)) for b in range(a + 1, len(parts) + 1)
                    if b - a < len(parts) and " ".join(parts[a:b]) in key_set)
        X[row] = (math.log1p(tf), pos[0] / n_tok, (pos[-1] - pos[0]) / n_tok, idf[k],
                  math.log1p(tf) * idf[k], len(parts), float(k in dictionary),
                  math.log1p(max(0, freq.get(k, 0))), float(pos[0] < x.first_line_len), inner)
    return ranked, X


def _prf(pred: list[str], gold: set[str], k: int) -> tuple[float, float, float]:
    top = pred[:k]
    hit = len(set(top) & gold)
    p = hit / k
    r = hit / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _summary(rows: list[dict[str, float]]) -> dict[str, float]:
    return {m: round(float(np.mean([r[m] for r in rows])), 4) for m in rows[0]}


def _metrics(pred: list[str], gold: set[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in KS:
        p, r, f = _prf(pred, gold, k)
        out[f"p@{k}"], out[f"r@{k}"], out[f"f1@{k}"] = p, r, f
    return out


def evaluate_keyphrases(zip_path: str | Path, *, seed: int = 0, kind: str = "gbdt",
                        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the evaluation; returns JSON-ready results grouped per method (see module doc)."""
    docs = read_keyphrase_zip(zip_path)
    analysed = [_analyse(d) for d in docs]
    n_docs = len(analysed)
    df_all: Counter[str] = Counter()
    for x in analysed:
        df_all.update(x.grams.keys())
    per_method: dict[str, list[dict[str, float]]] = {"pinsearch": [], "tfidf": []}
    folds_out = []
    coverage = []
    for fold in range(N_FOLDS):
        train = [x for x in analysed if fold_of(x.doc.id) != fold]
        test = [x for x in analysed if fold_of(x.doc.id) == fold]
        if not test:
            continue
        if progress:
            progress(f"fold {fold + 1}/{N_FOLDS}: {len(train)} train, {len(test)} test documents")
        key_freq: Counter[str] = Counter()
        for x in train:
            key_freq.update(x.gold)
        df_train: Counter[str] = Counter()
        for x in train:
            df_train.update(x.grams.keys())
            df_train.update(k for k in x.gold if k not in x.grams and k in " ".join(x.keys))
        dict_max_n = max((k.count(" ") + 1 for k in key_freq), default=1)
        dict_max_n = min(dict_max_n, 6)
        Xs, ys = [], []
        for x in train:
            ids, X = _features(x, df_train, len(train), key_freq, True, dict_max_n)
            Xs.append(X)
            ys.extend(int(k in x.gold) for k in ids)
        scorer = AnnotationScorer(kind=kind, random_state=seed).fit(np.vstack(Xs), np.array(ys))
        fold_rows: list[dict[str, float]] = []
        for x in test:
            ids, X = _features(x, df_train, len(train), key_freq, False, dict_max_n)
            scores = scorer.decision_scores(X) if len(ids) else np.zeros(0)
            order = np.argsort(-scores, kind="stable")
            pred = [ids[i] for i in order]
            m = _metrics(pred, x.gold)
            fold_rows.append(m)
            per_method["pinsearch"].append(m)
            coverage.append(len(x.gold & set(key_freq)) / len(x.gold) if x.gold else 0.0)
            tfidf = sorted(x.grams, key=lambda k: (-len(x.grams[k]) * math.log(
                (n_docs + 1) / (df_all[k] + 1)), k))
            per_method["tfidf"].append(_metrics(tfidf, x.gold))
        folds_out.append({"fold": fold, "train_docs": len(train), "test_docs": len(test),
                          "dictionary_terms": len(key_freq), **_summary(fold_rows)})
    name = Path(zip_path).stem
    published = PUBLISHED_F1_AT_10.get(name.lower(), {})
    result: dict[str, Any] = {
        "dataset": name, "documents": n_docs, "language": docs[0].lang,
        "split": f"{N_FOLDS} folds by sha1(doc id) % {N_FOLDS}; each document tested once",
        "methods": {
            "pinsearch": {**_summary(per_method["pinsearch"]),
                          "scorer": kind,
                          "gold_in_dictionary": round(float(np.mean(coverage)), 4),
                          "folds": folds_out},
            "tfidf": _summary(per_method["tfidf"]),
        },
        "published_f1@10": published,
    }
    return result


def format_text(result: dict[str, Any]) -> str:
    lines = [f"{result['dataset']}: {result['documents']} documents ({result['language']}), "
             f"{result['split']}", f"{'method':<12}" + "".join(f"{m:>8}" for m in
                                                            ("p@5", "r@5", "f1@5", "p@10", "r@10",
                                                             "f1@10"))]
    for method, vals in result["methods"].items():
        lines.append(f"{method:<12}" + "".join(f"{vals[m]:>8.3f}" for m in
                                               ("p@5", "r@5", "f1@5", "p@10", "r@10", "f1@10")))
    for method, f1 in result["published_f1@10"].items():
        lines.append(f"{method + ' (pub.)':<12}" + " " * 40 + f"{f1:>8.3f}")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m ranking.eval_keyphrases FILE.zip
    import sys
    print(format_text(evaluate_keyphrases(sys.argv[1], progress=lambda m: print(m,
                                                                                file=sys.stderr))))
