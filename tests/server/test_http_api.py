"""``pinsearch serve``: the REST API over a real socket behaves exactly like the in-process engine.

The conformance cases run over both transports (``embedded://`` and ``http://127.0.0.1:PORT``
through the same opensearch-py client class); the HTTP-only cases cover what a socket adds: HEAD
without body, the size limit, basic auth, the page redirect rule, loopback binding, shutdown.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from opensearchpy import exceptions as exc

import pinsearch
from pinsearch.server import RemoteBindError, ServerConfig, is_loopback, placeholder_svg, start_server, stop_server

DOCS = [{"title": "vegan lentil soup", "tags": ["soup", "vegan"], "n": 3},
        {"title": "creamy tomato soup with basil", "tags": ["soup"], "n": 7},
        {"title": "boho bedroom with plants", "tags": ["decor"], "n": 1},
        {"title": "soup soup soup bowls", "tags": ["kitchen"], "n": 5}]
MAPPING = {"mappings": {"properties": {"title": {"type": "text", "analyzer": "english"},
                                       "tags": {"type": "keyword"}, "n": {"type": "integer"}}}}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "http-data"), port=0, max_body_bytes=1 << 20))
    try:
        yield srv
    finally:
        stop_server(srv, thread)


@pytest.fixture(params=["embedded", "http"])
def es(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "embedded":
        client = pinsearch.connect(f"embedded://{tmp_path / 'embedded-data'}")
        yield client
        pinsearch.close(client)
    else:
        srv = request.getfixturevalue("server")
        client = pinsearch.connect(srv.url)
        yield client
        pinsearch.close(client)


def _load(es: Any, name: str = "docs") -> None:
    es.indices.create(index=name, body=MAPPING)
    actions = "".join(json.dumps({"index": {"_index": name, "_id": str(i)}}) + "\n" + json.dumps(d) + "\n"
                      for i, d in enumerate(DOCS))
    out = es.bulk(body=actions, refresh=True)
    assert out["errors"] is False and len(out["items"]) == len(DOCS)


# -- conformance over both transports -------------------------------------------------------------
def test_create_bulk_search(es: Any) -> None:
    _load(es)
    hits = es.search(index="docs", body={"query": {"match": {"title": "soup"}}})["hits"]
    assert hits["total"]["value"] == 3 and hits["hits"][0]["_id"] == "3"
    assert es.count(index="docs", body={"query": {"term": {"tags": "soup"}}})["count"] == 2
    assert es.get(index="docs", id="2")["_source"]["title"] == "boho bedroom with plants"


def test_errors_have_opensearch_shapes(es: Any) -> None:
    _load(es)
    with pytest.raises(exc.NotFoundError) as missing:
        es.search(index="missing", body={"query": {"match_all": {}}})
    assert missing.value.status_code == 404 and missing.value.error == "index_not_found_exception"
    with pytest.raises(exc.RequestError) as bad:
        es.search(index="docs", body={"query": {"no_such_query": {}}})
    assert bad.value.status_code == 400 and bad.value.info["error"]["root_cause"][0]["type"]
    with pytest.raises(exc.ConflictError) as conflict:
        es.create(index="docs", id="1", body={"title": "again"})
    assert conflict.value.status_code == 409 and conflict.value.error == "version_conflict_engine_exception"
    with pytest.raises(exc.RequestError) as exists:
        es.indices.create(index="docs", body=MAPPING)
    assert exists.value.error == "resource_already_exists_exception"


def test_head_and_aliases(es: Any) -> None:
    _load(es, "docs-v1")
    assert es.indices.exists(index="docs-v1") and not es.indices.exists(index="nope")
    assert es.exists(index="docs-v1", id="0") and not es.exists(index="docs-v1", id="99")
    es.indices.update_aliases(body={"actions": [{"add": {"index": "docs-v1", "alias": "docs"}}]})
    assert es.indices.exists_alias(name="docs")
    assert es.indices.get_alias(name="docs") == {"docs-v1": {"aliases": {"docs": {}}}}
    assert es.search(index="docs", body={"query": {"match": {"title": "bedroom"}}})["hits"]["hits"][0]["_id"] == "2"


def test_scores_identical_across_transports(server: Any, tmp_path: Path) -> None:
    """Same data, one node: the HTTP answers equal the in-process answers to the last bit."""
    remote = pinsearch.connect(server.url)
    local = pinsearch.connect("embedded://" + str(server.node.data_path))  # shares the server's node
    try:
        _load(remote)
        body = {"query": {"bool": {"must": [{"match": {"title": "soup basil"}}],
                                   "should": [{"range": {"n": {"gte": 4}}}]}}, "explain": False}
        assert remote.search(index="docs", body=body) ["hits"] == local.search(index="docs", body=body)["hits"]
        scores = [h["_score"] for h in remote.search(index="docs", body=body)["hits"]["hits"]]
        assert scores == sorted(scores, reverse=True) and len(scores) == 3
    finally:
        pinsearch.close(remote)
        pinsearch.close(local)


# -- what only the socket adds -------------------------------------------------------------------
def _raw(server: Any, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_head_has_no_body_and_json_content_type(server: Any) -> None:
    status, headers, body = _raw(server, "GET", "/", headers={"Accept": "application/json"})
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["version"]["number"].startswith("2.")
    status, headers, body = _raw(server, "HEAD", "/missing-index")
    assert status == 404 and body == b""
    status, headers, body = _raw(server, "GET", "/missing-index/_search?pretty")
    assert status == 404 and json.loads(body)["error"]["type"] == "index_not_found_exception"


def test_browser_root_redirects_to_page_and_assets_are_local(server: Any) -> None:
    status, headers, _ = _raw(server, "GET", "/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert status == 302 and headers["location"] == "/_pinsearch/"
    status, headers, page = _raw(server, "GET", "/_pinsearch/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"http://" not in page and b"https://" not in page  # no CDN
    for asset in ("app.js", "app.css"):
        status, _, data = _raw(server, "GET", "/_pinsearch/" + asset)
        assert status == 200 and b"https://" not in data
    status, headers, svg = _raw(server, "GET", "/_pinsearch/placeholder/abc123.svg")
    assert status == 200 and headers["content-type"] == "image/svg+xml" and svg.startswith(b"<svg")
    assert placeholder_svg("abc123") == svg.decode() != placeholder_svg("abc124")
    status, _, body = _raw(server, "GET", "/_pinsearch/api/search?q=soup")
    assert status == 404 and "does not exist" in json.loads(body)["error"]


def test_request_size_limit_and_gzip(server: Any) -> None:
    status, _, body = _raw(server, "PUT", "/big/_doc/1", body=b"{\"x\": \"" + b"a" * (2 << 20) + b"\"}",
                           headers={"Content-Type": "application/json"})
    assert status == 413 and json.loads(body)["error"]["type"] == "content_too_long_exception"
    import gzip
    status, _, body = _raw(server, "PUT", "/small/_doc/1?refresh=true", body=gzip.compress(b'{"x": "ok"}'),
                           headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert status == 201, body


def test_basic_auth(tmp_path: Path) -> None:
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "auth"), port=0, user="ann", password="s3cret"))
    try:
        status, headers, body = _raw(srv, "GET", "/")
        assert status == 401 and headers["www-authenticate"].startswith("Basic")
        assert json.loads(body)["error"]["type"] == "security_exception"
        good = "Basic " + base64.b64encode(b"ann:s3cret").decode()
        assert _raw(srv, "GET", "/", headers={"Authorization": good})[0] == 200
        es = pinsearch.connect(srv.url.replace("http://", "http://ann:s3cret@"))
        assert es.info()["version"]["distribution"] == "opensearch"
        pinsearch.close(es)
        with pytest.raises(exc.AuthenticationException):
            bad = pinsearch.connect(srv.url.replace("http://", "http://ann:wrong@"))
            bad.info()
    finally:
        stop_server(srv, thread)


def test_loopback_only_unless_allowed(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    with pytest.raises(RemoteBindError, match="--allow-remote"):
        ServerConfig  # noqa: B018
        from pinsearch.server import PinSearchServer
        PinSearchServer(ServerConfig(data_path=str(tmp_path / "r"), host="0.0.0.0", port=0))


def test_concurrent_reads_and_writes(server: Any) -> None:
    es = pinsearch.connect(server.url)
    _load(es)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(20):
                assert es.search(index="docs", body={"query": {"match": {"title": "soup"}}})["hits"]["total"]["value"] >= 3
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def writer(offset: int) -> None:
        try:
            for i in range(20):
                es.index(index="docs", id=f"w{offset}-{i}", body={"title": "more soup", "n": i})
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=writer, args=(j,)) for j in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    es.indices.refresh(index="docs")
    assert es.count(index="docs")["count"] == len(DOCS) + 40
    pinsearch.close(es)


def test_shutdown_flushes_and_data_survives(tmp_path: Path) -> None:
    data = tmp_path / "durable"
    srv, thread = start_server(ServerConfig(data_path=str(data), port=0))
    es = pinsearch.connect(srv.url)
    es.index(index="keep", id="1", body={"title": "kept after restart"})  # no refresh: only in the WAL
    pinsearch.close(es)
    stop_server(srv, thread)
    local = pinsearch.connect(f"embedded://{data}")
    try:
        assert local.get(index="keep", id="1")["_source"]["title"] == "kept after restart"
    finally:
        pinsearch.close(local)


def test_serve_command_config(tmp_path: Path) -> None:
    from pinsearch.commands import serve
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    serve.register(sub, argparse.ArgumentParser(add_help=False))
    args = parser.parse_args(["serve", "--port", "0", "--data", str(tmp_path), "--user", "u", "--password", "p"])
    config = serve.build_config(args)
    assert (config.host, config.port, config.user, config.data_path) == ("127.0.0.1", 0, "u", str(tmp_path))
    args = parser.parse_args(["serve", "--host", "0.0.0.0", "--data", str(tmp_path / "x")])
    from pinsearch.commands.common import CommandError
    with pytest.raises(CommandError, match="--allow-remote"):
        serve.cmd_serve(args)


SERVE_SCRIPT = """
import argparse, sys
from pinsearch.commands import serve
parser = argparse.ArgumentParser()
sub = parser.add_subparsers(dest="command")
common = argparse.ArgumentParser(add_help=False)
common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
serve.register(sub, common)
args = parser.parse_args(["serve", "--json"] + sys.argv[1:])
sys.exit(args.handler(args))
"""


def test_sigterm_stops_gracefully_and_flushes(tmp_path: Path) -> None:
    """A separate ``serve`` process: SIGTERM lets it close the node; an unrefreshed write survives."""
    import signal
    import subprocess
    import sys
    data = tmp_path / "proc"
    proc = subprocess.Popen([sys.executable, "-c", SERVE_SCRIPT, "--port", "0", "--data", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        info = json.loads(proc.stdout.readline())
        es = pinsearch.connect(info["url"])
        es.index(index="wal", id="1", body={"title": "written just before SIGTERM"})
        pinsearch.close(es)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    local = pinsearch.connect(f"embedded://{data}")
    try:
        assert local.get(index="wal", id="1")["_source"]["title"] == "written just before SIGTERM"
    finally:
        pinsearch.close(local)


def test_slow_request_times_out_with_504(tmp_path: Path) -> None:
    import time as _time
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "slow"), port=0, request_timeout=0.2))
    original = srv.node.handle
    srv.node.handle = lambda *a: (_time.sleep(0.6), original(*a))[1]  # type: ignore[method-assign]
    try:
        status, _, body = _raw(srv, "GET", "/")
        assert status == 504 and json.loads(body)["error"]["type"] == "timeout_exception"
    finally:
        del srv.node.handle
        stop_server(srv, thread)
