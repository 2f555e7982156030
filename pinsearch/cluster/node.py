"""Build, start, watch and stop real OpenSearch nodes on loopback.

The launcher (``launcher/``: a ``pom.xml`` and a small ``org.opensearch.node.Node`` subclass) is
copied to a build directory keyed by the digest of its sources and built once with Maven; Maven's
local repository caches the OpenSearch jars, so later builds and starts need no network. Each node
runs in its own JVM with its own home (``HOME/node-I``: config, data, logs) and writes its console
to ``HOME/node-I/node.log``; ``HOME/cluster.json`` records the pids and ports so that ``stop``,
``status`` and ``logs`` work from any later process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OPENSEARCH_VERSION = "2.19.1"
"""The OpenSearch core the launcher runs; it matches the newest k-NN plugin zip of the 2.19 line
on Maven Central (2.19.1.0). Kept in step with ``launcher/pom.xml`` by a test."""

KNN_PLUGIN_VERSION = "2.19.1.0"
LAUNCHER_CLASS = "org.pinsearch.node.Launcher"
STATE_FILE = "cluster.json"
MIN_JAVA = 17

LAUNCHER_SOURCE = Path(__file__).resolve().parent / "launcher"

MISSING_PLUGINS: dict[str, str] = {
    "ltr": ("the Learning to Rank plugin: Maven Central serves no build of it (org.opensearch:ltr, "
            "2.19.x and 3.x, looked up 2026-12), so this node has no _ltr endpoints, sltr query or "
            "ltr_log; pinsearch skips its LTR steps against this node and says so"),
}
"""Plugins a full OpenSearch 2.19 distribution has that this node cannot load, and why."""


class ClusterError(Exception):
    """Starting, stopping or reading a local node failed; the message says why and what to do."""


@dataclass
class NodeState:
    """One node's process, ports and where it logs, as recorded at start and checked now."""

    name: str
    pid: int
    http_port: int
    transport_port: int
    home: str
    log: str
    alive: bool = False
    answering: bool = False


@dataclass
class ClusterState:
    """What ``status`` reports: the nodes, the URL to pass to ``--cluster`` and the health."""

    home: str
    url: str
    version: str
    heap: str
    nodes: list[NodeState] = field(default_factory=list)
    health: str | None = None
    missing_plugins: dict[str, str] = field(default_factory=lambda: dict(MISSING_PLUGINS))
    already_running: bool = False

    @property
    def running(self) -> bool:
        return bool(self.nodes) and all(node.alive and node.answering for node in self.nodes)

    def to_dict(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["running"] = self.running
        return payload


# -- tools -------------------------------------------------------------------------------------------
def find_java() -> str:
    """The ``java`` of ``JAVA_HOME`` or the PATH, checked to be Java 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ClusterError("no Java found (set JAVA_HOME or put java on the PATH; OpenSearch 2.19 needs "
                           f"Java {MIN_JAVA}+, e.g. `apt-get install openjdk-17-jdk-headless`)")
    probe = subprocess.run([java, "-XshowSettings:properties", "-version"], capture_output=True, text=True,
                           check=False)
    match = re.search(r"java\.specification\.version = (\d+)", probe.stderr)
    if not match:
        raise ClusterError(f"could not read the version of {java}: {probe.stderr.strip()[:200]}")
    if int(match.group(1)) < MIN_JAVA:
        raise ClusterError(f"{java} is Java {match.group(1)}; the launcher needs Java {MIN_JAVA}+ "
                           "(set JAVA_HOME to a newer JDK)")
    return java


def find_maven() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise ClusterError("Maven is needed once to fetch OpenSearch from Maven Central and build the launcher "
                           "(`apt-get install maven`)")
    return mvn


def default_build_root() -> Path:
    """Where launcher builds live: ``$PINSEARCH_CLUSTER_BUILD``, else the user's cache directory."""
    explicit = os.environ.get("PINSEARCH_CLUSTER_BUILD")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "pinsearch" / "opensearch-node"


def _launcher_files() -> list[Path]:
    return sorted(path for path in LAUNCHER_SOURCE.rglob("*")
                  if path.is_file() and "target" not in path.relative_to(LAUNCHER_SOURCE).parts)


def launcher_digest() -> str:
    digest = hashlib.sha256()
    for path in _launcher_files():
        digest.update(str(path.relative_to(LAUNCHER_SOURCE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_launcher(build_root: Path | None = None, *, say: Callable[[str], None] = lambda _: None) -> str:
    """Build the launcher once per source digest and return the JVM classpath.

    The first build downloads OpenSearch's jars (about 100 MB) into Maven's local repository;
    later builds of the same sources return at once.
    """
    build_dir = (build_root or default_build_root()) / launcher_digest()
    target = build_dir / "target"
    stamp = build_dir / "built.ok"
    if not stamp.exists():
        mvn = find_maven()
        find_java()
        if build_dir.exists():
            shutil.rmtree(build_dir)
        build_dir.mkdir(parents=True)
        for path in _launcher_files():
            destination = build_dir / path.relative_to(LAUNCHER_SOURCE)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
        say(f"building the OpenSearch {OPENSEARCH_VERSION} launcher with Maven in {build_dir} "
            "(the first build downloads about 100 MB of jars from Maven Central)")
        started = time.monotonic()
        log = build_dir / "build.log"
        with log.open("w") as out:
            result = subprocess.run([mvn, "-B", "-f", str(build_dir / "pom.xml"), "package", "-DskipTests"],
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise ClusterError(f"the Maven build of the launcher failed (exit {result.returncode}); "
                               f"full log: {log}\n{tail}")
        stamp.write_text(f"{time.time()}\n")
        say(f"launcher built in {time.monotonic() - started:.0f}s")
    jars = [target / "opensearch-node-1.jar", target / "lib" / "*", target / "knn" / "*"]
    return os.pathsep.join(str(jar) for jar in jars)


# -- state -------------------------------------------------------------------------------------------
def _pid_is_launcher(pid: int) -> bool:
    """True when ``pid`` is alive and is one of our JVMs (a recycled pid is not ours to signal)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc: trust the pid
    return LAUNCHER_CLASS.encode() in cmdline


def _get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback URL we built)
        return json.loads(response.read())


def _read_state(home: Path) -> ClusterState | None:
    path = home / STATE_FILE
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    nodes = [NodeState(**node) for node in raw.pop("nodes")]
    raw.pop("running", None)
    raw.pop("health", None)
    raw.pop("missing_plugins", None)
    raw.pop("already_running", None)
    return ClusterState(nodes=nodes, **raw)


def _write_state(home: Path, state: ClusterState) -> None:
    payload = state.to_dict()
    for node in payload["nodes"]:
        node["alive"] = node["answering"] = False
    tmp = home / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(home / STATE_FILE)


def _refresh(state: ClusterState) -> ClusterState:
    for node in state.nodes:
        node.alive = _pid_is_launcher(node.pid)
        node.answering = False
        if node.alive:
            try:
                _get_json(f"http://127.0.0.1:{node.http_port}/")
                node.answering = True
            except (OSError, ValueError):
                pass
    state.health = None
    for node in state.nodes:
        if node.answering:
            try:
                state.health = _get_json(f"http://127.0.0.1:{node.http_port}/_cluster/health")["status"]
                break
            except (OSError, ValueError, KeyError):
                continue
    return state


def cluster_status(home: Path) -> ClusterState | None:
    """The recorded cluster with each node checked now, or None when none was started in ``home``."""
    state = _read_state(home)
    return _refresh(state) if state else None


# -- start / stop ------------------------------------------------------------------------------------
def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _node_settings(index: int, nodes: int, home: Path, http_port: int, transport_ports: list[int]) -> dict[str, str]:
    settings = {
        "cluster.name": "pinsearch",
        "node.name": f"node-{index}",
        "path.home": str(home),
        "network.host": "127.0.0.1",
        "http.port": str(http_port),
        "transport.port": str(transport_ports[index]),
        # A development node on a shared disk: the flood-stage watermark would turn every index
        # read-only on a nearly full laptop disk, which says nothing about the engine.
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }
    if nodes == 1:
        settings["discovery.type"] = "single-node"
    else:
        settings["discovery.seed_hosts"] = ",".join(f"127.0.0.1:{port}" for port in transport_ports)
        settings["cluster.initial_cluster_manager_nodes"] = ",".join(f"node-{i}" for i in range(nodes))
    return settings


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_cluster(home: Path, *, nodes: int = 1, port: int = 9200, transport_port: int | None = None,
                  heap: str = "1g", wait: float = 180.0, clean: bool = False, build_root: Path | None = None,
                  say: Callable[[str], None] = lambda _: None) -> ClusterState:
    """Start ``nodes`` JVMs on loopback and wait until the cluster is at least yellow.

    HTTP ports are ``port``, ``port+1``, ...; transport ports ``transport_port`` (default
    ``port+100``), ... A cluster already running from ``home`` is returned as it is; ``clean``
    wipes the data of a stopped one first.
    """
    if nodes < 1:
        raise ClusterError(f"--nodes must be at least 1 (got {nodes})")
    if not re.fullmatch(r"\d+[kmgKMG]?", heap):
        raise ClusterError(f"--heap [{heap}] is not a JVM size such as 512m or 2g")
    home = home.resolve()
    existing = cluster_status(home)
    if existing and any(node.alive for node in existing.nodes):
        if existing.running and len(existing.nodes) == nodes:
            existing.already_running = True
            return existing
        raise ClusterError(f"a cluster from {home} is partly running ({_describe(existing)}); "
                           "run `pinsearch cluster stop` first")
    java = find_java()
    classpath = build_launcher(build_root, say=say)
    first_transport = transport_port if transport_port is not None else port + 100
    http_ports = [port + i for i in range(nodes)]
    transport_ports = [first_transport + i for i in range(nodes)]
    busy = [p for p in http_ports + transport_ports if not _port_free(p)]
    if busy:
        raise ClusterError(f"port(s) {', '.join(map(str, busy))} on 127.0.0.1 are in use "
                           "(pick others with --port / --transport-port)")
    home.mkdir(parents=True, exist_ok=True)
    state = ClusterState(home=str(home), url=f"http://127.0.0.1:{port}", version=OPENSEARCH_VERSION, heap=heap)
    processes: list[subprocess.Popen[bytes]] = []
    for index in range(nodes):
        node_home = home / f"node-{index}"
        if clean and node_home.exists():
            shutil.rmtree(node_home)
        (node_home / "config").mkdir(parents=True, exist_ok=True)
        log = node_home / "node.log"
        settings = _node_settings(index, nodes, node_home, http_ports[index], transport_ports)
        command = [java, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                   "-Dlog4j2.disable.jmx=true", "-XX:-OmitStackTraceInFastThrow",
                   "-cp", classpath, LAUNCHER_CLASS, *(f"-E{key}={value}" for key, value in settings.items())]
        with log.open("ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       cwd=node_home, start_new_session=True)
        processes.append(process)
        state.nodes.append(NodeState(name=f"node-{index}", pid=process.pid, http_port=http_ports[index],
                                     transport_port=transport_ports[index], home=str(node_home), log=str(log)))
    _write_state(home, state)
    say(f"starting {nodes} OpenSearch {OPENSEARCH_VERSION} node(s) from {home}")
    try:
        _wait_until_ready(state, processes, wait)
    except ClusterError:
        _terminate([node.pid for node in state.nodes], grace=10.0)
        (home / STATE_FILE).unlink(missing_ok=True)
        raise
    return _refresh(state)


def _wait_until_ready(state: ClusterState, processes: list[subprocess.Popen[bytes]], wait: float) -> None:
    deadline = time.monotonic() + wait
    health_url = (f"http://127.0.0.1:{state.nodes[0].http_port}/_cluster/health"
                  f"?wait_for_status=yellow&wait_for_nodes={len(state.nodes)}&timeout=1s")
    while True:
        for node, process in zip(state.nodes, processes):
            if process.poll() is not None:
                raise ClusterError(f"{node.name} exited with status {process.returncode} while starting; "
                                   f"last lines of {node.log}:\n{_tail(Path(node.log), 15)}")
        try:
            health = _get_json(health_url, timeout=5.0)
            if not health.get("timed_out") and health.get("status") in ("yellow", "green"):
                return
        except urllib.error.HTTPError as exc:  # 408 while waiting for yellow
            if exc.code != 408:
                raise ClusterError(f"{health_url} answered {exc.code} while starting") from None
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise ClusterError(f"the cluster did not reach yellow within {wait:.0f}s; last lines of "
                               f"{state.nodes[0].log}:\n{_tail(Path(state.nodes[0].log), 15)}")
        time.sleep(0.5)


def _terminate(pids: list[int], grace: float) -> list[int]:
    """SIGTERM our JVMs (the launcher closes the node cleanly), SIGKILL any still alive after ``grace``."""
    ours = [pid for pid in pids if _pid_is_launcher(pid)]
    for pid in ours:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_pid_is_launcher(pid) for pid in ours):
        _reap(ours)
        time.sleep(0.2)
    killed = []
    for pid in ours:
        if _pid_is_launcher(pid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
    _reap(ours)
    return killed


def _reap(pids: list[int]) -> None:
    """Collect exit statuses of our own children so that they do not linger as zombies."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def stop_cluster(home: Path, *, grace: float = 30.0) -> ClusterState | None:
    """Stop the nodes started from ``home`` (data is kept); None when nothing was started there."""
    home = home.resolve()
    state = _read_state(home)
    if state is None:
        return None
    _terminate([node.pid for node in state.nodes], grace=grace)
    (home / STATE_FILE).unlink(missing_ok=True)
    return _refresh(state)


def cluster_logs(home: Path, lines: int = 50) -> Iterator[tuple[str, str, str]]:
    """``(node name, log path, last lines)`` for each node recorded in ``home``."""
    home = home.resolve()
    state = _read_state(home)
    if state is not None:
        for node in state.nodes:
            yield node.name, node.log, _tail(Path(node.log), lines)
        return
    for log in sorted(home.glob("node-*/node.log")):
        yield log.parent.name, str(log), _tail(log, lines)


def _describe(state: ClusterState) -> str:
    return ", ".join(f"{node.name} pid {node.pid} {'up' if node.alive else 'down'}" for node in state.nodes)
