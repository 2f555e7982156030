"""The embedded node: a data directory of indices, the alias table, and request handling.

One :class:`Node` serves one data directory. Clients in the same process share it through
:func:`open_node`; another process gets a clear lock error. The node persists its cluster state
(index names → directories, aliases) atomically and runs a background thread for scheduled
refreshes and merges, as an OpenSearch node does.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from localnode.search.cancellation import Cancelled
from localnode.errors import (AliasesNotFoundError, IllegalArgumentError, IndexNotFoundError, InvalidIndexNameError,
                              OpenSearchError, ResourceAlreadyExistsError, SearchPhaseExecutionError)
from localnode.index import settings as index_settings
from localnode.index.shard import LocalIndex, load_metadata
from localnode.rest.encoding import encoded
from localnode.rest.router import RestRequest, RestResponse, dispatch
from localnode.search.query import recursion_headroom
from localnode.store import DataDirLock, TranslogError, atomic_write_json, read_json

logger = logging.getLogger("localnode")
CLUSTER_NAME = "localnode"
VERSION = {"distribution": "opensearch", "number": "2.19.0", "build_type": "embedded",
           "build_hash": "localnode", "build_date": "2025-01-01T00:00:00Z", "build_snapshot": False,
           "lucene_version": "9.12.1", "minimum_wire_compatibility_version": "7.10.0",
           "minimum_index_compatibility_version": "7.0.0"}
_INVALID_CHARS = set('\\/*?"<>| ,#:')


def validate_index_name(name: str) -> None:
    """OpenSearch's index name rules; they also guarantee no name can reach outside the data dir."""
    def fail(reason: str) -> None:
        raise InvalidIndexNameError(f"Invalid index name [{name}], {reason}", index=name, index_uuid="_na_")
    if not name:
        fail("must not be empty")
    if name != name.lower():
        fail("must be lowercase")
    bad = sorted({c for c in name if c in _INVALID_CHARS})
    if bad:
        fail(f"must not contain the following characters [{', '.join(repr(c)[1:-1] for c in bad)}]")
    if name in (".", ".."):
        fail("must not be '.' or '..'")
    if name[0] in "_-+":
        fail("must not start with '_', '-', or '+'")
    if len(name.encode()) > 255:
        fail(f"index name is too long, ({len(name.encode())} > 255)")
    if "\x00" in name or "\n" in name:
        fail("must not contain control characters")


class FailedIndex:
    """An index that failed to open (a red index): kept in the cluster state, never served.

    OpenSearch keeps a shard that failed recovery unassigned and the index red: cluster health and
    ``_cat/indices`` say so, ``_cluster/allocation/explain`` says why, requests to it answer 503,
    and it can be deleted. The node and its other indices keep serving. The damaged data is left as
    found, for inspection or to restore the directory from a copy.
    """

    def __init__(self, name: str, path: Path, error: BaseException) -> None:
        self.name = name
        self.path = path
        self.error = error
        self.failed_at_ms = int(time.time() * 1000)
        self.settings: dict[str, Any] = {}
        self.mappings: dict[str, Any] | None = None
        try:
            meta = load_metadata(path)
            self.settings, self.mappings = meta.get("settings") or {}, meta.get("mappings")
        except Exception:  # the metadata itself may be what is broken
            pass
        if isinstance(error, OpenSearchError):
            cause = error.reason
        elif isinstance(error, TranslogError):   # its message starts with what it is ("translog corrupted")
            cause = str(error)
        else:
            cause = f"{type(error).__name__}: {error}"
        self.reason = " ".join(f"failed to recover index [{name}]: {cause}".split())  # one line

    @property
    def uuid(self) -> str:
        return str(self.settings.get("index.uuid") or self.path.name)

    @property
    def replicas(self) -> int:
        return int(self.settings.get("index.number_of_replicas", "1"))

    def metadata_body(self, aliases: dict[str, Any]) -> dict[str, Any]:
        """``GET /<index>`` of a red index: its metadata is intact cluster state, as in OpenSearch."""
        if not self.settings:
            raise self.unavailable()
        flat = {k: v for k, v in self.settings.items() if k != "index.analysis"}
        nested = index_settings.nested(flat)
        if "index.analysis" in self.settings:
            nested.setdefault("index", {})["analysis"] = self.settings["index.analysis"]
        return {"aliases": aliases, "mappings": self.mappings or {}, "settings": nested}

    def unavailable(self) -> OpenSearchError:
        """What a read of the index answers (``NoShardAvailableActionException``, 503)."""
        return OpenSearchError(f"No shard available for [{self.name}][0]: {self.reason}", status=503,
                               error_type="no_shard_available_action_exception", index=self.name,
                               index_uuid=self.uuid, shard="0")

    def unavailable_for_write(self) -> OpenSearchError:
        """What a write to the index answers (``UnavailableShardsException``, 503)."""
        return OpenSearchError(f"[{self.name}][0] primary shard is not active: {self.reason}", status=503,
                               error_type="unavailable_shards_exception", index=self.name,
                               index_uuid=self.uuid, shard="0")

    def unavailable_for_search(self) -> OpenSearchError:
        """What a search of the index answers: ``all shards failed``, 503."""
        return SearchPhaseExecutionError(self.unavailable(), self.name)


class Node:
    def __init__(self, data_path: Path) -> None:
        self.data_path = data_path
        data_path.mkdir(parents=True, exist_ok=True)
        self._lock = DataDirLock(data_path)
        self._lock.acquire()
        self.node_id = self._node_id()
        self._state_lock = threading.RLock()
        self.indices: dict[str, LocalIndex] = {}
        #: Indices that failed to open (red); they stay in the cluster state but are never served.
        self.failed_indices: dict[str, FailedIndex] = {}
        self.aliases: dict[str, dict[str, dict[str, Any]]] = {}
        self._closed = False
        try:
            self._load_state()
        except Exception:
            self._lock.release()
            raise
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._background, name="localnode-refresh", daemon=True)
        self._thread.start()

    # -- state -----------------------------------------------------------------------------------
    def _node_id(self) -> str:
        path = self.data_path / "node_id"
        if path.exists():
            return path.read_text().strip()
        node_id = uuid.uuid4().hex[:22]
        path.write_text(node_id)
        return node_id

    def _state_path(self) -> Path:
        return self.data_path / "_state" / "cluster.json"

    def _load_state(self) -> None:
        state = read_json(self._state_path(), default=None)
        if state is None:
            return
        for name, directory in state.get("indices", {}).items():
            path = self.data_path / "indices" / directory
            try:
                meta = load_metadata(path)
                self.indices[name] = LocalIndex(name, path, meta["settings"], meta["mappings"], create=False)
            except Exception as exc:  # one damaged index must not stop the node: it goes red
                failed = self.failed_indices[name] = FailedIndex(name, path, exc)
                logger.error("index [%s] is red: %s", name, failed.reason)
        self.aliases = state.get("aliases", {})
        self._cleanup_orphans(set(state.get("indices", {}).values()))

    def _cleanup_orphans(self, known: set[str]) -> None:
        """Remove index directories no cluster state names (a crash between mkdir and state write)."""
        root = self.data_path / "indices"
        if root.exists():
            for entry in root.iterdir():
                if entry.name not in known:
                    shutil.rmtree(entry, ignore_errors=True)

    def save_state(self) -> None:
        with self._state_lock:
            indices = {name: index.path.name for name, index in self.indices.items()}
            indices.update({name: failed.path.name for name, failed in self.failed_indices.items()})
            state = {"indices": indices, "aliases": self.aliases}
            (self.data_path / "_state").mkdir(exist_ok=True)
            atomic_write_json(self._state_path(), state)

    # -- indices ---------------------------------------------------------------------------------
    def create_index(self, name: str, body: dict[str, Any] | None) -> LocalIndex:
        validate_index_name(name)
        body = body or {}
        if not isinstance(body, dict):
            raise IllegalArgumentError("create index body must be an object")
        for key in body:
            if key not in ("settings", "mappings", "aliases"):
                raise OpenSearchError(f"unknown key [{key}] for create index", status=400,
                                      error_type="parse_exception")
        with self._state_lock:
            existing = self.indices.get(name) or self.failed_indices.get(name)
            if existing is not None:
                raise ResourceAlreadyExistsError(f"index [{name}/{existing.uuid}] already exists",
                                                 index=name, index_uuid=existing.uuid)
            if name in self.aliases:
                raise InvalidIndexNameError(f"Invalid index name [{name}], already exists as alias",
                                            index=name, index_uuid="_na_")
            settings = index_settings.creation_settings(body.get("settings"), name)
            mappings = body.get("mappings")
            if mappings is not None and not isinstance(mappings, dict):
                raise OpenSearchError("Failed to parse mapping: mappings must be an object", status=400,
                                      error_type="mapper_parsing_exception")
            path = self.data_path / "indices" / settings["index.uuid"]
            (self.data_path / "indices").mkdir(exist_ok=True)
            try:
                index = LocalIndex(name, path, settings, mappings, create=True)
            except Exception:
                shutil.rmtree(path, ignore_errors=True)
                raise
            self.indices[name] = index
            aliases = body.get("aliases") or {}
            for alias, spec in aliases.items():
                self._add_alias(name, alias, spec or {})
            self.save_state()
            return index

    def delete_index(self, name: str) -> None:
        with self._state_lock:
            if name in self.failed_indices:   # a red index can be deleted, as in OpenSearch
                failed = self.failed_indices.pop(name)
                self._drop_aliases_of(name)
                self.save_state()
                shutil.rmtree(failed.path, ignore_errors=True)
                return
            index = self.indices.pop(name)
            for alias in list(self.aliases):
                self.aliases[alias].pop(name, None)
                if not self.aliases[alias]:
                    del self.aliases[alias]
            self.save_state()
            index.abandon()
            shutil.rmtree(index.path, ignore_errors=True)

    def get_or_create_for_write(self, name: str) -> LocalIndex:
        """Resolve a write target: an index, an alias's write index, or a new index (auto-create)."""
        with self._state_lock:
            if name in self.indices:
                return self.indices[name]
            if name in self.failed_indices:
                raise self.failed_indices[name].unavailable_for_write()
            if name in self.aliases:
                targets = self.aliases[name]
                writers = [i for i, spec in targets.items() if spec.get("is_write_index")]
                if len(targets) == 1 and not any(spec.get("is_write_index") is False for spec in targets.values()):
                    return self._writable(next(iter(targets)))
                if len(writers) == 1:
                    return self._writable(writers[0])
                raise IllegalArgumentError(
                    f"no write index is defined for alias [{name}]. The write index may be explicitly disabled "
                    "using is_write_index=false or the alias points to multiple indices without one being "
                    "designated as a write index")
            return self.create_index(name, None)

    def _writable(self, name: str) -> LocalIndex:
        failed = self.failed_indices.get(name)
        if failed is not None:
            raise failed.unavailable_for_write()
        return self.indices[name]

    def _drop_aliases_of(self, name: str) -> None:
        for alias in list(self.aliases):
            self.aliases[alias].pop(name, None)
            if not self.aliases[alias]:
                del self.aliases[alias]

    def resolve(self, expression: str | None, *, ignore_unavailable: bool = False,
                allow_no_indices: bool = True, include_hidden: bool = False,
                skip_failed: bool = False) -> list[tuple[LocalIndex, list[dict[str, Any]]]]:
        """Indices named by an expression (names, aliases, wildcards, ``_all``, ``-exclusions``).

        Returns each index once, with the alias filters that apply to it (empty when reached directly).
        An index that failed to open (red) is left out of wildcard expansions; naming it (or an
        alias of it) raises its 503 error, unless ``skip_failed`` (health and ``_cat`` report red
        indices themselves, see :meth:`failed_matching`).
        """
        with self._state_lock:
            plain = self.indices.get(expression) if expression else None
            if plain is not None:   # the common case, one concrete index by name: no parsing, no sort
                return [(plain, [])]
            if self.failed_indices:
                failed = self._failed_named(expression)
                if failed and not skip_failed:
                    raise failed[0].unavailable()
            names: dict[str, list[dict[str, Any]] | None] = {}
            parts = [p for p in (expression or "_all").split(",") if p]
            for part in parts:
                exclude = part.startswith("-") and len(names) > 0
                token = part[1:] if exclude else part
                matched: dict[str, list[dict[str, Any]] | None] = {}
                if token in ("_all", "*"):
                    matched = {n: None for n in self.indices if include_hidden or not n.startswith(".")}
                elif "*" in token:
                    matched = {n: None for n in self.indices
                               if fnmatch.fnmatchcase(n, token) and (include_hidden or not n.startswith(".") or token.startswith("."))}
                    for alias, targets in self.aliases.items():
                        if fnmatch.fnmatchcase(alias, token):
                            for target, spec in targets.items():
                                matched.setdefault(target, [])
                                if matched[target] is not None:
                                    matched[target].append(spec)  # type: ignore[union-attr]
                elif token in self.indices:
                    matched = {token: None}
                elif token in self.failed_indices:
                    matched = {}
                elif token in self.aliases:
                    matched = {target: [spec] for target, spec in self.aliases[token].items()}
                elif not ignore_unavailable and not exclude:
                    raise IndexNotFoundError(token)
                for name, filters in matched.items():
                    if exclude:
                        names.pop(name, None)
                    elif name in names:
                        if names[name] is None or filters is None:
                            names[name] = None
                        else:
                            names[name].extend(filters)  # type: ignore[union-attr]
                    else:
                        names[name] = filters
            if not names and not allow_no_indices:
                raise IndexNotFoundError(expression or "_all")
            result = []
            for name in sorted(names):
                if name not in self.indices:   # an alias or a wildcard reaching a red index
                    continue
                filters = names[name]
                specs = [] if filters is None else filters
                # An index reached both directly and through a filtered alias is unfiltered; several
                # filtered aliases OR their filters (OpenSearch semantics).
                effective = [] if any("filter" not in s for s in specs) else specs
                result.append((self.indices[name], effective))
            return result

    def index_or_404(self, name: str) -> LocalIndex:
        index = self.indices.get(name)
        if index is None:
            if name in self.failed_indices:
                raise self.failed_indices[name].unavailable()
            raise IndexNotFoundError(name)
        return index

    def _failed_named(self, expression: str | None) -> list[FailedIndex]:
        """Red indices an expression names explicitly: by name, or through a (non-wildcard) alias."""
        found: list[FailedIndex] = []
        for part in (expression or "").split(","):
            if not part or part.startswith("-") or "*" in part or part == "_all":
                continue
            targets = [part] if part in self.failed_indices else list(self.aliases.get(part, {}))
            found.extend(self.failed_indices[t] for t in targets if t in self.failed_indices)
        return found

    def failed_matching(self, expression: str | None) -> list[FailedIndex]:
        """Red indices an expression reaches (names, aliases, wildcards; ``None`` = all), by name."""
        with self._state_lock:
            if not self.failed_indices:
                return []
            matched: dict[str, FailedIndex] = {}
            for part in (expression or "_all").split(","):
                exclude = part.startswith("-") and bool(matched)
                token = part[1:] if exclude else part
                for name, failed in self.failed_indices.items():
                    aliases = [a for a, targets in self.aliases.items() if name in targets]
                    hit = token in ("_all", "*") or fnmatch.fnmatchcase(name, token) or any(
                        fnmatch.fnmatchcase(a, token) for a in aliases)
                    if hit and exclude:
                        matched.pop(name, None)
                    elif hit:
                        matched[name] = failed
            return [matched[n] for n in sorted(matched)]

    # -- aliases -----------------------------------------------------------------------------------
    def _add_alias(self, index: str, alias: str, spec: dict[str, Any]) -> None:
        validate_alias_name(alias)
        if alias in self.indices:
            raise InvalidIndexNameError(
                f"Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias",
                index=alias, index_uuid="_na_")
        entry = {k: v for k, v in spec.items() if k in ("filter", "is_write_index", "routing", "index_routing",
                                                         "search_routing", "is_hidden")}
        if "filter" in entry:
            from localnode.search.query import ParseContext, parse_query
            parse_query(entry["filter"], ParseContext(self.indices[index]))
        self.aliases.setdefault(alias, {})[index] = entry
        if entry.get("is_write_index"):
            for other, other_spec in self.aliases[alias].items():
                if other != index and other_spec.get("is_write_index"):
                    raise IllegalArgumentError(
                        f"alias [{alias}] has more than one write index [{other},{index}]")

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        """Apply all actions or none (one cluster-state update in OpenSearch)."""
        with self._state_lock:
            snapshot = {alias: {i: dict(s) for i, s in targets.items()} for alias, targets in self.aliases.items()}
            to_delete: list[str] = []
            try:
                for action in actions:
                    if not isinstance(action, dict) or len(action) != 1:
                        raise IllegalArgumentError("[aliases] each action must have exactly one of add, remove, remove_index")
                    kind, spec = next(iter(action.items()))
                    if kind not in ("add", "remove", "remove_index"):
                        raise IllegalArgumentError(f"[aliases] unknown action [{kind}]")
                    indices = _names(spec, "index", "indices")
                    if not indices:
                        raise IllegalArgumentError("One of [index] or [indices] is required")
                    concrete = [ix.name for expr in indices for ix, _ in self.resolve(expr, allow_no_indices=False)]
                    if kind == "remove_index":
                        for name in concrete:
                            if name in self.aliases:
                                raise IllegalArgumentError(
                                    f"The provided expression [{name}] matches an alias, specify the corresponding concrete indices instead.")
                            to_delete.append(name)
                        continue
                    aliases = _names(spec, "alias", "aliases")
                    if not aliases:
                        raise IllegalArgumentError("One of [alias] or [aliases] is required")
                    for name in concrete:
                        for alias in aliases:
                            if kind == "add":
                                self._add_alias(name, alias, spec)
                            else:
                                matched = [a for a in self.aliases if fnmatch.fnmatchcase(a, alias) and name in self.aliases[a]]
                                if not matched:
                                    if spec.get("must_exist") is False:
                                        continue
                                    raise AliasesNotFoundError(f"aliases [{alias}] missing", **{
                                        "resource.type": "aliases", "resource.id": alias})
                                for a in matched:
                                    del self.aliases[a][name]
                                    if not self.aliases[a]:
                                        del self.aliases[a]
            except Exception:
                self.aliases = snapshot
                raise
            for name in to_delete:
                if name in self.indices:
                    self.delete_index(name)
            self.save_state()

    def remove_alias(self, indices: list[str], alias_patterns: list[str]) -> None:
        with self._state_lock:
            removed = False
            for name in indices:
                for alias in list(self.aliases):
                    if any(fnmatch.fnmatchcase(alias, p) or p == "_all" for p in alias_patterns) and name in self.aliases[alias]:
                        del self.aliases[alias][name]
                        removed = True
                        if not self.aliases[alias]:
                            del self.aliases[alias]
            if not removed:
                raise AliasesNotFoundError(f"aliases [{','.join(alias_patterns)}] missing",
                                           **{"resource.type": "aliases", "resource.id": ",".join(alias_patterns)})
            self.save_state()

    def aliases_of(self, index: str) -> dict[str, dict[str, Any]]:
        return {alias: dict(targets[index]) for alias, targets in sorted(self.aliases.items()) if index in targets}

    def put_alias(self, indices: list[str], alias: str, spec: dict[str, Any]) -> None:
        self.update_aliases([{"add": {**spec, "indices": indices, "alias": alias}}])

    # -- requests --------------------------------------------------------------------------------
    def handle(self, method: str, path: str, params: dict[str, str], body: bytes | None) -> RestResponse:
        from localnode import rest  # noqa: F401  (registers the handlers)
        request = RestRequest(method.upper(), path, params, body)
        pretty = params.get("pretty") in ("", "true") if params else False
        try:
            if self._closed:
                raise OpenSearchError("node is closed", status=503, error_type="node_closed_exception")
            if self.failed_indices:
                answered = self._handle_failed_target(request)
                if answered is not None:
                    return answered
            with recursion_headroom():   # deep queries are parsed and run recursively
                return encoded(dispatch(self, request), pretty)   # written here: a body that cannot be is a 500 below
        except OpenSearchError as exc:
            try:
                with recursion_headroom():   # an error's cause chain is as deep as the query
                    return encoded(RestResponse(exc.status, exc.to_body()), pretty)
            except Exception as inner:  # noqa: BLE001 - an error body that cannot be written
                return _internal_error(method, path, inner)
        except Cancelled as exc:   # the caller gave up (serve's 504) or the request's own budget ended
            error = OpenSearchError(f"The request was cancelled ({exc.reason}) before it finished", status=500,
                                    error_type="task_cancelled_exception")
            return encoded(RestResponse(error.status, error.to_body()))
        except Exception as exc:  # never a Python traceback on the wire: a 500 that names the bug
            return _internal_error(method, path, exc)

    def _handle_failed_target(self, request: RestRequest) -> RestResponse | None:
        """Requests whose path names a red index: the error OpenSearch gives for an unassigned shard.

        Searches answer ``search_phase_execution_exception`` (all shards failed), document reads
        ``no_shard_available_action_exception``, writes ``unavailable_shards_exception``; all 503.
        ``DELETE /<index>`` deletes it, ``HEAD /<index>`` finds it and ``GET /<index>`` shows its
        metadata, as for any index. None: not about a red index, dispatch as usual.
        """
        segments = request.path.strip("/").split("/")
        expression = unquote(segments[0])
        if not expression or expression.startswith("_"):
            return None
        failed = self._failed_named(expression)
        if not failed:
            return None
        action = segments[1] if len(segments) > 1 else ""
        if not action:
            if request.method == "HEAD":
                return RestResponse(200, None)
            if request.method == "PUT":   # create: "already exists", as for any index
                return None
            if request.method == "DELETE":
                names = expression.split(",")
                for red in failed:
                    if red.name in names:
                        self.delete_index(red.name)
                rest = [n for n in names if n and n not in {red.name for red in failed}]
                if rest:
                    return dispatch(self, RestRequest(request.method, "/" + ",".join(rest), request.params,
                                                      request.body_bytes))
                return RestResponse(200, {"acknowledged": True})
            if request.method == "GET" and len(failed) == 1 and expression == failed[0].name:
                return RestResponse(200, {failed[0].name: failed[0].metadata_body(self.aliases_of(failed[0].name))})
        if action in ("_search", "_count", "_msearch", "_delete_by_query", "_update_by_query", "_validate"):
            raise failed[0].unavailable_for_search()
        if action in ("_doc", "_create", "_update", "_bulk") and request.method in ("PUT", "POST", "DELETE"):
            raise failed[0].unavailable_for_write()
        raise failed[0].unavailable()

    # -- background work -------------------------------------------------------------------------
    def _background(self) -> None:
        while not self._stop.wait(0.25):
            for index in list(self.indices.values()):
                try:
                    index.maybe_scheduled_refresh()
                    index.maybe_merge()
                except Exception:  # a background failure must not kill the node
                    logger.exception("background refresh/merge failed for index [%s]", index.name)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._thread.join(timeout=30)
        for index in self.indices.values():
            index.close()
        self._lock.release()


def _internal_error(method: str, path: str, exc: BaseException) -> RestResponse:
    """A 500 in OpenSearch's shape that names the bug (never a traceback, never a dropped connection)."""
    logger.error("internal error serving %s %s", method, path, exc_info=exc)
    error = OpenSearchError(f"internal error in the embedded engine: {type(exc).__name__}: {str(exc)[:2000]}",
                            status=500, error_type="exception")
    return encoded(RestResponse(500, error.to_body()))


def validate_alias_name(alias: str) -> None:
    try:
        validate_index_name(alias)
    except InvalidIndexNameError as exc:
        raise InvalidIndexNameError(exc.reason.replace("Invalid index name", "Invalid alias name"),
                                    index=alias, index_uuid="_na_") from None


def _names(spec: dict[str, Any], single: str, plural: str) -> list[str]:
    if single in spec:
        value = spec[single]
        return [value] if isinstance(value, str) else list(value)
    if plural in spec:
        value = spec[plural]
        return [value] if isinstance(value, str) else list(value)
    return []


# -- process-wide registry -------------------------------------------------------------------------
_NODES: dict[str, tuple[Node, int]] = {}
_REGISTRY_LOCK = threading.Lock()


def open_node(path: str | os.PathLike[str]) -> Node:
    """The shared node for a data directory (reference counted within the process)."""
    key = os.path.realpath(path)
    with _REGISTRY_LOCK:
        entry = _NODES.get(key)
        if entry is not None and not entry[0]._closed:
            _NODES[key] = (entry[0], entry[1] + 1)
            return entry[0]
        node = Node(Path(key))
        _NODES[key] = (node, 1)
        return node


def release_node(node: Node) -> None:
    key = os.path.realpath(node.data_path)
    with _REGISTRY_LOCK:
        entry = _NODES.get(key)
        if entry is None or entry[0] is not node:
            return
        if entry[1] <= 1:
            del _NODES[key]
            node.close()
        else:
            _NODES[key] = (node, entry[1] - 1)


def close_all_nodes() -> None:
    with _REGISTRY_LOCK:
        nodes = [n for n, _ in _NODES.values()]
        _NODES.clear()
    for node in nodes:
        node.close()

