"""localnode: an embedded, in-process engine that answers OpenSearch 2.19's REST API.

It is reached through the official ``opensearch-py`` client with
:class:`localnode.connection.LocalConnection`, so code written for a real cluster runs unchanged
against it. See ``pinsearch.connect``. Importing this package is cheap: submodules load on use.
"""

from typing import Any

__all__ = ["LocalConnection"]


def __getattr__(name: str) -> Any:
    if name == "LocalConnection":
        from localnode.connection import LocalConnection
        return LocalConnection
    raise AttributeError(name)
