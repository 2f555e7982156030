"""OpenSearch-shaped errors.

Every failure the embedded engine reports travels as an :class:`OpenSearchError`, which knows the
HTTP status and the ``{"error": {...}, "status": N}`` body OpenSearch would send. The REST layer turns
it into a response; the opensearch-py connection then raises the same client exception
(``NotFoundError``, ``RequestError``, ``ConflictError`` ...) a real cluster would cause. Nothing
above the client can tell the engines apart, which is the point.
"""

from __future__ import annotations

from typing import Any


JAVA_NATIVE_TYPES = frozenset({
    "illegal_argument_exception", "illegal_state_exception", "number_format_exception",
    "json_parse_exception", "arithmetic_exception", "null_pointer_exception",
    "array_index_out_of_bounds_exception", "unsupported_operation_exception", "i_o_exception",
    "json_e_o_f_exception", "input_coercion_exception", "negative_array_size_exception", "class_cast_exception",
    "too_many_clauses", "too_many_nested_clauses", "index_out_of_bounds_exception"})
#: ``XContentParseException`` and its subclass: not OpenSearch exceptions, but wrappers that
#: ``OpenSearchException.guessRootCauses`` looks through.
XCONTENT_TYPES = frozenset({"x_content_parse_exception", "named_object_not_found_exception"})


def is_opensearch_exception(error: "OpenSearchError") -> bool:
    """Whether the Java exception this error stands for is an ``OpenSearchException``."""
    return error.error_type not in JAVA_NATIVE_TYPES and error.error_type not in XCONTENT_TYPES


def guess_root_cause(error: "OpenSearchError") -> "OpenSearchError":
    """``OpenSearchException.guessRootCauses`` for one exception: the deepest OpenSearch exception
    of the cause chain, looking through ``XContentParseException`` wrappers; the exception itself
    when nothing below it is one."""
    if is_opensearch_exception(error):
        cause = error.caused_by
        return guess_root_cause(cause) if cause is not None and is_opensearch_exception(cause) else error
    if error.error_type in XCONTENT_TYPES:
        cause = error.caused_by
        if cause is not None and (cause.error_type in XCONTENT_TYPES or is_opensearch_exception(cause)):
            return guess_root_cause(cause)
    return error


class OpenSearchError(Exception):
    """An error with OpenSearch's wire shape: ``type``, ``reason``, extra metadata and a status."""

    status: int = 500
    error_type: str = "exception"

    def __init__(self, reason: str, *, status: int | None = None, error_type: str | None = None,
                 caused_by: "OpenSearchError | None" = None, **metadata: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status
        if error_type is not None:
            self.error_type = error_type
        self.caused_by = caused_by
        self.metadata = metadata

    def cause_dict(self) -> dict[str, Any]:
        """The error object as it appears in ``root_cause`` and in bulk items."""
        body: dict[str, Any] = {"type": self.error_type, "reason": self.reason}
        body.update(self.metadata)
        if self.caused_by is not None:
            body["caused_by"] = self.caused_by.cause_dict()
        return body

    def to_body(self) -> dict[str, Any]:
        # OpenSearch's root cause is the deepest *OpenSearch* exception of the chain; JDK/Jackson
        # exceptions (illegal_argument, number_format, json_parse ...) only appear under caused_by.
        root = guess_root_cause(self)
        error = self.cause_dict()
        error["root_cause"] = [root.cause_dict() if root is not self else
                               {k: v for k, v in self.cause_dict().items() if k != "caused_by"}]
        # OpenSearch lists root_cause first; keep that order for byte-level familiarity.
        ordered = {"root_cause": error.pop("root_cause")}
        ordered.update(error)
        return {"error": ordered, "status": self.status}


class ParsingError(OpenSearchError):
    """A request body that does not parse: unknown query, wrong value type, unsupported feature."""
    status = 400
    error_type = "parsing_exception"

    def __init__(self, reason: str, *, line: int = 1, col: int = 1, **metadata: Any) -> None:
        super().__init__(reason, line=line, col=col, **metadata)


class IllegalArgumentError(OpenSearchError):
    status = 400
    error_type = "illegal_argument_exception"


class NumberFormatError(OpenSearchError):
    """Java's ``NumberFormatException`` (``Double.parseDouble``, ``Integer.parseInt`` ...)."""
    status = 400
    error_type = "number_format_exception"


class QueryShardError(OpenSearchError):
    """``QueryShardException``: a query that cannot be built against the shard's mapping."""
    status = 400
    error_type = "query_shard_exception"


def failed_to_create_query(cause: OpenSearchError, index: str, index_uuid: str) -> OpenSearchError:
    """``QueryShardContext.toQuery``: a failure while building the Lucene query, wrapped as OpenSearch does."""
    if cause.error_type in ("query_shard_exception", "parsing_exception"):   # rethrown as they are
        return cause
    return QueryShardError(f"failed to create query: {cause.reason}", caused_by=cause, index=index,
                           index_uuid=index_uuid)


class MapperParsingError(OpenSearchError):
    status = 400
    error_type = "mapper_parsing_exception"


class IndexNotFoundError(OpenSearchError):
    status = 404
    error_type = "index_not_found_exception"

    def __init__(self, index: str) -> None:
        super().__init__(f"no such index [{index}]", index=index, **{
            "resource.id": index, "resource.type": "index_or_alias", "index_uuid": "_na_"})


class ResourceAlreadyExistsError(OpenSearchError):
    status = 400
    error_type = "resource_already_exists_exception"


class InvalidIndexNameError(OpenSearchError):
    status = 400
    error_type = "invalid_index_name_exception"


class VersionConflictError(OpenSearchError):
    status = 409
    error_type = "version_conflict_engine_exception"


class DocumentMissingError(OpenSearchError):
    status = 404
    error_type = "document_missing_exception"


class AliasesNotFoundError(OpenSearchError):
    status = 404
    error_type = "aliases_not_found_exception"


class ResourceNotFoundError(OpenSearchError):
    status = 404
    error_type = "resource_not_found_exception"


class ActionRequestValidationError(OpenSearchError):
    status = 400
    error_type = "action_request_validation_exception"


class SearchPhaseExecutionError(OpenSearchError):
    """What OpenSearch wraps a per-shard query failure in; the shard's cause is kept in ``failed_shards``.

    As ``SearchPhaseExecutionException`` renders it: the root cause is the deepest OpenSearch exception
    of the shard failure's chain (a JDK exception such as ``illegal_argument_exception`` gets a wrapper
    of the same name); ``caused_by`` holds that root cause unless it *is* the shard failure itself
    (``deduplicateCause``), so a ``query_shard_exception`` appears once, under ``failed_shards``.
    """
    status = 400
    error_type = "search_phase_execution_exception"

    def __init__(self, cause: OpenSearchError, index: str) -> None:
        super().__init__("all shards failed", status=cause.status, phase="query",
                         grouped=True, failed_shards=[{"shard": 0, "index": index, "node": "localnode",
                                                       "reason": cause.cause_dict()}])
        self.shard_cause = cause
        root = guess_root_cause(cause)
        if not is_opensearch_exception(root):
            # OpenSearchException.guessRootCauses: a new exception named after the JDK one
            root = OpenSearchError(root.reason, status=root.status, error_type=root.error_type, caused_by=root)
        self.root = root
        self.caused_by = None if root is cause else root

    def to_body(self) -> dict[str, Any]:
        body = super().to_body()
        body["error"]["root_cause"] = [{k: v for k, v in self.root.cause_dict().items() if k != "caused_by"}]
        return body


class MethodNotAllowedError(OpenSearchError):
    status = 405
    error_type = "method_not_allowed"


class UnsupportedError(ParsingError):
    """A valid OpenSearch feature that the embedded engine does not implement: never a silent difference."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is not supported by the embedded engine (localnode); "
                         "run against an OpenSearch cluster with --cluster URL for this feature")
