"""``pinsearch serve``: the embedded engine's REST API over HTTP, plus the web page.

Every request outside ``/_pinsearch/`` goes through exactly the same path as the in-process
opensearch-py connection (:class:`localnode.connection.LocalConnection`): the raw URL path and the
decoded query string go to :meth:`localnode.node.Node.handle`, and its status, body and content type
go back unchanged. So curl, opensearch-py over ``http://`` and the embedded client see the same API.

URL rule for the page: the page lives at ``/_pinsearch/`` (``_`` names are reserved in OpenSearch,
so it cannot clash with an index). ``GET /`` whose ``Accept`` header asks for ``text/html`` (what a
browser sends) is redirected there; any other ``GET /`` (curl, clients) gets the cluster info JSON.

Connections and threads (built on :class:`http.server.ThreadingHTTPServer`, standard library): the
listen backlog is ``backlog`` (a burst of connections waits in the kernel instead of being reset),
one handler thread per connection up to ``max_connections`` (beyond that the accept loop waits for
a free slot, and idle keep-alive connections give theirs up), HTTP/1.1 keep-alive, and engine calls
run on a separate bounded pool of ``workers`` threads so that a request that exceeds
``request_timeout`` answers 504 instead of holding the client (the engine finishes it in the
background). Reads run in parallel; the engine serialises writes itself.

Order of the checks on every request, all before a byte of the body is read:

1. framing: ``Content-Length`` must be one non-negative decimal number (else 400), not together
   with ``Transfer-Encoding`` (400), which may only be ``chunked`` (400);
2. ``Host`` (loopback server only, i.e. without ``allow_remote``): a loopback name or address with
   the server's port, else 403: a web page that had its own domain re-resolved to 127.0.0.1 (DNS
   rebinding) sends its own name;
3. ``Origin``, when present: the server's own origin (``http://`` + the ``Host`` it was reached
   by), else 403: a page elsewhere cannot drive the API from the user's browser (CSRF);
4. basic auth (401);
5. a body needs a JSON content type, ``application/json`` or ``application/x-ndjson`` (406 with
   OpenSearch's own message and shape, ``{"error": "Content-Type header [text/plain] is not
   supported", "status": 406}``): what a cross-site HTML form can send is never one of those;
6. ``Content-Length`` above ``max_body_bytes``: 413 at once.

A request refused there gets its answer and ``Connection: close``; the unread body is discarded
for at most :data:`LINGER_SECONDS` so that the client reads the answer instead of a reset.
Slow clients: the request line and headers must arrive within ``read_timeout`` seconds of the
first byte (of the connection, for its first request), the body within ``read_timeout`` plus one
second per :data:`MIN_BODY_RATE` bytes received, else 408 and close (a client trickling one byte a
second is cut after ``read_timeout``); an idle keep-alive connection is closed after
``socket_timeout``. Responses are bounded: one larger than ``max_response_bytes`` is replaced by a
500 error (a search's hits are serialised one by one, so the refusal comes as soon as the limit is
passed, never after building the whole oversized answer).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hmac
import io
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
from pinsearch.server.image_placeholder import placeholder_svg

logger = logging.getLogger("pinsearch.server")

PAGE_PREFIX = "/_pinsearch/"
JSON_TYPE = "application/json; charset=UTF-8"
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
BODY_TYPES = ("application/json", "application/x-ndjson")   # what OpenSearch's REST layer parses (JSON)
MIN_BODY_RATE = 64 * 1024          # bytes/s: each 64 KiB of body received extends its deadline by 1 s
LINGER_SECONDS = 2.0               # after an early refusal: discard what the client still sends, this long
IDLE_POLL_SECONDS = 0.5            # an idle keep-alive connection checks this often whether to yield its slot
_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
_HITS_MARKER = "\u0000pinsearch-hits-placeholder\u0000"


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
    max_response_bytes: int = 200 * 1024 * 1024  # a larger answer is replaced by a 500 error
    request_timeout: float = 60.0                 # seconds for the engine to answer one request
    read_timeout: float = 30.0                    # seconds to receive the headers, and the body (+1 s / 64 KiB)
    socket_timeout: float = 120.0                 # idle keep-alive limit (and per-response write base)
    workers: int = 16                             # engine calls in flight at once
    max_connections: int = 1024                   # open connections (handler threads) at once
    backlog: int = 1024                           # listen queue (the kernel caps it at net.core.somaxconn)
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


def is_loopback_literal(name: str) -> bool:
    """``localhost`` or a loopback IP literal, never resolved (a ``Host`` name that *resolves* to
    127.0.0.1 is exactly what DNS rebinding sends)."""
    name = name.lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def split_host_port(value: str) -> tuple[str, int | None] | None:
    """``"name:port"``, ``"[v6]:port"``, ``"name"`` -> (name, port or None); None when malformed."""
    value = value.strip()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    elif value.count(":") == 1:
        name, port_text = value.split(":")
    elif ":" in value:
        return None  # a bare IPv6 address must be bracketed in Host/Origin
    else:
        name, port_text = value, None
    if port_text is None:
        return name, None
    if not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5:
        return None
    return name, int(port_text)


@functools.lru_cache(maxsize=256)
def host_header_allowed(value: str, port: int) -> bool:
    """A loopback server's rule for ``Host``: a loopback literal with ``port`` (80 when omitted)."""
    parsed = split_host_port(value)
    if parsed is None:
        return False
    name, given = parsed
    return is_loopback_literal(name) and (given if given is not None else 80) == port


def _error_body(status: int, error_type: str, reason: str, **extra: Any) -> bytes:
    cause = {"type": error_type, "reason": reason}
    return orjson.dumps({"error": {"root_cause": [cause], **cause, **extra}, "status": status})


def _static(name: str) -> bytes | None:
    try:
        return resources.files("pinsearch.server").joinpath("static", name).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


class ResponseTooLarge(Exception):
    """The serialised answer passed ``max_response_bytes``: ``size`` bytes, or at least that many when
    not ``complete`` (serialisation stopped there)."""

    def __init__(self, size: int, complete: bool) -> None:
        super().__init__(size)
        self.size = size
        self.complete = complete


def encode_response(body: Any, limit: int) -> bytes:
    """The JSON bytes of an engine answer (exactly ``RestResponse.encode()``, UTF-8), or
    :class:`ResponseTooLarge` once they pass ``limit``.

    A search answer's ``hits.hits`` are serialised one at a time and the running size checked after
    each, so an answer that would be huge (a request echoing big ``_name`` s in every hit's
    ``matched_queries``, as OpenSearch does too) costs at most ``limit`` bytes before it is refused.
    """
    if body is None:
        return b""
    if isinstance(body, str):  # already JSON text (or a _cat table): its length in characters is a lower bound
        if len(body) > limit:
            raise ResponseTooLarge(len(body), complete=False)
        data = body.encode("utf-8")
    else:
        hits = body.get("hits") if isinstance(body, dict) else None
        if isinstance(hits, dict) and isinstance(hits.get("hits"), list) and len(hits["hits"]) > 1:
            streamed = _encode_hits_streamed(body, hits, limit)
            if streamed is not None:
                return streamed
        data = orjson.dumps(body, option=_ORJSON_OPTIONS)
    if len(data) > limit:
        raise ResponseTooLarge(len(data), complete=True)
    return data


def _encode_hits_streamed(body: dict[str, Any], hits: dict[str, Any], limit: int) -> bytes | None:
    envelope = dict(body)
    envelope["hits"] = {**hits, "hits": _HITS_MARKER}
    head = orjson.dumps(envelope, option=_ORJSON_OPTIONS)
    marker = orjson.dumps(_HITS_MARKER)
    if head.count(marker) != 1:
        return None  # the marker text occurs in the answer itself: serialise it whole
    before, after = head.split(marker)
    size = len(before) + len(after) + 2
    parts = [before, b"["]
    for i, hit in enumerate(hits["hits"]):
        chunk = orjson.dumps(hit, option=_ORJSON_OPTIONS)
        size += len(chunk) + (1 if i else 0)
        if size > limit:
            raise ResponseTooLarge(size, complete=False)
        if i:
            parts.append(b",")
        parts.append(chunk)
    parts.append(b"]")
    parts.append(after)
    return b"".join(parts)


class PinSearchServer(ThreadingHTTPServer):
    """The HTTP server around one shared :class:`Node` (open until :meth:`close`)."""

    daemon_threads = True
    block_on_close = False    # close() wakes idle keep-alive connections and waits for the busy ones itself
    allow_reuse_address = True

    def __init__(self, config: ServerConfig) -> None:
        if not config.allow_remote and not is_loopback(config.host):
            raise RemoteBindError(
                f"refusing to bind to [{config.host}]: it is not a loopback address; the API has no TLS and "
                f"full write access, so pass --allow-remote (and --user/--password) to expose it")
        if (config.user is None) != (config.password is None):
            raise ValueError("basic auth needs both a user and a password")
        if config.max_connections < 1 or config.backlog < 1 or config.workers < 1:
            raise ValueError("max_connections, backlog and workers must be at least 1")
        if ":" in config.host.strip("[]"):
            self.address_family = socket.AF_INET6
        self.config = config
        self.request_queue_size = config.backlog   # used by server_activate()'s listen()
        self.node: Node = open_node(config.data_path)
        self.client = pinsearch.connect("embedded://" + str(self.node.data_path))  # shares self.node
        self.pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="pinsearch-engine")
        from ranking.query_signals import query_signals_for
        self.query_signals = query_signals_for(config.cache_dir)   # empty signals without a cache
        self._closed = False
        self._stopping = False
        self._close_lock = threading.Lock()
        self._slots = threading.Condition()
        self._active = 0                 # accepted connections not yet closed
        self.accept_waiting = False      # the accept loop waits for a slot: idle connections should yield
        self._handlers: set[RequestHandler] = set()
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

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def check_auth(self, header: str | None) -> bool:
        if self._auth is None:
            return True
        return header is not None and hmac.compare_digest(header.encode(), self._auth)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the worker pool; :class:`TimeoutError` after ``request_timeout``,
        and the engine's work is cancelled then (it stops at its next segment) instead of running
        on for a client that already has its 504."""
        from localnode.search.cancellation import Budget, run_within
        budget = Budget()
        future = self.pool.submit(run_within, budget, fn, *args)
        try:
            return future.result(timeout=self.config.request_timeout)
        except FutureTimeout:
            budget.cancel()
            raise TimeoutError from None

    # -- connection slots ---------------------------------------------------------------------------
    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept only with a free slot: until then the connection waits in the listen backlog."""
        with self._slots:
            while self._active >= self.config.max_connections:
                if self._stopping:
                    raise OSError("the server is stopping")
                self.accept_waiting = True
                self._slots.wait(0.2)
            self.accept_waiting = False
            self._active += 1
        try:
            return self.socket.accept()
        except BaseException:
            self._free_slot()
            raise

    def _free_slot(self) -> None:
        with self._slots:
            self._active -= 1
            self._slots.notify_all()

    def shutdown_request(self, request: Any) -> None:  # once per accepted connection, on every path
        try:
            super().shutdown_request(request)
        finally:
            self._free_slot()

    @property
    def active_connections(self) -> int:
        return self._active

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):  # a client that went away: not a server bug
            logger.debug("connection from %s ended: %r", client_address, exc)
            return
        logger.exception("error while serving %s", client_address)

    def register(self, handler: RequestHandler) -> None:
        with self._slots:
            self._handlers.add(handler)

    def unregister(self, handler: RequestHandler) -> None:
        with self._slots:
            self._handlers.discard(handler)

    def shutdown(self) -> None:
        self._stopping = True
        super().shutdown()

    # -- closing ------------------------------------------------------------------------------------
    def _release(self) -> None:
        self.pool.shutdown(wait=True)
        pinsearch.close(self.client)
        release_node(self.node)

    def close(self, grace: float | None = None) -> None:
        """Stop accepting, close idle connections, let in-flight requests finish (at most ``grace``
        seconds, default ``request_timeout`` + 1), then close the node (flushes the WAL)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._stopping = True
        self.server_close()
        deadline = time.monotonic() + (self.config.request_timeout + 1 if grace is None else grace)
        with self._slots:
            while True:
                for handler in list(self._handlers):
                    handler.wake_if_idle()
                if self._active <= 0 or time.monotonic() >= deadline:
                    break
                self._slots.wait(0.1)
        self._release()


class _DeadlineReader(io.RawIOBase):
    """The socket as a raw stream whose reads obey a per-phase deadline, not just a per-recv timeout.

    ``headers``: the request line and headers must arrive by ``deadline``; ``body``: by ``deadline``
    plus one second per :data:`MIN_BODY_RATE` bytes received; ``idle`` (between keep-alive
    requests): ``socket_timeout`` for the first byte, which starts the ``headers`` phase. Waiting for
    a first byte is done in short slices so that the connection gives its slot up when the server
    is full (see :meth:`_should_yield`).
    """

    def __init__(self, sock: socket.socket, server: PinSearchServer) -> None:
        super().__init__()
        self.sock = sock
        self.server = server
        self.timed_out = False
        self.begin("headers")  # a new connection: its first request's clock starts at accept

    def readable(self) -> bool:
        return True

    def begin(self, phase: str) -> None:
        config = self.server.config
        self.phase = phase
        self.received = 0
        self.started = time.monotonic()
        self.deadline = self.started + (config.socket_timeout if phase == "idle" else config.read_timeout)

    def _should_yield(self) -> bool:
        """An idle keep-alive connection, or one that has not sent a byte for a second, gives its slot
        up when the accept loop waits for one (or the server stops)."""
        if self.phase == "idle":
            return self.server.accept_waiting or self.server._stopping
        return self.server.accept_waiting and time.monotonic() - self.started >= 2 * IDLE_POLL_SECONDS

    def _remaining(self) -> float:
        extra = self.received / MIN_BODY_RATE if self.phase == "body" else 0.0
        return self.deadline + extra - time.monotonic()

    def readinto(self, buffer: Any) -> int:
        while True:
            remaining = self._remaining()
            if remaining <= 0:
                self.timed_out = True
                raise TimeoutError(f"no complete request {self.phase} within the time limit")
            if self.phase == "idle" or (self.phase == "headers" and not self.received):
                if self._should_yield():
                    self.timed_out = True
                    raise TimeoutError("waiting connection closed: the server needs its slot")
                remaining = min(remaining, IDLE_POLL_SECONDS)
            self.sock.settimeout(remaining)
            try:
                n = self.sock.recv_into(buffer)
            except TimeoutError:
                continue  # the loop decides: deadline passed, or an idle slice ended
            if n and self.phase == "idle":
                self.begin("headers")
            self.received += n
            return n


class _EarlyAnswer(Exception):
    """A request refused before its body is read: the error answer to send."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: Nagle + delayed ACK cost 40 ms
    server_version = "pinsearch"
    sys_version = ""
    server: PinSearchServer

    def setup(self) -> None:
        self.timeout = self.server.config.socket_timeout
        super().setup()
        self.rfile.close()  # replaced by the deadline-aware reader (closing it leaves the socket open)
        self.reader = _DeadlineReader(self.connection, self.server)
        self.rfile = io.BufferedReader(self.reader, 16384)
        self._served = 0
        self._linger = False
        self._expect_continue = False
        self._responded = False
        self.server.register(self)

    def finish(self) -> None:
        self.server.unregister(self)
        try:
            super().finish()
        except OSError:
            pass

    def wake_if_idle(self) -> None:
        """From :meth:`PinSearchServer.close`: a connection that waits for a request ends now."""
        reader = getattr(self, "reader", None)
        if reader is not None and reader.phase in ("idle", "headers"):  # waiting for, or trickling, a request
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle(self) -> None:
        try:
            super().handle()
        finally:
            if self._linger:
                self._drain()

    def handle_one_request(self) -> None:
        if self._served:
            self.reader.begin("idle")
        self._expect_continue = False
        self._responded = False
        super().handle_one_request()
        self._served += 1
        reader = self.reader
        if reader.timed_out and reader.phase in ("headers", "body") and reader.received and not self._responded:
            self._send_raw(408, _error_body(408, "timeout_exception",
                                            f"the request {reader.phase} did not arrive within "
                                            f"{self.server.config.read_timeout:g}s"))
        if reader.timed_out:
            self.close_connection = True

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue``: the 100 is sent only once the checks pass (see :meth:`_preflight`),
        so a refused client never sends its body."""
        self._expect_continue = True
        return True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        logger.debug("%s - %s", self.address_string(), format % args)

    # -- plumbing ---------------------------------------------------------------------------------
    def _write_timeout(self, size: int) -> float:
        return self.server.config.read_timeout + size / MIN_BODY_RATE

    def _send(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        self._responded = True
        self.connection.settimeout(self._write_timeout(len(body)))  # sendall's total limit for this answer
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _send_raw(self, status: int, body: bytes) -> None:
        """An answer outside a parsed request (header timeout): status line, JSON body, close."""
        from http import HTTPStatus
        head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {JSON_TYPE}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("latin-1")
        try:
            self.connection.settimeout(1.0)
            self.connection.sendall(head + body)
        except OSError:
            pass
        self._responded = True
        self.close_connection = True

    def _error(self, status: int, error_type: str, reason: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, _error_body(status, error_type, reason), JSON_TYPE, headers)

    def _drain(self) -> None:
        """Lingering close: the answer is sent; discard what the client still sends (at most
        :data:`LINGER_SECONDS`) so that closing does not reset the connection under its answer."""
        sock = self.connection
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            while (remaining := deadline - time.monotonic()) > 0:
                sock.settimeout(remaining)
                if not sock.recv(1 << 16):
                    break
        except OSError:
            pass

    # -- checks before the body -------------------------------------------------------------------
    def _body_framing(self) -> tuple[int, bool]:
        """(Content-Length or 0, chunked); :class:`_EarlyAnswer` 400 when the framing is unusable."""
        lengths = self.headers.get_all("Content-Length") or []
        encodings = self.headers.get_all("Transfer-Encoding") or []

        def bad(reason: str) -> _EarlyAnswer:
            return _EarlyAnswer(400, _error_body(400, "illegal_argument_exception", reason))

        if encodings:
            if lengths:
                raise bad("a request cannot have both Content-Length and Transfer-Encoding")
            if [e.strip().lower() for e in encodings] != ["chunked"]:
                raise bad(f"Transfer-Encoding [{', '.join(encodings)}] is not supported (only chunked)")
            return 0, True
        if not lengths:
            return 0, False
        values = {v.strip() for v in lengths}
        if len(values) != 1:
            raise bad(f"conflicting Content-Length headers {sorted(values)}")
        raw = values.pop()
        if not (raw.isascii() and raw.isdigit()):
            raise bad(f"invalid Content-Length [{raw[:40]}]: it must be a non-negative integer")
        return int(raw), False

    def _host_allowed(self) -> bool:
        if self.server.config.allow_remote:
            return True
        hosts = self.headers.get_all("Host") or []
        if not hosts:
            return self.request_version == "HTTP/1.0"  # HTTP/1.1 requires it; browsers always send it
        return len(hosts) == 1 and host_header_allowed(hosts[0], self.server.port)

    def _origin_allowed(self) -> bool:
        origins = self.headers.get_all("Origin") or []
        if not origins:
            return True
        if len(origins) != 1:
            return False
        origin = urlsplit(origins[0].strip())
        host = self.headers.get("Host")
        if origin.scheme != "http" or host is None or origin.path not in ("", "/") or origin.query:
            return False  # "null" (sandboxed or file:// pages), https pages, malformed values
        try:
            theirs = (origin.hostname, origin.port or 80)
        except ValueError:
            return False
        ours = split_host_port(host)
        if ours is None or theirs[0] is None:
            return False
        return (ours[0].lower(), ours[1] or 80) == (theirs[0].lower(), theirs[1])

    def _preflight(self) -> tuple[int, bool]:
        """Every check that needs no body (see the module doc for the order); raises
        :class:`_EarlyAnswer`. Returns the body's framing."""
        length, chunked = self._body_framing()
        if not self._host_allowed():
            raise _EarlyAnswer(403, _error_body(
                403, "security_exception",
                f"Host [{self.headers.get('Host', '')[:100]}] is not this server: the loopback server answers only "
                f"localhost, 127.0.0.1 or [::1] with port {self.server.port} (DNS rebinding protection; "
                f"--allow-remote lifts it)"))
        if not self._origin_allowed():
            raise _EarlyAnswer(403, _error_body(
                403, "security_exception",
                f"Origin [{self.headers.get('Origin', '')[:100]}] is not this server's own origin: browser requests "
                f"are accepted only from the page the server serves"))
        if not self.server.check_auth(self.headers.get("Authorization")):
            raise _EarlyAnswer(401, _error_body(
                401, "security_exception",
                f"missing or wrong authentication credentials for REST request [{self.path[:200]}]"),
                {"WWW-Authenticate": 'Basic realm="pinsearch" charset="UTF-8"'})
        if length or chunked:
            types = self.headers.get_all("Content-Type")
            if not types:
                raise _EarlyAnswer(406, orjson.dumps({"error": "Content-Type header is missing", "status": 406}))
            media = types[0].split(";", 1)[0].strip().lower()
            if len(types) != 1 or media not in BODY_TYPES:
                raise _EarlyAnswer(406, orjson.dumps(
                    {"error": f"Content-Type header [{','.join(types)}] is not supported", "status": 406}))
        limit = self.server.config.max_body_bytes
        if length > limit:
            raise _EarlyAnswer(413, _error_body(
                413, "content_too_long_exception",
                f"request body is {length} bytes, more than the limit of {limit} bytes"))
        return length, chunked

    # -- body -------------------------------------------------------------------------------------
    def _read_body(self, length: int, chunked: bool) -> bytes | None:
        """The request body (gunzipped when ``Content-Encoding: gzip``); None when there is none."""
        limit = self.server.config.max_body_bytes
        if chunked:
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(1026)
                size_text = line.split(b";", 1)[0].strip()
                if not line.endswith(b"\n") or not size_text or len(size_text) > 16 or \
                        not all(c in b"0123456789abcdefABCDEF" for c in size_text):
                    raise ValueError(f"invalid chunk size line {line[:40]!r}")
                n = int(size_text, 16)
                if n == 0:
                    for _ in range(100):  # trailer lines, up to the empty line
                        trailer = self.rfile.readline(8192)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    else:
                        raise ValueError("too many trailer lines")
                    break
                size += n
                if size > limit:
                    raise _TooLarge(size)
                data = self.rfile.read(n)
                if len(data) < n:
                    raise ValueError("the connection closed inside a chunk")
                chunks.append(data)
                self.rfile.readline(1024)
            raw = b"".join(chunks)
        else:
            raw = self.rfile.read(length) if length else b""
            if len(raw) < length:
                raise ValueError(f"the connection closed after {len(raw)} of {length} body bytes")
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
            length, chunked = self._preflight()
        except _EarlyAnswer as early:
            if "Transfer-Encoding" in self.headers or self.headers.get("Content-Length", "0").strip() != "0":
                self.close_connection = True  # the body stays unread: this connection cannot go on
                self._linger = True
            self._send(early.status, early.body, JSON_TYPE, early.headers)
            return
        if self._expect_continue and (length or chunked):
            self.send_response_only(100)
            self.end_headers()
        self.reader.begin("body")
        try:
            body = self._read_body(length, chunked)
        except TimeoutError:
            self.close_connection = True
            self.reader.timed_out = True
            self._error(408, "timeout_exception",
                        f"the request body did not arrive within the time limit "
                        f"({self.server.config.read_timeout:g}s + 1s per {MIN_BODY_RATE // 1024} KiB)")
            return
        except _TooLarge as exc:
            self.close_connection = True  # the unread remainder cannot be skipped safely
            self._linger = True
            self._error(413, "content_too_long_exception",
                        f"request body is {exc.size} bytes, more than the limit of "
                        f"{self.server.config.max_body_bytes} bytes")
            return
        except (ValueError, OSError, zlib.error, gzip.BadGzipFile) as exc:
            self.close_connection = True
            self._error(400, "parse_exception", f"could not read the request body: {exc}")
            return
        finally:
            self.reader.begin("handling")
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
        try:
            data = encode_response(response.body, self.server.config.max_response_bytes)
        except ResponseTooLarge as exc:
            self._response_too_large(exc)
            return
        self._send(response.status, data, response.content_type)

    def _response_too_large(self, exc: ResponseTooLarge) -> None:
        limit = self.server.config.max_response_bytes
        size = f"{exc.size} bytes" if exc.complete else f"at least {exc.size} bytes"
        reason = (f"the response would be {size}, above the limit of {limit} bytes "
                  f"({limit / (1 << 20):g} MiB, --max-response-mb): ask for fewer hits (size), fewer _source "
                  f"fields or fewer/shorter named queries (_name is echoed in every hit's matched_queries)")
        self._send(500, _error_body(500, "response_too_large_exception", reason,
                                    response_bytes=exc.size, limit_bytes=limit), JSON_TYPE)

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
                data = encode_response(payload, self.server.config.max_response_bytes)
                self._send(200, data, JSON_TYPE, {"Cache-Control": "no-store"})
            except ResponseTooLarge as exc:
                self._response_too_large(exc)
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
