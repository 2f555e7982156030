"""Cooperative cancellation: a request's time budget, checked where the engine loops.

Why cooperative: the scoring kernels are compiled loops that cannot be interrupted from outside, but
every search walks the index segment by segment (``Searcher.segment_contexts``), so a check there
stops the work within one segment's time. Two things end a budget: the search's own ``timeout``
(OpenSearch answers what was collected so far with ``timed_out: true``; here, the query phase is
abandoned and the answer has no hits) and a caller that gave up, such as ``pinsearch serve`` after
its 504 (the work stops instead of running on for nobody).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """The current budget ended: ``reason`` is ``timeout`` or ``cancelled``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Budget:
    deadline: float | None = None      # time.monotonic() after which the work stops
    cancelled: bool = False
    parent: "Budget | None" = None

    def check(self) -> None:
        budget: Budget | None = self
        while budget is not None:
            if budget.cancelled:
                raise Cancelled("cancelled")
            if budget.deadline is not None and time.monotonic() > budget.deadline:
                raise Cancelled("timeout")
            budget = budget.parent

    def cancel(self) -> None:
        self.cancelled = True


_CURRENT: ContextVar[Budget | None] = ContextVar("localnode_budget", default=None)


def check() -> None:
    """Raise :class:`Cancelled` when the running request's budget has ended; cheap otherwise."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.check()


@contextmanager
def deadline(seconds: float | None) -> Iterator[Budget]:
    """A nested budget that ends ``seconds`` from now (None: only when an outer one ends)."""
    budget = Budget(None if seconds is None else time.monotonic() + seconds, parent=_CURRENT.get())
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def run_within(budget: Budget, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` under ``budget`` (for work handed to another thread)."""
    token = _CURRENT.set(budget)
    try:
        return fn(*args)
    finally:
        _CURRENT.reset(token)
