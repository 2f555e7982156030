"""``pinsearch cluster start|stop|status|logs``: a real OpenSearch 2.19 node on loopback, no Docker.

The node is assembled from Maven Central artifacts (core, HTTP, common analysis, painless,
mapper-extras, reindex and the k-NN plugin) and built once with Maven. Point any command at it
with ``--cluster http://127.0.0.1:9200``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pinsearch.commands.common import fail, option, print_json

DEFAULT_HOME = Path("pinsearch-cluster")

EXIT_NOT_RUNNING = 3
"""``status`` exit code when no node is up (0 when every node answers), for scripts."""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("cluster", parents=[common],
                              help="start, stop and inspect a real OpenSearch 2.19 node on loopback (no Docker)")
    actions = p.add_subparsers(dest="cluster_action", required=True, metavar="ACTION")

    home_help = f"directory for the nodes' config, data and logs (default ./{DEFAULT_HOME})"
    start = actions.add_parser("start", parents=[common], help="build once, start, wait until yellow")
    start.add_argument("--home", type=Path, default=DEFAULT_HOME, help=home_help)
    start.add_argument("--port", type=int, default=9200, help="HTTP port of the first node (default 9200)")
    start.add_argument("--transport-port", type=int, default=None,
                       help="transport port of the first node (default HTTP port + 100)")
    start.add_argument("--nodes", type=int, default=1, help="nodes to start on loopback (default 1)")
    start.add_argument("--heap", default="1g", help="JVM heap per node, e.g. 512m or 2g (default 1g)")
    start.add_argument("--wait", type=float, default=180.0, help="seconds to wait for yellow (default 180)")
    start.add_argument("--clean", action="store_true", help="delete the nodes' data before starting")
    start.set_defaults(handler=cmd_start)

    stop = actions.add_parser("stop", parents=[common], help="stop the nodes (their data is kept)")
    stop.add_argument("--home", type=Path, default=DEFAULT_HOME, help=home_help)
    stop.set_defaults(handler=cmd_stop)

    status = actions.add_parser("status", parents=[common],
                                help=f"is it running? (exit 0 when every node answers, {EXIT_NOT_RUNNING} if not)")
    status.add_argument("--home", type=Path, default=DEFAULT_HOME, help=home_help)
    status.set_defaults(handler=cmd_status)

    logs = actions.add_parser("logs", parents=[common], help="the last lines of each node's log")
    logs.add_argument("--home", type=Path, default=DEFAULT_HOME, help=home_help)
    logs.add_argument("-n", "--lines", type=int, default=50, help="lines per node (default 50)")
    logs.set_defaults(handler=cmd_logs)


def _say(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    quiet = option(args, "quiet", False) or option(args, "json", False)
    return (lambda _message: None) if quiet else (lambda message: print(message, file=sys.stderr))


def _print_state(state: Any, headline: str) -> None:
    print(headline)
    for node in state.nodes:
        up = "answering" if node.answering else ("process alive, not answering" if node.alive else "down")
        print(f"  {node.name}: pid {node.pid}, http 127.0.0.1:{node.http_port}, "
              f"transport {node.transport_port}, {up}; log {node.log}")
    if state.health:
        print(f"  health: {state.health}")
    for plugin, why in state.missing_plugins.items():
        print(f"  not available on this node: {why}")


def cmd_start(args: argparse.Namespace) -> int:
    from pinsearch.cluster import ClusterError, start_cluster
    try:
        state = start_cluster(args.home, nodes=args.nodes, port=args.port, transport_port=args.transport_port,
                              heap=args.heap, wait=args.wait, clean=args.clean, say=_say(args))
    except ClusterError as exc:
        raise fail(str(exc)) from None
    if option(args, "json", False):
        print_json(state.to_dict())
    elif not option(args, "quiet", False):
        verb = "already running" if state.already_running else "started"
        _print_state(state, f"OpenSearch {state.version} {verb}: {state.url} "
                            f"(use --cluster {state.url}; stop with `pinsearch cluster stop --home {args.home}`)")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from pinsearch.cluster import stop_cluster
    state = stop_cluster(args.home)
    if option(args, "json", False):
        print_json({"stopped": state is not None, "home": str(args.home.resolve())})
    elif not option(args, "quiet", False):
        print(f"stopped the nodes of {args.home}" if state is not None else f"no cluster was started from {args.home}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from pinsearch.cluster import cluster_status
    state = cluster_status(args.home.resolve())
    if option(args, "json", False):
        print_json(state.to_dict() if state else {"running": False, "home": str(args.home.resolve())})
    elif state is None:
        print(f"no cluster was started from {args.home} (start one with `pinsearch cluster start`)")
    else:
        _print_state(state, f"OpenSearch {state.version} at {state.url}: "
                            + ("running" if state.running else "not running"))
    return 0 if state is not None and state.running else EXIT_NOT_RUNNING


def cmd_logs(args: argparse.Namespace) -> int:
    from pinsearch.cluster import cluster_logs
    found = False
    for name, path, text in cluster_logs(args.home, args.lines):
        found = True
        print(f"==> {name}: {path} <==\n{text}")
    if not found:
        raise fail(f"no node logs under {args.home}")
    return 0
