"""Pin2Interest: the interest taxonomy and (elsewhere in this package) the interest ranker."""

from indexer.interests.taxonomy import (
    ALNUM_ID_OFFSET,
    Taxonomy,
    TaxonomyFormatError,
    TaxonomyNode,
    load_default_taxonomy,
    load_google_taxonomy,
    load_iab_taxonomy,
    numeric_id,
)

__all__ = [
    "ALNUM_ID_OFFSET",
    "Taxonomy",
    "TaxonomyFormatError",
    "TaxonomyNode",
    "load_default_taxonomy",
    "load_google_taxonomy",
    "load_iab_taxonomy",
    "numeric_id",
]
