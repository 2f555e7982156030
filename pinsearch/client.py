"""Building the OpenSearch client for a cluster URL: ``embedded://PATH`` or ``http(s)://host:port``.

Everything in pinsearch talks to an ``opensearchpy.OpenSearch``; only this function knows whether
requests go to the in-process engine or over HTTP to a real cluster.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

import orjson
from opensearchpy import OpenSearch
from opensearchpy.serializer import JSONSerializer

DEFAULT_CLUSTER = "embedded://./pinsearch-data"


class ClusterURLError(ValueError):
    pass


class FastJSONSerializer(JSONSerializer):
    """orjson for request and response bodies: bulk loads spend most client time serialising."""

    def dumps(self, data: object) -> str:
        if isinstance(data, str):
            return data
        try:
            return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            return super().dumps(data)

    def loads(self, s: str) -> object:
        return orjson.loads(s)


def connect(url: str = DEFAULT_CLUSTER, *, timeout: float = 60.0) -> OpenSearch:
    """An opensearch-py client for ``url``.

    ``embedded://PATH``: the in-process engine on data directory PATH (created if missing; relative
    paths are relative to the working directory; clients on the same PATH in one process share one
    engine). ``http://`` / ``https://``: a real OpenSearch 2.19+ cluster; credentials come from the
    URL (``https://user:pass@host:9200``) or from ``OPENSEARCH_USERNAME`` / ``OPENSEARCH_PASSWORD``;
    ``OPENSEARCH_VERIFY_CERTS=false`` disables certificate checks for self-signed test clusters.
    """
    if url.startswith("embedded://"):
        from localnode.connection import LocalConnection
        path = url[len("embedded://"):]
        if not path:
            raise ClusterURLError("embedded:// needs a data directory, e.g. embedded://./pinsearch-data")
        return OpenSearch(hosts=[{"host": "localnode", "port": 0}], connection_class=LocalConnection,
                          data_path=os.path.abspath(path), max_retries=0, timeout=timeout,
                          serializer=FastJSONSerializer())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClusterURLError(
            f"cluster URL [{url}] is neither embedded://PATH nor http(s)://HOST[:PORT]")
    user = unquote(parts.username) if parts.username else os.environ.get("OPENSEARCH_USERNAME")
    password = unquote(parts.password) if parts.password else os.environ.get("OPENSEARCH_PASSWORD")
    verify = os.environ.get("OPENSEARCH_VERIFY_CERTS", "true").lower() != "false"
    host = {"host": parts.hostname, "port": parts.port or (443 if parts.scheme == "https" else 9200)}
    if parts.path and parts.path != "/":
        host["url_prefix"] = parts.path
    return OpenSearch(hosts=[host], use_ssl=parts.scheme == "https", verify_certs=verify,
                      ssl_show_warn=verify, http_auth=(user, password) if user else None,
                      timeout=timeout, max_retries=3, retry_on_timeout=True, http_compress=True,
                      serializer=FastJSONSerializer())


def close(client: OpenSearch) -> None:
    """Release the client's connections (for the embedded engine: flush and unlock when last)."""
    client.transport.close()
