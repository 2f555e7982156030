"""The annotations signal for reindex: train the annotator on the corpus once, save it, annotate.

The saved model is what the query side loads for instant query annotations, so pins and queries
are annotated by the same dictionary and scorer.
"""

from __future__ import annotations

from pathlib import Path

from indexer.annotations import annotate_corpus
from indexer.annotations.model import AnnotationModel
from indexer.annotations.sources import CorpusContext


def annotations_signal(corpus_dir: str | Path, model_dir: str | Path) -> dict[str, dict[str, float]]:
    context = CorpusContext(corpus_dir)
    model = AnnotationModel.build(corpus_dir, context=context)
    model.save(model_dir)
    return annotate_corpus(corpus_dir, model_dir, context=context)
