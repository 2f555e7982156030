"""A real OpenSearch 2.19 node (or a small loopback cluster) built from Maven Central artifacts.

It is the oracle the embedded engine is compared against and the target of ``--cluster`` on a
machine without Docker. ``launcher/`` holds the Java launcher and its ``pom.xml``; this package
builds it with Maven, starts, watches and stops the JVMs.
"""

from pinsearch.cluster.node import (
    ClusterError,
    ClusterState,
    NodeState,
    build_launcher,
    cluster_logs,
    cluster_status,
    start_cluster,
    stop_cluster,
)

__all__ = [
    "ClusterError",
    "ClusterState",
    "NodeState",
    "build_launcher",
    "cluster_logs",
    "cluster_status",
    "start_cluster",
    "stop_cluster",
]
