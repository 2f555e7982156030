"""The opensearch-py ``Connection`` that serves requests from the in-process engine.

``opensearchpy.OpenSearch(connection_class=LocalConnection, data_path=...)`` gives the official
client, with its serializer, helpers and exceptions, talking to :mod:`localnode` instead of HTTP:
the connection decodes the URL and parameters exactly as an HTTP server would, and raises the
same client exceptions from the same status codes.
"""

from __future__ import annotations

import time
from typing import Any, Collection, Mapping
from urllib.parse import parse_qsl, urlsplit

from opensearchpy import Connection

from localnode.node import Node, open_node, release_node


class LocalConnection(Connection):
    def __init__(self, data_path: str = "./pinsearch-data", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_path = data_path
        self.node: Node = open_node(data_path)

    def perform_request(self, method: str, url: str, params: Mapping[str, Any] | None = None, body: Any = None,
                        timeout: float | None = None, ignore: Collection[int] = (),
                        headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        started = time.perf_counter()
        if "?" in url or "#" in url:
            split = urlsplit(url)
            path = split.path
            query: dict[str, str] = {k: v for k, v in parse_qsl(split.query, keep_blank_values=True)}
        else:   # opensearch-py passes parameters separately, so the URL is usually a bare path
            path, query = url, {}
        for key, value in (params or {}).items():
            if value is None:
                continue
            query[key] = value.decode() if isinstance(value, bytes) else (
                ("true" if value else "false") if isinstance(value, bool) else str(value))
        payload: bytes | None
        if body is None:
            payload = None
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = str(body).encode("utf-8")
        response = self.node.handle(method, path, query, payload)
        data = response.encode()
        duration = time.perf_counter() - started
        status = response.status
        if not (200 <= status < 300) and status not in ignore:
            self.log_request_fail(method, url, path, payload, duration, status, data)
            self._raise_error(status, data, response.content_type)
        self.log_request_success(method, url, path, payload, status, data, duration)
        return status, {"content-type": response.content_type}, data

    def close(self) -> None:
        node = getattr(self, "node", None)
        if node is not None:
            release_node(node)
            self.node = None  # type: ignore[assignment]

