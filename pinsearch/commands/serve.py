"""``pinsearch serve``: the embedded engine's REST API and the web page over HTTP.

The data directory comes from ``--data``, else from an ``embedded://PATH`` ``--cluster``, else
``./pinsearch-data``. Binds to 127.0.0.1 unless ``--allow-remote``; stops on SIGINT/SIGTERM after the
in-flight requests, closing the node (which flushes the write-ahead log). The basic-auth password
comes from ``--password-file``, ``$PINSEARCH_PASSWORD`` or (with a warning: ``ps`` shows it to every
user) ``--password``. The limits (read/idle timeouts, body and response sizes, connections, backlog)
are described in :mod:`pinsearch.server.http`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from pinsearch.commands.options import add_cache_option
from pinsearch.commands.common import fail, option


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("serve", parents=[common],
                              help="serve the embedded engine over HTTP (OpenSearch REST API) and the web page")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=9200, help="port (default 9200; 0 picks a free one)")
    p.add_argument("--data", default=None, help="data directory of the embedded engine (default: from --cluster "
                                                "embedded://PATH, else ./pinsearch-data)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow binding to a non-loopback address (no TLS: use --user/--password)")
    p.add_argument("--user", default=None, help="require HTTP basic auth with this user (password: --password-file "
                                                "or the PINSEARCH_PASSWORD environment variable)")
    p.add_argument("--password-file", default=None, metavar="FILE",
                   help="file holding the password for --user (its first line; a trailing newline is ignored)")
    p.add_argument("--password", default=None,
                   help="password for --user on the command line: works, but every user of the machine sees it in "
                        "the process list (a warning says so); prefer --password-file or PINSEARCH_PASSWORD")
    p.add_argument("--max-body-mb", type=float, default=100.0, help="request size limit in MiB (413 above)")
    p.add_argument("--max-response-mb", type=float, default=200.0,
                   help="response size limit in MiB: a larger answer is replaced by a 500 error (default 200)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request before a 504")
    p.add_argument("--read-timeout", type=float, default=30.0,
                   help="seconds for a client to send a request's headers, and its body (+1 s per 64 KiB); "
                        "slower clients get 408 and are disconnected (default 30)")
    p.add_argument("--idle-timeout", type=float, default=120.0,
                   help="seconds an idle keep-alive connection stays open (default 120)")
    p.add_argument("--workers", type=int, default=16, help="engine requests in flight at once")
    p.add_argument("--max-connections", type=int, default=1024,
                   help="open connections served at once (one thread each; more wait in the listen backlog, "
                        "and idle keep-alive connections give way to them); default 1024")
    p.add_argument("--backlog", type=int, default=1024,
                   help="listen backlog: connections the kernel queues before accept (default 1024, capped by "
                        "net.core.somaxconn)")
    add_cache_option(p, "the signal cache `pinsearch reindex` wrote (the demo's is ./pinsearch-demo/cache): its "
                        "models give the page's searches the query annotations and interests the LTR model was "
                        "trained with", default=None)
    p.set_defaults(handler=cmd_serve)


def data_path_for(args: argparse.Namespace) -> str:
    if getattr(args, "data", None):
        return args.data
    cluster = option(args, "cluster", None)
    if cluster is None:
        return "./pinsearch-data"
    if not cluster.startswith("embedded://"):
        raise fail(f"serve runs the embedded engine; --cluster [{cluster}] is not embedded://PATH (use --data)")
    return cluster[len("embedded://"):]


def cache_dir_for(args: argparse.Namespace) -> str | None:
    """``--cache``, else ``./.pinsearch-cache`` if present (reindex's default), else none (BM25-only first pass)."""
    cache = getattr(args, "cache", None)
    if cache is not None:
        if not Path(cache).is_dir():
            raise fail(f"--cache [{cache}] is not a directory (the signal cache written by `pinsearch reindex`)")
        return str(cache)
    return ".pinsearch-cache" if Path(".pinsearch-cache").is_dir() else None


PASSWORD_ENV = "PINSEARCH_PASSWORD"


def password_for(args: argparse.Namespace) -> str | None:
    """The basic-auth password: ``--password-file``, else ``--password`` (with a warning: the
    process list shows it), else ``$PINSEARCH_PASSWORD`` when ``--user`` is given."""
    password_file = getattr(args, "password_file", None)
    if password_file is not None and args.password is not None:
        raise fail("give one of --password-file and --password")
    if password_file is not None:
        try:
            text = Path(password_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read --password-file [{password_file}]: {getattr(exc, 'strerror', None) or exc}") \
                from None
        password = text.splitlines()[0] if text.strip("\r\n") else ""
        if not password:
            raise fail(f"--password-file [{password_file}] is empty")
        return password
    if args.password is not None:
        print("WARNING: --password on the command line is visible to every user of this machine in the process "
              f"list; use --password-file FILE or the {PASSWORD_ENV} environment variable", file=sys.stderr)
        return str(args.password)
    if args.user is not None:
        return os.environ.get(PASSWORD_ENV) or None
    return None


def build_config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pinsearch.server import ServerConfig
    password = password_for(args)
    if args.user is None and password is not None:
        raise fail("--password/--password-file need --user")
    if args.user is not None and password is None:
        raise fail(f"--user needs a password: --password-file FILE or the {PASSWORD_ENV} environment variable "
                   f"(or --password, visible in the process list)")
    for name in ("timeout", "read_timeout", "idle_timeout", "max_body_mb", "max_response_mb"):
        if getattr(args, name) <= 0:
            raise fail(f"--{name.replace('_', '-')} must be positive")
    for name in ("workers", "max_connections", "backlog"):
        if getattr(args, name) < 1:
            raise fail(f"--{name.replace('_', '-')} must be at least 1")
    return ServerConfig(data_path=data_path_for(args), host=args.host, port=args.port,
                        allow_remote=args.allow_remote, user=args.user, password=password,
                        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
                        max_response_bytes=int(args.max_response_mb * 1024 * 1024), request_timeout=args.timeout,
                        read_timeout=args.read_timeout, socket_timeout=args.idle_timeout, workers=args.workers,
                        max_connections=args.max_connections, backlog=args.backlog, cache_dir=cache_dir_for(args))


def cmd_serve(args: argparse.Namespace) -> int:
    from pinsearch.server import PinSearchServer, RemoteBindError, is_loopback
    config = build_config(args)
    try:
        server = PinSearchServer(config)
    except RemoteBindError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
    if not is_loopback(config.host):
        print(f"WARNING: pinsearch is listening on {config.host}, reachable from other machines, without TLS"
              + ("" if config.user else " and WITHOUT authentication"), file=sys.stderr)

    def stop(signum: int, _frame: Any) -> None:  # shutdown() blocks until serve_forever returns: not on its thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    info = {"url": server.url, "page": server.url + "/_pinsearch/", "data": str(server.node.data_path),
            "auth": bool(config.user)}
    if option(args, "json", False):  # one line, flushed: a supervisor reads it while the server runs
        print(json.dumps(info), flush=True)
    elif not option(args, "quiet", False):
        print(f"pinsearch serving {info['data']} at {info['url']}  (web page: {info['page']}; Ctrl-C to stop)",
              flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not option(args, "quiet", False) and not option(args, "json", False):
        print("pinsearch serve: stopped, data flushed", flush=True)
    return 0
