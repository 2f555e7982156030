"""Helpers shared by command modules: options, the client, output and user-facing errors."""

from __future__ import annotations

import argparse
from typing import Any

from pinsearch.cli import CommandError, _client, _opt, _print_json  # noqa: F401  (re-exported)


def option(args: argparse.Namespace, name: str, default: Any) -> Any:
    """A global option (``--cluster``, ``--index``, ``--json``, ``--quiet``) or its default."""
    return _opt(args, name, default)


def client_for(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The opensearch-py client for ``--cluster`` (close it with ``client.transport.close()``)."""
    return _client(args)


def print_json(payload: Any) -> None:
    _print_json(payload)


def fail(message: str) -> CommandError:
    """``raise fail("...")``: printed as one line on stderr, exit status 1."""
    return CommandError(message)


