"""Is the Learning to Rank plugin there? Asked once before any LTR work, so that a cluster without
it gets one clear sentence instead of an error from deep inside feature-set upload.

OpenSearch distributions ship the plugin from 2.19 on; a node assembled from Maven Central (as
``pinsearch cluster start`` does) cannot have it, because no build of it is published there.
"""

from __future__ import annotations

from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError


class LtrPluginMissing(RuntimeError):
    """The cluster answers, but not the LTR plugin's ``/_ltr`` endpoints."""


def ltr_plugin_missing(client: OpenSearch) -> str | None:
    """Why LTR cannot run on this cluster, or None when the plugin answers ``GET /_ltr``.

    Without the plugin, OpenSearch reads ``/_ltr`` as an index name and refuses it
    (``invalid_index_name_exception``); with it, the answer lists the feature stores.
    """
    try:
        answer = client.transport.perform_request("GET", "/_ltr")
    except TransportError as exc:
        error = exc.error if isinstance(exc.error, str) else str(exc.error)
        return (f"the cluster has no Learning to Rank plugin (GET /_ltr answered {exc.status_code} {error}); "
                "install it (it is part of OpenSearch distributions from 2.19 on) to train, upload and apply "
                "LTR models")
    if not isinstance(answer, dict) or "stores" not in answer:
        return f"GET /_ltr answered {str(answer)[:200]!r}, not the Learning to Rank plugin's store list"
    return None


def require_ltr_plugin(client: OpenSearch) -> None:
    """Raise :class:`LtrPluginMissing` with the reason when the plugin is absent."""
    reason = ltr_plugin_missing(client)
    if reason is not None:
        raise LtrPluginMissing(reason)
