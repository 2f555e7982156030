"""Text analysis that reproduces OpenSearch 2.19 / Lucene 9 token streams exactly.

Public API::

    from localnode.analysis import get_analyzer, build_analyzer
    a = get_analyzer("english")
    a.terms("John's running shoes")            # ['john', 'run', 'shoe']  (indexing hot path)
    a.terms_with_positions("the cat")          # (['cat'], [1])           (stop words leave gaps)
    a.count("the cat")                         # 1  (tokens counted in the BM25 field length)
    a.end_position("cat the")                  # 2  (positions used, trailing stop words included)
    a.analyze("Cats")                          # [Token('cat', 0, 0, 4, '<ALPHANUM>')]
    build_analyzer("my_analyzer", index_settings["analysis"])   # custom analyzers

Modules: ``uax29`` (the StandardTokenizer grammar), ``tokenizers``, ``filters``, ``porter``,
``analyzers`` (built-ins and the Analyzer class), ``custom`` (definitions from index settings),
``_ucd``/``_ucd_gen`` (generated Unicode tables).
"""

from localnode.analysis.analyzers import ANALYZER_NAMES, Analyzer, get_analyzer
from localnode.analysis.base import Token, UnknownAnalyzerError
from localnode.analysis.custom import build_analyzer

__all__ = ["ANALYZER_NAMES", "Analyzer", "Token", "UnknownAnalyzerError", "build_analyzer", "get_analyzer"]
