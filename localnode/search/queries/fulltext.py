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

from localnode.errors import IllegalArgumentError, ParsingError, QueryShardError, UnsupportedError
from localnode.mapping.fields import KEYWORD, TEXT, FieldMapper
from localnode.search.matches import Matches
from localnode.search.queries.compound import (BoolWeight, DisMaxWeight, MatchAllWeight, min_should_match)
from localnode.search.queries.term_level import MatchNoneWeight, TermScorerWeight, term_weight_for
from localnode.search.query import (Explanation, ParseContext, Query, Searcher, SegmentContext, Weight,
                                    check_keys, common_options, query_parser, single_field)
from localnode.search.similarity import TermWeight, idf as bm25_idf

_MATCH_KEYS = {"query", "operator", "minimum_should_match", "analyzer", "boost", "_name", "zero_terms_query",
               "lenient", "fuzziness", "prefix_length", "max_expansions", "fuzzy_transpositions",
               "auto_generate_synonyms_phrase_query", "cutoff_frequency", "fuzzy_rewrite"}


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
    if isinstance(value, (dict, list)) or value is None:
        raise ParsingError("[match] unknown token [START_OBJECT] after [query]")
    return str(value)


def _match_options(spec: dict[str, Any], query_name: str) -> dict[str, Any]:
    check_keys(spec, _MATCH_KEYS | ({"slop"} if "phrase" in query_name else set()), query_name)
    if "query" not in spec:
        raise ParsingError("No text specified for text query" if query_name == "match" else
                           f"[{query_name}] requires query value")
    if spec.get("fuzziness") not in (None, 0, "0"):
        raise UnsupportedError(f"[{query_name}] option [fuzziness]")
    if spec.get("cutoff_frequency") is not None:
        raise UnsupportedError(f"[{query_name}] option [cutoff_frequency]")
    operator = str(spec.get("operator", "or")).lower()
    if operator not in ("or", "and"):
        raise ParsingError(f"[{query_name}] query does not support [operator] value [{spec['operator']}]",
                           error_type="illegal_argument_exception")
    zero_terms = str(spec.get("zero_terms_query", "none")).lower()
    if zero_terms not in ("none", "all"):
        raise ParsingError(f"Unsupported zero_terms_query value [{zero_terms}]")
    return {"operator": operator, "minimum_should_match": spec.get("minimum_should_match"),
            "analyzer": spec.get("analyzer"), "zero_terms_query": zero_terms,
            "lenient": bool(spec.get("lenient", False))}


@query_parser("match")
def parse_match(body: Any, ctx: ParseContext) -> Query:
    field, spec = single_field(body, "match")
    if isinstance(spec, dict):
        options = _match_options(spec, "match")
        query = MatchQuery(field, spec["query"], **options)
        _check_analyzer(ctx, options["analyzer"])
        common_options(query, spec, "match")
    else:
        query = MatchQuery(field, spec)
    return query


def _check_analyzer(ctx: ParseContext, name: str | None) -> None:
    if name is not None:
        try:
            ctx.index.analyzer(name)
        except Exception:
            raise ParsingError(f"[match] analyzer [{name}] not found", error_type="illegal_argument_exception") from None


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


@query_parser("match_phrase")
def parse_match_phrase(body: Any, ctx: ParseContext) -> Query:
    field, spec = single_field(body, "match_phrase")
    if isinstance(spec, dict):
        options = _match_options(spec, "match_phrase")
        slop = spec.get("slop", 0)
        if not isinstance(slop, int) or slop < 0:
            raise ParsingError("[match_phrase] requires a non-negative integer [slop]")
        query = MatchPhraseQuery(field, spec["query"], slop, options["analyzer"], options["zero_terms_query"])
        common_options(query, spec, "match_phrase")
    else:
        query = MatchPhraseQuery(field, spec)
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


@query_parser("multi_match")
def parse_multi_match(body: Any, ctx: ParseContext) -> Query:
    if not isinstance(body, dict):
        raise ParsingError("[multi_match] query malformed")
    check_keys(body, _MATCH_KEYS | {"fields", "type", "tie_breaker", "slop"}, "multi_match")
    match_type = str(body.get("type", "best_fields")).lower()
    if match_type in ("cross_fields", "phrase_prefix", "bool_prefix"):
        raise UnsupportedError(f"[multi_match] type [{match_type}]")
    if match_type not in ("best_fields", "most_fields", "phrase"):
        raise ParsingError(f"failed to parse [multi_match] query type [{match_type}]. unknown type.")
    fields = body.get("fields", ["*"])
    if isinstance(fields, str):
        fields = [fields]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ParsingError("[multi_match] query [fields] must be an array of strings")
    options = _match_options({k: v for k, v in body.items() if k not in ("fields", "type", "tie_breaker", "slop")},
                             "multi_match")
    tie = body.get("tie_breaker")
    query = MultiMatchQuery(body["query"], fields, match_type, float(tie) if tie is not None else None, options,
                            int(body.get("slop", 0)))
    common_options(query, body, "multi_match")
    return query
