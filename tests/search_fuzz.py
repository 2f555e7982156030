"""Fuzzed ``_search`` bodies: valid requests for every feature localnode serves, and their mutations.

Shared by the default-suite fuzz test (:mod:`tests.localnode.test_search_fuzz`, in-process), the
differential one (:mod:`tests.differential.test_search_fuzz`, both engines) and the long run
(``benchmarks/fuzz_search.py``). A body is made by taking one of :data:`SEEDS` (each a valid
request) and applying one to three mutations at random places of its JSON tree: a wrong type, a
null, a huge, negative, tiny or non-finite number, a numeric string, an unknown key, a removed or
renamed key, a value wrapped in an array or an object, a subtree of another seed, or deep nesting
(bool clauses and plain arrays/objects, hundreds of levels). Some requests also get URL
parameters (``size``, ``from``, ``track_total_hits`` ...) with fuzzed values, and some go to
``_count``.

What a correct answer is (:func:`problems`): a 2xx with a search/count body, or an error in
OpenSearch's shape (``{"error": {"root_cause": [...], "type", "reason"}, "status"}`` with the HTTP
status) whose status is 4xx -- a 5xx only for the cases listed in :data:`ALLOWED_5XX`, each of which
the real OpenSearch 2.19.1 node answers with the same 5xx.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

INDEX = "fuzz"
DIM = 3

MAPPING: dict[str, Any] = {
    "settings": {"index.number_of_shards": 1, "index.number_of_replicas": 0, "index.knn": True},
    "mappings": {"properties": {
        "title": {"type": "text"},
        "body": {"type": "text", "analyzer": "english"},
        "tag": {"type": "keyword"},
        "count": {"type": "integer"},
        "big": {"type": "long"},
        "price": {"type": "float"},
        "ratio": {"type": "double"},
        "published": {"type": "date"},
        "flag": {"type": "boolean"},
        "pop": {"type": "rank_feature"},
        "cost": {"type": "rank_feature", "positive_score_impact": False},
        "topics": {"type": "rank_features"},
        "vec": {"type": "knn_vector", "dimension": DIM,
                "method": {"name": "hnsw", "engine": "lucene", "space_type": "l2"}},
    }},
}

_WORDS = ["red", "green", "blue", "pin", "board", "garden", "kitchen", "running", "recipes", "travel"]


def documents(n: int = 24) -> list[dict[str, Any]]:
    """Deterministic documents with every mapped field (``_id`` key included)."""
    docs = []
    for i in range(n):
        words = [_WORDS[(i * 7 + j * 3) % len(_WORDS)] for j in range(1 + i % 5)]
        doc: dict[str, Any] = {
            "_id": str(i), "title": " ".join(words[:2]), "body": " ".join(words),
            "tag": _WORDS[i % 4], "count": i, "big": i * 1_000_000_007, "price": i * 0.5,
            "ratio": i / 7, "published": f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}", "flag": i % 2 == 0,
            "pop": 1 + i, "cost": 0.5 + i, "topics": {"a": 1 + i % 3, "b": 2.5},
            "vec": [float(i % 5), float(i % 3) - 1, 0.25 * i],
        }
        if i % 6 == 5:   # some documents miss some fields
            for key in ("price", "pop", "vec", "published"):
                doc.pop(key)
        docs.append(doc)
    return docs


Q_MATCH = {"match": {"body": {"query": "red garden", "operator": "or", "minimum_should_match": 1, "boost": 1.5}}}
Q_TERM = {"term": {"tag": {"value": "red", "boost": 2.0, "_name": "t"}}}
Q_RANGE = {"range": {"count": {"gte": 2, "lt": 20, "boost": 1.0}}}

#: Valid requests (path, body), one or more per feature; mutations start from these.
SEEDS: list[dict[str, Any]] = [
    {"query": {"match_all": {"boost": 1.2}}, "size": 5, "from": 1},
    {"query": {"match_none": {}}},
    {"query": Q_MATCH, "size": 3, "explain": True, "version": True, "seq_no_primary_term": True},
    {"query": {"match": {"title": "blue pin"}}},
    {"query": {"match": {"count": {"query": 3, "lenient": True}}}},
    {"query": {"match_phrase": {"body": {"query": "red green", "slop": 0, "boost": 1.1}}}},
    {"query": {"multi_match": {"query": "travel board", "fields": ["title^2", "body"], "type": "best_fields",
                               "tie_breaker": 0.3}}},
    {"query": {"multi_match": {"query": "red", "fields": ["title", "body"], "type": "most_fields"}}},
    {"query": Q_TERM},
    {"query": {"term": {"count": 3}}},
    {"query": {"term": {"flag": True}}},
    {"query": {"terms": {"tag": ["red", "blue"], "boost": 1.0}}},
    {"query": {"terms": {"count": [1, 2, 3]}}},
    {"query": {"ids": {"values": ["1", "2", "3"]}}},
    {"query": Q_RANGE},
    {"query": {"range": {"published": {"gte": "2020-02-01", "lte": "2020-08-01", "format": "yyyy-MM-dd"}}}},
    {"query": {"range": {"price": {"gt": 0.5, "lte": 9.5}}}},
    {"query": {"exists": {"field": "price", "boost": 1.0}}},
    {"query": {"bool": {"must": [Q_MATCH], "should": [Q_TERM], "filter": [Q_RANGE],
                        "must_not": [{"term": {"flag": False}}], "minimum_should_match": "50%", "boost": 1.0}}},
    {"query": {"bool": {"should": [{"match": {"title": "red"}}, {"match": {"body": "garden"}}],
                        "minimum_should_match": 1}}},
    {"query": {"dis_max": {"queries": [{"match": {"title": "red"}}, {"match": {"body": "red"}}],
                           "tie_breaker": 0.5, "boost": 1.0}}},
    {"query": {"constant_score": {"filter": {"term": {"tag": "blue"}}, "boost": 2.0}}},
    {"query": {"function_score": {"query": Q_MATCH, "field_value_factor": {
        "field": "count", "factor": 1.5, "modifier": "log1p", "missing": 1},
        "boost_mode": "multiply", "max_boost": 10.0, "min_score": 0.0, "boost": 1.0}}},
    {"query": {"function_score": {"query": {"match_all": {}}, "functions": [
        {"filter": {"term": {"tag": "red"}}, "weight": 2.0},
        {"field_value_factor": {"field": "price", "missing": 0.5}, "weight": 1.0}],
        "score_mode": "sum", "boost_mode": "replace"}}},
    {"query": {"rank_feature": {"field": "pop", "saturation": {"pivot": 8.0}, "boost": 1.0}}},
    {"query": {"rank_feature": {"field": "pop", "log": {"scaling_factor": 2.0}}}},
    {"query": {"rank_feature": {"field": "cost", "sigmoid": {"pivot": 7.0, "exponent": 0.6}}}},
    {"query": {"rank_feature": {"field": "topics.a", "linear": {}}}},
    {"query": {"knn": {"vec": {"vector": [1.0, 0.0, 2.0], "k": 5, "boost": 1.0}}}},
    {"query": {"knn": {"vec": {"vector": [1.0, 0.5, 2.0], "k": 3, "filter": {"term": {"tag": "red"}},
                               "method_parameters": {"ef_search": 50}}}}},
    {"query": {"knn": {"vec": {"vector": [0.0, 0.0, 1.0], "min_score": 0.1}}}},
    {"query": {"knn": {"vec": {"vector": [0.0, 0.0, 1.0], "max_distance": 4.0}}}},
    {"query": {"script_score": {"query": {"match_all": {}}, "script": {
        "lang": "knn", "source": "knn_score", "params": {"field": "vec", "query_value": [1.0, 1.0, 1.0],
                                                          "space_type": "l2"}}, "min_score": 0.0, "boost": 1.0}}},
    {"query": Q_MATCH, "sort": [{"count": {"order": "desc", "missing": "_last", "mode": "max"}}, "_score"],
     "track_scores": True},
    {"query": {"match_all": {}}, "sort": [{"price": "asc"}, {"_doc": "desc"}], "search_after": [1.0, 3]},
    {"query": {"match_all": {}}, "sort": "published:desc"},
    {"query": Q_MATCH, "_source": {"includes": ["title", "tag"], "excludes": ["body"]}},
    {"query": Q_MATCH, "_source": ["title", "count"]},
    {"query": Q_MATCH, "_source": False},
    {"query": Q_MATCH, "track_total_hits": 3},
    {"query": Q_MATCH, "track_total_hits": True},
    {"query": Q_MATCH, "min_score": 0.5},
    {"query": Q_MATCH, "post_filter": {"term": {"tag": "red"}}},
    {"query": Q_MATCH, "rescore": {"window_size": 5, "query": {
        "rescore_query": {"match": {"title": "red"}}, "query_weight": 0.7, "rescore_query_weight": 1.2,
        "score_mode": "total"}}},
    {"query": Q_MATCH, "rescore": [{"window_size": 4, "query": {"rescore_query": Q_TERM, "score_mode": "max"}}]},
    {"query": Q_MATCH, "timeout": "10s", "terminate_after": 100, "stored_fields": ["_none_"]},
    {"query": Q_MATCH, "ext": {}},
]

#: Requests whose seeds use what only the embedded engine has (the LTR plugin): never sent to the real node.
LTR_SEEDS: list[dict[str, Any]] = [
    {"query": {"sltr": {"featureset": "none", "params": {"q": "red"}, "_name": "logged"}},
     "ext": {"ltr_log": {"log_specs": {"name": "log", "named_query": "logged"}}}},
]

#: URL parameters of ``_search`` that localnode reads, with valid values.
PARAMS: dict[str, list[str]] = {
    "size": ["3"], "from": ["1"], "track_total_hits": ["true", "5"], "explain": ["true"], "version": ["true"],
    "seq_no_primary_term": ["true"], "_source": ["false", "title"], "_source_includes": ["title"],
    "_source_excludes": ["body"], "rest_total_hits_as_int": ["true"], "sort": ["count:desc"],
}

#: Where OpenSearch 2.19.1 itself answers a 5xx, each checked on a real node: (error type, reason
#: pattern) -> why. The type is the root cause's when the error is a search_phase_execution_exception.
#: A fuzzed body may get a 5xx from localnode only when it matches one of these.
ALLOWED_5XX: dict[tuple[str, str], str] = {
    ("input_coercion_exception", r"Numeric value \(.*\) out of range of (int|long)"):
        "Jackson's coercion of a JSON number outside the int/long range read by intValue()/longValue() "
        "(track_total_hits: 1e30, size: 1e10, knn k: 2147483648 ...)",
    ("illegal_state_exception", r"Can't get text on a (START_ARRAY|START_OBJECT|VALUE_NULL|END_ARRAY|END_OBJECT)"):
        "XContentParser.text() on an object, array or null: {\"match\": {\"title\": [\"x\"]}}, "
        "{\"_source\": [null]}, multi_match fields: [null] ...",
    ("illegal_state_exception", r"Object's dimension=\d+ does not match the expected dimension=\d+"):
        "script_score knn_score with a query_value of another dimension (the k-NN plugin's IllegalStateException)",
    ("null_pointer_exception", r"fieldName cannot be null"):
        "a rescore array whose element is an array ({\"rescore\": [[1, 2]]}): RescorerBuilder reads a value "
        "before any field name",
    ("null_pointer_exception", r'Cannot invoke "java\.lang\.\w+\.\w+Value\(\)" because "value" is null'):
        "a null search_after value for a numeric sort field (SearchAfterBuilder unboxes it)",
    ("exception", r"Missing value for field \["):
        "function_score field_value_factor over a document without the field and no 'missing'",
    ("negative_array_size_exception", r"-?\d+"):
        "rescore window_size below 0: QueryRescorer allocates an array of that size",
    ("index_out_of_bounds_exception", r"Index 2147483647 out of bounds for length \d+"):
        "NaN scores collected by score (rank_feature sigmoid with exponent 9999): Lucene's top-docs "
        "collector returns its sentinel doc",
    ("exception", r"function score query returned an invalid score: "):
        "function_score whose score is NaN or negative (a NaN weight or factor, a negative max_boost)",
    ("too_many_clauses", r"maxClauseCount is set to \d+"):
        "the query phase's rewrite flattens nested bool disjunctions past indices.query.bool.max_clause_count",
    ("too_many_nested_clauses", r"Query contains too many nested clauses; maxClauseCount is set to \d+"):
        "more leaf queries in one query than indices.query.bool.max_clause_count + 1",
    ("search_exception", r"`from` parameter must be set to 0 when `search_after` is used."):
        "search_after with from > 0 (SearchService.parseSource throws a SearchException, status 500)",
    ("search_exception", r"\[stored_fields\] cannot be disabled if \[_source\] is requested"):
        "stored_fields _none_ with a _source requested (a SearchException, status 500)",
}

_HUGE_NUMBERS: list[Any] = [2 ** 31, -(2 ** 31) - 1, 2 ** 63, -(2 ** 63) - 1, 10 ** 30, 1e30, -1e308, 1e308, 1e-320,
                            3.4028236e38, -1, -0.5, 0, -0.0, 0.5, 1, 1.5, 10_000, 10_001, 1e400]
_STRINGS: list[Any] = ["", "x", "1", "-1", "1.5", "NaN", "Infinity", "-Infinity", "1e400", "true", "null", "now",
                       "2020-01-01", "red", "*", "_score", "1%", "0x10", " 7 ", "\u00e9\u4e2d"]
_UNKNOWN_KEYS = ["unknown", "boost", "_name", "query", "size", "field", "value", "format", "filter", "k", "x"]
_NON_FINITE = [math.nan, math.inf, -math.inf]


@dataclass
class Request:
    """One fuzzed request: the API (``_search`` or ``_count``), the body, URL parameters and, when
    the body is not a plain JSON value (deep nesting, malformed JSON), its text."""
    api: str
    body: Any
    params: dict[str, str] = field(default_factory=dict)
    text: str | None = None

    def url(self, index: str = INDEX) -> str:
        return f"/{index}/{self.api}"

    def payload(self) -> str | None:
        """The body as sent: JSON text (``NaN``/``Infinity`` literals as Python's json writes them)."""
        if self.text is not None:
            return self.text
        if self.body is None:
            return None
        return json.dumps(self.body, allow_nan=True)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a JSON tree (dict keys and list indexes), the root included."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, prefix + (key,)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(_paths(item, prefix + (i,)))
    return out


def _get(tree: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def _set(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(tree, path[:-1])[path[-1]] = value
    return tree


def _scalar(rng: random.Random, current: Any) -> Any:
    kind = rng.randrange(7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice(_HUGE_NUMBERS)
    if kind == 3:
        return rng.choice(_STRINGS)
    if kind == 4:
        return rng.choice(_NON_FINITE) if rng.random() < 0.5 else rng.choice(["NaN", "Infinity", "-Infinity"])
    if kind == 5:   # a nearby number of the same kind
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            return rng.choice([-1, 0, 1e30])
        return rng.choice([-current, current * 1e20, current + 0.5, str(current), int(current) if
                           math.isfinite(current) else 0])
    return rng.choice([[], {}, [current], {"x": current}, [None], [[1]], {"": {}}])


_HOLE = "\u0000hole\u0000"


#: Nesting depths tried. OpenSearch 2.19 answers up to ~990 nested bools and drops the connection
#: past that (a stack overflow); the differential test keeps to depths both engines answer.
DEPTHS = (20, 31, 32, 100, 246, 300, 1200)


def _deep_text(rng: random.Random, leaf: Any, depths: tuple[int, ...] = DEPTHS) -> str:
    """``leaf`` nested hundreds of levels deep, as JSON text (too deep for recursive copies and writers)."""
    depth = rng.choice(depths)
    leaf_text = json.dumps(leaf, allow_nan=True)
    kind = rng.randrange(5)
    if kind == 0:
        return '{"bool":{"must":[' * depth + leaf_text + "]}}" * depth
    if kind == 1:
        return '{"bool":{"filter":{"match_all":{}},"should":' * depth + leaf_text + "}}" * depth
    if kind == 2:
        return "[" * depth + leaf_text + "]" * depth
    if kind == 3:
        return '{"constant_score":{"filter":' * depth + leaf_text + "}}" * depth
    return '{"dis_max":{"queries":[' * depth + leaf_text + "]}}" * depth


def _wide(rng: random.Random) -> Any:
    n = rng.choice([1023, 1024, 1025, 2000])
    if rng.random() < 0.5:
        return {"bool": {"should": [{"term": {"tag": f"t{i}"}} for i in range(n)]}}
    return {"terms": {"tag": [f"t{i}" for i in range(n)]}}


def mutate(body: Any, rng: random.Random, donors: list[Any]) -> Any:
    """One mutation of ``body`` (a deep copy is changed and returned)."""
    tree = copy.deepcopy(body)
    paths = _paths(tree)
    path = rng.choice(paths)
    current = _get(tree, path)
    kind = rng.randrange(10)
    if kind <= 2:
        return _set(tree, path, _scalar(rng, current))
    if kind == 3 and isinstance(current, dict):   # unknown or duplicated-meaning key
        current[rng.choice(_UNKNOWN_KEYS)] = _scalar(rng, None)
        return tree
    if kind == 4 and path:                          # remove the key / element
        parent = _get(tree, path[:-1])
        del parent[path[-1]]
        return tree
    if kind == 5 and path and isinstance(path[-1], str):   # rename the key
        parent = _get(tree, path[:-1])
        parent[rng.choice(_UNKNOWN_KEYS) + rng.choice(["", "_", "s"])] = parent.pop(path[-1])
        return tree
    if kind == 6:                                   # a subtree of another request
        donor = rng.choice(donors)
        return _set(tree, path, copy.deepcopy(_get(donor, rng.choice(_paths(donor)))))
    if kind == 7:
        return _set(tree, path, _wide(rng) if rng.random() < 0.1 else [current, current])
    if kind == 8 and isinstance(current, list) and current:
        current.append(rng.choice([None, 1, "x", {}, [], math.nan, current[0]]))
        return tree
    return _set(tree, path, _scalar(rng, current))


def generate(rng: random.Random, *, ltr: bool = True, max_mutations: int = 3,
             depths: tuple[int, ...] = DEPTHS) -> Request:
    """One fuzzed request. ``ltr``: also from the LTR plugin's seeds (which a real node without the
    plugin cannot answer); ``depths``: the nesting depths deep bodies are made with."""
    seeds = SEEDS + (LTR_SEEDS if ltr else [])
    body: Any = copy.deepcopy(rng.choice(seeds))
    for _ in range(rng.randint(1, max_mutations)):
        body = mutate(body, rng, seeds)
    text = None
    if rng.random() < 0.04:   # deep nesting at one place of the body, written as text
        path = rng.choice(_paths(body))
        leaf = _get(body, path)
        body = _set(body, path, _HOLE)
        text = json.dumps(body, allow_nan=True).replace(json.dumps(_HOLE), _deep_text(rng, leaf, depths))
    params: dict[str, str] = {}
    if rng.random() < 0.15:
        name = rng.choice(sorted(PARAMS))
        raw = rng.choice(PARAMS[name] + [str(rng.choice(_HUGE_NUMBERS)), rng.choice(_STRINGS)])
        params[name] = raw
    api = "_search"
    roll = rng.random()
    if roll < 0.08:
        api = "_count"
        params = {}   # the search parameters are not _count's (both engines refuse them)
        if isinstance(body, dict) and text is None and rng.random() < 0.6:
            body = {k: v for k, v in body.items() if k == "query"} or body
    elif roll < 0.1:
        return Request(api, None, params, text=rng.choice(["1", "[]", "null", '"x"', "{", "{}", "[{}]", "true",
                                                            '{"size": NaN}', '{"query": {"match_all": {}}} x']))
    return Request(api, body, params, text=text)


def generate_many(seed: int, n: int, *, ltr: bool = True, depths: tuple[int, ...] = DEPTHS) -> list[Request]:
    rng = random.Random(seed)
    return [generate(rng, ltr=ltr, depths=depths) for _ in range(n)]


# -- what a correct answer looks like ----------------------------------------------------------------
def _error_shape(body: Any, status: int) -> list[str]:
    if not isinstance(body, dict) or "error" not in body:
        return [f"error response without an error object: {str(body)[:200]}"]
    if body.get("status") != status:
        return [f"body status {body.get('status')} != HTTP status {status}"]
    error = body["error"]
    if not isinstance(error, dict):
        return [f"error is not an object: {str(error)[:200]}"]
    out = []
    for key in ("type", "reason"):
        if not isinstance(error.get(key), str) and not (key == "reason" and error.get(key) is None):
            out.append(f"error.{key} missing: {str(error)[:200]}")
    roots = error.get("root_cause")
    if not isinstance(roots, list) or not all(isinstance(r, dict) and isinstance(r.get("type"), str) for r in roots):
        out.append(f"error.root_cause malformed: {str(error)[:200]}")
    return out


def problems(status: int, body: Any, api: str) -> list[str]:
    """What is wrong with an answer (empty when it is acceptable); ``body`` is the decoded JSON."""
    if 200 <= status < 300:
        if api == "_count":
            return [] if isinstance(body, dict) and isinstance(body.get("count"), int) else ["bad _count body"]
        if not isinstance(body, dict) or not isinstance(body.get("hits"), dict):
            return [f"bad search body: {str(body)[:200]}"]
        # a null _score is not a finding by itself: OpenSearch writes a NaN score as null (a rescore
        # query_weight of "NaN" gives one); NaN and infinite boosts are refused (tests pin that)
        return []
    shape = _error_shape(body, status)
    if shape:
        return shape
    if status >= 500:
        kind, reason = cause_of(body)
        if not allowed_5xx(kind, reason):
            return [f"HTTP {status} {kind}: {reason[:300]}"]
    return []


def cause_of(body: dict[str, Any]) -> tuple[str, str]:
    """The error's type and reason, or its root cause's when it is a search_phase_execution_exception."""
    error = body["error"]
    if error.get("type") == "search_phase_execution_exception":
        roots = error.get("root_cause") or []
        cause = roots[0] if roots else error.get("caused_by") or error
        return str(cause.get("type")), str(cause.get("reason"))
    return str(error.get("type")), str(error.get("reason"))


def allowed_5xx(kind: str, reason: str) -> bool:
    return any(kind == allowed and re.match(pattern, reason, re.S) for allowed, pattern in ALLOWED_5XX)
