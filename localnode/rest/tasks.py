"""``GET _tasks/ID`` for work started with ``wait_for_completion=false``.

The embedded engine does such work before it answers, so every task it reports is completed; the
record keeps what OpenSearch's task result holds (status, response, timings) so that clients that
poll ``_tasks`` work unchanged. Records live on the node they ran on, for the node's lifetime.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

from localnode.errors import OpenSearchError
from localnode.rest.router import RestRequest, RestResponse, route

if TYPE_CHECKING:
    from localnode.node import Node

NODE_ID = "localnode"
_MAX_KEPT = 1000


class TaskResults:
    """Finished tasks of one node, newest kept up to a bound."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._results: dict[str, dict[str, Any]] = {}

    def add(self, record: dict[str, Any]) -> str:
        with self._lock:
            number = next(self._ids)
            task_id = f"{NODE_ID}:{number}"
            record["task"]["id"] = number
            self._results[task_id] = record
            while len(self._results) > _MAX_KEPT:
                self._results.pop(next(iter(self._results)))
            return task_id

    def get(self, task_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._results.get(task_id)


def _results(node: "Node") -> TaskResults:
    results = getattr(node, "task_results", None)
    if results is None:  # created on first use, then owned by the node object
        results = TaskResults()
        node.task_results = results  # type: ignore[attr-defined]
    return results


def record(node: "Node", action: str, description: str, status: dict[str, Any], response: dict[str, Any],
           started: float) -> str:
    """Keep a finished task's result and return its id (``node:number``)."""
    now = time.time()
    elapsed = time.perf_counter() - started
    return _results(node).add({
        "completed": True,
        "task": {"node": NODE_ID, "id": 0, "type": "transport", "action": action, "status": status,
                 "description": description, "start_time_in_millis": int((now - elapsed) * 1000),
                 "running_time_in_nanos": int(elapsed * 1e9), "cancellable": True, "cancelled": False,
                 "headers": {}},
        "response": response,
    })


@route("GET", "/_tasks/{task_id}")
def get_task(node: "Node", request: RestRequest) -> RestResponse:
    task_id = request.path_params["task_id"]
    if ":" not in task_id:
        raise OpenSearchError(f"malformed task id {task_id}", status=400, error_type="illegal_argument_exception")
    found = _results(node).get(task_id)
    if found is None:
        raise OpenSearchError(f"task [{task_id}] isn't running and hasn't stored its results", status=404,
                              error_type="resource_not_found_exception")
    return RestResponse(200, found)
