"""The two entry points: one pin now (instant) and a whole corpus (batch, for reindex).

Both run the same code (``AnnotationModel.annotate``); the batch splits pins into chunks run by
joblib workers (each gets a pickled copy of the model) with a rich progress bar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from indexer.annotations.model import Annotation, AnnotationModel
from indexer.annotations.sources import CorpusContext, pin_text
from indexer.corpus import Board, Pin

__all__ = ["annotate_corpus", "annotate_pin"]

_LOADED: dict[str, AnnotationModel] = {}


def _model(model: AnnotationModel | str | Path) -> AnnotationModel:
    if isinstance(model, AnnotationModel):
        return model
    key = str(Path(model).resolve())
    if key not in _LOADED:
        _LOADED[key] = AnnotationModel.load(key)
    return _LOADED[key]


def annotate_pin(pin: Pin, model: AnnotationModel | str | Path, *,
                 boards: Sequence[Board] = (), page: tuple[str, str] | None = None,
                 queries: Sequence[str] = (), top_k: int = 10, threshold: float = 0.3
                 ) -> list[Annotation]:
    """Annotations of one pin, best first: ``[(lang, annotation, score, id), ...]``.

    ``page`` is the linked page's ``(title, description)``; ``queries`` the search queries
    that led to clicks on the pin. A model directory is loaded once and cached."""
    m = _model(model)
    return m.annotate(pin_text(pin, boards=boards, page=page, queries=queries),
                      top_k=top_k, threshold=threshold)


def _chunk(model: AnnotationModel | str, texts: list, top_k: int, threshold: float
           ) -> list[tuple[str, dict[str, float]]]:
    model = _model(model)  # a path in joblib workers: loaded once per worker, then cached
    results = model.annotate_many(texts, top_k=top_k, threshold=threshold)
    return [(t.pin_id, {a.id: a.score for a in anns}) for t, anns in zip(texts, results)]


def annotate_corpus(corpus_dir: str | Path, model_dir: str | Path | None = None, *,
                    top_k: int = 10, threshold: float = 0.3, n_jobs: int = 1,
                    chunk_size: int = 500, kind: str = "gbdt", seed: int = 0,
                    progress: bool = False, pins: Iterable[Pin] | None = None,
                    context: CorpusContext | None = None) -> dict[str, dict[str, float]]:
    """``{pin_id: {annotation_id: score}}`` for every pin of the corpus (ids have no dots, so
    they are ``rank_features`` keys: ``annotations.<id>``). Pins without annotations map to
    ``{}``. ``model_dir=None`` builds and trains a model on the corpus itself (its own
    judgements). Scores are raw probabilities; L2-normalise them for the index. ``context``
    reuses an already loaded :class:`CorpusContext` of the same corpus."""
    ctx = context or CorpusContext(corpus_dir)
    model = _model(model_dir) if model_dir is not None else \
        AnnotationModel.build(corpus_dir, kind=kind, seed=seed, context=ctx, progress=progress)
    texts = [ctx.pin_text(p) for p in (pins if pins is not None else ctx.pins())]
    chunks = [texts[i:i + chunk_size] for i in range(0, len(texts), chunk_size)]
    out: dict[str, dict[str, float]] = {}
    bar = None
    if progress:
        from rich.console import Console
        from rich.progress import Progress
        bar = Progress(console=Console(stderr=True), transient=True)
        bar.start()
        task = bar.add_task("annotating pins", total=len(texts))
    try:
        if n_jobs == 1 or len(chunks) <= 1:
            results = (_chunk(model, c, top_k, threshold) for c in chunks)
        else:
            import tempfile
            from joblib import Parallel, delayed
            tmp = None
            ref = str(Path(model_dir).resolve()) if model_dir is not None else None
            if ref is None:  # workers load from disk once instead of unpickling every chunk
                tmp = tempfile.TemporaryDirectory(prefix="pinsearch-annotations-")
                ref = str(model.save(tmp.name))
            results = list(Parallel(n_jobs=n_jobs)(
                delayed(_chunk)(ref, c, top_k, threshold) for c in chunks))
            if tmp is not None:
                tmp.cleanup()
        for res in results:
            out.update(res)
            if bar is not None:
                bar.advance(task, len(res))
    finally:
        if bar is not None:
            bar.stop()
    return out
