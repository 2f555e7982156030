"""Data files bundled with pinsearch (read them with ``importlib.resources``).

A package rather than a plain folder so ``importlib.resources.files("pinsearch.data")`` works from a
source tree, a wheel or a zip alike; see ``ATTRIBUTION.md`` for the licences of the files here.
"""

IAB_CONTENT_TAXONOMY_3_1 = "iab-content-taxonomy-3.1.tsv"
