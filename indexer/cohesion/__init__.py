"""Pin cohesion: is the page a pin links to still about the pin?

``corpus_pages`` extracts the landing pages, ``keywords`` ranks each page's terms by BM25 against
all pages (site boilerplate gets a low IDF), ``embeddings`` trains a word space on the corpus,
``features`` turns a (pin, page) pair into relatedness scores, ``blender`` learns to combine them
from gold labels and ``batch.cohesion_scores`` gives every pin its ``cohesion`` in (0, 1].
"""

from indexer.cohesion.batch import cohesion_scores, evaluate_cohesion

__all__ = ["cohesion_scores", "evaluate_cohesion"]
