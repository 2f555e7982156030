"""``pinsearch serve``: the embedded engine's REST API over HTTP, plus the web page.

Every request outside ``/_pinsearch/`` goes through exactly the same path as the in-process
opensearch-py connection (:class:`localnode.connection.LocalConnection`): the raw URL path and the
decoded query string go to :meth:`localnode.node.Node.handle`, and its status, body and content type
go back unchanged. So curl, opensearch-py over ``http://`` and the embedded client see the same API.

URL rule for the page: the page lives at ``/_pinsearch/`` (``_`` names are reserved in OpenSearch,
so it cannot clash with an index). ``GET /`` whose ``Accept`` header asks for ``text/html`` (what a
browser sends) is redirected there; any other ``GET /`` (curl, clients) gets the cluster info JSON.

Built on :class:`http.server.ThreadingHTTPServer` (standard library): one thread per connection,
HTTP/1.1 keep-alive, and engine calls run on a bounded worker pool so that a request that exceeds
``request_timeout`` answers 504 instead of holding the client (the engine finishes it in the
background). Reads run in parallel; the engine serialises writes itself.
"""

from __future__ import annotations

import base64
import gzip
import hmac
import ipaddress
import logging
import socket
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

import pinsearch
from localnode.node import Node, open_node, release_node
from pinsearch.server import api
from pinsearch.server.placeholder import placeholder_svg

logger = logging.getLogger("pinsearch.server")

PAGE_PREFIX = "/_pinsearch/"
JSON_TYPE = "application/json; charset=UTF-8"
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


class RemoteBindError(ValueError):
    """Binding to a non-loopback address without ``allow_remote``."""


@dataclass(slots=True)
class ServerConfig:
    """Everything ``pinsearch serve`` can set; the defaults are the safe ones."""
    data_path: str = "./pinsearch-data"
    host: str = "127.0.0.1"
    port: int = 9200
    allow_remote: bool = False
    user: str | None = None
    password: str | None = None
    max_body_bytes: int = 100 * 1024 * 1024      # OpenSearch's http.max_content_length default
    request_timeout: float = 60.0                 # seconds for the engine to answer one request
    socket_timeout: float = 120.0                 # idle keep-alive / slow-client limit
    workers: int = 16                             # engine calls in flight at once
    cache_dir: str | None = None                  # signal cache of `pinsearch reindex`: query-side models


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def _error_body(status: int, error_type: str, reason: str) -> bytes:
    cause = {"type": error_type, "reason": reason}
    return orjson.dumps({"error": {"root_cause": [cause], **cause}, "status": status})


def _static(name: str) -> bytes | None:
    try:
        return resources.files("pinsearch.server").joinpath("static", name).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


class PinSearchServer(ThreadingHTTPServer):
    """The HTTP server around one shared :class:`Node` (open until :meth:`close`)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, config: ServerConfig) -> None:
        if not config.allow_remote and not is_loopback(config.host):
            raise RemoteBindError(
                f"refusing to bind to [{config.host}]: it is not a loopback address; the API has no TLS and "
                f"full write access, so pass --allow-remote (and --user/--password) to expose it")
        if (config.user is None) != (config.password is None):
            raise ValueError("basic auth needs both a user and a password")
        if ":" in config.host.strip("[]"):
            self.address_family = socket.AF_INET6
        self.config = config
        self.node: Node = open_node(config.data_path)
        self.client = pinsearch.connect("embedded://" + str(self.node.data_path))  # shares self.node
        self.pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="pinsearch-engine")
        from ranking.query_signals import query_signals_for
        self.query_signals = query_signals_for(config.cache_dir)   # empty signals without a cache
        self._closed = False
        self._close_lock = threading.Lock()
        self._auth = None
        if config.user is not None:
            token = base64.b64encode(f"{config.user}:{config.password}".encode()).decode()
            self._auth = f"Basic {token}".encode()
        try:
            super().__init__((config.host.strip("[]"), config.port), RequestHandler)
        except BaseException:
            self._release()
            raise

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"

    def check_auth(self, header: str | None) -> bool:
        if self._auth is None:
            return True
        return header is not None and hmac.compare_digest(header.encode(), self._auth)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the worker pool; :class:`TimeoutError` after ``request_timeout``."""
        future = self.pool.submit(fn, *args)
        try:
            return future.result(timeout=self.config.request_timeout)
        except FutureTimeout:
            raise TimeoutError from None

    def _release(self) -> None:
        self.pool.shutdown(wait=True)
        pinsearch.close(self.client)
        release_node(self.node)

    def close(self) -> None:
        """Stop accepting, let in-flight engine calls finish, then close the node (flushes the WAL)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self.server_close()
        self._release()


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: Nagle + delayed ACK cost 40 ms
    server_version = "pinsearch"
    sys_version = ""
    server: PinSearchServer

    def setup(self) -> None:
        self.timeout = self.server.config.socket_timeout
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        logger.debug("%s - %s", self.address_string(), format % args)

    # -- plumbing ---------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _error(self, status: int, error_type: str, reason: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, _error_body(status, error_type, reason), JSON_TYPE, headers)

    def _read_body(self) -> bytes | None:
        """The request body (gunzipped when ``Content-Encoding: gzip``); None when there is none."""
        limit = self.server.config.max_body_bytes
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(1024)
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    self.rfile.readline(1024)
                    break
                size += n
                if size > limit:
                    raise _TooLarge(size)
                chunks.append(self.rfile.read(n))
                self.rfile.readline(1024)
            raw = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length > limit:
                remaining = length  # drain it, so the client reads the 413 instead of a reset socket
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 16))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                raise _TooLarge(length)
            raw = self.rfile.read(length) if length else b""
        encoding = self.headers.get("Content-Encoding", "").lower()
        if encoding in ("gzip", "deflate") and raw:
            inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
            raw = inflater.decompress(raw, limit + 1)
            if len(raw) > limit or inflater.unconsumed_tail:
                raise _TooLarge(len(raw))
        return raw if raw else None

    # -- dispatch ---------------------------------------------------------------------------------
    def _handle(self) -> None:
        try:
            body = self._read_body()
        except _TooLarge as exc:
            self.close_connection = True  # the unread remainder cannot be skipped safely
            self._error(413, "content_too_long_exception",
                        f"request body is {exc.size} bytes, more than the limit of "
                        f"{self.server.config.max_body_bytes} bytes")
            return
        except (ValueError, OSError, zlib.error, gzip.BadGzipFile) as exc:
            self.close_connection = True
            self._error(400, "parse_exception", f"could not read the request body: {exc}")
            return
        if not self.server.check_auth(self.headers.get("Authorization")):
            self._error(401, "security_exception",
                        f"missing or wrong authentication credentials for REST request [{self.path}]",
                        {"WWW-Authenticate": 'Basic realm="pinsearch" charset="UTF-8"'})
            return
        split = urlsplit(self.path)
        path = split.path or "/"
        if path == "/" and self.command == "GET" and "text/html" in self.headers.get("Accept", ""):
            self._send(302, b"", None, {"Location": PAGE_PREFIX})
            return
        if path == PAGE_PREFIX.rstrip("/") or path.startswith(PAGE_PREFIX):
            self._page(path[len(PAGE_PREFIX):], split.query)
            return
        params = {k: v for k, v in parse_qsl(split.query, keep_blank_values=True)}
        try:
            response = self.server.call(self.server.node.handle, self.command, path, params, body)
        except TimeoutError:
            self._error(504, "timeout_exception",
                        f"the engine did not answer within {self.server.config.request_timeout:g}s "
                        f"(the request continues in the background)")
            return
        self._send(response.status, response.encode().encode("utf-8"), response.content_type)

    def _page(self, rest: str, query: str) -> None:
        if self.command not in ("GET", "HEAD"):
            self._error(405, "method_not_allowed", f"{self.command} is not allowed on {self.path}")
            return
        if rest.startswith("api/"):
            name = rest[len("api/"):]
            endpoint = api.ENDPOINTS.get(name)
            if endpoint is None:
                self._send(404, orjson.dumps({"error": f"no page endpoint [{name}]"}), JSON_TYPE)
                return
            params = {k: v for k, v in parse_qsl(query, keep_blank_values=True)}
            try:
                payload = self.server.call(endpoint, self.server.client, params, self.server.query_signals)
                self._send(200, orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), JSON_TYPE,
                           {"Cache-Control": "no-store"})
            except api.ApiError as exc:
                self._send(exc.status, orjson.dumps({"error": exc.message}), JSON_TYPE)
            except TimeoutError:
                self._send(504, orjson.dumps({"error": "the engine did not answer in time"}), JSON_TYPE)
            except Exception as exc:  # the page shows the message; the log keeps the traceback
                logger.exception("page endpoint %s failed", name)
                status = getattr(exc, "status_code", 500)
                status = status if isinstance(status, int) and 400 <= status < 600 else 500
                self._send(status, orjson.dumps({"error": f"{type(exc).__name__}: {exc}"}), JSON_TYPE)
            return
        if rest.startswith("placeholder/"):
            signature = unquote(rest[len("placeholder/"):]).removesuffix(".svg")
            self._send(200, placeholder_svg(signature).encode(), STATIC_TYPES[".svg"],
                       {"Cache-Control": "public, max-age=86400"})
            return
        name = rest or "index.html"
        data = _static(name) if "/" not in name and not name.startswith(".") else None
        if data is None:
            self._send(404, b"not found", "text/plain; charset=utf-8")
            return
        suffix = name[name.rfind("."):]
        self._send(200, data, STATIC_TYPES.get(suffix, "application/octet-stream"))

    def do_GET(self) -> None:  # noqa: N802  (stdlib naming)
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def start_server(config: ServerConfig) -> tuple[PinSearchServer, threading.Thread]:
    """Start serving in a background thread (tests, benchmarks); stop with :func:`stop_server`."""
    server = PinSearchServer(config)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="pinsearch-http", daemon=True)
    thread.start()
    return server, thread


def stop_server(server: PinSearchServer, thread: threading.Thread | None = None) -> None:
    server.shutdown()
    if thread is not None:
        thread.join(timeout=10)
    server.close()


def wait_until_ready(url: str, timeout: float = 10.0) -> None:
    """Poll until the server accepts connections (for a server started in another process)."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((parts.hostname, parts.port or 80), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
