"""``pinsearch cluster``: the launcher's sources, node settings, state handling and (where a real node
can run, i.e. when ``PINSEARCH_TEST_CLUSTER`` is set) a two-node cluster started and stopped."""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.request
from pathlib import Path

import pytest

from pinsearch.cli import main
from pinsearch.cluster import node as cluster_node
from pinsearch.cluster.node import (KNN_PLUGIN_VERSION, LAUNCHER_SOURCE, OPENSEARCH_VERSION, ClusterError,
                                    _node_settings, cluster_status, start_cluster, stop_cluster)


def test_versions_match_the_pom() -> None:
    pom = (LAUNCHER_SOURCE / "pom.xml").read_text()
    assert f"<opensearch.version>{OPENSEARCH_VERSION}</opensearch.version>" in pom
    assert f"<knn.version>{KNN_PLUGIN_VERSION}</knn.version>" in pom
    assert KNN_PLUGIN_VERSION.startswith(OPENSEARCH_VERSION + "."), "the k-NN plugin must match the core"


def test_launcher_loads_every_plugin_the_index_needs() -> None:
    source = (LAUNCHER_SOURCE / "src/main/java/org/pinsearch/node/Launcher.java").read_text()
    for plugin in ("Netty4Plugin", "CommonAnalysisPlugin", "PainlessPlugin", "MapperExtrasPlugin",
                   "ReindexPlugin", "NativeEngineGuard", "org.opensearch.knn.plugin.KNNPlugin"):
        assert plugin in source


def test_launcher_digest_changes_with_the_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "launcher"
    copy.mkdir()
    (copy / "pom.xml").write_text((LAUNCHER_SOURCE / "pom.xml").read_text())
    monkeypatch.setattr(cluster_node, "LAUNCHER_SOURCE", copy)
    before = cluster_node.launcher_digest()
    (copy / "pom.xml").write_text((LAUNCHER_SOURCE / "pom.xml").read_text() + "<!-- changed -->")
    assert cluster_node.launcher_digest() != before


def test_single_node_and_cluster_settings(tmp_path: Path) -> None:
    single = _node_settings(0, 1, tmp_path, 9200, [9300])
    assert single["discovery.type"] == "single-node"
    assert single["network.host"] == "127.0.0.1" and single["http.port"] == "9200"
    three = [_node_settings(i, 3, tmp_path, 9200 + i, [9300, 9301, 9302]) for i in range(3)]
    for i, settings in enumerate(three):
        assert "discovery.type" not in settings
        assert settings["discovery.seed_hosts"] == "127.0.0.1:9300,127.0.0.1:9301,127.0.0.1:9302"
        assert settings["cluster.initial_cluster_manager_nodes"] == "node-0,node-1,node-2"
        assert settings["node.name"] == f"node-{i}" and settings["transport.port"] == str(9300 + i)


def test_start_refuses_a_busy_port_before_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster_node, "find_java", lambda: "java")
    monkeypatch.setattr(cluster_node, "build_launcher", lambda *a, **k: "classpath")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ClusterError, match=f"port\\(s\\) {port}"):
            start_cluster(tmp_path / "home", port=port, transport_port=port + 1 if port < 65535 else 1)


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="--nodes"):
        start_cluster(tmp_path, nodes=0)
    with pytest.raises(ClusterError, match="--heap"):
        start_cluster(tmp_path, heap="lots")


def test_status_and_stop_without_a_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cluster_status(tmp_path) is None
    assert stop_cluster(tmp_path) is None
    assert main(["cluster", "status", "--home", str(tmp_path)]) == 3
    assert "no cluster was started" in capsys.readouterr().out
    assert main(["cluster", "logs", "--home", str(tmp_path)]) == 1


def test_a_recycled_pid_is_never_signalled(tmp_path: Path) -> None:
    """The state file names a pid that is alive but is not a launcher (this test process)."""
    state = {"home": str(tmp_path), "url": "http://127.0.0.1:1", "version": OPENSEARCH_VERSION, "heap": "1g",
             "nodes": [{"name": "node-0", "pid": os.getpid(), "http_port": 1, "transport_port": 2,
                        "home": str(tmp_path), "log": str(tmp_path / "node.log")}]}
    (tmp_path / "cluster.json").write_text(json.dumps(state))
    status = cluster_status(tmp_path)
    assert status is not None and not status.nodes[0].alive
    stop_cluster(tmp_path, grace=0.1)  # must not SIGTERM this process
    assert not (tmp_path / "cluster.json").exists()


@pytest.mark.skipif(not os.environ.get("PINSEARCH_TEST_CLUSTER"),
                    reason="starts real OpenSearch nodes: runs where PINSEARCH_TEST_CLUSTER is set (CI), "
                           "since that machine has Java and the launcher built")
def test_two_node_cluster_on_loopback(tmp_path: Path) -> None:
    base = _free_port_block()
    state = start_cluster(tmp_path / "two", nodes=2, port=base, transport_port=base + 10, heap="384m", wait=240)
    try:
        assert state.running and len(state.nodes) == 2
        with urllib.request.urlopen(f"http://127.0.0.1:{base + 1}/_cat/nodes?h=name&format=json", timeout=10) as r:
            names = sorted(row["name"] for row in json.loads(r.read()))
        assert names == ["node-0", "node-1"]
        again = start_cluster(tmp_path / "two", nodes=2, port=base, transport_port=base + 10, heap="384m")
        assert again.already_running
    finally:
        stop_cluster(tmp_path / "two")
    after = cluster_status(tmp_path / "two")
    assert after is None
    log = (tmp_path / "two" / "node-0" / "node.log").read_text()
    assert re.search(r"pinsearch-node started: node-0", log)


def _free_port_block() -> int:
    """A base port whose HTTP pair (base, base+1) and transport pair (base+10, base+11) are free, below
    the kernel's ephemeral range so that client connections cannot take them meanwhile."""
    import random
    from pinsearch.cluster.node import _port_free
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000)
        if all(_port_free(p) for p in (base, base + 1, base + 10, base + 11)):
            return base
    raise AssertionError("no free block of loopback ports between 20000 and 32000")
