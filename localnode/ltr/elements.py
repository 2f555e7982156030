"""LTR store elements (feature, featureset, model): parsing, validation and stored form, as opensearch-ltr 2.19.

The plugin stores each element as one document ``{"name": N, "type": T, T: {...}}`` with id
``T-N`` in the store index. Everything here mirrors the plugin's parsers (``StoredFeature``,
``StoredFeatureSet``, ``StoredLtrModel``, ``AutoDetectParser``, the ``_addfeatures`` and
``_createmodel`` handlers), including their checks, their error texts and the way OpenSearch's
ObjectParser wraps one error inside another, so the REST layer can answer exactly like a cluster.
What needs a store index (existence, versions, searching features by name) stays with the caller:
these functions take the already-loaded elements.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Mapping, Sequence

import numpy as np

from localnode.errors import (
    ActionRequestValidationError, IllegalArgumentError, OpenSearchError, ParsingError)
from localnode.ltr import rankers, templates
from localnode.ltr.xcontent import (
    NUMBER, OBJECT, OBJECT_ARRAY, OBJECT_ARRAY_OR_STRING, OBJECT_OR_STRING, STRING, STRING_ARRAY, Field,
    GenericOpenSearchError, NullPointerError, NumberFormatError, ObjectParser, XContentParseError,
    jackson_dumps, java_float_as_json_double, java_float_to_string, java_hashmap_order, x_array, x_float, x_text)

FEATURE = "feature"
FEATURESET = "featureset"
MODEL = "model"
MAX_FEATURES = 10000
DEFAULT_TEMPLATE_LANGUAGE = templates.MUSTACHE
# ValidatingLtrQueryBuilder.SUPPORTED_TYPES is a HashSet; its iteration order shows in messages.
SUPPORTED_TYPES = ",".join(java_hashmap_order([FEATURE, FEATURESET, MODEL]))
_FLOAT_MAX = np.float32(np.finfo(np.float32).max)


def element_id(element_type: str, name: str) -> str:
    """The store document id of an element (``StorableElement.generateId``)."""
    return f"{element_type}-{name}"


def _is_illegal_argument(error: OpenSearchError) -> bool:
    """Whether the Java exception behind ``error`` is an IllegalArgumentException (or a subclass)."""
    return isinstance(error, IllegalArgumentError | XContentParseError | NumberFormatError)


def _as_parsing_error(error: OpenSearchError) -> OpenSearchError:
    """``catch (IllegalArgumentException iae) { throw new ParsingException(loc, iae.getMessage(), iae); }``."""
    return ParsingError(error.reason, caused_by=error) if _is_illegal_argument(error) else error


def _resolve_name(parsed: str | None, expected: str | None) -> str:
    """``StorableElementParserState.resolveName``: the URL name fills in or must match the body's."""
    if parsed is None and expected is not None:
        return expected
    if parsed is None:
        raise ParsingError("Field [name] is mandatory")
    if expected is not None and parsed != expected:
        raise ParsingError(f"Invalid [name], expected [{expected}] but got [{parsed}]")
    return parsed


# --------------------------------------------------------------------------------------------------
# Elements

@dataclass
class FeatureValidation:
    """The optional ``validation`` block: a test search (index, params) run before storing."""
    index: str
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "params": copy.deepcopy(self.params)}


@dataclass
class StoredFeature:
    """One feature. ``template`` is a dict (object template) or the string it was given as."""
    name: str
    params: list[str] = field(default_factory=list)
    template_language: str = DEFAULT_TEMPLATE_LANGUAGE
    template: Any = None
    type: ClassVar[str] = FEATURE
    updatable: ClassVar[bool] = True

    @property
    def id(self) -> str:
        return element_id(self.type, self.name)

    @property
    def template_as_string(self) -> bool:
        return isinstance(self.template, str)

    def template_source(self) -> str:
        """The text the plugin compiles: an object template is kept as compact JSON."""
        return self.template if isinstance(self.template, str) else jackson_dumps(self.template)

    def compile(self) -> templates.CompiledFeature:
        return templates.compile_feature(self)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": list(self.params), "template_language": self.template_language,
                "template": copy.deepcopy(self.template)}

    def to_source(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, self.type: self.to_dict()}


@dataclass
class StoredFeatureSet:
    """An ordered list of features; a feature's ordinal is its position."""
    name: str
    features: list[StoredFeature] = field(default_factory=list)
    type: ClassVar[str] = FEATURESET
    updatable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self._ordinals: dict[str, int] = {}
        for ordinal, feature in enumerate(self.features):
            if feature.name in self._ordinals:
                raise IllegalArgumentError(f"Feature [{feature.name}] defined twice in this set: "
                                           "feature names must be unique in a set.")
            self._ordinals[feature.name] = ordinal

    @property
    def id(self) -> str:
        return element_id(self.type, self.name)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def size(self) -> int:
        return len(self.features)

    def has_feature(self, name: str) -> bool:
        return name in self._ordinals

    def feature_ordinal(self, name: str) -> int:
        if name not in self._ordinals:
            raise IllegalArgumentError(f"Unknown feature [{name}]")
        return self._ordinals[name]

    def feature(self, name: str) -> StoredFeature:
        return self.features[self.feature_ordinal(name)]

    def append(self, features: Sequence[StoredFeature]) -> "StoredFeatureSet":
        """New set with ``features`` added at the end (duplicates are an error)."""
        if len(features) + len(self.features) > MAX_FEATURES:
            raise IllegalArgumentError("The resulting feature set would be too large")
        return StoredFeatureSet(self.name, [*self.features, *features])

    def merge(self, features: Sequence[StoredFeature]) -> "StoredFeatureSet":
        """New set where same-named features are replaced in place (ordinal kept), others appended."""
        merged = sum(1 for f in features if self.has_feature(f.name))
        if self.size() + len(features) - merged > MAX_FEATURES:
            raise IllegalArgumentError("The resulting feature set would be too large")
        new = list(self.features)
        for feature in features:
            if self.has_feature(feature.name):
                new[self.feature_ordinal(feature.name)] = feature
            else:
                new.append(feature)
        return StoredFeatureSet(self.name, new)

    def compile(self) -> list[templates.CompiledFeature]:
        """``optimize()``: compile every feature (template / expression syntax errors raise here)."""
        return [f.compile() for f in self.features]

    def validate(self, compiled: Sequence[templates.CompiledFeature] | None = None) -> None:
        """``validate()``: derived features may only refer to features of the set or their params."""
        names = self.feature_names
        for feature in compiled if compiled is not None else self.compile():
            if isinstance(feature, templates.DerivedFeature):
                feature.validate(names)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "features": [f.to_dict() for f in self.features]}

    def to_source(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, self.type: self.to_dict()}


@dataclass
class FeatureNormDefinition:
    """A model-level normalizer: ``standard`` (mean, standard_deviation) or ``min_max`` (minimum, maximum)."""
    feature_name: str
    kind: Literal["standard", "min_max"]
    first: np.float32     # mean | minimum
    second: np.float32    # standard_deviation | maximum

    def create(self) -> rankers.Normalizer:
        if self.kind == "standard":
            return rankers.StandardNormalizer(self.first, self.second)
        return rankers.MinMaxNormalizer(self.first, self.second)

    def to_dict(self) -> dict[str, Any]:
        keys = ("mean", "standard_deviation") if self.kind == "standard" else ("minimum", "maximum")
        return {self.kind: {keys[0]: java_float_as_json_double(self.first),
                            keys[1]: java_float_as_json_double(self.second)}}


@dataclass
class ModelDefinition:
    """``LtrModelDefinition``: the ``model`` block (type, definition, feature_normalizers)."""
    type: str | None = None
    definition: Any = None
    feature_normalizers: dict[str, FeatureNormDefinition] = field(default_factory=dict)

    @property
    def definition_as_string(self) -> bool:
        return isinstance(self.definition, str)

    def to_dict(self) -> dict[str, Any]:
        norms = {name: self.feature_normalizers[name].to_dict()
                 for name in java_hashmap_order(list(self.feature_normalizers))}
        return {"type": self.type, "definition": copy.deepcopy(self.definition), "feature_normalizers": norms}


@dataclass
class CompiledLtrModel:
    """What an ``sltr`` query runs: the (frozen) set, its compiled features and the ranker."""
    name: str
    feature_set: StoredFeatureSet
    features: list[templates.CompiledFeature]
    ranker: rankers.Ranker

    @property
    def feature_names(self) -> list[str]:
        return self.feature_set.feature_names


@dataclass
class StoredLtrModel:
    """A model with its own copy of the feature set it was trained on. Models are never updated."""
    name: str
    feature_set: StoredFeatureSet
    model: ModelDefinition
    type: ClassVar[str] = MODEL
    updatable: ClassVar[bool] = False

    @property
    def id(self) -> str:
        return element_id(self.type, self.name)

    def compile(self) -> CompiledLtrModel:
        """``StoredLtrModel.compile``: parser lookup, feature compilation, model parse, normalizers."""
        assert self.model.type is not None
        parser = rankers.get_ranker_parser(self.model.type)
        compiled = self.feature_set.compile()
        names = self.feature_set.feature_names
        ranker = parser(names, self.model.definition)
        norms = rankers.normalizers_by_ordinal(
            {n: d.create() for n, d in self.model.feature_normalizers.items()}, names, self.feature_set.name)
        if norms:
            ranker = rankers.FeatureNormalizingRanker(ranker, norms)
        return CompiledLtrModel(self.name, self.feature_set, compiled, ranker)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "feature_set": self.feature_set.to_dict(), "model": self.model.to_dict()}

    def to_source(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, self.type: self.to_dict()}


StorableElement = StoredFeature | StoredFeatureSet | StoredLtrModel


def compile_featureset_model(feature_set: StoredFeatureSet) -> CompiledLtrModel:
    """``sltr`` with ``featureset`` and no ``model``: every weight 1, so the score is the feature sum."""
    return CompiledLtrModel("linear", feature_set, feature_set.compile(),
                            rankers.implicit_set_ranker(feature_set.size()))


# --------------------------------------------------------------------------------------------------
# Element parsers (StoredFeature.parse, StoredFeatureSet.parse, StoredLtrModel.parse, ...)

class _State:
    """Mutable holder an ObjectParser fills in."""

    def __init__(self, **defaults: Any) -> None:
        self.__dict__.update(defaults)


def _set(attribute: str, convert: Any = None) -> Any:
    return lambda state, value: setattr(state, attribute, convert(value) if convert else value)


_FEATURE_PARSER = ObjectParser(FEATURE, {
    "name": Field(STRING, _set("name", x_text)),
    "params": Field(STRING_ARRAY, _set("params", lambda v: x_array(v, x_text))),
    "template_language": Field(STRING, _set("template_language", x_text)),
    "template": Field(OBJECT_OR_STRING, _set("template", lambda v: v if isinstance(v, str) else copy.deepcopy(v))),
})


def parse_feature(value: Any, name: str | None = None) -> StoredFeature:
    """Parse a feature object; ``name`` is the URL name (fills in, or must match, the body's)."""
    state = _State(name=None, params=None, template_language=DEFAULT_TEMPLATE_LANGUAGE, template=None)
    try:
        _FEATURE_PARSER.parse(value, state)
        resolved = _resolve_name(state.name, name)
        if state.template is None:
            raise ParsingError("Field [template] is mandatory")
        return StoredFeature(resolved, list(state.params or []), state.template_language, state.template)
    except OpenSearchError as exc:
        raise _as_parsing_error(exc) from exc


_FEATURESET_PARSER = ObjectParser(FEATURESET, {
    "name": Field(STRING, _set("name", x_text)),
    "features": Field(OBJECT_ARRAY, _set("features", lambda v: x_array(v, parse_feature))),
})


def parse_featureset(value: Any, name: str | None = None) -> StoredFeatureSet:
    """Parse a feature set object. Note: like the plugin, no size limit here (only _addfeatures checks it)."""
    state = _State(name=None, features=None)
    try:
        _FEATURESET_PARSER.parse(value, state)
        resolved = _resolve_name(state.name, name)
        return StoredFeatureSet(resolved, list(state.features or []))
    except OpenSearchError as exc:
        raise _as_parsing_error(exc) from exc


def _standard(feature_name: str, value: Any) -> FeatureNormDefinition:
    definition = FeatureNormDefinition(feature_name, "standard", np.float32(0.0), np.float32(0.0))

    def set_sd(state: FeatureNormDefinition, raw: Any) -> None:
        sd = x_float(raw)
        if sd <= 0.0:   # NaN passes, as in Java
            raise GenericOpenSearchError(f"Standard Deviation Must Be Positive.  You passed: {java_float_to_string(sd)}")
        state.second = sd

    parser = ObjectParser("standard", {"mean": Field(NUMBER, _set("first", x_float)),
                                       "standard_deviation": Field(NUMBER, set_sd)})
    return parser.parse(value, definition)


def _min_max(feature_name: str, value: Any) -> FeatureNormDefinition:
    definition = FeatureNormDefinition(feature_name, "min_max", np.float32(0.0), _FLOAT_MAX)

    def set_min(state: FeatureNormDefinition, raw: Any) -> None:
        minimum = x_float(raw)
        if minimum >= state.second:
            raise IllegalArgumentError(f"Minimum {java_float_to_string(minimum)} must be smaller than than maximum")
        if minimum < 0:
            raise IllegalArgumentError(f"Minimum {java_float_to_string(minimum)} must be positive")
        state.first = minimum

    def set_max(state: FeatureNormDefinition, raw: Any) -> None:
        maximum = x_float(raw)
        if maximum <= state.first:
            raise IllegalArgumentError(f"Maximum {java_float_to_string(maximum)} must be larger than minimum")
        if maximum < 0:
            raise IllegalArgumentError(f"Maximum {java_float_to_string(maximum)} must be positive")
        state.second = maximum

    parser = ObjectParser("min_max", {"minimum": Field(NUMBER, set_min), "maximum": Field(NUMBER, set_max)})
    return parser.parse(value, definition)


def _normalizer(feature_name: str, value: Any) -> FeatureNormDefinition | None:
    """One ``feature_normalizers`` entry: exactly one of ``standard`` / ``min_max``."""
    def setter(kind: Any) -> Any:
        def consume(state: _State, raw: Any) -> None:
            parsed = kind(feature_name, raw)
            if state.definition is not None:
                raise IllegalArgumentError("Multiple feature normalizers detected ")
            state.definition = parsed
        return consume

    parser = ObjectParser("feature_normalizers", {"standard": Field(OBJECT, setter(_standard)),
                                                  "min_max": Field(OBJECT, setter(_min_max))})
    return parser.parse(value, _State(definition=None)).definition


def _feature_normalizers(value: Any) -> dict[str, FeatureNormDefinition]:
    """``declareNamedObjects``: an object of ``{feature: {type: {...}}}`` (arrays are refused)."""
    if isinstance(value, list | tuple):
        raise IllegalArgumentError("[feature_normalizers] doesn't support arrays. Use a single object with multiple fields.")
    out: dict[str, FeatureNormDefinition] = {}
    for feature_name, body in value.items():
        try:
            parsed = _normalizer(feature_name, body)
        except OpenSearchError as exc:
            raise XContentParseError(f"[feature_normalizers] failed to parse field [{feature_name}]", caused_by=exc) from exc
        if parsed is None:
            raise NullPointerError('Cannot invoke "com.o19s.es.ltr.feature.store.FeatureNormDefinition.featureName()" '
                                   'because "ftrNorm" is null')
        out[feature_name] = parsed
    return out


_MODEL_DEFINITION_PARSER = ObjectParser(MODEL, {
    "type": Field(STRING, _set("type", x_text)),
    "definition": Field(OBJECT_ARRAY_OR_STRING,
                        _set("definition", lambda v: v if isinstance(v, str) else copy.deepcopy(v))),
    "feature_normalizers": Field(OBJECT_ARRAY, _set("feature_normalizers", _feature_normalizers)),
})


def parse_model_definition(value: Any) -> ModelDefinition:
    """``LtrModelDefinition.parse``: the inner ``model`` block; ``type`` and ``definition`` are mandatory."""
    definition = _MODEL_DEFINITION_PARSER.parse(value, ModelDefinition())
    if definition.type is None:
        raise ParsingError("Field [model.type] is mandatory")
    if definition.definition is None:
        raise ParsingError("Field [model.definition] is mandatory")
    return definition


_MODEL_PARSER = ObjectParser(MODEL, {
    "name": Field(STRING, _set("name", x_text)),
    "feature_set": Field(OBJECT, _set("feature_set", parse_featureset)),
    # The plugin uses the bare ObjectParser here (no mandatory checks) and then NPEs on a missing
    # type/definition; the embedded engine reports the createmodel path's clearer messages instead.
    "model": Field(OBJECT, _set("model", parse_model_definition)),
})


def parse_model(value: Any, name: str | None = None) -> StoredLtrModel:
    """Parse a full model element (``PUT _ltr/_model/{name}``, or a stored source)."""
    state = _State(name=None, feature_set=None, model=None)
    try:
        _MODEL_PARSER.parse(value, state)
        resolved = _resolve_name(state.name, name)
        if state.feature_set is None:
            raise ParsingError("Field [feature_set] is mandatory")
        if state.model is None:
            raise ParsingError("Field [model] is mandatory")
        return StoredLtrModel(resolved, state.feature_set, state.model)
    except OpenSearchError as exc:
        raise _as_parsing_error(exc) from exc


_VALIDATION_PARSER = ObjectParser("feature_validation", {
    "index": Field(STRING, _set("index", x_text)),
    "params": Field(OBJECT, _set("params", lambda v: copy.deepcopy(dict(v)))),
})


def parse_validation(value: Any) -> FeatureValidation:
    """The ``validation`` block (a ConstructingObjectParser: both fields required)."""
    state = _VALIDATION_PARSER.parse(value, _State(index=None, params=None))
    missing = [n for n in ("index", "params") if getattr(state, n) is None]
    if missing:
        raise IllegalArgumentError(f"Required [{', '.join(missing)}]")
    return FeatureValidation(state.index, state.params)


_ELEMENT_PARSERS = {FEATURE: parse_feature, FEATURESET: parse_featureset, MODEL: parse_model}


# --------------------------------------------------------------------------------------------------
# Requests

@dataclass
class StoreRequest:
    """A parsed ``PUT|POST _ltr[/{store}]/_{type}/{name}``: the element and its optional validation."""
    element: StorableElement
    validation: FeatureValidation | None
    create: bool          # PUT = create (409 if it exists), POST = create or overwrite


def parse_store_request(element_type: str, name: str, body: Any, method: str = "PUT") -> StoreRequest:
    """``RestFeatureManager.addOrUpdate`` + ``AutoDetectParser``.

    The body must hold exactly one element key (``feature``, ``featureset`` or ``model``, which must
    be the URL's type) plus an optional ``validation``; the element's inner name defaults to, and must
    equal, the URL name. POST on a model is refused with status 405.
    """
    if body is None:
        raise IllegalArgumentError("Missing content or source param.")
    holder = _State(element=None, validation=None)

    def element_field(kind: str) -> Field:
        def consume(state: _State, value: Any) -> None:
            element = _ELEMENT_PARSERS[kind](value, name)
            if state.element is not None:
                raise IllegalArgumentError(f"[{element.type}] already set, only one element can be set at a time "
                                           f"({SUPPORTED_TYPES}).")
            state.element = element
        return Field(OBJECT, consume)

    parser = ObjectParser("storable_elements", {
        FEATURE: element_field(FEATURE), FEATURESET: element_field(FEATURESET), MODEL: element_field(MODEL),
        "validation": Field(OBJECT, _set("validation", parse_validation)),
    })
    parser.parse(body, holder)
    element = holder.element
    if element is None:
        raise ParsingError(f"Element of type [{SUPPORTED_TYPES}] is mandatory.")
    if element.type != element_type:
        raise IllegalArgumentError(f"Excepted a [{element_type}] but encountered [{element.type}]")
    if element.name != name:
        raise IllegalArgumentError(f"Name mismatch, send request with [{element.name}] but [{name}] used in the URL")
    if method.upper() == "POST" and not element.updatable:
        raise IllegalArgumentError(f"Element of type [{element.type}] are not updatable, please create a new one instead.",
                                   status=405)
    return StoreRequest(element, holder.validation, create=method.upper() == "PUT")


def precheck(element: StorableElement) -> CompiledLtrModel | None:
    """The synchronous checks run before an element is stored (``TransportFeatureStoreAction.precheck``).

    A feature's template is compiled; a set's features are compiled and validated against the set;
    a model is fully compiled (bad definitions are rejected at upload) and the compiled model is
    returned. Any model failure is reported as "Error while parsing model [m] with type [t]".
    """
    if isinstance(element, StoredLtrModel):
        try:
            return element.compile()
        except OpenSearchError as exc:
            raise IllegalArgumentError(f"Error while parsing model [{element.name}] with type [{element.model.type}]",
                                       caused_by=exc) from exc
    if isinstance(element, StoredFeatureSet):
        element.validate(element.compile())
    else:
        element.compile()
    return None


def element_from_source(source: Mapping[str, Any], element_type: str) -> StorableElement:
    """Rebuild an element from its stored ``_source`` (``IndexFeatureStore.parse``)."""
    found: list[StorableElement] = []

    def keep(kind: str) -> Field:
        def consume(state: Any, value: Any) -> None:
            if found:
                raise IllegalArgumentError("Element already set")
            found.append(_ELEMENT_PARSERS[kind](value, None))
        return Field(OBJECT, consume)

    ObjectParser("", {k: keep(k) for k in _ELEMENT_PARSERS}, ignore_unknown=True).parse(source, None)
    if not found:
        raise IllegalArgumentError("No StorableElement found.")
    if found[0].type != element_type:
        raise IllegalArgumentError(f"Expected an element of type [{element_type}] but got [{found[0].type}].")
    return found[0]


# --------------------------------------------------------------------------------------------------
# _addfeatures

@dataclass
class AddFeaturesRequest:
    """``POST _ltr[/{store}]/_featureset/{name}/_addfeatures[/{query}]``."""
    set_name: str
    features: list[StoredFeature]
    query: str | None
    merge: bool
    validation: FeatureValidation | None


def parse_add_features_request(set_name: str, body: Any, query: str | None = None,
                               merge: bool = False) -> AddFeaturesRequest:
    """Features come either from the body (``{"features": [...]}``) or from a name query, not both."""
    state = _State(features=None, validation=None)
    if body is not None:
        ObjectParser("features", {
            "features": Field(OBJECT_ARRAY, _set("features", lambda v: x_array(v, parse_feature))),
            "validation": Field(OBJECT, _set("validation", parse_validation)),
        }).parse(body, state)
    features = list(state.features or [])
    if query is None and not features:
        raise IllegalArgumentError("features must be provided as a query for the feature store or in the body, "
                                   "none provided")
    if query is not None and features:
        raise IllegalArgumentError("features must be provided as a query for the feature store or directly in the "
                                   "body not both")
    return AddFeaturesRequest(set_name, features, query, merge, state.validation)


def select_features_by_query(stored: Sequence[StoredFeature], query: str) -> list[StoredFeature]:
    """The standalone features a ``{query}`` names: ``prefix*`` (``*`` alone = all) or an exact name.

    The plugin runs a search on the store index for this, so its result order is the search's hit
    order; callers pass ``stored`` in store order, which is what a fresh single-shard store returns.
    """
    if query.endswith("*"):
        prefix = query.rstrip("*")
        selected = [f for f in stored if f.name.startswith(prefix)]
    else:
        selected = [f for f in stored if f.name == query]
    if len(selected) > MAX_FEATURES:
        raise IllegalArgumentError(f"The feature query [{query}] returns too many features")
    if not selected:
        raise IllegalArgumentError(f"The feature query [{query}] returned no features")
    return selected


def add_features(existing: StoredFeatureSet | None, set_name: str, features: Sequence[StoredFeature],
                 merge: bool = False) -> StoredFeatureSet:
    """The set after ``_addfeatures``: created if missing; appended, or merged with ``merge=true``."""
    base = existing if existing is not None else StoredFeatureSet(set_name, [])
    return base.merge(features) if merge else base.append(features)


# --------------------------------------------------------------------------------------------------
# _createmodel

@dataclass
class CreateModelRequest:
    """``POST _ltr[/{store}]/_featureset/{name}/_createmodel[?version=N]``."""
    set_name: str
    model_name: str
    definition: ModelDefinition
    validation: FeatureValidation | None
    expected_version: int | None


def parse_create_model_request(set_name: str, body: Any, version: str | int | None = None) -> CreateModelRequest:
    """Parse the ``{"model": {"name", "model": {type, definition, feature_normalizers}}, "validation"}`` body."""
    expected: int | None = None
    if version is not None:
        try:
            expected = int(str(version).strip())
        except ValueError:
            raise IllegalArgumentError(f"Failed to parse long parameter [version] with value [{version}]") from None
        if expected <= 0:
            raise IllegalArgumentError("version must be a strictly positive long value")
    state = _State(model=None, validation=None)
    if body is not None:
        model_parser = ObjectParser(MODEL, {"name": Field(STRING, _set("name", x_text)),
                                            "model": Field(OBJECT, _set("definition", parse_model_definition))})
        ObjectParser("create_model_from_set", {
            "model": Field(OBJECT, _set("model", lambda v: model_parser.parse(v, _State(name=None, definition=None)))),
            "validation": Field(OBJECT, _set("validation", parse_validation)),
        }).parse(body, state)
    if state.model is None:
        raise ParsingError("Missing required value [model]")
    errors = []
    if state.model.name is None:
        errors.append("modelName must be set")
    if state.model.definition is None:
        errors.append("defition must be set")
    if errors:
        raise ActionRequestValidationError("Validation Failed: " + "".join(f"{i}: {e};" for i, e in enumerate(errors, 1)))
    return CreateModelRequest(set_name, state.model.name, state.model.definition, state.validation, expected)


def create_model_from_set(request: CreateModelRequest, stored_set: StoredFeatureSet | None,
                          set_version: int | None = None) -> StoredLtrModel:
    """The model a ``_createmodel`` stores: a deep copy of the set, so later set edits never reach it.

    ``stored_set`` / ``set_version`` are the set as currently stored (None if absent); the result
    still has to pass :func:`precheck` and is stored with create semantics (an existing model name
    is answered with 405 "not updatable" by the caller).
    """
    if stored_set is None:
        raise IllegalArgumentError(f"Stored feature set [{request.set_name}] does not exist")
    if request.expected_version is not None and request.expected_version != set_version:
        raise IllegalArgumentError(f"Stored feature set [{request.set_name}] has version [{set_version}] but "
                                   f"[{request.expected_version}] was expected.")
    return StoredLtrModel(request.model_name, copy.deepcopy(stored_set), copy.deepcopy(request.definition))


def model_not_updatable_error() -> IllegalArgumentError:
    """What ``_createmodel`` (and POST on a model) answer when the model already exists: 405."""
    return IllegalArgumentError(f"Element of type [{MODEL}] are not updatable, please create a new one instead.",
                                status=405)


__all__ = [
    "FEATURE", "FEATURESET", "MODEL", "MAX_FEATURES", "SUPPORTED_TYPES", "element_id", "FeatureValidation",
    "StoredFeature", "StoredFeatureSet", "FeatureNormDefinition", "ModelDefinition", "StoredLtrModel",
    "CompiledLtrModel", "StorableElement", "compile_featureset_model", "parse_feature", "parse_featureset",
    "parse_model", "parse_model_definition", "parse_validation", "StoreRequest", "parse_store_request", "precheck",
    "element_from_source", "AddFeaturesRequest", "parse_add_features_request", "select_features_by_query",
    "add_features", "CreateModelRequest", "parse_create_model_request", "create_model_from_set",
    "model_not_updatable_error",
]
