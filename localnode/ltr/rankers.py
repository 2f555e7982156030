"""LTR model parsers and rankers, float32-exact against opensearch-ltr 2.19.

A ranker maps a feature vector (float32, one slot per feature ordinal, 0.0 where a feature did
not match) to a float32 score. Every arithmetic step is a float32 operation in the plugin's order,
so ``score`` reproduces Java bit for bit. ``score_many`` is the vectorised form the engine uses for
a whole rescore window; it performs the same float32 operations element-wise in the same order
(never ``np.sum``/``np.dot``, whose pairwise or fused accumulation would round differently), so the
two paths are bit-identical.

Parsers are registered by the model ``type`` string, like the plugin's ``LtrRankerParserFactory``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from localnode.errors import IllegalArgumentError, ParsingError
from localnode.ltr.xcontent import (
    NUMBER, OBJECT_ARRAY, STRING, Field, GenericOpenSearchError, JsonParseError, ObjectParser,
    XContentParseError, is_json_number, java_double_to_string, java_hashmap_order, json_number_to_f32,
    parse_first_json_value, token_name, x_array, x_float, x_int, x_text)

F32 = np.float32
_ZERO = np.float32(0.0)


def _vector(x: Any, size: int) -> np.ndarray:
    vector = np.asarray(x, dtype=np.float32)
    if vector.shape != (size,):
        raise ValueError(f"expected a feature vector of {size} float32 values, got shape {vector.shape}")
    return vector


def _matrix(x: Any, size: int) -> np.ndarray:
    matrix = np.asarray(x, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != size:
        raise ValueError(f"expected an (n_docs, {size}) float32 matrix, got shape {matrix.shape}")
    return matrix


class Ranker(ABC):
    """A compiled model: ``score`` for one vector, ``score_many`` for a (n_docs, n_features) matrix."""
    name: str
    size: int

    @abstractmethod
    def score(self, x: np.ndarray) -> np.float32: ...

    @abstractmethod
    def score_many(self, X: np.ndarray) -> np.ndarray: ...


# --------------------------------------------------------------------------------------------------
# model/linear

class LinearRanker(Ranker):
    """``LinearRanker``: ``s = 0; for i in ordinals: s += w[i] * x[i]`` in float32, no intercept."""
    name = "linear"

    def __init__(self, weights: Sequence[float] | np.ndarray) -> None:
        self.weights = np.asarray(weights, dtype=np.float32)
        self.size = int(self.weights.shape[0])

    def score(self, x: np.ndarray) -> np.float32:
        vector = _vector(x, self.size)
        s = _ZERO
        with np.errstate(all="ignore"):
            for w, v in zip(self.weights, vector):
                s = F32(s + F32(w * v))
        return s

    def score_many(self, X: np.ndarray) -> np.ndarray:
        matrix = _matrix(X, self.size)
        s = np.zeros(matrix.shape[0], dtype=np.float32)
        with np.errstate(all="ignore"):
            for i in range(self.size):          # column by column: the Java loop's summation order
                s = s + self.weights[i] * matrix[:, i]
        return s


def parse_linear(feature_names: Sequence[str], definition: Any) -> LinearRanker:
    """``LinearRankerParser``: ``{"feature": weight, ...}``; unlisted features weigh 0."""
    try:
        present, value = _load(definition)
    except JsonParseError as exc:
        raise IllegalArgumentError(exc.reason, caused_by=exc) from exc
    if not present or not isinstance(value, Mapping):
        raise ParsingError(f"Expected start object but found [{token_name(value) if present else 'null'}]")
    ordinals = {name: i for i, name in enumerate(feature_names)}
    weights = np.zeros(len(feature_names), dtype=np.float32)
    for name, weight in value.items():
        if name not in ordinals:
            raise ParsingError(f"Feature [{name}] is unknown.")
        if not is_json_number(weight):
            raise ParsingError(f"Expected a float but found [{token_name(weight)}]")
        weights[ordinals[name]] = json_number_to_f32(weight)
    return LinearRanker(weights)


# --------------------------------------------------------------------------------------------------
# model/xgboost+json

NOOP = "noop"
SIGMOID = "sigmoid"

# 2.19.x XGBoostJsonParser: objective -> output transform. rank:ndcg / rank:map are 3.x only.
XGBOOST_OBJECTIVES: dict[str, str] = {
    "binary:logitraw": NOOP, "rank:pairwise": NOOP, "reg:linear": NOOP,
    "binary:logistic": SIGMOID, "reg:logistic": SIGMOID,
}


def sigmoid(value: np.float32) -> np.float32:
    """``(float) (1 / (1 + Math.exp(-x)))``, computed in double."""
    try:
        e = math.exp(-float(value))
    except OverflowError:
        e = math.inf
    return F32(1.0 / (1.0 + e))


@dataclass
class TreeNode:
    """A parsed node: a split (feature ordinal, threshold, yes/no children) or a leaf."""
    feature: int = 0
    threshold: np.float32 = _ZERO
    left: "TreeNode | None" = None
    right: "TreeNode | None" = None
    leaf: np.float32 | None = None


class NaiveAdditiveDecisionTree(Ranker):
    """Sum of tree leaves in float32 (tree weights 1), then the objective's transform.

    At a split the document goes left (``yes``) iff ``threshold > value`` -- strictly -- else right.
    A feature that did not match has value 0.0; the ``missing`` branch is ignored (2.x).
    """
    name = "naive_additive_decision_tree"

    def __init__(self, trees: Sequence[TreeNode], size: int, objective: str = NOOP) -> None:
        self.trees = list(trees)
        self.size = size
        self.objective = objective
        self._compile()

    def _compile(self) -> None:
        """Flatten all trees into node arrays so ``score_many`` walks every doc and tree at once."""
        features: list[int] = []
        thresholds: list[np.float32] = []
        lefts: list[int] = []
        rights: list[int] = []
        leaves: list[np.float32] = []
        is_leaf: list[bool] = []
        roots: list[int] = []
        depth = 0
        for tree in self.trees:
            stack: list[tuple[TreeNode, int, int, bool]] = [(tree, 0, -1, False)]
            roots.append(len(features))
            while stack:
                node, level, parent, as_right = stack.pop()
                index = len(features)
                if parent >= 0:
                    (rights if as_right else lefts)[parent] = index
                depth = max(depth, level)
                features.append(node.feature if node.leaf is None else 0)
                thresholds.append(node.threshold)
                lefts.append(index)
                rights.append(index)
                leaves.append(node.leaf if node.leaf is not None else _ZERO)
                is_leaf.append(node.leaf is not None)
                if node.leaf is None:
                    assert node.left is not None and node.right is not None
                    stack.append((node.right, level + 1, index, True))
                    stack.append((node.left, level + 1, index, False))
        self._feature = np.asarray(features, dtype=np.intp)
        self._threshold = np.asarray(thresholds, dtype=np.float32)
        self._left = np.asarray(lefts, dtype=np.intp)
        self._right = np.asarray(rights, dtype=np.intp)
        self._leaf = np.asarray(leaves, dtype=np.float32)
        self._is_leaf = np.asarray(is_leaf, dtype=bool)
        self._roots = np.asarray(roots, dtype=np.intp)
        self._depth = depth

    def _transform(self, total: np.float32) -> np.float32:
        return sigmoid(total) if self.objective == SIGMOID else total

    def score(self, x: np.ndarray) -> np.float32:
        vector = _vector(x, self.size)
        total = _ZERO
        with np.errstate(all="ignore"):
            for tree in self.trees:
                node = tree
                while node.leaf is None:
                    node = node.left if node.threshold > vector[node.feature] else node.right  # type: ignore[assignment]
                total = F32(total + node.leaf)
        return self._transform(total)

    def score_many(self, X: np.ndarray) -> np.ndarray:
        matrix = _matrix(X, self.size)
        n = matrix.shape[0]
        current = np.broadcast_to(self._roots, (n, self._roots.shape[0])).copy()
        rows = np.arange(n)[:, None]
        for _ in range(self._depth):               # one tree level per step, all docs and trees at once
            values = matrix[rows, self._feature[current]]
            go_left = self._threshold[current] > values
            following = np.where(go_left, self._left[current], self._right[current])
            current = np.where(self._is_leaf[current], current, following)
        outputs = self._leaf[current]
        total = np.zeros(n, dtype=np.float32)
        with np.errstate(all="ignore"):
            for t in range(outputs.shape[1]):      # tree order, float32 accumulation
                total = total + outputs[:, t]
        if self.objective == SIGMOID:
            return np.fromiter((sigmoid(v) for v in total), dtype=np.float32, count=n)
        return total


class _SplitState:
    def __init__(self) -> None:
        self.nodeid: int | None = None
        self.depth: int | None = None
        self.split: str | None = None
        self.threshold: np.float32 | None = None
        self.no: int | None = None
        self.yes: int | None = None
        self.missing: int | None = None
        self.leaf: np.float32 | None = None
        self.children: list["_SplitState"] | None = None


def _setter(attribute: str, convert: Callable[[Any], Any]) -> Callable[[Any, Any], None]:
    return lambda state, value: setattr(state, attribute, convert(value))


class _XGBoostReader:
    """``XGBoostJsonParser``'s ObjectParsers (names ``xgboost_definition`` and ``node``)."""

    def __init__(self, feature_names: Sequence[str]) -> None:
        self.ordinals = {name: i for i, name in enumerate(feature_names)}
        self.objective = NOOP
        self.node = ObjectParser("node", {
            "nodeid": Field(NUMBER, _setter("nodeid", x_int)),
            "depth": Field(NUMBER, _setter("depth", x_int)),
            "split": Field(STRING, _setter("split", x_text)),
            "split_condition": Field(NUMBER, _setter("threshold", x_float)),
            "no": Field(NUMBER, _setter("no", x_int)),
            "yes": Field(NUMBER, _setter("yes", x_int)),
            "missing": Field(NUMBER, _setter("missing", x_int)),
            "leaf": Field(NUMBER, _setter("leaf", x_float)),
            "children": Field(OBJECT_ARRAY, _setter("children", lambda v: x_array(v, self.split))),
        })
        self.definition = ObjectParser("xgboost_definition", {
            "objective": Field(STRING, lambda state, v: self.set_objective(x_text(v))),
            "splits": Field(OBJECT_ARRAY, lambda state, v: state.__setitem__("splits", x_array(v, self.split))),
        })

    def set_objective(self, objective: str) -> None:
        if objective not in XGBOOST_OBJECTIVES:
            raise IllegalArgumentError(f"Objective [{objective}] is not a valid XGBoost objective")
        self.objective = XGBOOST_OBJECTIVES[objective]

    def split(self, value: Any) -> _SplitState:
        state = self.node.parse(value, _SplitState())
        if state.leaf is None:
            if None in (state.nodeid, state.threshold, state.split, state.yes, state.no, state.depth) \
                    or state.children is None or len(state.children) != 2:
                raise ParsingError("This split does not have all the required fields")
            if state.yes != state.children[0].nodeid or state.no != state.children[1].nodeid:
                raise ParsingError("Split structure is invalid, yes, no and/or missing branches does not point "
                                   "to the proper children.")
            if state.split not in self.ordinals:
                raise ParsingError(f"Unknown feature [{state.split}]")
        elif state.nodeid is None:
            raise ParsingError("This leaf does not have all the required fields")
        return state

    def tree(self, state: _SplitState) -> TreeNode:
        if state.leaf is not None:
            return TreeNode(leaf=state.leaf)
        assert state.children is not None and state.split is not None and state.threshold is not None
        return TreeNode(self.ordinals[state.split], state.threshold, self.tree(state.children[0]),
                        self.tree(state.children[1]))


def parse_xgboost(feature_names: Sequence[str], definition: Any) -> NaiveAdditiveDecisionTree:
    """``model/xgboost+json``: an array of dumped trees, or ``{"objective": ..., "splits": [...]}``."""
    try:
        present, value = _load(definition)
    except JsonParseError as exc:
        raise IllegalArgumentError("Cannot parse model", caused_by=exc) from exc
    reader = _XGBoostReader(feature_names)
    if present and isinstance(value, Mapping):
        state: dict[str, Any] = {}
        try:
            reader.definition.parse(value, state)
        except XContentParseError as exc:
            raise ParsingError("Unable to parse XGBoost object", caused_by=exc) from exc
        if "splits" not in state:
            raise ParsingError("XGBoost model missing required field [splits]")
        splits = state["splits"]
    elif present and isinstance(value, list):
        splits = [reader.split(element) for element in value]
    else:
        raise ParsingError(f"Expected [START_ARRAY] or [START_OBJECT] but got [{token_name(value) if present else 'null'}]")
    if not splits:
        raise ParsingError("XGBoost model must define at lease one tree")
    return NaiveAdditiveDecisionTree([reader.tree(s) for s in splits], len(feature_names), reader.objective)


# --------------------------------------------------------------------------------------------------
# Formats the plugin evaluates but the embedded engine does not

def _not_evaluated(model_type: str, what: str) -> Callable[[Sequence[str], Any], Ranker]:
    def parser(feature_names: Sequence[str], definition: Any) -> Ranker:
        raise IllegalArgumentError(
            f"[{model_type}] models ({what}) are evaluated by the OpenSearch LTR plugin but not by the embedded "
            "engine (localnode); run against an OpenSearch cluster with --cluster URL for this model")
    return parser


# --------------------------------------------------------------------------------------------------
# Normalizers

class Normalizer(ABC):
    @abstractmethod
    def normalize(self, value: np.float32) -> np.float32: ...

    @abstractmethod
    def normalize_many(self, values: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class StandardNormalizer(Normalizer):
    """``(value - mean) / standard_deviation`` in float32."""
    mean: np.float32
    standard_deviation: np.float32

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", F32(self.mean))
        object.__setattr__(self, "standard_deviation", F32(self.standard_deviation))

    def normalize(self, value: np.float32) -> np.float32:
        with np.errstate(all="ignore"):
            return F32(F32(F32(value) - self.mean) / self.standard_deviation)

    def normalize_many(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return (values - self.mean) / self.standard_deviation


@dataclass(frozen=True)
class MinMaxNormalizer(Normalizer):
    """``(value - minimum) / (maximum - minimum)`` in float32, no clipping."""
    minimum: np.float32
    maximum: np.float32

    def __post_init__(self) -> None:
        object.__setattr__(self, "minimum", F32(self.minimum))
        object.__setattr__(self, "maximum", F32(self.maximum))
        if self.minimum >= self.maximum:
            raise IllegalArgumentError(f"Minimum {java_double_to_string(float(self.minimum))} must be smaller than "
                                       f"than maximum: {java_double_to_string(float(self.maximum))}")

    def normalize(self, value: np.float32) -> np.float32:
        with np.errstate(all="ignore"):
            return F32(F32(F32(value) - self.minimum) / F32(self.maximum - self.minimum))

    def normalize_many(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return (values - self.minimum) / F32(self.maximum - self.minimum)


def normalizers_by_ordinal(normalizers: Mapping[str, Normalizer], feature_names: Sequence[str],
                           set_name: str) -> dict[int, Normalizer]:
    """``StoredFeatureNormalizers.compileOrdToNorms``: every normalized feature must be in the set."""
    ordinals = {name: i for i, name in enumerate(feature_names)}
    out: dict[int, Normalizer] = {}
    for name in java_hashmap_order(list(normalizers)):
        if name not in ordinals:
            raise GenericOpenSearchError(f"Feature {name} not found in feature set {set_name}")
        out[ordinals[name]] = normalizers[name]
    return out


class FeatureNormalizingRanker(Ranker):
    """Normalizes the filled vector (including the 0.0 of features that did not match), then scores."""

    def __init__(self, wrapped: Ranker, normalizers: Mapping[int, Normalizer]) -> None:
        self.wrapped = wrapped
        self.normalizers = dict(normalizers)
        self.name = wrapped.name
        self.size = wrapped.size

    def normalize(self, x: np.ndarray) -> np.ndarray:
        vector = _vector(x, self.size).copy()
        for ordinal, normalizer in self.normalizers.items():
            vector[ordinal] = normalizer.normalize(vector[ordinal])
        return vector

    def score(self, x: np.ndarray) -> np.float32:
        return self.wrapped.score(self.normalize(x))

    def score_many(self, X: np.ndarray) -> np.ndarray:
        matrix = _matrix(X, self.size).copy()
        for ordinal, normalizer in self.normalizers.items():
            matrix[:, ordinal] = normalizer.normalize_many(matrix[:, ordinal])
        return self.wrapped.score_many(matrix)


# --------------------------------------------------------------------------------------------------
# Registry

RankerParser = Callable[[Sequence[str], Any], Ranker]
_PARSERS: dict[str, RankerParser] = {}


def register_ranker_parser(model_type: str, parser: RankerParser) -> None:
    if model_type in _PARSERS:
        raise RuntimeError(f"Cannot register LtrRankerParser: [{model_type}] already registered.")
    _PARSERS[model_type] = parser


def get_ranker_parser(model_type: str) -> RankerParser:
    """The parser for a model ``type``; unknown types fail like the plugin's factory."""
    parser = _PARSERS.get(model_type)
    if parser is None:
        raise IllegalArgumentError(f"Unsupported LtrRanker format/type [{model_type}]")
    return parser


def parse_ranker(model_type: str, definition: Any, feature_names: Sequence[str]) -> Ranker:
    """Parse a model definition (a JSON value, or a string holding the model text) into a ranker."""
    return get_ranker_parser(model_type)(feature_names, definition)


def implicit_set_ranker(size: int) -> LinearRanker:
    """``sltr`` with only a featureset: a linear model with every weight 1 (score = sum of features)."""
    return LinearRanker(np.ones(size, dtype=np.float32))


def _load(definition: Any) -> tuple[bool, Any]:
    """The definition as the plugin's parser sees it: string definitions are parsed from their text."""
    if isinstance(definition, str):
        return parse_first_json_value(definition)
    return True, definition


register_ranker_parser("model/linear", parse_linear)
register_ranker_parser("model/xgboost+json", parse_xgboost)
register_ranker_parser("model/xgboost+json+raw", _not_evaluated("model/xgboost+json+raw", "XGBoost save_model JSON"))
register_ranker_parser("model/ranklib", _not_evaluated("model/ranklib", "RankLib/RankyMcRankFace text"))

__all__ = [
    "Ranker", "LinearRanker", "NaiveAdditiveDecisionTree", "TreeNode", "FeatureNormalizingRanker", "Normalizer",
    "StandardNormalizer", "MinMaxNormalizer", "XGBOOST_OBJECTIVES", "sigmoid", "parse_linear", "parse_xgboost",
    "register_ranker_parser", "get_ranker_parser", "parse_ranker", "implicit_set_ranker", "normalizers_by_ordinal",
]
