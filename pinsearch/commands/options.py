"""Options several commands share, declared once (so a default or its help cannot drift apart)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_CACHE = Path(".pinsearch-cache")
"""Where `pinsearch reindex` caches signals and their trained models, and where every command that
needs the query-side models (search, ltr, serve) looks for them."""


def add_cache_option(parser: argparse.ArgumentParser, purpose: str, *, default: Path | None = DEFAULT_CACHE) -> None:
    """``--cache DIR``: ``purpose`` says what the command uses the signal cache for."""
    shown = f"default ./{DEFAULT_CACHE}" if default is not None else f"default ./{DEFAULT_CACHE} when it exists"
    parser.add_argument("--cache", type=Path, default=default, metavar="DIR", help=f"{purpose} ({shown})")
