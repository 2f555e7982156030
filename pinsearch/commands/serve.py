"""``pinsearch serve``: the embedded engine's REST API and the web page over HTTP.

The data directory comes from ``--data``, else from an ``embedded://PATH`` ``--cluster``, else
``./pinsearch-data``. Binds to 127.0.0.1 unless ``--allow-remote``; stops on SIGINT/SIGTERM after the
in-flight requests, closing the node (which flushes the write-ahead log).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

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
    p.add_argument("--user", default=None, help="require HTTP basic auth with this user")
    p.add_argument("--password", default=None, help="password for --user")
    p.add_argument("--max-body-mb", type=float, default=100.0, help="request size limit in MiB (413 above)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request before a 504")
    p.add_argument("--workers", type=int, default=16, help="engine requests in flight at once")
    p.add_argument("--cache", default=None,
                   help="the signal cache `pinsearch reindex` wrote (default ./.pinsearch-cache when it exists; "
                        "the demo's is ./pinsearch-demo/cache): its models give the page's searches the query "
                        "annotations and interests the LTR model was trained with")
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


def build_config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pinsearch.server import ServerConfig
    if (args.user is None) != (args.password is None):
        raise fail("--user and --password go together")
    return ServerConfig(data_path=data_path_for(args), host=args.host, port=args.port,
                        allow_remote=args.allow_remote, user=args.user, password=args.password,
                        max_body_bytes=int(args.max_body_mb * 1024 * 1024), request_timeout=args.timeout,
                        workers=args.workers, cache_dir=cache_dir_for(args))


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
