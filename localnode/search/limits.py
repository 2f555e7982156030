"""Query size limits: ``indices.query.bool.max_clause_count``.

OpenSearch 2.19 enforces the setting (default 1024) through Lucene's ``IndexSearcher``: building a
``BooleanQuery`` with more clauses fails (``bool``, and ``match`` / ``multi_match`` text analysed
into more terms: a 400 ``query_shard_exception`` "failed to create query: maxClauseCount is set to
1024"), and the query phase's rewrite fails with a 500 when flattening nested disjunctions makes a
bigger one (``too_many_clauses``) or when the whole query has more than limit + 1 leaf queries
(``too_many_nested_clauses``). ``terms`` and ``ids`` are single queries whatever their number of
values (``terms`` is bounded by ``index.max_terms_count``, 65,536).

The embedded engine has no node settings file, so the limit is process-wide: set it with
:func:`set_max_clause_count` (or the ``PINSEARCH_MAX_CLAUSE_COUNT`` environment variable, read once).
"""

from __future__ import annotations

import os

DEFAULT_MAX_CLAUSE_COUNT = 1024
_max_clause_count = int(os.environ.get("PINSEARCH_MAX_CLAUSE_COUNT", DEFAULT_MAX_CLAUSE_COUNT))


def max_clause_count() -> int:
    return _max_clause_count


def set_max_clause_count(value: int) -> None:
    """``indices.query.bool.max_clause_count`` for this process (a static node setting in OpenSearch)."""
    global _max_clause_count
    if value < 1:
        raise ValueError("max_clause_count must be at least 1")
    _max_clause_count = int(value)
