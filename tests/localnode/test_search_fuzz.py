"""Every bad search request is answered as OpenSearch answers it: a 4xx in its error shape (issue 20).

Three parts:

* the gaps a probe of 25,000 fuzzed bodies found (HTTP 500s, a ``RecursionError``, an answer that
  escaped the error handler, NaN boosts answered with null scores), each pinned to the status and
  error type a real OpenSearch 2.19.1 node gives for the same body;
* ``indices.query.bool.max_clause_count`` and deep nesting, as OpenSearch 2.19 enforces them;
* a seeded hypothesis fuzz test: bodies made by mutating valid requests (:mod:`tests.search_fuzz`)
  must never get a 5xx (except the few OpenSearch itself answers with one, listed with reasons in
  ``ALLOWED_5XX``), never raise out of the client, and always get a body in OpenSearch's shape.

The same bodies are compared with a real node by ``tests/differential/test_search_fuzz.py``; the
long run is ``benchmarks/fuzz_search.py``.
"""

from __future__ import annotations

import http.client
import json
import random
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pinsearch
from localnode.search import limits
from tests.differential.harness import Answer, call
from tests.search_fuzz import INDEX, MAPPING, Request, cause_of, documents, generate, problems


def load_fuzz_index(client: Any, name: str = INDEX) -> None:
    client.indices.create(index=name, body=MAPPING)
    lines = []
    for doc in documents():
        doc = dict(doc)
        lines.append(json.dumps({"index": {"_index": name, "_id": doc.pop("_id")}}))
        lines.append(json.dumps(doc))
    result = client.bulk(body="\n".join(lines) + "\n", refresh="true")
    assert not result["errors"]


@pytest.fixture(scope="module")
def es(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    client = pinsearch.connect(f"embedded://{tmp_path_factory.mktemp('fuzz') / 'data'}")
    load_fuzz_index(client)
    try:
        yield client
    finally:
        pinsearch.close(client)


def send(es: Any, request: Request) -> Answer:
    return call(es, "POST", request.url(), request.payload(), request.params)


def search(es: Any, body: Any, api: str = "_search", params: dict[str, str] | None = None) -> Answer:
    text = body if isinstance(body, str) else json.dumps(body)
    return call(es, "POST", f"/{INDEX}/{api}", text, params or {})


def outcome(answer: Answer) -> tuple[int, str | None, str | None]:
    """(status, error type, root cause type) of an answer."""
    if not answer.is_error:
        return answer.status, None, None
    roots = answer.body["error"].get("root_cause") or [{}]
    return answer.status, answer.error_type, roots[0].get("type")


# -- the gaps of the probe, with the real node's answers ---------------------------------------------
def _nested_bool(depth: int) -> str:
    return '{"query":' + '{"bool":{"must":[' * depth + '{"match_all":{}}' + ']}}' * depth + "}"


KNN_NULL = {"query": {"knn": {"vec": {"vector": [0.0, None, 1.0], "k": 3}}}}
SIGMOID_9999 = {"query": {"rank_feature": {"field": "pop", "sigmoid": {"pivot": 7, "exponent": 9999}}}}
RESCORE_X = {"rescore": {"window_size": "x", "query": {"rescore_query": {"match_all": {}}}}}

#: body -> (status, error type, root cause type) as OpenSearch 2.19.1 answers it (checked on a node).
GAPS: list[tuple[str, Any, str, tuple[int, str | None, str | None]]] = [
    ("min_score object", {"min_score": {}}, "_search", (400, "parsing_exception", "parsing_exception")),
    ("null in a knn vector", KNN_NULL, "_search", (400, "x_content_parse_exception", "x_content_parse_exception")),
    ("ext a number", {"ext": 1}, "_search", (400, "parsing_exception", "parsing_exception")),
    ("_count body 1", "1", "_count", (400, "parsing_exception", "parsing_exception")),
    ("rescore window_size x", RESCORE_X, "_search", (400, "number_format_exception", "number_format_exception")),
    # OpenSearch itself answers these two with a 500 (see ALLOWED_5XX): the same 500, in its shape
    ("rank_feature sigmoid exponent 9999", SIGMOID_9999, "_search",
     (500, "search_phase_execution_exception", "index_out_of_bounds_exception")),
    ("track_total_hits 1e30", '{"track_total_hits": 1e30}', "_search",
     (500, "input_coercion_exception", "input_coercion_exception")),
    ("track_total_hits -1e308", '{"track_total_hits": -1e308}', "_search",
     (500, "input_coercion_exception", "input_coercion_exception")),
    ("bool nested 246 deep", _nested_bool(246), "_search", (200, None, None)),
    ("bool nested 300 deep", _nested_bool(300), "_search", (200, None, None)),
    ("NaN boost", {"query": {"match_all": {"boost": "NaN"}}}, "_search",
     (400, "search_phase_execution_exception", "query_shard_exception")),
    ("Infinity boost", {"query": {"match": {"body": {"query": "red", "boost": "Infinity"}}}}, "_search",
     (400, "search_phase_execution_exception", "query_shard_exception")),
    ("boost overflowing a float", '{"query": {"term": {"tag": {"value": "red", "boost": 1e39}}}}', "_search",
     (400, "search_phase_execution_exception", "query_shard_exception")),
    ("NaN literal", '{"query": {"match_all": {"boost": NaN}}}', "_search",
     (400, "parsing_exception", "parsing_exception")),
    ("NaN literal in a bool", '{"query": {"bool": {"boost": NaN}}}', "_search",
     (400, "json_parse_exception", "json_parse_exception")),
    ("1e400 size", '{"size": 1e400}', "_search", (500, "input_coercion_exception", "input_coercion_exception")),
    ("query null", {"query": None}, "_search", (400, "parsing_exception", "parsing_exception")),
    ("empty bool clause", {"query": {"bool": {"should": [{}]}}}, "_search",
     (400, "x_content_parse_exception", "x_content_parse_exception")),
    ("bool unknown key", {"query": {"bool": {"x": 1}}}, "_search",
     (400, "x_content_parse_exception", "x_content_parse_exception")),
    ("size as a decimal string", {"size": "1.5"}, "_search", (200, None, None)),
    ("text of an array", {"query": {"match": {"title": ["blue pin"]}}}, "_search",
     (500, "illegal_state_exception", "illegal_state_exception")),
    ("negative rescore window", {"rescore": {"window_size": -1, "query": {"rescore_query": {"match_all": {}}}}},
     "_search", (500, "search_phase_execution_exception", "negative_array_size_exception")),
    ("non-finite knn vector", {"query": {"knn": {"vec": {"vector": [0.0, "-Infinity", 1.0], "k": 3}}}}, "_search",
     (400, "search_phase_execution_exception", "query_shard_exception")),
    ("track_total_hits -2", {"track_total_hits": -2}, "_search", (400, "search_phase_execution_exception", None)),
    ("body string", '"x"', "_search", (400, "parsing_exception", "parsing_exception")),
    ("truncated body", "{", "_search", (400, "json_e_o_f_exception", "json_e_o_f_exception")),
    ("sort field:order in a body", {"sort": "count:desc"}, "_search",
     (400, "search_phase_execution_exception", "query_shard_exception")),
]


@pytest.mark.parametrize("body,api,expected", [(b, a, e) for _, b, a, e in GAPS], ids=[g[0] for g in GAPS])
def test_gaps_answer_as_opensearch(es: Any, body: Any, api: str, expected: tuple[int, str | None, str | None]) -> None:
    answer = search(es, body, api)
    assert outcome(answer) == expected, answer.body
    assert not problems(answer.status, answer.body, api)


def test_nan_boost_never_gives_null_scores(es: Any) -> None:
    for boost in ("NaN", "Infinity", "-Infinity", "3.5e38", 1e39):
        answer = search(es, {"query": {"match": {"title": {"query": "red", "boost": boost}}}})
        assert answer.status == 400, (boost, answer.body)


def test_non_finite_scores_are_written_as_opensearch_writes_them(es: Any) -> None:
    """A rescore weight may make scores NaN or infinite (OpenSearch accepts the weights): a NaN
    score is written as null, an infinite one as the string Java prints."""
    def rescored(weight: str) -> list[Any]:
        body = {"size": 2, "query": {"match": {"body": "red garden"}}, "rescore": {
            "window_size": 5, "query": {"rescore_query": {"match": {"title": "red"}}, "query_weight": weight}}}
        answer = search(es, body)
        assert answer.status == 200
        return [hit["_score"] for hit in answer.body["hits"]["hits"]]
    assert rescored("NaN") == [None, None]
    assert rescored("Infinity") == ["Infinity", "Infinity"]
    assert rescored("-Infinity") == ["-Infinity", "-Infinity"]


def test_deep_bodies_are_answered(es: Any) -> None:
    """Deeper than orjson reads (1024 levels) is read all the same; past the engine's limit it is a 400."""
    assert search(es, _nested_bool(900)).status == 200        # OpenSearch answers up to ~990 levels
    too_deep = search(es, _nested_bool(1200))                   # OpenSearch drops the connection
    assert outcome(too_deep) == (400, "illegal_argument_exception", "illegal_argument_exception")
    arrays = search(es, '{"query": {"match_all": {}}, "stored_fields": ' + "[" * 5000 + "]" * 5000 + "}")
    assert arrays.status == 400 and not problems(arrays.status, arrays.body, "_search")


def test_deep_answers_are_written(es: Any) -> None:
    """A response or error nested deeper than orjson writes (254 levels) is still written."""
    explained = search(es, _nested_bool(300)[:-1] + ', "explain": true, "size": 1}')
    assert explained.status == 200 and explained.body["hits"]["hits"][0]["_explanation"]
    leaf_error = _nested_bool(300).replace('{"match_all":{}}', '{"term": -1}')
    answer = search(es, leaf_error)
    assert outcome(answer) == (400, "x_content_parse_exception", "parsing_exception")


def test_encoding_failure_is_an_opensearch_shaped_500(tmp_path: Path) -> None:
    """A body the writers cannot encode is a 500 in OpenSearch's shape, not an exception after the handler."""
    from localnode.node import Node
    from localnode.rest.router import RestResponse, route

    @route("GET", "/_fuzz_unencodable")
    def unencodable(node: Any, request: Any) -> RestResponse:
        return RestResponse(200, {"value": {1, 2}})   # a set: neither JSON writer takes it

    node = Node(tmp_path / "n")
    try:
        response = node.handle("GET", "/_fuzz_unencodable", {}, None)
        assert response.status == 500
        body = json.loads(response.encode())
        assert body["error"]["type"] == "exception" and body["status"] == 500
    finally:
        node.close()


def test_errors_reach_http_clients(tmp_path: Path) -> None:
    """Over ``pinsearch serve`` the answers above are answers: no connection is dropped."""
    from pinsearch.server import ServerConfig, start_server, stop_server
    server, thread = start_server(ServerConfig(data_path=str(tmp_path / "http"), port=0, max_body_bytes=1 << 20))
    try:
        client = pinsearch.connect(server.url)
        load_fuzz_index(client)
        pinsearch.close(client)
        host, port = server.server_address[:2]
        for body in ('{"track_total_hits": -1e308}', _nested_bool(1200), '{"query": {"match_all": {"boost": "NaN"}}}'):
            connection = http.client.HTTPConnection(host, port, timeout=60)
            connection.request("POST", f"/{INDEX}/_search", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = json.loads(response.read())
            assert response.status in (400, 500) and payload["status"] == response.status
            connection.close()
    finally:
        stop_server(server, thread)


# -- max_clause_count --------------------------------------------------------------------------------
def _terms(n: int, prefix: str = "t") -> list[dict[str, Any]]:
    return [{"term": {"tag": f"{prefix}{i}"}} for i in range(n)]


def test_max_clause_count(es: Any) -> None:
    """As OpenSearch 2.19 answers (checked on a node): building a bool of 1025 clauses is a 400;
    the query phase's limits on flattened disjunctions and on leaf queries are 500s of their own."""
    assert search(es, {"query": {"bool": {"should": _terms(1024)}}}).status == 200
    assert outcome(search(es, {"query": {"bool": {"should": _terms(1025)}}})) == (
        400, "search_phase_execution_exception", "query_shard_exception")
    assert outcome(search(es, {"query": {"bool": {"filter": _terms(1025)}}}))[0] == 400
    assert search(es, {"query": {"terms": {"tag": [f"t{i}" for i in range(5000)]}}}).status == 200
    assert search(es, {"query": {"dis_max": {"queries": _terms(1025)}}}).status == 200
    assert outcome(search(es, {"query": {"dis_max": {"queries": _terms(1026)}}})) == (
        500, "search_phase_execution_exception", "too_many_nested_clauses")
    nested = {"query": {"bool": {"should": [{"bool": {"should": _terms(2, f"n{i}-")}} for i in range(600)]}}}
    assert outcome(search(es, nested)) == (500, "search_phase_execution_exception", "too_many_clauses")
    words = " ".join(f"w{i}" for i in range(1025))
    assert outcome(search(es, {"query": {"match": {"body": words}}})) == (
        400, "search_phase_execution_exception", "query_shard_exception")
    words = " ".join(f"w{i}" for i in range(600))
    assert outcome(search(es, {"query": {"multi_match": {"query": words, "fields": ["title", "body"]}}})) == (
        500, "search_phase_execution_exception", "too_many_nested_clauses")
    assert outcome(search(es, {"query": {"bool": {"should": _terms(1025)}}}, "_count"))[0] == 400


def test_max_clause_count_is_settable(es: Any) -> None:
    before = limits.max_clause_count()
    limits.set_max_clause_count(4)
    try:
        assert search(es, {"query": {"bool": {"should": _terms(4)}}}).status == 200
        assert outcome(search(es, {"query": {"bool": {"should": _terms(5)}}}))[2] == "query_shard_exception"
    finally:
        limits.set_max_clause_count(before)
    assert search(es, {"query": {"bool": {"should": _terms(5)}}}).status == 200


# -- the fuzz test ---------------------------------------------------------------------------------------
def test_fuzz_helpers_classify_answers() -> None:
    ok = {"error": {"root_cause": [{"type": "input_coercion_exception", "reason": "x"}],
                    "type": "input_coercion_exception",
                    "reason": "Numeric value (1e30) out of range of int (-2147483648 - 2147483647)"}, "status": 500}
    assert problems(500, ok, "_search") == []
    bug = {"error": {"root_cause": [{"type": "exception", "reason": "internal error in the embedded engine: X"}],
                     "type": "exception", "reason": "internal error in the embedded engine: X"}, "status": 500}
    assert problems(500, bug, "_search")
    assert cause_of(bug) == ("exception", "internal error in the embedded engine: X")
    assert problems(200, {"took": 1}, "_search")


@settings(max_examples=8000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.randoms(use_true_random=False))
def test_fuzzed_bodies_get_opensearch_answers(es: Any, rng: random.Random) -> None:
    request = generate(rng)
    answer = send(es, request)          # an exception escaping the engine fails the test here
    found = problems(answer.status, answer.body, request.api)
    assert not found, f"{request.url()} params={request.params} body={(request.payload() or '')[:2000]}: {found}"
