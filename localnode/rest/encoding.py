"""Response bodies to JSON text, inside the node's error handler.

A response is encoded while the request is still being handled, so a body that cannot be written
(nesting orjson refuses -- deeper than 254 levels, as an error's ``caused_by`` chain of a deeply
nested query is -- or a number it cannot represent) never escapes as an exception after the
handler returned: it falls back to the standard library's writer, and if that fails too the answer
is a 500 in OpenSearch's shape, not a dropped connection.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson

from localnode.rest.router import RestResponse


def _plain(value: Any) -> Any:
    """numpy values as the JSON numbers and lists orjson would write for them."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode_text(body: Any) -> str:
    """``body`` as JSON text; raises ``ValueError``/``TypeError``/``RecursionError`` when it cannot be."""
    try:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_plain)


class EncodedResponse(RestResponse):
    """A response whose body has been written already (``encode()`` returns that text; ``body``
    stays the object, for in-process callers)."""
    __slots__ = ("text",)

    def __init__(self, response: RestResponse, text: str) -> None:
        super().__init__(response.status, response.body, response.content_type)
        self.text = text

    def encode(self) -> str:
        return self.text


def encoded(response: RestResponse, pretty: bool = False) -> RestResponse:
    """The same response with its body already written as text (indented for ``?pretty``, with
    the ``" : "`` separators of OpenSearch's pretty printer)."""
    if response.body is None or isinstance(response.body, str):
        return response
    if pretty:
        text = json.dumps(response.body, ensure_ascii=False, indent=2, separators=(",", " : "), default=_plain)
        return EncodedResponse(response, text + "\n")
    return EncodedResponse(response, encode_text(response.body))
