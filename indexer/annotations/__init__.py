"""Annotations: 1-6-word phrases from a curated dictionary, with a language and a score.

Public API:

* :func:`build_dictionary` (corpus -> :class:`Dictionary`), :class:`Dictionary` (``add``,
  ``delete``, ``lookup``, ``save``, ``load``, change ``log``).
* :class:`AnnotationModel` (``build(corpus_dir, kind="gbdt"|"lr")``, ``save``, ``load``,
  ``annotate(PinText)``).
* :func:`annotate_pin` ``(pin, model, *, boards, page, queries, top_k, threshold)`` ->
  ``list[Annotation(lang, annotation, score, id)]`` (instant path).
* :func:`annotate_corpus` ``(corpus_dir, model_dir=None, *, top_k, threshold, n_jobs, progress)``
  -> ``{pin_id: {annotation_id: score}}`` (batch path, for reindex).
"""

from indexer.annotations.annotator import annotate_corpus, annotate_pin
from indexer.annotations.build import BuildOptions, build_dictionary
from indexer.annotations.dictionary import Dictionary, DictionaryError, Entry, make_id
from indexer.annotations.model import Annotation, AnnotationModel, is_test_pin
from indexer.annotations.scorer import AnnotationScorer

__all__ = ["Annotation", "AnnotationModel", "AnnotationScorer", "BuildOptions", "Dictionary",
           "DictionaryError", "Entry", "annotate_corpus", "annotate_pin", "build_dictionary",
           "is_test_pin", "make_id"]
