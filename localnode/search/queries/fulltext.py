"""Full-text queries: match, multi_match, match_phrase.

The query text is analysed with the field's search analyzer (match_phrase: its search-quote
analyzer) and becomes the Lucene query OpenSearch's MatchQuery builds: one TermQuery, a BooleanQuery
of term clauses (repeated tokens repeat clauses), or a PhraseQuery. ``multi_match`` combines the
per-field queries with a DisjunctionMaxQuery whose tie breaker depends on the type.

Phrase positions are not stored in segments: a phrase's candidates (docs containing every term)
are re-analysed from their stored source with the field's index analyzer, which gives exactly the
positions Lucene would have indexed (including the position_increment_gap between values).
"""

from __future__ import annotations

import fnmatch
from typing import Any

import numpy as np
import orjson

from localnode.errors import IllegalArgumentError, OpenSearchError, ParsingError, QueryShardError, UnsupportedError
from localnode.mapping.fields import KEYWORD, TEXT, FieldMapper
from localnode.search.matches import Matches
from localnode.search import limits
from localnode.search.queries.compound import (BoolWeight, DisMaxWeight, MatchAllWeight, TooManyClauses,
                                               check_tie_breaker, min_should_match)
from localnode.search.queries.term_level import MatchNoneWeight, TermScorerWeight, term_weight_for
from localnode.search.query import (Explanation, ParseContext, Query, Searcher, SegmentContext, Weight,
                                    multiple_fields, query_parser, set_boost)
from localnode.ltr.xcontent import java_double_to_string
from localnode.search.xcontent import (TokenStream, boolean_value, float_value, int_value, java_parse_float, text,
                                       text_or_null)
from localnode.search.similarity import TermWeight, idf as bm25_idf



# -- match -----------------------------------------------------------------------------------------
class MatchQuery(Query):
    def __init__(self, field: str, text: Any, operator: str = "or", minimum_should_match: Any = None,
                 analyzer: str | None = None, zero_terms_query: str = "none", lenient: bool = False) -> None:
        self.field = field
        self.text = text
        self.operator = operator
        self.minimum_should_match = minimum_should_match
        self.analyzer = analyzer
        self.zero_terms_query = zero_terms_query
        self.lenient = lenient

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        check_analyzer(searcher, "match", self.analyzer)
        mapper = searcher.field(self.field)
        if mapper is None:
            return MatchNoneWeight()
        if mapper.type not in (TEXT, KEYWORD):
            try:
                return term_weight_for(searcher, mapper, self.text, boost)
            except (IllegalArgumentError, ParsingError, QueryShardError):
                if self.lenient:
                    return MatchNoneWeight()
                raise
        analyzer = searcher.index.analyzer(self.analyzer or (mapper.search_analyzer if mapper.type == TEXT else "keyword"))
        terms = analyzer.terms(_query_text(self.text))
        if not terms:
            return MatchAllWeight(boost) if self.zero_terms_query == "all" else MatchNoneWeight()
        if len(terms) > 1:
            check_clause_count(len(terms))
        clauses: list[Weight] = [TermScorerWeight(searcher, mapper.path, t, boost) for t in terms]
        if len(clauses) == 1:
            return clauses[0]
        if self.operator == "and":
            return BoolWeight(clauses, [], [], [], 0)
        min_should = min_should_match(len(clauses), self.minimum_should_match)
        return BoolWeight([], clauses, [], [], min_should)


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):   # the query text of a JSON float: Double.toString ("1.0E30")
        return java_double_to_string(value)
    return str(value)


def object_text(stream: TokenStream) -> Any:
    """``XContentParser.objectText()``: a value token's value (null for null); ``text()`` (and its
    ``IllegalStateException``) for anything else."""
    if stream.current == "VALUE_NULL":
        return None
    if stream.is_value():
        return stream.value
    return text(stream.value if stream.current not in ("START_OBJECT", "START_ARRAY") else stream.value)


def _operator(value: Any) -> str:
    """``Operator.fromString``: ``valueOf`` of the upper-cased text."""
    name = text(value)
    if name.upper() not in ("OR", "AND"):
        raise IllegalArgumentError(f"No enum constant org.opensearch.index.query.Operator.{name.upper()}")
    return name.lower()


def _zero_terms(value: Any) -> str:
    name = text(value)
    if name.lower() not in ("none", "all"):
        raise ParsingError(f"Unsupported zero_terms_query value [{name}]")
    return name.lower()


def _fuzziness(stream: TokenStream) -> str:
    """``Fuzziness.parse``: a string or a number (its text); anything else is refused."""
    if stream.current not in ("VALUE_STRING", "VALUE_NUMBER"):
        raise IllegalArgumentError(f"Can't parse fuzziness on token: [{stream.current}]")
    return text(stream.value)


def _match_body(stream: TokenStream, query_name: str, extra: dict[str, Any]) -> tuple[str | None, Any, dict[str, Any]]:
    """The token loop ``MatchQueryBuilder`` and ``MatchPhraseQueryBuilder`` share: a field name with
    either a value (the query text) or an object of options."""
    field_name: str | None = None
    value: Any = None
    options: dict[str, Any] = {}
    current: str | None = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            current = stream.value
        elif kind == "START_OBJECT":
            if field_name is not None:
                raise multiple_fields(query_name, field_name, current)
            field_name = current
            while (inner := stream.next_token()) != "END_OBJECT":
                if inner == "FIELD_NAME":
                    current = stream.value
                elif not stream.is_value():
                    raise ParsingError(f"[{query_name}] unknown token [{inner}] after [{current}]")
                elif current == "query":
                    value = object_text(stream)
                elif current in extra:
                    options[current] = extra[current](stream)
                else:
                    raise ParsingError(f"[{query_name}] query does not support [{current}]")
        else:
            if field_name is not None:
                raise multiple_fields(query_name, field_name, stream.current_name() or current)
            field_name = current
            value = object_text(stream)
    return field_name, value, options


def _int_option(stream: TokenStream) -> int:
    return int_value(stream.value)


def _float_option(stream: TokenStream) -> float:
    return float(float_value(stream.value))


def _text_option(stream: TokenStream) -> str:
    return text(stream.value)


def _text_or_null_option(stream: TokenStream) -> str | None:
    return text_or_null(stream.value)


def _bool_option(stream: TokenStream) -> bool:
    return boolean_value(stream.value)


_MATCH_OPTIONS = {
    "analyzer": _text_option, "boost": _float_option, "fuzziness": _fuzziness, "prefix_length": _int_option,
    "max_expansions": _int_option, "operator": lambda s: _operator(s.value),
    "minimum_should_match": _text_or_null_option, "fuzzy_rewrite": _text_or_null_option,
    "fuzzy_transpositions": _bool_option, "lenient": _bool_option, "cutoff_frequency": _float_option,
    "zero_terms_query": lambda s: _zero_terms(s.value), "_name": _text_option,
    "auto_generate_synonyms_phrase_query": _bool_option,
}
_PHRASE_OPTIONS = {
    "analyzer": _text_option, "boost": _float_option, "slop": _int_option, "_name": _text_option,
    "zero_terms_query": lambda s: _zero_terms(s.value),
}


def _check_fuzzy_options(query_name: str, options: dict[str, Any]) -> None:
    """The setters ``MatchQueryBuilder`` / ``MultiMatchQueryBuilder`` run after parsing."""
    if options.get("prefix_length", 0) < 0:
        raise IllegalArgumentError(f"[{query_name}] requires prefix length to be non-negative.")
    if options.get("max_expansions", 50) <= 0:
        raise IllegalArgumentError(f"[{query_name}] requires maxExpansions to be positive.")


def _unsupported_options(query_name: str, options: dict[str, Any]) -> None:
    if options.get("fuzziness") not in (None, "0"):
        raise UnsupportedError(f"[{query_name}] option [fuzziness]")
    if options.get("cutoff_frequency") is not None:
        raise UnsupportedError(f"[{query_name}] option [cutoff_frequency]")


@query_parser("match", stream=True)
def parse_match(stream: TokenStream, ctx: ParseContext) -> Query:
    """``MatchQueryBuilder.fromXContent`` (a token loop)."""
    field_name, value, options = _match_body(stream, "match", _MATCH_OPTIONS)
    if value is None:
        raise ParsingError("No text specified for text query")
    if field_name is None:
        raise IllegalArgumentError("[match] requires fieldName")
    _check_fuzzy_options("match", options)
    query = MatchQuery(field_name, value, options.get("operator", "or"), options.get("minimum_should_match"),
                       options.get("analyzer"), options.get("zero_terms_query", "none"), options.get("lenient", False))
    query.name = options.get("_name")
    set_boost(query, options.get("boost", 1.0), "match")
    _unsupported_options("match", options)
    return query


def check_analyzer(searcher: Searcher, query_name: str, name: str | None) -> None:
    """``doToQuery``: an analyzer the index does not know is a shard-level error."""
    if name is not None:
        try:
            searcher.index.analyzer(name)
        except Exception:
            raise QueryShardError(f"[{query_name}] analyzer [{name}] not found", index=searcher.index.name,
                                  index_uuid=searcher.index.uuid) from None


def check_clause_count(count: int) -> None:
    """A BooleanQuery of ``count`` term clauses cannot be built past ``max_clause_count``."""
    if count > limits.max_clause_count():
        raise TooManyClauses()


# -- match_phrase ----------------------------------------------------------------------------------
class PhraseWeight(Weight):
    """Lucene PhraseQuery (slop 0) scored by BM25 with the summed idf of its terms."""

    def __init__(self, searcher: Searcher, mapper: FieldMapper, terms: list[str], positions: list[int],
                 boost: np.float32) -> None:
        self.searcher = searcher
        self.mapper = mapper
        self.terms = terms
        self.positions = positions
        self.term_weights = [TermScorerWeight(searcher, mapper.path, t, boost) for t in terms]
        reader = searcher.reader
        doc_count, sum_ttf, _ = reader.field_stats(mapper.path)
        # BM25Similarity.idfExplain(collectionStats, termStats[]): each term's idf is a float, the
        # sum is accumulated in double and cast to float once
        idf_total = 0.0
        for term in terms:
            doc_freq, _ = reader.term_stats(mapper.path, term)
            idf_total += float(bm25_idf(doc_freq, doc_count))
        idf_sum = np.float32(idf_total)
        self.missing_term = any(w.bm25 is None for w in self.term_weights)
        self.bm25 = TermWeight.create(float(boost), 0, doc_count, sum_ttf, idf_value=idf_sum)
        self.index_analyzer = searcher.index.analyzer(mapper.analyzer)

    def matches(self, ctx: SegmentContext) -> Matches:
        if self.missing_term:
            return Matches.empty()
        postings = [w.postings(ctx) for w in self.term_weights]
        if any(p is None for p in postings):
            return Matches.empty()
        candidates = postings[0][0]  # type: ignore[index]
        for found in postings[1:]:
            candidates = np.intersect1d(candidates, found[0], assume_unique=True)  # type: ignore[index]
        if not len(candidates):
            return Matches.empty()
        docs, freqs = [], []
        for doc in candidates.tolist():
            freq = self._phrase_freq(ctx, doc)
            if freq > 0:
                docs.append(doc)
                freqs.append(freq)
        if not docs:
            return Matches.empty()
        doc_array = np.array(docs, dtype=np.int32)
        norms = ctx.segment.norms.get(self.mapper.path)
        norm_bytes = norms[doc_array] if norms is not None else np.ones(len(doc_array), dtype=np.uint8)
        return Matches(doc_array, self.bm25.score(np.array(freqs, dtype=np.float32), norm_bytes))

    def _phrase_freq(self, ctx: SegmentContext, doc: int) -> int:
        source = orjson.loads(ctx.segment.source_bytes(doc))
        positions_by_term: dict[str, set[int]] = {}
        base = 0  # Lucene: value k starts after every earlier value's positions plus the gap
        for value in source_values(source, self.mapper.source_path):
            text = _query_text(value)
            terms, positions = self.index_analyzer.terms_with_positions(text)
            for term, position in zip(terms, positions):
                positions_by_term.setdefault(term, set()).add(base + position)
            base += self.index_analyzer.end_position(text) + self.mapper.position_increment_gap
        anchors = positions_by_term.get(self.terms[0], set())
        count = 0
        for start in anchors:
            origin = start - self.positions[0]
            if all(origin + p in positions_by_term.get(t, ()) for t, p in zip(self.terms[1:], self.positions[1:])):
                count += 1
        return count

    def explain(self, ctx: SegmentContext, doc: int) -> Explanation | None:
        found = super().explain(ctx, doc)
        if found is not None:
            found.description = f'weight({self.mapper.path}:"{" ".join(self.terms)}" in {doc}) [PerFieldSimilarity]'
        return found


def source_values(source: Any, path: str) -> list[Any]:
    """Values at a dotted path of a source document, flattening arrays (objects inside arrays too)."""
    current = [source]
    for part in path.split("."):
        following = []
        for node in current:
            if isinstance(node, list):
                node_items = node
            else:
                node_items = [node]
            for item in node_items:
                if isinstance(item, dict) and part in item:
                    following.append(item[part])
        current = following
        if not current:
            # a dotted key stored literally ("a.b": v) is also a path
            break
    flat: list[Any] = []

    def add(value: Any) -> None:
        if isinstance(value, list):
            for v in value:
                add(v)
        elif value is not None and not isinstance(value, dict):
            flat.append(value)
    for value in current:
        add(value)
    if not flat and isinstance(source, dict) and path in source:
        add(source[path])
    return flat


class MatchPhraseQuery(Query):
    def __init__(self, field: str, text: Any, slop: int = 0, analyzer: str | None = None,
                 zero_terms_query: str = "none") -> None:
        self.field = field
        self.text = text
        self.slop = slop
        self.analyzer = analyzer
        self.zero_terms_query = zero_terms_query

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        check_analyzer(searcher, "match_phrase", self.analyzer)
        mapper = searcher.field(self.field)
        if mapper is None:
            return MatchNoneWeight()
        if mapper.type != TEXT:
            return MatchQuery(self.field, self.text).create_weight(searcher, boost, scoring)
        analyzer = searcher.index.analyzer(self.analyzer or mapper.search_quote_analyzer)
        terms, positions = analyzer.terms_with_positions(_query_text(self.text))
        if not terms:
            return MatchAllWeight(boost) if self.zero_terms_query == "all" else MatchNoneWeight()
        if len(terms) == 1:
            return TermScorerWeight(searcher, mapper.path, terms[0], boost)
        if self.slop:
            raise UnsupportedError("[match_phrase] with [slop] > 0 (sloppy phrase scoring)")
        return PhraseWeight(searcher, mapper, terms, positions, boost)


@query_parser("match_phrase", stream=True)
def parse_match_phrase(stream: TokenStream, ctx: ParseContext) -> Query:
    """``MatchPhraseQueryBuilder.fromXContent`` (a token loop)."""
    field_name, value, options = _match_body(stream, "match_phrase", _PHRASE_OPTIONS)
    if not field_name:
        raise IllegalArgumentError("[match_phrase] requires fieldName")
    if value is None:
        raise IllegalArgumentError("[match_phrase] requires query value")
    slop = options.get("slop", 0)
    if slop < 0:
        raise IllegalArgumentError("No negative slop allowed.")
    query = MatchPhraseQuery(field_name, value, slop, options.get("analyzer"), options.get("zero_terms_query", "none"))
    query.name = options.get("_name")
    set_boost(query, options.get("boost", 1.0), "match_phrase")
    return query


# -- multi_match -----------------------------------------------------------------------------------
class MultiMatchQuery(Query):
    def __init__(self, text: Any, fields: list[str], match_type: str, tie_breaker: float | None,
                 options: dict[str, Any], slop: int = 0) -> None:
        self.text = text
        self.fields = fields
        self.match_type = match_type
        self.tie_breaker = tie_breaker
        self.options = options
        self.slop = slop

    def create_weight(self, searcher: Searcher, boost: np.float32, scoring: bool) -> Weight:
        check_analyzer(searcher, "multi_match", self.options.get("analyzer"))
        resolved = resolve_fields(searcher, self.fields)
        weights: list[Weight] = []
        for field, field_boost in resolved:
            mapper = searcher.field(field)
            if mapper is None:
                continue
            field_query: Query
            if self.match_type == "phrase":
                field_query = MatchPhraseQuery(field, self.text, self.slop, self.options.get("analyzer"),
                                               self.options.get("zero_terms_query", "none"))
            else:
                lenient = self.options.get("lenient", False) or any("*" in f for f in self.fields)
                field_query = MatchQuery(field, self.text, **{**self.options, "lenient": lenient})
            field_query.boost = field_boost
            weight = field_query.weight(searcher, boost, scoring)
            if not isinstance(weight, MatchNoneWeight):
                weights.append(weight)
        if not weights:
            return MatchNoneWeight()
        if len(weights) == 1:
            return weights[0]
        tie = self.tie_breaker if self.tie_breaker is not None else (1.0 if self.match_type == "most_fields" else 0.0)
        check_tie_breaker(tie)
        return DisMaxWeight(weights, tie)


def resolve_fields(searcher: Searcher, patterns: list[str]) -> list[tuple[str, float]]:
    """Expand ``field^boost`` and wildcard patterns against the mapping (boosts multiply on repeats)."""
    resolved: dict[str, float] = {}
    for pattern in patterns:
        name, _, boost_text = pattern.partition("^")
        boost = float(boost_text) if boost_text else 1.0
        if "*" in name:
            for field, mapper in searcher.mapping.fields.items():
                if fnmatch.fnmatchcase(field, name) and mapper.type in (TEXT, KEYWORD):
                    resolved[field] = resolved.get(field, 1.0) * boost if field in resolved else boost
        else:
            resolved[name] = resolved[name] * boost if name in resolved else boost
    return list(resolved.items())


_MULTI_MATCH_TYPES = {"best_fields": "best_fields", "most_fields": "most_fields", "cross_fields": "cross_fields",
                      "phrase": "phrase", "phrase_prefix": "phrase_prefix", "bool_prefix": "bool_prefix",
                      "boolean": "best_fields"}


def _multi_match_type(value: Any) -> str:
    name = text(value)
    match_type = _MULTI_MATCH_TYPES.get(name.lower()) or _MULTI_MATCH_TYPES.get(
        {"bestfields": "best_fields", "mostfields": "most_fields", "crossfields": "cross_fields",
         "phraseprefix": "phrase_prefix", "boolprefix": "bool_prefix"}.get(name.lower(), ""))
    if match_type is None:
        raise OpenSearchError(f"failed to parse [multi_match] query type [{name}]. unknown type.", status=400,
                              error_type="parse_exception")
    return match_type


def _field_and_boost(stream: TokenStream, fields: dict[str, float]) -> None:
    """``parseFieldAndBoost``: ``name^boost`` with ``Float.parseFloat`` for the boost."""
    raw = text(stream.value)
    name, caret, boost = raw.partition("^")
    fields[name] = float(java_parse_float(boost)) if caret else 1.0


_MULTI_OPTIONS = {
    "type": lambda s: _multi_match_type(s.value), "analyzer": _text_option, "boost": _float_option,
    "slop": _int_option, "fuzziness": _fuzziness, "prefix_length": _int_option, "max_expansions": _int_option,
    "operator": lambda s: _operator(s.value), "minimum_should_match": _text_or_null_option,
    "fuzzy_rewrite": _text_or_null_option, "tie_breaker": _float_option, "cutoff_frequency": _float_option,
    "lenient": _bool_option, "zero_terms_query": lambda s: _zero_terms(s.value), "_name": _text_option,
    "auto_generate_synonyms_phrase_query": _bool_option, "fuzzy_transpositions": _bool_option,
}


@query_parser("multi_match", stream=True)
def parse_multi_match(stream: TokenStream, ctx: ParseContext) -> Query:
    """``MultiMatchQueryBuilder.fromXContent`` (a token loop)."""
    value: Any = None
    fields: dict[str, float] = {}
    options: dict[str, Any] = {}
    current: str | None = None
    while (kind := stream.next_token()) != "END_OBJECT":
        if kind == "FIELD_NAME":
            current = stream.value
        elif current == "fields":
            if kind == "START_ARRAY":
                while stream.next_token() != "END_ARRAY":
                    _field_and_boost(stream, fields)
            elif stream.is_value():
                _field_and_boost(stream, fields)
            else:
                raise ParsingError(f"[multi_match] query does not support [{current}]")
        elif stream.is_value():
            if current == "query":
                value = object_text(stream)
            elif current in _MULTI_OPTIONS:
                options[current] = _MULTI_OPTIONS[current](stream)
            else:
                raise ParsingError(f"[multi_match] query does not support [{current}]")
        else:
            raise ParsingError(f"[multi_match] unknown token [{kind}] after [{current}]")
    if value is None:
        raise ParsingError("No text specified for multi_match query")
    match_type = options.get("type", "best_fields")
    if options.get("fuzziness") is not None and match_type in ("cross_fields", "phrase", "phrase_prefix"):
        raise ParsingError(f"Fuzziness not allowed for type [{match_type}]")
    if options.get("slop", 0) != 0 and match_type == "bool_prefix":
        raise ParsingError("[slop] not allowed for type [bool_prefix]")
    if options.get("cutoff_frequency") is not None and match_type == "bool_prefix":
        raise ParsingError("[cutoff_frequency] not allowed for type [bool_prefix]")
    if options.get("max_expansions", 50) <= 0:
        raise IllegalArgumentError("Max expansions must be strictly great than zero.")
    if options.get("prefix_length", 0) < 0:
        raise IllegalArgumentError("No negative prefix length allowed.")
    if options.get("slop", 0) < 0:
        raise IllegalArgumentError("No negative slop allowed.")
    if match_type in ("cross_fields", "phrase_prefix", "bool_prefix"):
        raise UnsupportedError(f"[multi_match] type [{match_type}]")
    match_options = {"operator": options.get("operator", "or"),
                     "minimum_should_match": options.get("minimum_should_match"),
                     "analyzer": options.get("analyzer"), "zero_terms_query": options.get("zero_terms_query", "none")}
    if "lenient" in options:
        match_options["lenient"] = options["lenient"]
    tie = options.get("tie_breaker")
    query = MultiMatchQuery(value, [f"{name}^{boost!r}" if boost != 1.0 else name for name, boost in fields.items()]
                            or ["*"], match_type, tie, match_options, options.get("slop", 0))
    set_boost(query, options.get("boost", 1.0), "multi_match")
    query.name = options.get("_name")
    _unsupported_options("multi_match", options)
    return query
