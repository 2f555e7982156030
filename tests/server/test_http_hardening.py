"""``pinsearch serve`` under bursts and abuse (issue 20): backlog and connection slots, read timeouts,
checks before the body (framing, Host, Origin, auth, content type, size), bounded responses and the
password options. Servers start on 127.0.0.1 port 0; clients are raw sockets or ``http.client``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import http.client
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import pinsearch
from pinsearch.server import ServerConfig, start_server, stop_server
from pinsearch.server.http import ResponseTooLarge, encode_response, is_loopback_literal, split_host_port

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "data"), port=0, max_body_bytes=1 << 20,
                                            read_timeout=1.5))
    try:
        yield srv
    finally:
        stop_server(srv, thread)


def _host(srv: Any) -> str:
    return f"127.0.0.1:{srv.port}"


def _read_response(sock: socket.socket, deadline: float) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response from a raw socket (status 0 when the server closed without answering)."""
    data = b""
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            return 0, {}, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if status == 100:  # interim answer: the caller reads the final one later
        return 100, {}, body
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def _exchange(srv: Any, raw: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes, float]:
    """Send ``raw`` (nothing more), read one response; also the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout) as sock:
        sock.sendall(raw)
        status, headers, body = _read_response(sock, started + timeout)
    return status, headers, body, time.monotonic() - started


def _request(srv: Any, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _load(srv: Any, n: int = 20) -> None:
    es = pinsearch.connect(srv.url)
    try:
        es.indices.create(index="docs", body={"mappings": {"properties": {"title": {"type": "text"}}}})
        lines = "".join(json.dumps({"index": {"_index": "docs", "_id": str(i)}}) + "\n"
                        + json.dumps({"title": f"soup number {i}"}) + "\n" for i in range(n))
        assert es.bulk(body=lines, refresh=True)["errors"] is False
    finally:
        pinsearch.close(es)


# -- bursts -----------------------------------------------------------------------------------------
def test_burst_of_500_connections_has_no_resets(server: Any) -> None:
    """500 connections opened in the same instant (the probe saw resets and 30 s stalls with a backlog of 5)."""
    request = f"GET / HTTP/1.1\r\nHost: {_host(server)}\r\nAccept: application/json\r\nConnection: close\r\n\r\n".encode()

    async def one(go: asyncio.Event) -> str:
        await go.wait()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), 30)
            writer.write(request)
            data = await asyncio.wait_for(reader.read(), 30)
            writer.close()
            return data.split(b" ", 2)[1].decode() if data else "closed"
        except ConnectionResetError:
            return "reset"
        except (asyncio.TimeoutError, OSError) as exc:
            return type(exc).__name__

    async def burst() -> list[str]:
        go = asyncio.Event()
        tasks = [asyncio.create_task(one(go)) for _ in range(500)]
        await asyncio.sleep(0.05)
        go.set()
        return await asyncio.gather(*tasks)

    outcomes = asyncio.run(burst())
    assert outcomes.count("200") == 500, {o: outcomes.count(o) for o in set(outcomes)}
    assert server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1


def test_idle_keepalive_connections_yield_their_slot(tmp_path: Path) -> None:
    """Every slot held by an idle keep-alive client: a new client is still served, within a second or so."""
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "slots"), port=0, max_connections=2))
    idle = [http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10) for _ in range(2)]
    try:
        for conn in idle:
            conn.request("GET", "/", headers={"Accept": "application/json"})
            assert conn.getresponse().read() and conn.sock is not None  # kept alive
        started = time.monotonic()
        status, _, _ = _request(srv, "GET", "/")
        assert status == 200 and time.monotonic() - started < 5
        # connections that never send a byte (pre-connects, or an attacker's) give way the same way
        silent = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(2)]
        time.sleep(1.2)
        started = time.monotonic()
        status, _, _ = _request(srv, "GET", "/")
        assert status == 200 and time.monotonic() - started < 5 < srv.config.read_timeout
        for sock in silent:
            sock.close()
    finally:
        for conn in idle:
            conn.close()
        stop_server(srv, thread)


def test_close_does_not_wait_for_idle_keepalive_clients(tmp_path: Path) -> None:
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "close"), port=0))
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.request("GET", "/")
    conn.getresponse().read()
    started = time.monotonic()
    stop_server(srv, thread)
    conn.close()
    assert time.monotonic() - started < 5


# -- slow clients -----------------------------------------------------------------------------------
def _trickle(srv: Any, head: bytes, trickle: bytes, interval: float, limit: float) -> tuple[int, bytes, float]:
    """Send ``head``, then ``trickle`` one byte per ``interval`` s until the server answers or closes."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=limit) as sock:
        sock.sendall(head)
        for byte in trickle:  # bounded: len(trickle) bytes at most
            sock.settimeout(interval)
            try:
                if not sock.recv(1, socket.MSG_PEEK):
                    return 0, b"", time.monotonic() - started
                break  # the server has answered
            except TimeoutError:
                pass
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
        try:
            status, _, body = _read_response(sock, started + limit)
        except (ConnectionResetError, TimeoutError):
            status, body = -1, b""
    return status, body, time.monotonic() - started


def test_slowloris_headers_are_cut_with_408(server: Any) -> None:
    """One header byte a second: cut after read_timeout (1.5 s here), not kept open while bytes arrive."""
    status, body, elapsed = _trickle(server, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: " + b"a" * 30,
                                     interval=1.0, limit=15)
    assert status == 408 and json.loads(body)["error"]["type"] == "timeout_exception"
    assert 1.2 < elapsed < 4.5


def test_slow_body_is_cut_with_408(server: Any) -> None:
    head = (f"PUT /slow/_doc/1 HTTP/1.1\r\nHost: {_host(server)}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 200\r\n\r\n").encode()
    status, body, elapsed = _trickle(server, head, b'{"title": "' + b"a" * 100, interval=0.5, limit=15)
    assert status == 408 and "body" in json.loads(body)["error"]["reason"]
    assert elapsed < 4.5
    assert _request(server, "HEAD", "/slow")[0] == 404  # nothing was indexed


def test_silent_connection_is_closed_after_read_timeout(server: Any) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        assert sock.recv(1024) == b""  # closed without an answer: no request was started
    assert time.monotonic() - started < 4.5


# -- checks before the body -------------------------------------------------------------------------
def test_content_length_is_validated_at_once(server: Any) -> None:
    host = _host(server)
    for value in ("-1", "abc", "1e3", "+5", " 0x10"):
        status, headers, body, elapsed = _exchange(
            server, f"POST /x/_search HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {value}\r\n\r\n".encode())
        assert status == 400 and elapsed < 2, (value, status, body)
        assert "Content-Length" in json.loads(body)["error"]["reason"] and headers["connection"] == "close"
    status, _, body, _ = _exchange(server, f"POST /x/_search HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
                                           f"\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}".encode())
    assert status == 400 and "conflicting" in json.loads(body)["error"]["reason"]
    status, _, body, _ = _exchange(server, f"POST /x/_search HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
                                           f"\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{{}}".encode())
    assert status == 400 and "both" in json.loads(body)["error"]["reason"]
    # far above the limit: 413 without waiting for (or reading) a byte of it
    status, _, body, elapsed = _exchange(server, f"PUT /x/_doc/1 HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                                                 f"application/json\r\nContent-Length: {10 << 30}\r\n\r\n".encode())
    assert status == 413 and elapsed < 2 and json.loads(body)["error"]["type"] == "content_too_long_exception"


def test_bad_chunk_sizes_answer_400_instead_of_hanging(server: Any) -> None:
    for size in (b"-1", b"zz", b"", b"0x5"):
        status, _, body, elapsed = _exchange(
            server, f"POST /x/_search HTTP/1.1\r\nHost: {_host(server)}\r\nContent-Type: application/json\r\n"
                    f"Transfer-Encoding: chunked\r\n\r\n".encode() + size + b"\r\n{}\r\n0\r\n\r\n")
        assert status == 400 and elapsed < 2, (size, status, body)
    status, _, body, _ = _exchange(
        server, f"POST /_search HTTP/1.1\r\nHost: {_host(server)}\r\nContent-Type: application/json\r\n"
                f"Transfer-Encoding: chunked\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n".encode())
    assert status == 200 and "hits" in json.loads(body)


def test_auth_is_checked_before_the_body_is_read(tmp_path: Path) -> None:
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "auth"), port=0, user="ann", password="s3cret",
                                            max_body_bytes=1 << 20))
    read = []
    from pinsearch.server.http import RequestHandler
    original = RequestHandler._read_body

    def spy(self: Any, *args: Any) -> Any:
        read.append(self.path)
        return original(self, *args)

    RequestHandler._read_body = spy  # type: ignore[method-assign]
    try:
        # a gzipped body announced, none sent: the 401 comes at once, so nothing was read or inflated
        status, headers, body, elapsed = _exchange(
            srv, f"POST /docs/_delete_by_query HTTP/1.1\r\nHost: {_host(srv)}\r\nContent-Type: application/json\r\n"
                 f"Content-Encoding: gzip\r\nContent-Length: 900000\r\n\r\n".encode())
        assert status == 401 and elapsed < 2 and headers["www-authenticate"].startswith("Basic")
        assert json.loads(body)["error"]["type"] == "security_exception" and read == []
        # Expect: 100-continue: refused without the 100, so the client never sends the body
        status, _, _, _ = _exchange(srv, f"PUT /x/_doc/1 HTTP/1.1\r\nHost: {_host(srv)}\r\nContent-Type: application/json"
                                         f"\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n".encode())
        assert status == 401 and read == []
        good = "Basic " + base64.b64encode(b"ann:s3cret").decode()
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(f"PUT /x/_doc/1?refresh=true HTTP/1.1\r\nHost: {_host(srv)}\r\nAuthorization: {good}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n".encode())
            assert _read_response(sock, time.monotonic() + 5)[0] == 100
            sock.sendall(b'{"a": "b"}')
            assert _read_response(sock, time.monotonic() + 5)[0] == 201
        gzipped = gzip.compress(b'{"title": "zipped"}')
        status, _, _ = _request(srv, "PUT", "/x/_doc/2", body=gzipped,
                                headers={**JSON, "Content-Encoding": "gzip", "Authorization": good})
        assert status == 201 and len(read) == 2
    finally:
        RequestHandler._read_body = original  # type: ignore[method-assign]
        stop_server(srv, thread)


def test_host_must_be_loopback_with_our_port(server: Any) -> None:
    port = server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}", f"127.0.0.2:{port}"):
        status, _, body, _ = _exchange(server, f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert status == 200, (host, body)
    for host in (f"rebind.example:{port}", "rebind.example", f"127.0.0.1:{port + 1}", "127.0.0.1",
                 f"localhost.localdomain:{port}", f"127.0.0.1.nip.io:{port}", "", f"[::1]:{port}x"):
        status, _, body, _ = _exchange(server, f"GET /_pinsearch/api/status HTTP/1.1\r\nHost: {host}\r\n"
                                               f"Connection: close\r\n\r\n".encode())
        assert status == 403, (host, status)
        assert json.loads(body)["error"]["type"] == "security_exception"
    status, _, _, _ = _exchange(server, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")  # HTTP/1.1 needs a Host
    assert status == 403
    status, _, _, _ = _exchange(server, b"GET / HTTP/1.0\r\n\r\n")  # HTTP/1.0 may omit it
    assert status == 200


def test_allow_remote_accepts_any_host(tmp_path: Path) -> None:
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "remote"), port=0, allow_remote=True))
    try:
        status, _, _, _ = _exchange(srv, b"GET / HTTP/1.1\r\nHost: search.example.org:9200\r\nConnection: close\r\n\r\n")
        assert status == 200
        status, _, _, _ = _exchange(srv, b"GET / HTTP/1.1\r\nHost: search.example.org:9200\r\n"
                                         b"Origin: http://evil.example\r\nConnection: close\r\n\r\n")
        assert status == 403
    finally:
        stop_server(srv, thread)


def test_cross_site_browser_requests_are_refused(server: Any) -> None:
    """The CSRF of the probe: a page elsewhere posting text/plain to ``_delete_by_query``."""
    _load(server)
    host, port = _host(server), server.port
    attack = b'{"query": {"match_all": {}}}'
    for origin in ("http://evil.example", "null", f"http://localhost:{port}", f"https://127.0.0.1:{port}",
                   f"http://127.0.0.1:{port + 1}"):
        status, _, body, _ = _exchange(
            server, f"POST /docs/_delete_by_query HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n"
                    f"Content-Type: text/plain\r\nContent-Length: {len(attack)}\r\n\r\n".encode() + attack)
        assert status == 403 and "Origin" in json.loads(body)["error"]["reason"], origin
    # without an Origin (not a browser, or an old one), text/plain is still refused like OpenSearch does
    status, headers, body = _request(server, "POST", "/docs/_delete_by_query", body=attack,
                                     headers={"Content-Type": "text/plain"})
    assert status == 406 and headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"error": "Content-Type header [text/plain] is not supported", "status": 406}
    assert _request(server, "GET", "/docs/_count")[2] and json.loads(_request(server, "GET", "/docs/_count")[2])["count"] == 20
    # the server's own page (same origin) may write
    status, _, body = _request(server, "POST", "/docs/_search", body=b'{"size": 1}',
                               headers={**JSON, "Origin": f"http://{host}"})
    assert status == 200 and json.loads(body)["hits"]["total"]["value"] == 20


def test_bodies_need_a_json_content_type(server: Any) -> None:
    status, _, body = _request(server, "PUT", "/t/_doc/1", body=b'{"a": 1}', headers={"Content-Type": ""})
    assert status == 406
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("PUT", "/t/_doc/1")
    conn.putheader("Content-Length", "8")
    conn.endheaders(b'{"a": 1}')
    response = conn.getresponse()
    assert response.status == 406
    assert json.loads(response.read()) == {"error": "Content-Type header is missing", "status": 406}
    conn.close()
    for media in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/yaml"):
        status, _, body = _request(server, "PUT", "/t/_doc/1", body=b'{"a": 1}', headers={"Content-Type": media})
        assert status == 406 and json.loads(body)["error"] == f"Content-Type header [{media}] is not supported"
    status, _, _ = _request(server, "PUT", "/t/_doc/1", body=b'{"a": 1}',
                            headers={"Content-Type": "application/json; charset=UTF-8"})
    assert status == 201
    bulk = b'{"index": {"_index": "t", "_id": "2"}}\n{"a": 2}\n'
    status, _, body = _request(server, "POST", "/_bulk", body=bulk, headers={"Content-Type": "application/x-ndjson"})
    assert status == 200 and json.loads(body)["errors"] is False
    assert _request(server, "DELETE", "/t/_doc/2")[0] == 200  # no body, no content type needed


# -- bounded responses ------------------------------------------------------------------------------
def test_named_query_echo_is_bounded_by_the_response_limit(tmp_path: Path) -> None:
    """``_name`` is echoed in every hit's ``matched_queries`` (as OpenSearch does): a small request can ask
    for a huge answer. Above ``max_response_bytes`` the answer is an OpenSearch-shaped 500 instead."""
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "echo"), port=0, max_response_bytes=64 * 1024))
    try:
        _load(srv, n=50)
        names = [{"match": {"title": {"query": "soup", "_name": f"{i}-" + "n" * 2000}}} for i in range(20)]
        request = json.dumps({"query": {"bool": {"should": names}}, "size": 50}).encode()
        status, _, body = _request(srv, "POST", "/docs/_search", body=request, headers=JSON)
        error = json.loads(body)
        assert status == 500 and error["status"] == 500
        assert error["error"]["type"] == "response_too_large_exception"
        assert "65536" in error["error"]["reason"] and "_name" in error["error"]["reason"]
        assert error["error"]["root_cause"][0]["type"] == "response_too_large_exception"
        # the same request with two hits fits, and does echo the names
        small = json.dumps({"query": {"bool": {"should": names[:2]}}, "size": 2}).encode()
        status, _, body = _request(srv, "POST", "/docs/_search", body=small, headers=JSON)
        hits = json.loads(body)["hits"]["hits"]
        assert status == 200 and len(hits) == 2 and len(hits[0]["matched_queries"]) == 2
    finally:
        stop_server(srv, thread)


def test_encode_response_is_byte_identical_and_stops_early() -> None:
    from localnode.rest.router import RestResponse
    import numpy as np
    body = {"took": 1, "timed_out": False, "hits": {"total": {"value": 3, "relation": "eq"}, "max_score": 1.5,
                                                    "hits": [{"_id": str(i), "_score": np.float32(1.5 / (i + 1)),
                                                              "_source": {"t": "é" * i}} for i in range(3)]},
            "aggregations": {"a": {"value": 2.0}}}
    assert encode_response(body, 1 << 20) == RestResponse(200, body).encode().encode("utf-8")
    tricky = {"hits": {"hits": [{"x": "\u0000pinsearch-hits-placeholder\u0000"}, {"y": 1}]}}
    assert encode_response(tricky, 1 << 20) == RestResponse(200, tricky).encode().encode("utf-8")
    assert encode_response("text/plain answer", 100) == b"text/plain answer"
    with pytest.raises(ResponseTooLarge):  # an engine answer that is already JSON text
        encode_response('{"hits": "' + "x" * 200 + '"}', 100)
    with pytest.raises(ResponseTooLarge):  # 60 characters, 120 bytes
        encode_response("é" * 60, 100)
    assert encode_response(None, 0) == b""
    huge = {"hits": {"hits": [{"_id": str(i), "names": ["n" * 1000] * 100} for i in range(10_000)]}}  # ~1 GB as JSON
    started = time.monotonic()
    with pytest.raises(ResponseTooLarge) as too_large:
        encode_response(huge, 1 << 20)
    assert not too_large.value.complete and too_large.value.size < (1 << 20) + 200_000
    assert time.monotonic() - started < 2  # stopped after ~1 MiB, not after serialising 1 GB


def test_host_helpers() -> None:
    assert split_host_port("[::1]:9200") == ("::1", 9200) and split_host_port("localhost") == ("localhost", None)
    assert split_host_port("a:b") is None and split_host_port("::1") is None and split_host_port("") is None
    assert is_loopback_literal("127.9.9.9") and is_loopback_literal("::1") and is_loopback_literal("::ffff:127.0.0.1")
    assert not is_loopback_literal("localhost.") and not is_loopback_literal("10.0.0.1")


# -- the command line -------------------------------------------------------------------------------
def _serve_args(argv: list[str]) -> argparse.Namespace:
    from pinsearch.commands import serve
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    serve.register(sub, argparse.ArgumentParser(add_help=False))
    return parser.parse_args(["serve", *argv])


def test_password_file_environment_and_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from pinsearch.commands import serve
    from pinsearch.commands.common import CommandError
    monkeypatch.delenv("PINSEARCH_PASSWORD", raising=False)
    data = ["--data", str(tmp_path / "d")]
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\n")
    config = serve.build_config(_serve_args([*data, "--user", "ann", "--password-file", str(secret)]))
    assert (config.user, config.password) == ("ann", "from-the-file")
    assert "WARNING" not in capsys.readouterr().err
    monkeypatch.setenv("PINSEARCH_PASSWORD", "from-the-env")
    assert serve.build_config(_serve_args([*data, "--user", "ann"])).password == "from-the-env"
    assert serve.build_config(_serve_args(data)).user is None  # the variable alone turns nothing on
    assert "WARNING" not in capsys.readouterr().err
    config = serve.build_config(_serve_args([*data, "--user", "ann", "--password", "on-the-line"]))
    assert config.password == "on-the-line" and "process list" in capsys.readouterr().err
    monkeypatch.delenv("PINSEARCH_PASSWORD")
    with pytest.raises(CommandError, match="PINSEARCH_PASSWORD"):
        serve.build_config(_serve_args([*data, "--user", "ann"]))
    with pytest.raises(CommandError, match="one of"):
        serve.build_config(_serve_args([*data, "--user", "a", "--password", "x", "--password-file", str(secret)]))
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(CommandError, match="empty"):
        serve.build_config(_serve_args([*data, "--user", "a", "--password-file", str(tmp_path / "empty")]))
    with pytest.raises(CommandError, match="cannot read"):
        serve.build_config(_serve_args([*data, "--user", "a", "--password-file", str(tmp_path / "missing")]))
    with pytest.raises(CommandError, match="need --user"):
        serve.build_config(_serve_args([*data, "--password-file", str(secret)]))


def test_limits_on_the_command_line(tmp_path: Path) -> None:
    from pinsearch.commands import serve
    from pinsearch.commands.common import CommandError
    config = serve.build_config(_serve_args(["--data", str(tmp_path), "--read-timeout", "5", "--idle-timeout", "9",
                                             "--max-response-mb", "1.5", "--max-connections", "64",
                                             "--backlog", "256", "--workers", "3"]))
    assert (config.read_timeout, config.socket_timeout, config.max_response_bytes) == (5, 9, int(1.5 * 1024 * 1024))
    assert (config.max_connections, config.backlog, config.workers) == (64, 256, 3)
    defaults = serve.build_config(_serve_args(["--data", str(tmp_path)]))
    assert defaults.max_response_bytes == 200 << 20 and defaults.backlog >= 512 and defaults.max_connections >= 500
    with pytest.raises(CommandError, match="--read-timeout"):
        serve.build_config(_serve_args(["--data", str(tmp_path), "--read-timeout", "0"]))


def test_password_is_not_in_the_process_list(tmp_path: Path) -> None:
    """``serve --user u`` with the password from the environment: /proc/PID/cmdline does not hold it."""
    import subprocess
    import sys
    import os
    from .test_http_api import SERVE_SCRIPT
    env = {**os.environ, "PINSEARCH_PASSWORD": "hunter2-env-only"}
    proc = subprocess.Popen([sys.executable, "-c", SERVE_SCRIPT, "--port", "0", "--data", str(tmp_path / "p"),
                             "--user", "ann"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        info = json.loads(proc.stdout.readline())
        assert info["auth"] is True
        assert b"hunter2" not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        good = pinsearch.connect(info["url"].replace("http://", "http://ann:hunter2-env-only@"))
        assert good.info()["version"]["distribution"] == "opensearch"
        pinsearch.close(good)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_threads_are_bounded_by_max_connections(tmp_path: Path) -> None:
    """More simultaneous clients than ``max_connections``: all served, never more handler threads at once."""
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "bounded"), port=0, max_connections=4))
    peak = [0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], srv.active_connections)
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    results: list[int] = []

    def client() -> None:
        results.append(_request(srv, "GET", "/")[0])

    clients = [threading.Thread(target=client) for _ in range(40)]
    try:
        for t in clients:
            t.start()
        for t in clients:
            t.join(timeout=30)
    finally:
        stop.set()
        watcher.join()
        stop_server(srv, thread)
    assert results == [200] * 40 and 1 <= peak[0] <= 4


# -- bounded work -----------------------------------------------------------------------------------
def test_a_504_cancels_the_engine_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After serve answers 504, the engine stops at its next segment instead of running on."""
    from localnode.search.query import Searcher
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "slow"), port=0, request_timeout=0.3))
    try:
        _load(srv, 30)
        visited: list[float] = []
        original = Searcher.segment_contexts

        def slow(self):  # type: ignore[no-untyped-def]
            for context in original(self):
                for _ in range(20):            # 2 s per segment, in small sleeps
                    visited.append(time.monotonic())
                    time.sleep(0.1)
                    from localnode.search import cancellation
                    cancellation.check()
                yield context
        monkeypatch.setattr(Searcher, "segment_contexts", slow)
        status, _, _ = _request(srv, "POST", "/docs/_search", json.dumps({"query": {"match": {"title": "soup"}}}).encode(),
                                {"Content-Type": "application/json"})
        assert status == 504
        answered = time.monotonic()
        time.sleep(0.6)
        assert visited and max(visited) < answered + 0.35, "the engine kept working after the 504"
    finally:
        stop_server(srv, thread)
