"""pinsearch: Pinterest-style content understanding and ranking for OpenSearch, with an embedded engine."""

from pinsearch.client import DEFAULT_CLUSTER, close, connect

__all__ = ["DEFAULT_CLUSTER", "close", "connect"]
__version__ = "0.1.0"
