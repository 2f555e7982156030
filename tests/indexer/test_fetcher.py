"""The fetcher against a local HTTP server on 127.0.0.1 only (bounded: a few dozen requests)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from indexer.pages.fetcher import FetchConfig, Fetcher, fetch_urls_file

PAGE = b"<html><head><title>Vegan dinner</title></head><body><p>Lentil curry recipe.</p></body></html>"


class Handler(BaseHTTPRequestHandler):
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path == "/robots.txt":
            self._send(200, b"User-agent: *\nDisallow: /private\n")
        elif self.path == "/page":
            if self.headers.get("If-None-Match") == '"v1"':
                self._send(304, headers={"ETag": '"v1"'})
            else:
                self._send(200, PAGE, {"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"'})
        elif self.path == "/nocache":
            self._send(200, PAGE, {"Content-Type": "text/html"})
        elif self.path == "/redirect":
            self._send(302, headers={"Location": "/page"})
        elif self.path.startswith("/loop"):
            self._send(302, headers={"Location": f"/loop{self.hits[self.path]}x"})
        elif self.path == "/to-private":
            self._send(301, headers={"Location": "/private/x"})
        elif self.path == "/big":
            self._send(200, b"<html><body>" + b"a" * 300_000 + b"</body></html>", {"Content-Type": "text/html"})
        elif self.path == "/flaky":
            if self.hits[self.path] == 1:
                self._send(503, b"busy", {"Retry-After": "0"})
            else:
                self._send(200, PAGE, {"Content-Type": "text/html"})
        elif self.path == "/down":
            self._send(500, b"error")
        else:
            self._send(404, b"<html><body>Not found</body></html>")


@pytest.fixture
def server() -> Iterator[str]:
    Handler.hits = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _cfg(**kw) -> FetchConfig:
    base = {"timeout": 5.0, "max_bytes": 100_000, "max_redirects": 3, "retries": 1, "backoff": 0.0,
            "host_delay": 0.0}
    base.update(kw)
    return FetchConfig(**base)


def test_fetch_ok_redirect_and_robots(server: str) -> None:
    f = Fetcher(_cfg())
    ok = f.fetch(server + "/page")
    assert ok.status == 200 and ok.body == PAGE and ok.charset == "utf-8" and ok.error is None
    red = f.fetch(server + "/redirect")
    assert red.status == 200 and red.redirects == 1 and red.final_url.endswith("/page")
    blocked = f.fetch(server + "/private/a")
    assert blocked.status is None and blocked.error.startswith("robots")
    via = f.fetch(server + "/to-private")  # a redirect hop into a disallowed path is refused too
    assert via.error.startswith("robots")
    assert Handler.hits.get("/private/a") is None and Handler.hits.get("/private/x") is None
    assert Handler.hits["/robots.txt"] == 1  # cached per host
    f.close()


def test_limits_retries_and_errors(server: str) -> None:
    f = Fetcher(_cfg())
    loop = f.fetch(server + "/loop")
    assert loop.error.startswith("too_many_redirects") and loop.redirects == 4
    big = f.fetch(server + "/big")
    assert big.truncated and len(big.body) == 100_000
    flaky = f.fetch(server + "/flaky")
    assert flaky.status == 200 and flaky.attempts == 2
    down = f.fetch(server + "/down")
    assert down.status == 500 and down.error == "http_500" and down.attempts == 2  # retried once, bounded
    missing = f.fetch(server + "/nope")
    assert missing.status == 404
    bad = f.fetch("ftp://127.0.0.1/x")
    assert bad.error.startswith("bad_url")
    f.close()


def test_politeness_delay_per_host() -> None:
    slept: list[float] = []
    now = [100.0]
    f = Fetcher(_cfg(host_delay=2.0), sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)),
                clock=lambda: now[0])
    f._wait("a.example")
    f._wait("a.example")
    f._wait("b.example")
    assert slept == [2.0]
    f.close()


def test_incremental_refresh_by_etag_and_hash(server: str, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# pages\n{server}/page\n{server}/nocache\n{server}/private/p\n\n{server}/page\n")
    out = tmp_path / "out"
    first = fetch_urls_file(urls, out, _cfg())
    assert first["urls"] == 3 and first["changed"] == 2 and first["robots_blocked"] == 1
    rows = [line for line in (out / "pages.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    second = fetch_urls_file(urls, out, _cfg())
    assert second["changed"] == 0 and second["unchanged"] == 2  # 304 for /page, same hash for /nocache
    assert Handler.hits["/page"] == 2

    import json
    pages = [json.loads(r) for r in (out / "pages.jsonl").read_text().splitlines()]
    assert len(pages) == 2 and all((out / p["path"]).is_file() and p["status"] == 200 for p in pages)


def test_urls_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "u.txt"
    bad.write_text("http://127.0.0.1/ok\nnot a url\n")
    with pytest.raises(ValueError, match="line 2"):
        fetch_urls_file(bad, tmp_path / "o", _cfg())
    with pytest.raises(FileNotFoundError):
        fetch_urls_file(tmp_path / "missing.txt", tmp_path / "o", _cfg())
