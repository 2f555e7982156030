"""Query parsers, one module per family; importing the package registers them all."""

from localnode.search.queries import compound, fulltext, function_score, term_level  # noqa: F401
from localnode.search.queries import rank_feature  # noqa: F401
from localnode.search.queries import knn  # noqa: F401
from localnode.search.queries import script_score  # noqa: F401
from localnode.ltr import sltr  # noqa: F401,E402  (registers the sltr query)
