"""``pinsearch serve``: the embedded engine over HTTP and the search / Related Pins web page."""

from pinsearch.server.http import (PAGE_PREFIX, PinSearchServer, RemoteBindError, ServerConfig, is_loopback,
                                   start_server, stop_server, wait_until_ready)
from pinsearch.server.image_placeholder import placeholder_svg

__all__ = ["PAGE_PREFIX", "PinSearchServer", "RemoteBindError", "ServerConfig", "is_loopback", "placeholder_svg",
           "start_server", "stop_server", "wait_until_ready"]
