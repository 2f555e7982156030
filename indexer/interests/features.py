"""Features of (item, interest) pairs for the interest ranker.

Every feature is generic (it describes a pair, never one interest's identity), so a trained ranker
scores interests added after training; features an interest cannot have (no training examples for
its profile) are NaN, which gradient-boosted trees route natively.

Groups (see :data:`FEATURE_NAMES`):

* lexical: label coverage per field, phrase / full-label / typo matches (``candidates.LabelIndex``);
* taxonomy: level, children, whether the parent or a child also matched;
* co-occurrence: share of board-mates whose text matched the interest;
* embeddings: cosine of the item's mean Word2Vec vector (trained on the corpus itself, no
  downloads) with the label's, and with the centroid of the interest's training items;
* TF-IDF: cosine of the item's TF-IDF vector with the label's and with the interest's centroid;
  the score of a multi-output ridge model over TF-IDF uni+bigrams (a learned interest
  profile, cross-fitted on training items so the ranker never sees in-sample profile scores);
* popularity and context: log repins, text length, board count, language.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from indexer.interests.candidates import LexicalMatch
from indexer.interests.items import FIELDS, InterestItem, stems, surface_tokens
from indexer.interests.taxonomy import Taxonomy

__all__ = ["FEATURE_NAMES", "ProfileModel", "TextEmbedder", "build_features", "profile_tokens"]

FEATURE_NAMES: tuple[str, ...] = (
    *(f"lex_{f}" for f in FIELDS), "lex_best", "lex_phrase", "lex_full", "lex_fuzzy", "lex_nfields",
    "parent_lex", "child_lex_max", "desc_lex_max", "n_desc_matched",
    "level", "n_children", "is_leaf",
    "board_support", "parent_support", "prior",
    "profile_prob", "profile_rank", "parent_profile", "child_profile_max",
    "tfidf_label_cos", "tfidf_centroid_cos", "w2v_label_cos", "w2v_centroid_cos",
    "train_freq", "batch_lex_df",
    "popularity", "n_tokens", "n_boards", "lang_en", "lang_missing", "has_translation",
)
_IDX = {n: i for i, n in enumerate(FEATURE_NAMES)}


def profile_tokens(text: str) -> list[str]:
    """English stems of every token, stop words kept ("how many" tells a question's class)."""
    return stems_all(text)


def stems_all(text: str) -> list[str]:
    from indexer.interests.items import _stemmer  # local: shared cached stemmer
    return _stemmer("en").stemWords(surface_tokens(text))


def make_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="word", tokenizer=profile_tokens, token_pattern=None,
                           lowercase=False, ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                           dtype=np.float32)


class ProfileModel:
    """A learned text profile per seen interest: multi-output ridge regression over TF-IDF.

    One ridge solve fits every interest at once (the kernel form when there are fewer items than
    terms), which stays fast for hundreds of interests where one-vs-rest logistic regression did
    not on a shared 2-core machine; the ranker only needs the scores' order, not calibration.
    """

    def __init__(self, alpha: float = 1.0, seed: int = 0) -> None:
        self.alpha = alpha
        self.seed = seed

    def fit(self, X: sp.csr_matrix, labels: Sequence[Sequence[int]],
            dense: np.ndarray | None = None) -> ProfileModel:
        """``dense`` (item embeddings, optional) gives per-interest embedding centroids too."""
        from sklearn.linear_model import Ridge

        classes = sorted({c for row in labels for c in row})
        self.classes_ = np.array(classes, dtype=np.int64)
        self.col_ = {c: i for i, c in enumerate(classes)}
        Y = np.zeros((X.shape[0], len(classes)), dtype=np.float32)
        for i, row in enumerate(labels):
            for c in row:
                Y[i, self.col_[c]] = 1.0
        self.model_ = None
        if len(classes) and X.shape[0] <= 20000:
            self.model_ = Ridge(alpha=self.alpha, solver="cholesky", fit_intercept=False,
                                random_state=self.seed)
            self.model_.fit(X, Y)
        elif len(classes):  # the kernel no longer fits: conjugate gradients, all interests at once
            self.model_ = MultiTargetRidgeCG(alpha=self.alpha).fit(X, Y)
        Yf = sp.csr_matrix(Y.T)
        self.centroids_ = sp.csr_matrix(normalize(Yf @ X), dtype=np.float32)
        self.w2v_centroids_ = None if dense is None else \
            normalize(Yf @ np.asarray(dense, dtype=np.float32)).astype(np.float32)
        self.freq_ = Y.sum(axis=0).astype(np.float32)
        self.n_ = X.shape[0]
        return self

    def predict_proba(self, X: sp.csr_matrix) -> np.ndarray:
        """Profile scores (about 0..1, not calibrated), one column per seen interest."""
        if self.model_ is None:
            return np.zeros((X.shape[0], 0), dtype=np.float32)
        return np.asarray(self.model_.predict(X), dtype=np.float32).reshape(X.shape[0], -1)

    def centroid_cos(self, X: sp.csr_matrix) -> np.ndarray:
        return np.asarray((X @ self.centroids_.T).todense(), dtype=np.float32)


class MultiTargetRidgeCG:
    """``Ridge(solver="sparse_cg", fit_intercept=False)`` with every target solved in one pass.

    scikit-learn's ``sparse_cg`` runs one conjugate-gradient solve per target, each a loop of sparse
    matrix-vector products; with hundreds of interests and tens of thousands of training items that
    took ~6.5 minutes per fit on the M sample (24k items, 219k terms, 668 interests: ~62 iterations
    of 10 ms per interest). Here the same per-target recurrences (scipy's ``cg``: x0 = 0, no
    preconditioner, stop when ``||r|| < tol * ||b||``, at most ``10 n`` iterations) run side by side,
    so every iteration is two sparse x dense-matrix products over all still-running targets; a target
    stops at the same iteration as it would alone. Scalars are accumulated in float64, so the
    solution agrees with ``sparse_cg``'s to within its tolerance (tested). On that M fit: 45 s
    instead of ~390 s.
    """

    def __init__(self, alpha: float = 1.0, tol: float = 1e-4) -> None:
        self.alpha = alpha
        self.tol = tol

    def fit(self, X: sp.spmatrix, Y: np.ndarray) -> MultiTargetRidgeCG:
        X = sp.csr_matrix(X)
        Y = np.asarray(Y, dtype=X.dtype).reshape(X.shape[0], -1)
        n_samples, n_features = X.shape
        XT = X.T.tocsr()
        if n_features > n_samples:  # the kernel (dual) form, as sklearn: w = X^T (X X^T + a I)^-1 y
            # X X^T only needs the terms two items share: a term of one item adds its squared
            # weight to that item's diagonal, and terms of no item add nothing (most of a
            # vocabulary fitted on the whole corpus). Same operator, a fifth of the work.
            csc = X.tocsc()
            df = np.diff(csc.indptr)
            shared = csc[:, np.flatnonzero(df >= 2)].tocsr()
            own = csc[:, np.flatnonzero(df == 1)]
            shift = (self.alpha + np.asarray(own.multiply(own).sum(axis=1)).ravel()).astype(X.dtype)[:, None]
            shared_t = shared.T.tocsr()
            dual, self.n_iter_ = _block_cg(lambda P: shared @ (shared_t @ P) + shift * P, Y, self.tol,
                                           10 * n_samples)
            coef = XT @ dual
        else:                       # the primal form: w = (X^T X + a I)^-1 X^T y
            coef, self.n_iter_ = _block_cg(lambda P: XT @ (X @ P) + self.alpha * P, XT @ Y, self.tol,
                                           10 * n_features)
        self.coef_ = np.asarray(coef, dtype=X.dtype).T  # (targets, features), as Ridge; a view, no copy
        return self

    def predict(self, X: sp.spmatrix | np.ndarray) -> np.ndarray:
        return np.asarray(X @ self.coef_.T)


def _block_cg(matmat: Callable[[np.ndarray], np.ndarray], B: np.ndarray, tol: float,
              maxiter: int) -> tuple[np.ndarray, int]:
    """Unpreconditioned conjugate gradients from zero for every column of ``B`` at once (the
    recurrences of ``scipy.sparse.linalg.cg``, per column); converged columns drop out. Returns the
    solutions and the number of iterations the slowest column took."""
    B = np.asarray(B)
    out = np.zeros_like(B)
    norms = np.sqrt(np.einsum("ij,ij->j", B, B, dtype=np.float64))
    cols = np.flatnonzero(norms > 0)          # a zero right-hand side has the zero solution
    atol = tol * norms[cols]
    x = np.zeros((B.shape[0], len(cols)), dtype=B.dtype)
    r = B[:, cols].copy()
    p = r.copy()
    rho_prev = None
    iterations = 0
    for iterations in range(maxiter):
        rho = np.einsum("ij,ij->j", r, r, dtype=np.float64)
        done = np.sqrt(rho) < atol
        if done.any():
            out[:, cols[done]] = x[:, done]
            keep = ~done
            cols, atol, x, r, p, rho = cols[keep], atol[keep], x[:, keep], r[:, keep], p[:, keep], rho[keep]
            if rho_prev is not None:
                rho_prev = rho_prev[keep]
        if not len(cols):
            break
        if rho_prev is not None:
            p *= (rho / rho_prev).astype(B.dtype)
            p += r
        q = np.asarray(matmat(p))
        step = (rho / np.einsum("ij,ij->j", p, q, dtype=np.float64)).astype(B.dtype)
        x += step * p
        r -= step * q
        rho_prev = rho
    out[:, cols] = x  # columns that hit maxiter: their last iterate, as scipy returns it
    return out, iterations


class TextEmbedder:
    """Word2Vec trained on the items' own text and the taxonomy labels (no pretrained download).

    ``workers=1`` and a fixed seed make it deterministic; vectors of an item or a label are the
    mean of their word vectors.
    """

    def __init__(self, dim: int = 64, epochs: int = 10, window: int = 5, seed: int = 0) -> None:
        self.dim = dim
        self.epochs = epochs
        self.window = window
        self.seed = seed

    def fit(self, texts: Sequence[str], taxonomy: Taxonomy) -> TextEmbedder:
        from gensim.models import Word2Vec

        sentences = [stems(t) for t in texts]
        sentences += [stems(" ".join(n.path)) for n in taxonomy]
        sentences = [s for s in sentences if s]
        model = Word2Vec(sentences=sentences, vector_size=self.dim, window=self.window, min_count=1,
                         sg=1, negative=5, epochs=self.epochs, seed=self.seed, workers=1)
        self.vocab_ = {w: i for i, w in enumerate(model.wv.index_to_key)}
        self.vectors_ = np.asarray(model.wv.vectors, dtype=np.float32)
        return self

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            ids = [self.vocab_[s] for s in stems(t) if s in self.vocab_]
            if ids:
                v = self.vectors_[ids].mean(axis=0)
                n = float(np.linalg.norm(v))
                if n > 0:
                    out[i] = v / n
        return out


def _rowdot(A: np.ndarray | sp.spmatrix, B: np.ndarray | sp.spmatrix, ia: np.ndarray,
            ib: np.ndarray) -> np.ndarray:
    if sp.issparse(A):
        return np.asarray(A[ia].multiply(B[ib]).sum(axis=1)).ravel().astype(np.float32)
    return np.einsum("ij,ij->i", A[ia], B[ib]).astype(np.float32)


def build_features(
    items: Sequence[InterestItem],
    candidates: Sequence[Mapping[int, float]],
    lexical: Sequence[Mapping[int, LexicalMatch]],
    support: Sequence[Mapping[int, float]],
    taxonomy: Taxonomy,
    *,
    item_tfidf: sp.csr_matrix,
    label_tfidf: sp.csr_matrix,
    item_w2v: np.ndarray,
    label_w2v: np.ndarray,
    node_row: Mapping[int, int],
    profile_proba: np.ndarray | None,
    centroid_tfidf_cos: np.ndarray | None,
    centroid_w2v: np.ndarray | None,
    profile_col: Mapping[int, int],
    train_freq: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature matrix (float32, NaN = missing) and the (item index, interest id) of each row."""
    rows_i: list[int] = []
    rows_n: list[int] = []
    for i, cand in enumerate(candidates):
        for n in cand:
            rows_i.append(i)
            rows_n.append(n)
    ri = np.array(rows_i, dtype=np.int64)
    rn = np.array(rows_n, dtype=np.int64)
    X = np.full((len(ri), len(FEATURE_NAMES)), np.nan, dtype=np.float32)
    if len(ri) == 0:
        return X, ri, rn
    lex_df: dict[int, int] = {}
    for lex in lexical:
        for n, m in lex.items():
            if m.best >= 0.5:
                lex_df[n] = lex_df.get(n, 0) + 1
    n_items = max(1, len(items))
    desc_cache: dict[int, list[int]] = {}
    item_ntok = [len(stems(it.text())) for it in items]
    ranks: list[dict[int, int]] = []
    if profile_proba is not None:
        order = np.argsort(-profile_proba, axis=1)[:, :50]
        inv = {j: c for c, j in profile_col.items()}
        for i in range(len(items)):
            ranks.append({inv[int(j)]: r + 1 for r, j in enumerate(order[i])})
    for r, (i, n) in enumerate(zip(rows_i, rows_n)):
        node = taxonomy[n]
        lex = lexical[i]
        m = lex.get(n)
        x = X[r]
        if m is not None:
            for f in FIELDS:
                x[_IDX[f"lex_{f}"]] = m.per_field.get(f, 0.0)
            x[_IDX["lex_best"]] = m.best
            x[_IDX["lex_phrase"]] = m.phrase
            x[_IDX["lex_full"]] = m.full_label
            x[_IDX["lex_fuzzy"]] = m.fuzzy
            x[_IDX["lex_nfields"]] = sum(1 for v in m.per_field.values() if v >= 0.5)
        else:
            for f in FIELDS:
                x[_IDX[f"lex_{f}"]] = 0.0
            x[_IDX["lex_best"]] = x[_IDX["lex_phrase"]] = x[_IDX["lex_full"]] = 0.0
            x[_IDX["lex_nfields"]] = 0.0
        pm = lex.get(node.parent_id) if node.parent_id is not None else None
        x[_IDX["parent_lex"]] = pm.best if pm is not None else (np.nan if node.parent_id is None else 0.0)
        kids = [lex[c].best for c in node.children if c in lex]
        x[_IDX["child_lex_max"]] = max(kids, default=0.0)
        if node.children:
            dids = desc_cache.get(n)
            if dids is None:
                dids = desc_cache[n] = [d.id for d in taxonomy.descendants(n)]
            desc = [lex[d].best for d in dids if d in lex] if lex else []
            x[_IDX["desc_lex_max"]] = max(desc, default=0.0)
            x[_IDX["n_desc_matched"]] = sum(1 for v in desc if v >= 0.5)
        else:
            x[_IDX["desc_lex_max"]] = 0.0
            x[_IDX["n_desc_matched"]] = 0.0
        x[_IDX["level"]] = node.level
        x[_IDX["n_children"]] = len(node.children)
        x[_IDX["is_leaf"]] = 0.0 if node.children else 1.0
        sup = support[i]
        x[_IDX["board_support"]] = sup.get(n, 0.0)
        x[_IDX["parent_support"]] = sup.get(node.parent_id, 0.0) if node.parent_id is not None else np.nan
        x[_IDX["prior"]] = candidates[i][n]
        if profile_proba is not None:
            col = profile_col.get(n)
            if col is not None:
                x[_IDX["profile_prob"]] = profile_proba[i, col]
                x[_IDX["profile_rank"]] = ranks[i].get(n, 100)
                if centroid_tfidf_cos is not None:
                    x[_IDX["tfidf_centroid_cos"]] = centroid_tfidf_cos[i, col]
                if train_freq is not None:
                    x[_IDX["train_freq"]] = math.log1p(float(train_freq[col]))
            else:
                x[_IDX["train_freq"]] = 0.0
            pcol = profile_col.get(node.parent_id) if node.parent_id is not None else None
            if pcol is not None:
                x[_IDX["parent_profile"]] = profile_proba[i, pcol]
            ccols = [profile_col[c] for c in node.children if c in profile_col]
            if ccols:
                x[_IDX["child_profile_max"]] = float(profile_proba[i, ccols].max())
        x[_IDX["batch_lex_df"]] = math.log((1 + lex_df.get(n, 0)) / (1 + n_items))
        it = items[i]
        x[_IDX["popularity"]] = math.log1p(max(0.0, it.popularity))
        x[_IDX["n_tokens"]] = item_ntok[i]
        x[_IDX["n_boards"]] = len(it.board_ids)
        x[_IDX["lang_en"]] = 1.0 if it.lang in (None, "en") else 0.0
        x[_IDX["lang_missing"]] = 1.0 if it.lang is None else 0.0
        x[_IDX["has_translation"]] = 1.0 if (it.lang and it.lang in node.translations) else 0.0
    lrow = np.array([node_row[n] for n in rows_n], dtype=np.int64)
    X[:, _IDX["tfidf_label_cos"]] = _rowdot(item_tfidf, label_tfidf, ri, lrow)
    X[:, _IDX["w2v_label_cos"]] = _rowdot(item_w2v, label_w2v, ri, lrow)
    if centroid_w2v is not None:
        cols = np.array([profile_col.get(n, -1) for n in rows_n], dtype=np.int64)
        ok = cols >= 0
        if ok.any():
            X[ok, _IDX["w2v_centroid_cos"]] = _rowdot(item_w2v, centroid_w2v, ri[ok], cols[ok])
    return X, ri, rn
