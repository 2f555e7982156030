"""Field mappers: one object per mapped field path, knowing how the field is indexed and queried.

The mapping JSON a user sends is parsed once into :class:`FieldMapper` objects keyed by the full
dotted path ("title", "title.keyword", "author.name"); the document parser and every query parser
look fields up there instead of re-reading JSON, as Lucene/OpenSearch mappers do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localnode.errors import MapperParsingError

TEXT = "text"
KEYWORD = "keyword"
BOOLEAN = "boolean"
DATE = "date"
OBJECT = "object"
RANK_FEATURE = "rank_feature"
RANK_FEATURES = "rank_features"
KNN_VECTOR = "knn_vector"
INTEGER_TYPES = {"long": (-(2**63), 2**63 - 1), "integer": (-(2**31), 2**31 - 1),
                 "short": (-(2**15), 2**15 - 1), "byte": (-128, 127)}
FLOAT_TYPES = {"float", "double", "half_float"}
NUMERIC_TYPES = set(INTEGER_TYPES) | FLOAT_TYPES

_COMMON = {"type", "index", "store", "doc_values", "meta", "copy_to_unsupported"}
ALLOWED_PARAMS: dict[str, set[str]] = {
    TEXT: _COMMON | {"analyzer", "search_analyzer", "search_quote_analyzer", "fields", "norms",
                     "similarity", "index_options", "position_increment_gap", "fielddata",
                     "term_vector", "boost"},
    KEYWORD: _COMMON | {"ignore_above", "null_value", "fields", "norms", "similarity",
                        "index_options", "normalizer", "eager_global_ordinals", "boost",
                        "split_queries_on_whitespace"},
    BOOLEAN: _COMMON | {"null_value", "boost", "fields"},
    DATE: _COMMON | {"format", "null_value", "ignore_malformed", "boost", "fields", "locale"},
    RANK_FEATURE: {"type", "positive_score_impact"},
    RANK_FEATURES: {"type", "positive_score_impact"},
    KNN_VECTOR: {"type", "dimension", "data_type", "space_type", "method", "model_id", "mode",
                 "compression_level", "doc_values"},
}
for _numeric in NUMERIC_TYPES:
    ALLOWED_PARAMS[_numeric] = _COMMON | {"null_value", "coerce", "ignore_malformed", "boost", "fields",
                                          "scaling_factor"}
SUPPORTED_TYPES = set(ALLOWED_PARAMS) | {OBJECT}
KNOWN_UNSUPPORTED_TYPES = {"nested", "geo_point", "geo_shape", "ip", "binary", "flat_object", "alias",
                           "scaled_float", "unsigned_long", "date_nanos", "completion", "search_as_you_type",
                           "integer_range", "long_range", "float_range", "double_range", "date_range",
                           "ip_range", "percolator", "join", "token_count", "wildcard", "constant_keyword",
                           "match_only_text", "semantic", "sparse_vector", "dense_vector"}


@dataclass(slots=True)
class FieldMapper:
    """A leaf field (or multi-field). ``params`` keeps the user's definition for GET _mapping."""

    path: str
    type: str
    params: dict[str, Any]
    analyzer: str = "standard"
    search_analyzer: str = "standard"
    search_quote_analyzer: str = "standard"
    indexed: bool = True
    has_norms: bool = True
    ignore_above: int | None = None
    null_value: Any = None
    date_format: str = "strict_date_optional_time||epoch_millis"
    positive_score_impact: bool = True
    coerce: bool = True
    ignore_malformed: bool = False
    position_increment_gap: int = 100
    multi_fields: dict[str, "FieldMapper"] = field(default_factory=dict)
    knn: Any = None  # KnnFieldSpec for knn_vector fields
    source_path: str = ""  # where values come from in _source (a multi-field reads its parent's)

    def __post_init__(self) -> None:
        if not self.source_path:
            self.source_path = self.path

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def is_integer(self) -> bool:
        return self.type in INTEGER_TYPES

    @property
    def postings_field(self) -> str:
        """The inverted-index field holding this field's terms (rank_feature lives in ``_feature``)."""
        return "_feature" if self.type == RANK_FEATURE else self.path

    def to_mapping(self) -> dict[str, Any]:
        body = dict(self.params)
        if self.multi_fields:
            body["fields"] = {name: sub.to_mapping() for name, sub in self.multi_fields.items()}
        return body


def build_field_mapper(path: str, definition: dict[str, Any], *, knn_enabled: bool,
                       analyzers: "AnalyzerCheck") -> FieldMapper:
    """Validate one leaf definition and return its mapper; raises ``mapper_parsing_exception``."""
    ftype = definition.get("type")
    if not isinstance(ftype, str):
        raise MapperParsingError(f"No type specified for field [{path}]")
    if ftype in KNOWN_UNSUPPORTED_TYPES:
        raise MapperParsingError(
            f"field type [{ftype}] of field [{path}] is not supported by the embedded engine (localnode)")
    if ftype not in ALLOWED_PARAMS:
        raise MapperParsingError(f"No handler for type [{ftype}] declared on field [{path.rsplit('.', 1)[-1]}]")
    unknown = [f"{k} : {definition[k]}" for k in definition if k not in ALLOWED_PARAMS[ftype]]
    if unknown:
        raise MapperParsingError(
            f"Mapping definition for [{path.rsplit('.', 1)[-1]}] has unsupported parameters:  [{', '.join(unknown)}]")
    params = {k: v for k, v in definition.items() if k != "fields"}
    mapper = FieldMapper(path=path, type=ftype, params=params)
    mapper.indexed = _bool_param(definition.get("index", True), path, "index")
    if ftype == TEXT:
        mapper.analyzer = _analyzer_param(definition.get("analyzer", "standard"), path, analyzers)
        mapper.search_analyzer = _analyzer_param(definition.get("search_analyzer", mapper.analyzer),
                                                 path, analyzers)
        mapper.search_quote_analyzer = _analyzer_param(
            definition.get("search_quote_analyzer", mapper.search_analyzer), path, analyzers)
        mapper.has_norms = _bool_param(definition.get("norms", True), path, "norms")
        gap = definition.get("position_increment_gap", 100)
        if not isinstance(gap, int) or gap < 0:
            raise MapperParsingError(f"[positions_increment_gap] for field [{path}] cannot be negative")
        mapper.position_increment_gap = gap
    elif ftype == KEYWORD:
        mapper.has_norms = _bool_param(definition.get("norms", False), path, "norms")
        if "normalizer" in definition:
            raise MapperParsingError(
                f"normalizer [{definition['normalizer']}] on field [{path}] is not supported by the embedded engine")
        ignore_above = definition.get("ignore_above")
        if ignore_above is not None and (not isinstance(ignore_above, int) or ignore_above < 0):
            raise MapperParsingError(f"[ignore_above] must be positive, got [{ignore_above}]")
        mapper.ignore_above = ignore_above
        mapper.null_value = definition.get("null_value")
    elif ftype in NUMERIC_TYPES or ftype in (BOOLEAN, DATE):
        mapper.has_norms = False
        mapper.null_value = definition.get("null_value")
        mapper.coerce = _bool_param(definition.get("coerce", True), path, "coerce")
        mapper.ignore_malformed = _bool_param(definition.get("ignore_malformed", False), path, "ignore_malformed")
        if ftype == DATE:
            fmt = definition.get("format", mapper.date_format)
            if not isinstance(fmt, str):
                raise MapperParsingError(f"Invalid format: [{fmt}] for field [{path}]")
            _check_date_format(fmt, path)
            mapper.date_format = fmt
    elif ftype in (RANK_FEATURE, RANK_FEATURES):
        mapper.has_norms = False
        impact = definition.get("positive_score_impact", True)
        mapper.positive_score_impact = _bool_param(impact, path, "positive_score_impact")
        if ftype == RANK_FEATURES and "positive_score_impact" in definition:
            raise MapperParsingError(
                f"Mapping definition for [{path.rsplit('.', 1)[-1]}] has unsupported parameters:  "
                f"[positive_score_impact : {impact}]")
    elif ftype == KNN_VECTOR:
        from localnode.knn.mapping import parse_knn_mapping  # local: knn is an optional layer
        mapper.has_norms = False
        mapper.knn = parse_knn_mapping(path, definition, index_knn_enabled=knn_enabled)
    sub_fields = definition.get("fields")
    if sub_fields is not None:
        if ftype in (RANK_FEATURE, RANK_FEATURES, KNN_VECTOR) or not isinstance(sub_fields, dict):
            raise MapperParsingError(f"multi-fields are not allowed on field [{path}] of type [{ftype}]")
        for name, sub_definition in sub_fields.items():
            if not isinstance(sub_definition, dict):
                raise MapperParsingError(f"Expected map for property [fields] on field [{name}] but got a {type(sub_definition).__name__}")
            if "fields" in sub_definition:
                raise MapperParsingError(f"Field [{name}] of multi-field [{path}] can't have nested multi-fields")
            sub = build_field_mapper(f"{path}.{name}", sub_definition, knn_enabled=knn_enabled,
                                     analyzers=analyzers)
            sub.source_path = mapper.source_path
            mapper.multi_fields[name] = sub
    return mapper


class AnalyzerCheck:
    """Tells whether an analyzer name resolves for this index (built-in or from index settings)."""

    def __init__(self, known: set[str]) -> None:
        self.known = known

    def exists(self, name: str) -> bool:
        return name in self.known


def _analyzer_param(name: Any, path: str, analyzers: AnalyzerCheck) -> str:
    if not isinstance(name, str) or not analyzers.exists(name):
        raise MapperParsingError(f"analyzer [{name}] has not been configured in mappings")
    return name


def _bool_param(value: Any, path: str, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise MapperParsingError(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")


_SUPPORTED_DATE_FORMATS = {"strict_date_optional_time", "date_optional_time", "epoch_millis", "epoch_second",
                           "strict_date", "date", "strict_date_time", "date_time"}


def _check_date_format(fmt: str, path: str) -> None:
    for part in fmt.split("||"):
        if part not in _SUPPORTED_DATE_FORMATS:
            raise MapperParsingError(
                f"date format [{part}] of field [{path}] is not supported by the embedded engine "
                f"(supported: {', '.join(sorted(_SUPPORTED_DATE_FORMATS))})")
