"""Send one request to localnode and to a real OpenSearch node, and compare the answers field by field.

What "the same" means here, per part of a response:
* hits: the same ``_id`` sequence; each ``_score`` equal as float32 (both engines compute in
  float32 and print the shortest decimal of that float, so parsing either back is exact);
  ``matched_queries`` equal as sets; ``_source`` equal; ``hits.total`` and ``max_score`` equal.
* explanations: the top value equal as float32 (wording of descriptions is the engine's own).
* errors: the same HTTP status and the same ``error.type`` (and root cause type).
* ``_analyze``: the same tokens with offsets, types and positions.
Volatile fields (``took``, ``_seq_no``, uuids, ``_primary_term``) are never compared.

Every comparison is tallied (:class:`Tally`) so the run reports how many requests were compared,
how many answered identically and how many differ in a documented, pinned way.
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError


@dataclass
class Answer:
    """A response or an error, normalised to (status, body)."""

    status: int
    body: Any

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    @property
    def error_type(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("type")
        return None


def call(client: OpenSearch, method: str, url: str, body: Any = None, params: dict[str, Any] | None = None) -> Answer:
    try:
        result = client.transport.perform_request(method, url, params=params or {}, body=body)
    except TransportError as exc:
        status = exc.status_code if isinstance(exc.status_code, int) else 599
        return Answer(status, exc.info if isinstance(exc.info, dict) else {"raw": str(exc.info)})
    if method == "HEAD":
        return Answer(200 if result else 404, None)
    return Answer(200, result)


def f32(value: Any) -> float | None:
    if value is None:
        return None
    return float(np.float32(value))


def _same_float32(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    x, y = f32(a), f32(b)
    return x == y or (math.isnan(x) and math.isnan(y))


def compare_errors(local: Answer, real: Answer) -> list[str]:
    diffs = []
    if local.status != real.status:
        diffs.append(f"status: local {local.status} real {real.status}")
    if local.error_type != real.error_type:
        diffs.append(f"error.type: local {local.error_type} real {real.error_type} "
                     f"(real reason: {_reason(real)!r}; local reason: {_reason(local)!r})")
    return diffs


def _reason(answer: Answer) -> str | None:
    if isinstance(answer.body, dict) and isinstance(answer.body.get("error"), dict):
        return str(answer.body["error"].get("reason"))[:300]
    return None


def compare_search(local: Answer, real: Answer, *, scores: bool = True, source: bool = True,
                   order: bool = True) -> list[str]:
    """Differences between two ``_search`` answers (empty when identical)."""
    if local.is_error or real.is_error:
        return compare_errors(local, real)
    diffs: list[str] = []
    lh, rh = local.body["hits"], real.body["hits"]
    if lh.get("total") != rh.get("total"):
        diffs.append(f"hits.total: local {lh.get('total')} real {rh.get('total')}")
    if scores and not _same_float32(lh.get("max_score"), rh.get("max_score")):
        diffs.append(f"max_score: local {lh.get('max_score')!r} real {rh.get('max_score')!r}")
    lids = [hit["_id"] for hit in lh["hits"]]
    rids = [hit["_id"] for hit in rh["hits"]]
    if (lids if order else sorted(lids)) != (rids if order else sorted(rids)):
        diffs.append(f"hit ids: local {lids[:12]} real {rids[:12]}")
        return diffs
    real_by_id = {hit["_id"]: hit for hit in rh["hits"]}
    for lhit in lh["hits"]:
        rhit = real_by_id[lhit["_id"]]
        if scores and not _same_float32(lhit.get("_score"), rhit.get("_score")):
            diffs.append(f"_score of {lhit['_id']}: local {lhit.get('_score')!r} real {rhit.get('_score')!r}")
        if set(_matched(lhit)) != set(_matched(rhit)) or (
                isinstance(lhit.get("matched_queries"), dict) and not _same_named_scores(lhit, rhit)):
            diffs.append(f"matched_queries of {lhit['_id']}: local {lhit.get('matched_queries')} "
                         f"real {rhit.get('matched_queries')}")
        if source and lhit.get("_source") != rhit.get("_source"):
            diffs.append(f"_source of {lhit['_id']}: local {lhit.get('_source')} real {rhit.get('_source')}")
        if "sort" in rhit or "sort" in lhit:
            if not _same_sort(lhit.get("sort"), rhit.get("sort")):
                diffs.append(f"sort of {lhit['_id']}: local {lhit.get('sort')} real {rhit.get('sort')}")
        if "_explanation" in rhit or "_explanation" in lhit:
            lexp, rexp = lhit.get("_explanation") or {}, rhit.get("_explanation") or {}
            if not _same_float32(lexp.get("value"), rexp.get("value")):
                diffs.append(f"explanation of {lhit['_id']}: local {lexp.get('value')!r} real {rexp.get('value')!r}")
        for key in ("_version", "fields"):
            if key in rhit or key in lhit:
                if lhit.get(key) != rhit.get(key):
                    diffs.append(f"{key} of {lhit['_id']}: local {lhit.get(key)} real {rhit.get(key)}")
    for key in ("timed_out", "terminated_early"):
        if local.body.get(key) != real.body.get(key):
            diffs.append(f"{key}: local {local.body.get(key)} real {real.body.get(key)}")
    return diffs


def _matched(hit: dict[str, Any]) -> list[str]:
    named = hit.get("matched_queries") or []
    return list(named.keys()) if isinstance(named, dict) else list(named)


def _same_named_scores(lhit: dict[str, Any], rhit: dict[str, Any]) -> bool:
    lm, rm = lhit.get("matched_queries") or {}, rhit.get("matched_queries") or {}
    return all(_same_float32(lm[name], rm.get(name)) for name in lm)


def _same_sort(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if len(a) != len(b):
        return False
    return all(_same_float32(x, y) if isinstance(x, float) or isinstance(y, float) else x == y
               for x, y in zip(a, b))


def compare_count(local: Answer, real: Answer) -> list[str]:
    if local.is_error or real.is_error:
        return compare_errors(local, real)
    if local.body.get("count") != real.body.get("count"):
        return [f"count: local {local.body.get('count')} real {real.body.get('count')}"]
    return []


def compare_analyze(local: Answer, real: Answer) -> list[str]:
    if local.is_error or real.is_error:
        return compare_errors(local, real)
    keys = ("token", "start_offset", "end_offset", "type", "position")
    lt = [{k: t.get(k) for k in keys} for t in local.body.get("tokens", [])]
    rt = [{k: t.get(k) for k in keys} for t in real.body.get("tokens", [])]
    if lt != rt:
        first = next((i for i, (x, y) in enumerate(zip(lt, rt)) if x != y), min(len(lt), len(rt)))
        return [f"tokens differ from #{first}: local {lt[first:first + 3]} real {rt[first:first + 3]} "
                f"(local {len(lt)} tokens, real {len(rt)})"]
    return []


def compare_status(local: Answer, real: Answer) -> list[str]:
    """Only the outcome: both succeed, or both fail with the same status and error type."""
    if local.is_error or real.is_error:
        return compare_errors(local, real)
    return []


# -- tally -------------------------------------------------------------------------------------------
@dataclass
class Tally:
    """Counts per worker process, written to a JSON file the controller sums at the end of the run."""

    compared: int = 0
    identical: int = 0
    known: int = 0
    different: int = 0
    known_reasons: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def add_skipped(self, reason: str) -> None:
        """A request that cannot be compared (the real node lacks what it needs); reported, not hidden."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def add(self, identical: bool, known_reason: str | None = None) -> None:
        self.compared += 1
        if identical:
            self.identical += 1
        elif known_reason:
            self.known += 1
            self.known_reasons[known_reason] = self.known_reasons.get(known_reason, 0) + 1
        else:
            self.different += 1

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        (directory / f"{worker}.json").write_text(json.dumps(self.__dict__))

    @staticmethod
    def load_all(directory: Path) -> "Tally":
        total = Tally()
        for path in sorted(directory.glob("*.json")):
            part = json.loads(path.read_text())
            total.compared += part["compared"]
            total.identical += part["identical"]
            total.known += part["known"]
            total.different += part["different"]
            for reason, count in part["known_reasons"].items():
                total.known_reasons[reason] = total.known_reasons.get(reason, 0) + count
            for reason, count in part.get("skipped", {}).items():
                total.skipped[reason] = total.skipped.get(reason, 0) + count
        return total


TALLY = Tally()
TALLY_DIR = Path(__file__).resolve().parents[2] / ".pytest_cache" / "differential"


class Pair:
    """The same requests to both engines: localnode in-process and the real node over HTTP.

    Index names are prefixed per test module so that runs do not see each other's indexes on the
    real node; both sides use the same name so that ``_index`` in hits compares equal.
    """

    def __init__(self, local: OpenSearch, real: OpenSearch, prefix: str) -> None:
        self.local = local
        self.real = real
        self.prefix = prefix

    def name(self, index: str) -> str:
        return f"{self.prefix}-{index}"

    def both(self, method: str, url: str, body: Any = None, params: dict[str, Any] | None = None) -> tuple[Answer, Answer]:
        return call(self.local, method, url, body, params), call(self.real, method, url, body, params)

    def local_real_task(self, local_id: str, real_id: str) -> tuple[Answer, Answer]:
        """``GET _tasks/ID`` on each side with that side's own task id."""
        return call(self.local, "GET", f"/_tasks/{local_id}"), call(self.real, "GET", f"/_tasks/{real_id}")

    def create(self, index: str, body: dict[str, Any], docs: list[dict[str, Any]] | None = None, *,
               batches: int = 1) -> str:
        """Create ``index`` on both sides with ``docs`` (ids from ``_id`` keys), refreshed.

        ``batches`` > 1 indexes the documents in that many refreshed batches, so each side holds
        several segments (below Lucene's merge factor, so none are merged away).
        """
        name = self.name(index)
        for client in (self.local, self.real):
            client.indices.delete(index=name, ignore=[404])
        local, real = self.both("PUT", f"/{name}", body)
        if local.is_error or real.is_error:
            raise AssertionError(f"create {name}: local {local.status} {local.body} / real {real.status} {real.body}")
        docs = docs or []
        size = max(1, math.ceil(len(docs) / batches))
        for start in range(0, len(docs), size):
            lines: list[str] = []
            for doc in docs[start:start + size]:
                doc = dict(doc)
                lines.append(json.dumps({"index": {"_index": name, "_id": doc.pop("_id")}}))
                lines.append(json.dumps(doc))
            payload = "\n".join(lines) + "\n"
            for client in (self.local, self.real):
                result = client.bulk(body=payload, refresh="true")
                if result.get("errors"):
                    failed = [item for item in result["items"] if item["index"].get("error")][:2]
                    raise AssertionError(f"bulk into {name} failed: {failed}")
        return name

    def drop(self, index: str) -> None:
        for client in (self.local, self.real):
            client.indices.delete(index=self.name(index), ignore=[404])


def check(diffs: list[str], *, known: str | None = None, context: str = "") -> None:
    """Tally one comparison and fail on an unknown difference.

    ``known``: the documented reason this request differs (listed in the README's table). The
    comparison must then still differ, so that a fixed difference is noticed and unlisted.
    """
    if known is not None:
        TALLY.add(False, known)
        assert diffs, f"{context}: listed as a known difference ({known}) but both engines now agree"
        return
    TALLY.add(not diffs)
    assert not diffs, f"{context}:\n  " + "\n  ".join(diffs)


ANN_KNOWN = ("approximate k-NN with the lucene engine: Lucene walks its own HNSW graph, localnode a faiss "
             "graph (or exact search under index.knn.advanced.approximate_threshold); a graph can miss a true "
             "neighbour, and every document both return with the same matched clauses scores the same")


def compare_ann(local: Answer, real: Answer, min_overlap: float = 0.8) -> list[str]:
    """Differences of a request with an approximate ``knn`` clause: empty when identical; the known
    ANN difference when only the returned documents differ. Raises AssertionError when a document
    both engines return scores differently, or when the result sets overlap less than
    ``min_overlap`` (graphs that disagree that much are a bug, not approximation)."""
    diffs = compare_search(local, real, source=False)
    if not diffs or local.is_error or real.is_error:
        return diffs
    lh = {h["_id"]: h["_score"] for h in local.body["hits"]["hits"]}
    rh = {h["_id"]: h["_score"] for h in real.body["hits"]["hits"]}
    lm = {h["_id"]: set(_matched(h)) for h in local.body["hits"]["hits"]}
    rm = {h["_id"]: set(_matched(h)) for h in real.body["hits"]["hits"]}
    common = set(lh) & set(rh)
    # In a compound query a document can come back through another clause while one graph found it
    # as a neighbour and the other did not: its named queries then differ, and so may its score.
    # Equal named queries with unequal scores are a real difference.
    bad = [i for i in common if not _same_float32(lh[i], rh[i]) and lm[i] == rm[i]]
    assert not bad, f"common hits score differently: {[(i, lh[i], rh[i]) for i in bad[:5]]}"
    assert len(common) >= min_overlap * max(len(lh), len(rh)), f"ANN results overlap too little: {diffs}"
    return diffs


class Recorder:
    """Keeps every request a client sends, while still sending it."""

    def __init__(self, client: OpenSearch) -> None:
        self.calls: list[tuple[str, str, dict[str, Any], Any]] = []
        self._client = client
        self._original = client.transport.perform_request

        def record(method: str, url: str, headers: Any = None, params: Any = None, body: Any = None) -> Any:
            self.calls.append((method, url, dict(params or {}), copy.deepcopy(body)))
            return self._original(method, url, headers=headers, params=params, body=body)

        client.transport.perform_request = record  # type: ignore[method-assign]

    def stop(self) -> list[tuple[str, str, dict[str, Any], Any]]:
        """Stop recording (replaying must not record itself) and return what was recorded."""
        self._client.transport.perform_request = self._original  # type: ignore[method-assign]
        return list(self.calls)
