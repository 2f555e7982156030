"""LTR feature stores as hidden indices of the embedded node (opensearch-ltr 2.19's ``IndexFeatureStore``).

Why real indices: the plugin keeps features, sets and models as documents of ``.ltrstore`` /
``.ltrstore_{name}``, and that shows through its API -- GET returns a get-document response,
``_version`` drives ``_createmodel?version=N``, listing counts documents by type, searches see the
refreshed view only. Keeping them as ordinary documents of the node gives all of that (and
persistence) for free; this module adds the plugin's rules on top: store naming, the "Store [...]
does not exist" check, create vs overwrite, validation before storing, cache invalidation, stats.

The compiled-element cache mirrors the plugin's ``Caches`` (hit/miss counts, per-store entries).
Entries are keyed by (store index, its uuid, type, name) and remember the document version they
were built from, so a stale entry can never be served even when a store is deleted and recreated.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import orjson

from localnode.errors import (IllegalArgumentError, IndexNotFoundError, OpenSearchError, ResourceNotFoundError,
                              VersionConflictError)
from localnode.ltr import elements
from localnode.ltr.elements import FEATURE, FEATURESET, MODEL, CompiledLtrModel, StorableElement
from localnode.search.similarity import TermWeight

if TYPE_CHECKING:
    from localnode.index.shard import LocalIndex, OpResult
    from localnode.node import Node

DEFAULT_STORE = ".ltrstore"
STORE_PREFIX = DEFAULT_STORE + "_"
STORE_VERSION = 2
MAX_NAME_SIZE = 512  # STORABLE_ELEMENT_MAX_NAME_SIZE: edge n-grams of names stop there
ELEMENT_TYPES = (FEATURE, FEATURESET, MODEL)
# IndexFeatureStore.INVALID_NAMES, as written in the 2.19 source (note: "featureset" itself passes).
_INVALID_STORE_NAMES = re.compile(r"^(features?[*]?|feature_[sS]ets?|models?)$")
# org.opensearch.core.common.Strings.INVALID_FILENAME_CHARS as Java prints the HashSet.
_INVALID_FILENAME_CHARS = '[ , ", *, \\, <, |, ,, >, /, ?]'

# fstore-index-mapping.json. ``name.prefix`` (edge n-grams through the plugin's own analyzers) is not
# mapped: the engine has no edge n-gram filter, so prefix search is computed here (see search_elements).
STORE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "name": {"type": "text", "analyzer": "keyword"},
        "type": {"type": "keyword"},
        "derived_feature": {"type": "object", "enabled": False},
        "feature": {"type": "object", "enabled": False},
        "featureset": {"type": "object", "enabled": False},
        "model": {"type": "object", "enabled": False},
    },
}


def store_settings() -> dict[str, Any]:
    """``IndexFeatureStore.storeIndexSettings`` (one node: auto_expand_replicas 0-2 gives 0 replicas)."""
    return {"index": {"number_of_shards": 1, "number_of_replicas": 0, "auto_expand_replicas": "0-2",
                      "ltrstore_version": STORE_VERSION, "priority": 2147483647, "hidden": True}}


# --------------------------------------------------------------------------------------------------
# Names

def index_name(store: str | None) -> str:
    """The index behind a store name (``None`` = the default store)."""
    if store is None:
        return DEFAULT_STORE
    if store == "":
        raise IllegalArgumentError("Store name cannot be empty")
    return STORE_PREFIX + store


def is_index_store(name: str) -> bool:
    return name == DEFAULT_STORE or (name.startswith(STORE_PREFIX) and len(name) > len(STORE_PREFIX))


def store_name(index: str) -> str:
    """What the store listing calls an index store (``_default_`` for ``.ltrstore``)."""
    if not is_index_store(index):
        raise IllegalArgumentError(f"[{index}] is not a valid index name for a feature store")
    return "_default_" if index == DEFAULT_STORE else index[len(STORE_PREFIX):]


def validate_store_name(name: str) -> None:
    """``IndexFeatureStore.validateFeatureStoreName`` (then ``validateIndexOrAliasName``)."""
    if _INVALID_STORE_NAMES.match(name):
        raise IllegalArgumentError("A featurestore name cannot be based on the words [feature], [featureset] and [model]")

    def fail(reason: str) -> None:
        raise IllegalArgumentError(f"Invalid feature store name [{name}]: {reason}")
    if any(c in '\\/*?"<>| ,' for c in name):
        fail(f"must not contain the following characters {_INVALID_FILENAME_CHARS}")
    if not name:
        fail("must not be empty")
    if "#" in name:
        fail("must not contain '#'")
    if ":" in name:
        fail("must not contain ':'")
    if name[0] in "_-+":
        fail("must not start with '_', '-', or '+'")
    size = len(name.encode("utf-8"))
    if size > 255:
        fail(f"index name is too long, ({size} > 255)")
    if name in (".", ".."):
        fail("must not be '.' or '..'")


# --------------------------------------------------------------------------------------------------
# Per-node state: caches and request counters

@dataclass
class _CacheEntry:
    version: int
    value: Any
    ram: int


@dataclass
class _KindStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class LtrCaches:
    """The plugin's three caches (features, feature sets, models) with their counters."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[str, dict[tuple[str, str, str], _CacheEntry]] = {k: {} for k in ELEMENT_TYPES}
        self.stats: dict[str, _KindStats] = {k: _KindStats() for k in ELEMENT_TYPES}

    def get_or_load(self, kind: str, store: str, uuid: str, name: str, version: int,
                    loader: Callable[[], tuple[Any, int]]) -> Any:
        key = (store, uuid, name)
        with self._lock:
            entry = self._entries[kind].get(key)
            if entry is not None and entry.version == version:
                self.stats[kind].hits += 1
                return entry.value
            self.stats[kind].misses += 1
        value, ram = loader()
        with self._lock:
            self._entries[kind][key] = _CacheEntry(version, value, max(int(ram), 1))
        return value

    def evict(self, kind: str, store: str, name: str) -> None:
        with self._lock:
            for key in [k for k in self._entries[kind] if k[0] == store and k[2] == name]:
                del self._entries[kind][key]

    def evict_store(self, store: str) -> None:
        with self._lock:
            for entries in self._entries.values():
                for key in [k for k in entries if k[0] == store]:
                    del entries[key]

    def per_store(self) -> dict[str, dict[str, tuple[int, int]]]:
        """store index -> kind -> (ram, count); stores without entries are absent (as the plugin)."""
        out: dict[str, dict[str, tuple[int, int]]] = {}
        with self._lock:
            for kind, entries in self._entries.items():
                for (store, _, _), entry in entries.items():
                    ram, count = out.setdefault(store, {k: (0, 0) for k in ELEMENT_TYPES})[kind]
                    out[store][kind] = (ram + entry.ram, count + 1)
        return out

    def kind_stats(self, kind: str) -> dict[str, int]:
        """``CacheStatsOnNodeSupplier`` for one cache."""
        with self._lock:
            entries = self._entries[kind]
            stats = self.stats[kind]
            return {"hit_count": stats.hits, "miss_count": stats.misses, "eviction_count": stats.evictions,
                    "entry_count": len(entries), "memory_usage_in_bytes": sum(e.ram for e in entries.values())}


@dataclass
class LtrState:
    """What the plugin keeps per node: its caches and the ``request_*_count`` counters."""
    caches: LtrCaches = field(default_factory=LtrCaches)
    request_total: int = 0
    request_errors: int = 0


_STATES: "weakref.WeakKeyDictionary[Node, LtrState]" = weakref.WeakKeyDictionary()
_KNOWN_NODES: "weakref.WeakSet[Node]" = weakref.WeakSet()
_STATES_LOCK = threading.Lock()


def state(node: "Node") -> LtrState:
    with _STATES_LOCK:
        _KNOWN_NODES.add(node)
        found = _STATES.get(node)
        if found is None:
            found = _STATES[node] = LtrState()
        return found


def node_for_index(index: "LocalIndex") -> "Node":
    """The node serving ``index``: queries only see their index, but stores live beside it."""
    from localnode import node as node_module
    candidates = list(_KNOWN_NODES) + [n for n, _ in list(node_module._NODES.values())]
    for candidate in candidates:
        if candidate.indices.get(index.name) is index:
            return candidate
    raise OpenSearchError(f"no embedded node serves index [{index.name}]", status=500, error_type="illegal_state_exception")


# --------------------------------------------------------------------------------------------------
# Java exception rendering (what the plugin's cache wraps loader failures in)

_JAVA_LANG = {"illegal_argument_exception", "illegal_state_exception", "null_pointer_exception",
              "number_format_exception"}


def _simple_name(error: OpenSearchError) -> str:
    return "".join(part.capitalize() for part in error.error_type.split("_"))


def java_to_string(error: OpenSearchError) -> str:
    """``Throwable.toString()``: ``OpenSearchException`` prints ``[index] Name[msg]; nested: ...``."""
    if error.error_type in _JAVA_LANG:
        return f"java.lang.{_simple_name(error)}: {error.reason}"
    parts = []
    current: OpenSearchError | None = error
    while current is not None:
        parts.append(f"{_simple_name(current)}[{current.reason}]")
        current = current.caused_by
    detailed = parts[0] if len(parts) == 1 else "; nested: ".join(parts) + ";"
    prefix = f"[{error.metadata['index']}] " if "index" in error.metadata else ""
    return (prefix + detailed).strip()


def cache_load_error(cause: OpenSearchError) -> OpenSearchError:
    """``Caches.cacheLoad``: ``new IOException(executionException.getMessage(), cause)``."""
    return OpenSearchError(java_to_string(cause), status=500, error_type="i_o_exception", caused_by=cause)


# --------------------------------------------------------------------------------------------------
# Stores

def require_store(node: "Node", name: str) -> "LocalIndex":
    """Writes never auto-create a store: ``Store [...] does not exist, please create it first.``"""
    index = node.indices.get(name)
    if index is None:
        raise IllegalArgumentError(f"Store [{name}] does not exist, please create it first.")
    return index


def create_store(node: "Node", store: str | None) -> dict[str, Any]:
    if store is not None:
        validate_store_name(store)
    name = index_name(store)
    node.create_index(name, {"settings": store_settings(), "mappings": STORE_MAPPING})
    return {"acknowledged": True, "shards_acknowledged": True, "index": name}


def delete_store(node: "Node", store: str | None) -> dict[str, Any]:
    name = index_name(store)
    if name not in node.indices:
        raise IndexNotFoundError(name)
    node.delete_index(name)
    state(node).caches.evict_store(name)
    return {"acknowledged": True}


def store_indices(node: "Node") -> list["LocalIndex"]:
    """Every store of the node (``.ltrstore`` and ``.ltrstore_*``), by index name."""
    return [node.indices[n] for n in sorted(node.indices) if is_index_store(n)]


def _searchable(index: "LocalIndex", include_deleted: bool = False) -> Iterator[tuple[int, bool, dict[str, Any]]]:
    """(global doc, live, source) of the refreshed view, in doc order (what a store search sees)."""
    reader = index.reader
    for (segment, live), base in zip(reader.segments, reader.bases[:-1]):
        for local in range(segment.max_doc):
            alive = live is None or bool(live[local])
            if alive or include_deleted:
                yield int(base) + local, alive, orjson.loads(segment.source_bytes(local))


def list_stores(node: "Node") -> dict[str, Any]:
    """``GET _ltr``: stores with their version and per-type document counts."""
    stores: dict[str, Any] = {}
    for index in store_indices(node):
        if "index.ltrstore_version" not in index.settings:
            continue
        counts: dict[str, int] = {}
        for _, _, source in _searchable(index):
            kind = source.get("type")
            if isinstance(kind, str):
                counts[kind] = counts.get(kind, 0) + 1
        name = store_name(index.name)
        stores[name] = {"store": name, "index": index.name, "version": int(index.settings["index.ltrstore_version"]),
                        "counts": counts}
    return {"stores": stores}


# --------------------------------------------------------------------------------------------------
# Elements: read

def get_element_doc(node: "Node", store: str, kind: str, name: str) -> tuple[int, dict[str, Any]]:
    """``GET _ltr[/{store}]/_{type}/{name}``: a get-document response and its status."""
    index = node.indices.get(store)
    if index is None:
        raise IndexNotFoundError(store)
    doc_id = elements.element_id(kind, name)
    stored = index.get(doc_id)
    if stored is None:
        return 404, {"_index": index.name, "_id": doc_id, "found": False}
    return 200, {"_index": index.name, "_id": doc_id, "_version": stored.version, "_seq_no": stored.seq_no,
                 "_primary_term": 1, "found": True, "_source": orjson.loads(stored.source)}


def _load_stored(node: "Node", store: str, kind: str, name: str) -> tuple["LocalIndex", int, bytes] | None:
    index = node.indices.get(store)
    if index is None:
        raise IndexNotFoundError(store)
    stored = index.get(elements.element_id(kind, name))
    if stored is None:
        return None
    return index, stored.version, stored.source


def load_compiled(node: "Node", store: str, kind: str, name: str) -> CompiledLtrModel:
    """What an ``sltr`` runs: a model (``kind=model``) or a feature set with the all-ones linear model.

    Goes through the cache; failures come out the way the plugin's cache reports them (an
    ``i_o_exception`` around ``index_not_found_exception`` / ``Unknown model [x]`` / parse errors).
    """
    caches = state(node).caches
    try:
        loaded = _load_stored(node, store, kind, name)
        if loaded is None:
            raise ResourceNotFoundError(f"Unknown {kind} [{name}]")
        index, version, source = loaded

        def build() -> tuple[CompiledLtrModel, int]:
            element = elements.element_from_source(orjson.loads(source), kind)
            if isinstance(element, elements.StoredLtrModel):
                return element.compile(), 2 * len(source)
            assert isinstance(element, elements.StoredFeatureSet)
            return elements.compile_featureset_model(element), 2 * len(source)
        return caches.get_or_load(kind, store, index.uuid, name, version, build)
    except OpenSearchError as exc:
        raise cache_load_error(exc) from exc


# --------------------------------------------------------------------------------------------------
# Elements: write

Validator = Callable[["Node", StorableElement, elements.FeatureValidation], None]


def _shards(index: "LocalIndex") -> dict[str, int]:
    replicas = int(index.settings.get("index.number_of_replicas", "0"))
    return {"total": 1 + replicas, "successful": 1, "failed": 0}


def write_response(index: "LocalIndex", result: "OpResult", forced_refresh: bool) -> dict[str, Any]:
    """An index/delete response (``DocWriteResponse``), ``forced_refresh`` for refresh=immediate."""
    body: dict[str, Any] = {"_index": index.name, "_id": result.doc_id, "_version": result.version,
                            "result": result.result}
    if forced_refresh:
        body["forced_refresh"] = True
    body.update({"_shards": _shards(index), "_seq_no": result.seq_no, "_primary_term": 1})
    return body


def store_element(node: "Node", store: str, element: StorableElement, *, create: bool,
                  validation: elements.FeatureValidation | None, validator: Validator | None) -> tuple[int, dict[str, Any]]:
    """``TransportFeatureStoreAction``: store exists, precheck, optional validation, index + refresh."""
    index = require_store(node, store)
    elements.precheck(element)
    if validation is not None and validator is not None:
        validator(node, element, validation)
    op = {"op": "create" if create else "index", "id": element.id, "source": element.to_source()}
    result = index.write_ops([op])[0]
    if isinstance(result, OpenSearchError):
        raise result
    index.refresh()
    if not create and element.type in (FEATURE, FEATURESET):
        state(node).caches.evict(element.type, store, element.name)
    return result.status, write_response(index, result, forced_refresh=True)


def delete_element(node: "Node", store: str, kind: str, name: str) -> tuple[int, dict[str, Any]]:
    """A plain delete of the store document (no refresh), then the element's cache entry is cleared."""
    index = node.indices.get(store)
    if index is None:
        raise IndexNotFoundError(store)
    result = index.write_ops([{"op": "delete", "id": elements.element_id(kind, name)}])[0]
    if isinstance(result, OpenSearchError):
        raise result
    state(node).caches.evict(kind, store, name)
    return result.status, write_response(index, result, forced_refresh=False)


def _standalone_features(index: "LocalIndex") -> list[elements.StoredFeature]:
    out = []
    for _, _, source in _searchable(index):
        if source.get("type") == FEATURE:
            element = elements.element_from_source(source, FEATURE)
            assert isinstance(element, elements.StoredFeature)
            out.append(element)
    return out


def add_features(node: "Node", store: str, request: elements.AddFeaturesRequest,
                 validator: Validator | None) -> tuple[int, dict[str, Any]]:
    """``_addfeatures``: the set is created if missing; features come from the body or a store search."""
    index = require_store(node, store)
    features = request.features
    if request.query is not None:
        features = elements.select_features_by_query(_standalone_features(index), request.query)
    stored = index.get(elements.element_id(FEATURESET, request.set_name))
    existing = None
    if stored is not None:
        parsed = elements.element_from_source(orjson.loads(stored.source), FEATURESET)
        assert isinstance(parsed, elements.StoredFeatureSet)
        existing = parsed
    updated = elements.add_features(existing, request.set_name, features, request.merge)
    return store_element(node, store, updated, create=existing is None, validation=request.validation,
                         validator=validator)


def create_model_from_set(node: "Node", store: str, request: elements.CreateModelRequest,
                          validator: Validator | None) -> tuple[int, dict[str, Any]]:
    """``_createmodel``: copy the stored set into a new model; an existing model name is a 405."""
    index = require_store(node, store)
    stored = index.get(elements.element_id(FEATURESET, request.set_name))
    stored_set = None
    if stored is not None:
        parsed = elements.element_from_source(orjson.loads(stored.source), FEATURESET)
        assert isinstance(parsed, elements.StoredFeatureSet)
        stored_set = parsed
    model = elements.create_model_from_set(request, stored_set, stored.version if stored is not None else None)
    try:
        return store_element(node, store, model, create=True, validation=request.validation, validator=validator)
    except VersionConflictError as exc:
        raise elements.model_not_updatable_error() from exc


# --------------------------------------------------------------------------------------------------
# Searching a store (GET _ltr/_{type}?prefix=...)

def _name_prefix_scores(index: "LocalIndex", prefix: str) -> dict[int, np.float32]:
    """BM25 of ``match: {name.prefix: P}`` per matching live doc, as the plugin's mapping scores it.

    ``name.prefix`` holds the edge n-grams (1..512 code points) of the name; the first gram has
    position increment 1 and the others 0, so with ``discount_overlaps`` every norm is length 1,
    while the term-frequency sum counts every gram. Statistics include deleted documents, as
    Lucene's do until a merge.
    """
    if not prefix or len(prefix) > MAX_NAME_SIZE:
        return {}
    doc_count = sum_ttf = doc_freq = 0
    matching: list[int] = []
    for doc, alive, source in _searchable(index, include_deleted=True):
        name = source.get("name")
        if not isinstance(name, str) or not name:
            continue
        doc_count += 1
        sum_ttf += min(len(name), MAX_NAME_SIZE)
        if name.startswith(prefix):
            doc_freq += 1
            if alive:
                matching.append(doc)
    if not matching:
        return {}
    score = TermWeight.create(1.0, doc_freq, doc_count, sum_ttf).score(np.ones(1, np.int32), np.ones(1, np.uint8))[0]
    return {doc: np.float32(score) for doc in matching}


def search_elements(node: "Node", store: str, kind: str, prefix: str | None, from_: int, size: int) -> dict[str, Any]:
    """``bool: {filter: term type, must: match name.prefix}`` over the store, as a ``_search`` response."""
    started = time.perf_counter()
    index = node.indices.get(store)
    if index is None:
        raise IndexNotFoundError(store)
    scored = _name_prefix_scores(index, prefix) if prefix else None
    rows: list[tuple[np.float32, int, dict[str, Any]]] = []
    for doc, _, source in _searchable(index):
        if source.get("type") != kind:
            continue
        if scored is not None:
            if doc not in scored:
                continue
            rows.append((scored[doc], doc, source))
        else:
            rows.append((np.float32(0.0), doc, source))
    rows.sort(key=lambda r: (-float(r[0]), r[1]))
    hits = []
    for score, doc, source in rows[from_:from_ + size]:
        segment, local = index.reader.locate(doc)
        hits.append({"_index": index.name, "_id": segment.ids[local], "_score": score, "_source": source})
    return {"took": int((time.perf_counter() - started) * 1000), "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": len(rows), "relation": "eq"},
                     "max_score": max((r[0] for r in rows), default=None), "hits": hits}}


# --------------------------------------------------------------------------------------------------
# Caches and stats endpoints

def clear_cache(node: "Node", store: str) -> dict[str, Any]:
    state(node).caches.evict_store(store)
    return {"acknowledged": True}


def _stat_details(per_kind: dict[str, tuple[int, int]]) -> dict[str, Any]:
    ram = sum(r for r, _ in per_kind.values())
    count = sum(c for _, c in per_kind.values())
    return {"total": {"ram": ram, "count": count},
            "features": {"ram": per_kind[FEATURE][0], "count": per_kind[FEATURE][1]},
            "featuresets": {"ram": per_kind[FEATURESET][0], "count": per_kind[FEATURESET][1]},
            "models": {"ram": per_kind[MODEL][0], "count": per_kind[MODEL][1]}}


def _nodes_header(node: "Node", count: int = 1) -> dict[str, Any]:
    from localnode.node import CLUSTER_NAME
    return {"_nodes": {"total": count, "successful": count, "failed": 0}, "cluster_name": CLUSTER_NAME}


def cache_stats(node: "Node") -> dict[str, Any]:
    """``GET _ltr/_cachestats`` (a nodes response: all, stores, nodes)."""
    per_store = state(node).caches.per_store()
    empty = {k: (0, 0) for k in ELEMENT_TYPES}
    total = {k: (sum(s[k][0] for s in per_store.values()), sum(s[k][1] for s in per_store.values()))
             for k in ELEMENT_TYPES} if per_store else empty
    body = _nodes_header(node)
    body["all"] = _stat_details(total)
    body["stores"] = {name: _stat_details(kinds) for name, kinds in per_store.items()}
    body["nodes"] = {node.node_id: {"name": "localnode", "hostname": "localhost", "stats": _stat_details(total)}}
    return body


STAT_NAMES = ("status", "stores", "request_total_count", "request_error_count", "cache")
_CLUSTER_STATS = ("stores", "status")


def _store_stats(index: "LocalIndex") -> dict[str, Any]:
    """``StoreStatsSupplier``: its feature-set search uses the default size, so only 10 sets count."""
    sets: dict[str, int] = {}
    models = 0
    seen_sets = 0
    for _, _, source in _searchable(index):
        if source.get("type") == FEATURESET and seen_sets < 10:
            seen_sets += 1
            body = source.get(FEATURESET)
            if isinstance(body, dict) and "features" in body and "name" in body:
                sets[str(body["name"])] = len(body["features"] or [])
        elif source.get("type") == MODEL:
            models += 1
    health = "yellow" if int(index.settings.get("index.number_of_replicas", "0")) > 0 else "green"
    return {"status": health, "feature_count": sum(sets.values()), "featureset_count": len(sets),
            "model_count": models}


def ltr_stats(node: "Node", path: str, node_ids: str | None, stats: str | None) -> dict[str, Any]:
    """``GET /_plugins/_ltr[/{nodeId}]/stats[/{stat}]``."""
    requested = [s for s in (stats or "").split(",")] if stats else []
    if not requested or requested == ["_all"]:
        wanted = set(STAT_NAMES)
    else:
        if "_all" in requested:
            raise IllegalArgumentError(f"Request {path} contains both _all and individual stats")
        invalid = [s for s in dict.fromkeys(requested) if s not in STAT_NAMES]
        if invalid:
            raise IllegalArgumentError(_unrecognized(path, invalid, list(dict.fromkeys(requested))))
        wanted = set(requested)
    ids = [n for n in (node_ids or "").split(",") if n]
    selected = not ids or any(n in ("_all", "_local", node.node_id, "localnode") for n in ids)
    ltr = state(node)
    body = _nodes_header(node, 1 if selected else 0)
    stores = store_indices(node)
    if "stores" in wanted:
        body["stores"] = {index.name: _store_stats(index) for index in stores}
    if "status" in wanted:
        statuses = [_store_stats(index)["status"] for index in stores]
        body["status"] = "red" if "red" in statuses else ("yellow" if "yellow" in statuses else "green")
    node_body: dict[str, Any] = {}
    if "cache" in wanted:
        node_body["cache"] = {kind: ltr.caches.kind_stats(kind) for kind in ELEMENT_TYPES}
    if "request_total_count" in wanted:
        node_body["request_total_count"] = ltr.request_total
    if "request_error_count" in wanted:
        node_body["request_error_count"] = ltr.request_errors
    body["nodes"] = {node.node_id: node_body} if selected else {}
    return body


def _unrecognized(path: str, invalid: list[str], candidates: list[str]) -> str:
    """``BaseRestHandler.unrecognized`` -- the plugin passes the *requested* stats as candidates."""
    from localnode.ltr.xcontent import _similarity
    message = f"request [{path}] contains unrecognized stat{'s' if len(invalid) > 1 else ''}: "
    parts = []
    for name in invalid:
        scored = sorted(((_similarity(name, c), c) for c in candidates if _similarity(name, c) > 0.5),
                        key=lambda t: (-t[0], t[1]))
        part = f"[{name}]"
        if scored:
            keys = [c for _, c in scored]
            part += " -> did you mean " + (f"[{keys[0]}]" if len(keys) == 1 else f"any of [{', '.join(keys)}]") + "?"
        parts.append(part)
    return message + ", ".join(parts)


__all__ = [
    "DEFAULT_STORE", "STORE_PREFIX", "STORE_MAPPING", "index_name", "is_index_store", "store_name",
    "validate_store_name", "LtrCaches", "LtrState", "state", "node_for_index", "java_to_string", "cache_load_error",
    "require_store", "create_store", "delete_store", "list_stores", "get_element_doc", "load_compiled",
    "store_element", "delete_element", "add_features", "create_model_from_set", "search_elements", "clear_cache",
    "cache_stats", "ltr_stats", "Validator",
]
