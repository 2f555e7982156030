"""LTR plugin parity: float32-exact rankers, normalizers, mustache templates, store elements.

Expected values are hand-computed the way the plugin's Java computes them (float32 step by step),
and error texts are the plugin's (opensearch-ltr 2.19).
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from localnode.errors import (
    ActionRequestValidationError, IllegalArgumentError, OpenSearchError, ParsingError, UnsupportedError)
from localnode.ltr import elements as E
from localnode.ltr import rankers as R
from localnode.ltr import templates as T
from localnode.ltr import xcontent as X

F = np.float32


def chain(error: OpenSearchError) -> list[tuple[str, str]]:
    """(type, reason) from the outer error down to the root cause."""
    out = []
    current: OpenSearchError | None = error
    while current is not None:
        out.append((current.error_type, current.reason))
        current = current.caused_by
    return out


def root_reason(error: OpenSearchError) -> str:
    return chain(error)[-1][1]


def feature(name: str, params: list[str] | None = None, template=None, language: str = "mustache") -> E.StoredFeature:
    return E.StoredFeature(name, params or [], language, template if template is not None else {"match_all": {}})


def fset(*names: str, name: str = "set") -> E.StoredFeatureSet:
    return E.StoredFeatureSet(name, [feature(n) for n in names])


def model(definition, model_type="model/linear", names=("a", "b", "c"), norms=None) -> E.StoredLtrModel:
    body = {"type": model_type, "definition": definition}
    if norms is not None:
        body["feature_normalizers"] = norms
    return E.StoredLtrModel("m", fset(*names), E.parse_model_definition(body))


# ==================================================================================================
# model/linear

class TestLinear:
    def hand_loop(self, weights, x):
        s = F(0)
        for w, v in zip(weights, x):
            s = F(s + F(F(w) * F(v)))
        return s

    def test_scalar_vectorised_and_hand_loop_agree_bit_for_bit(self):
        rng = np.random.default_rng(7)
        n_features = 40
        weights = (rng.standard_normal(n_features) * 10.0 ** rng.integers(-4, 5, n_features)).astype(F)
        X = (rng.standard_normal((300, n_features)) * 10.0 ** rng.integers(-3, 6, (300, n_features))).astype(F)
        X[rng.random(X.shape) < 0.3] = 0.0          # non-matching features
        ranker = R.LinearRanker(weights)
        many = ranker.score_many(X)
        assert many.dtype == np.float32
        for i in range(X.shape[0]):
            expected = self.hand_loop(weights, X[i])
            assert ranker.score(X[i]).tobytes() == expected.tobytes()
            assert many[i].tobytes() == expected.tobytes()

    def test_summation_order_is_sequential_not_pairwise(self):
        # 2^24 + 1 + 1 ... : sequential float32 accumulation loses every +1, pairwise would not.
        x = np.array([2.0 ** 24] + [1.0] * 15, dtype=F)
        ranker = R.LinearRanker(np.ones(16, dtype=F))
        assert ranker.score(x) == F(2.0 ** 24)
        assert ranker.score_many(x[None, :])[0] == F(2.0 ** 24)
        assert np.sum(x, dtype=F) != F(2.0 ** 24)     # what a naive vectorisation would give

    def test_definition_object_and_string_are_equivalent(self):
        names = ["a", "b", "c"]
        by_object = R.parse_linear(names, {"a": 0.1, "c": 3})
        by_string = R.parse_linear(names, '{"a": 0.1, "c": 3}')
        assert by_object.weights.tobytes() == by_string.weights.tobytes()
        assert by_object.weights.tolist() == [F(0.1), 0.0, 3.0]     # unlisted features weigh 0

    def test_weights_are_parsed_straight_to_float32(self):
        # 1 + 2^-24 + tiny is just above the float32 midpoint between 1 and 1+2^-23; a double
        # round trip would land exactly on the midpoint and round to even (1.0).
        text = "1.00000005960464477539062500001"
        assert np.float32(float(text)) == F(1.0)
        weights = R.parse_linear(["a"], '{"a": %s}' % text).weights
        assert weights[0] == np.nextafter(F(1.0), F(2.0))

    def test_no_intercept_and_zero_vector_scores_zero(self):
        ranker = R.parse_linear(["a", "b"], {"a": 2.0, "b": -1.5})
        assert ranker.score(np.zeros(2, dtype=F)) == 0.0

    @pytest.mark.parametrize("definition, message", [
        ({"nope": 1.0}, "Feature [nope] is unknown."),
        ({"a": "1.0"}, "Expected a float but found [VALUE_STRING]"),
        ({"a": None}, "Expected a float but found [VALUE_NULL]"),
        ({"a": True}, "Expected a float but found [VALUE_BOOLEAN]"),
        ([{"a": 1}], "Expected start object but found [START_ARRAY]"),
        ("", "Expected start object but found [null]"),
    ])
    def test_errors(self, definition, message):
        with pytest.raises(ParsingError) as info:
            R.parse_linear(["a", "b"], definition)
        assert info.value.reason == message

    def test_malformed_string_definition(self):
        with pytest.raises(IllegalArgumentError):
            R.parse_linear(["a"], '{"a": ')
        with pytest.raises(IllegalArgumentError) as info:
            R.parse_linear(["a"], '{"a": 1, "a": 2}')
        assert "Duplicate field 'a'" in root_reason(info.value)

    def test_store_precheck_wraps_model_errors(self):
        with pytest.raises(IllegalArgumentError) as info:
            E.precheck(model({"zzz": 1.0}))
        assert chain(info.value) == [
            ("illegal_argument_exception", "Error while parsing model [m] with type [model/linear]"),
            ("parsing_exception", "Feature [zzz] is unknown."),
        ]

    def test_unknown_model_type(self):
        with pytest.raises(IllegalArgumentError) as info:
            E.precheck(model({}, model_type="model/foo"))
        assert root_reason(info.value) == "Unsupported LtrRanker format/type [model/foo]"

    def test_implicit_featureset_model_sums_features(self):
        compiled = E.compile_featureset_model(fset("a", "b", "c"))
        x = np.array([0.1, 0.2, 0.3], dtype=F)
        assert compiled.ranker.score(x) == F(F(F(0.1) + F(0.2)) + F(0.3))


# ==================================================================================================
# Normalizers

class TestNormalizers:
    def test_standard_missing_feature_becomes_minus_mean_over_sd(self):
        m = model({"a": 1.0, "b": 1.0}, names=("a", "b"),
                  norms={"b": {"standard": {"mean": 1970.0, "standard_deviation": 30.0}}})
        ranker = m.compile().ranker
        x = np.array([0.5, 0.0], dtype=F)        # b did not match: 0.0, normalised anyway
        normalised_b = F(F(F(0.0) - F(1970.0)) / F(30.0))
        assert normalised_b == F(-1970.0 / 30.0)
        expected = F(F(F(1.0) * F(0.5)) + F(F(1.0) * normalised_b))
        assert ranker.score(x) == expected
        assert ranker.score_many(x[None, :])[0] == expected

    def test_min_max_does_not_clip(self):
        m = model({"a": 1.0}, names=("a",), norms={"a": {"min_max": {"minimum": 10, "maximum": 20}}})
        ranker = m.compile().ranker
        for value in (5.0, 10.0, 15.0, 35.0):
            expected = F(F(F(value) - F(10)) / F(F(20) - F(10)))
            assert ranker.score(np.array([value], dtype=F)) == expected
        assert ranker.score(np.array([35.0], dtype=F)) == F(2.5)
        assert ranker.score(np.array([5.0], dtype=F)) == F(-0.5)

    def test_scalar_and_vectorised_normalisation_agree(self):
        rng = np.random.default_rng(3)
        m = model({"a": 0.3, "b": -1.7, "c": 2.1},
                  norms={"a": {"standard": {"mean": 0.37, "standard_deviation": 1.3}},
                         "c": {"min_max": {"minimum": 0.5, "maximum": 7.25}}})
        ranker = m.compile().ranker
        X = rng.random((200, 3)).astype(F) * 10
        many = ranker.score_many(X)
        for i in range(len(X)):
            assert ranker.score(X[i]).tobytes() == many[i].tobytes()

    def test_normalizer_feature_must_be_in_the_set(self):
        m = model({"a": 1.0}, names=("a",), norms={"zz": {"standard": {"mean": 1, "standard_deviation": 2}}})
        with pytest.raises(IllegalArgumentError) as info:
            E.precheck(m)
        assert chain(info.value)[-1] == ("exception", "Feature zz not found in feature set set")

    @pytest.mark.parametrize("norm, root", [
        ({"standard": {"mean": 1.0, "standard_deviation": 0}}, "Standard Deviation Must Be Positive.  You passed: 0.0"),
        ({"standard": {"standard_deviation": -2.5}}, "Standard Deviation Must Be Positive.  You passed: -2.5"),
        ({"min_max": {"minimum": -1, "maximum": 5}}, "Minimum -1.0 must be positive"),
        ({"min_max": {"minimum": 10, "maximum": 5}}, "Maximum 5.0 must be larger than minimum"),
        ({"min_max": {"maximum": 5, "minimum": 10}}, "Minimum 10.0 must be smaller than than maximum"),
        ({"min_max": {"minimum": 1}, "standard": {"mean": 1, "standard_deviation": 1}},
         "Multiple feature normalizers detected "),
        ({"foo": {}}, "[feature_normalizers] unknown field [foo]"),
    ])
    def test_normalizer_definition_errors(self, norm, root):
        with pytest.raises(OpenSearchError) as info:
            E.parse_model_definition({"type": "model/linear", "definition": {}, "feature_normalizers": {"a": norm}})
        reasons = [reason for _, reason in chain(info.value)]
        assert reasons[0] == "[model] failed to parse field [feature_normalizers]"
        assert reasons[1] == "[feature_normalizers] failed to parse field [a]"
        assert reasons[-1] == root

    def test_normalizers_as_array_are_refused(self):
        with pytest.raises(OpenSearchError) as info:
            E.parse_model_definition({"type": "model/linear", "definition": {},
                                      "feature_normalizers": [{"a": {"standard": {"mean": 1}}}]})
        assert root_reason(info.value) == \
            "[feature_normalizers] doesn't support arrays. Use a single object with multiple fields."

    def test_stored_normalizers_are_java_floats(self):
        definition = E.parse_model_definition({"type": "model/linear", "definition": {"a": 1},
                                               "feature_normalizers": {
                                                   "a": {"standard": {"mean": 0.1, "standard_deviation": 3}},
                                                   "b": {"min_max": {"minimum": 1}}}})
        stored = definition.to_dict()["feature_normalizers"]
        assert stored["a"] == {"standard": {"mean": 0.1, "standard_deviation": 3.0}}
        assert stored["b"] == {"min_max": {"minimum": 1.0, "maximum": 3.4028235e38}}   # Float.MAX_VALUE default


# ==================================================================================================
# model/xgboost+json

def split(nodeid, feature_name, threshold, yes_child, no_child, depth=0, **extra):
    node = {"nodeid": nodeid, "depth": depth, "split": feature_name, "split_condition": threshold,
            "yes": yes_child["nodeid"], "no": no_child["nodeid"], "missing": yes_child["nodeid"],
            "children": [yes_child, no_child]}
    node.update(extra)
    return node


def leaf(nodeid, value):
    return {"nodeid": nodeid, "leaf": value}


TREE_A = split(0, "a", 0.5, leaf(1, 1.25), split(2, "b", 2.0, leaf(3, -0.5), leaf(4, 0.75), depth=1))
TREE_B = split(0, "b", 0.0, leaf(1, 0.1), leaf(2, 0.2))


class TestXGBoost:
    names = ["a", "b"]

    def test_strict_less_than_at_equality_goes_right(self):
        ranker = R.parse_xgboost(self.names, [TREE_A])
        assert ranker.score(np.array([0.49999997, 0], dtype=F)) == F(1.25)   # a < 0.5 -> yes
        assert ranker.score(np.array([0.5, 1.0], dtype=F)) == F(-0.5)         # a == 0.5 -> no; b < 2 -> yes
        assert ranker.score(np.array([0.5, 2.0], dtype=F)) == F(0.75)         # b == 2.0 -> no
        X = np.array([[0.49999997, 0], [0.5, 1.0], [0.5, 2.0]], dtype=F)
        assert ranker.score_many(X).tolist() == [F(1.25), F(-0.5), F(0.75)]

    def test_missing_feature_is_zero_and_missing_branch_ignored(self):
        # TREE_B: b < 0.0 ? ... ; a non-matching b is 0.0 -> not < 0 -> "no" (0.2), whatever "missing" says.
        ranker = R.parse_xgboost(self.names, [TREE_B])
        assert ranker.score(np.zeros(2, dtype=F)) == F(0.2)

    def test_sum_over_trees_is_float32_accumulation(self):
        ranker = R.parse_xgboost(self.names, {"splits": [TREE_A, TREE_B, TREE_A]})
        x = np.array([0.1, -3.0], dtype=F)
        expected = F(F(F(F(0) + F(1.25)) + F(0.1)) + F(1.25))
        assert ranker.score(x) == expected
        assert ranker.score_many(x[None, :])[0] == expected

    def test_sigmoid_objectives(self):
        for objective in ("binary:logistic", "reg:logistic"):
            ranker = R.parse_xgboost(self.names, {"objective": objective, "splits": [TREE_A, TREE_B]})
            total = F(F(F(0) + F(-0.5)) + F(0.1))
            expected = F(1.0 / (1.0 + math.exp(-float(total))))
            x = np.array([0.7, -1.0], dtype=F)
            assert ranker.score(x) == expected
            assert ranker.score_many(x[None, :])[0] == expected

    def test_sigmoid_overflow_like_java(self):
        ranker = R.parse_xgboost(["a"], {"objective": "binary:logistic", "splits": [leaf(0, -1e30)]})
        assert ranker.score(np.zeros(1, dtype=F)) == 0.0

    @pytest.mark.parametrize("objective", ["binary:logitraw", "rank:pairwise", "reg:linear"])
    def test_identity_objectives(self, objective):
        ranker = R.parse_xgboost(self.names, {"objective": objective, "splits": [TREE_B]})
        assert ranker.score(np.array([0, -1], dtype=F)) == F(0.1)

    @pytest.mark.parametrize("objective", ["rank:ndcg", "rank:map", "multi:softmax", "reg:squarederror"])
    def test_rejected_objectives(self, objective):
        with pytest.raises(ParsingError) as info:
            R.parse_xgboost(self.names, {"objective": objective, "splits": [TREE_B]})
        assert chain(info.value) == [
            ("parsing_exception", "Unable to parse XGBoost object"),
            ("x_content_parse_exception", "[xgboost_definition] failed to parse field [objective]"),
            ("illegal_argument_exception", f"Objective [{objective}] is not a valid XGBoost objective"),
        ]

    def test_base_score_is_not_accepted_nor_applied(self):
        with pytest.raises(ParsingError) as info:
            R.parse_xgboost(self.names, {"objective": "binary:logistic", "base_score": 0.5, "splits": [TREE_B]})
        assert "[xgboost_definition] unknown field [base_score]" in root_reason(info.value)

    def test_node_validation(self):
        one_child = split(0, "a", 1.0, leaf(1, 1.0), leaf(2, 2.0))
        one_child["children"] = one_child["children"][:1]
        swapped = split(0, "a", 1.0, leaf(1, 1.0), leaf(2, 2.0))
        swapped["children"] = swapped["children"][::-1]
        cases = [
            (one_child, "This split does not have all the required fields"),
            (swapped, "Split structure is invalid, yes, no and/or missing branches does not point to the "
                      "proper children."),
            (split(0, "f0", 1.0, leaf(1, 1.0), leaf(2, 2.0)), "Unknown feature [f0]"),
            ({"leaf": 1.0}, "This leaf does not have all the required fields"),
            ({k: v for k, v in split(0, "a", 1.0, leaf(1, 1), leaf(2, 2)).items() if k != "depth"},
             "This split does not have all the required fields"),
        ]
        for tree, message in cases:
            with pytest.raises(ParsingError) as info:
                R.parse_xgboost(self.names, [tree])
            assert info.value.reason == message

    def test_nested_errors_are_wrapped_per_level(self):
        bad = split(0, "a", 1.0, leaf(1, 1.0), split(2, "nope", 1.0, leaf(3, 1), leaf(4, 2), depth=1))
        with pytest.raises(OpenSearchError) as info:
            R.parse_xgboost(self.names, [bad])
        assert chain(info.value) == [("x_content_parse_exception", "[node] failed to parse field [children]"),
                                     ("parsing_exception", "Unknown feature [nope]")]

    def test_dump_with_stats_is_rejected(self):
        with pytest.raises(OpenSearchError) as info:
            R.parse_xgboost(self.names, [split(0, "a", 1.0, leaf(1, 1), leaf(2, 2), gain=3.2)])
        assert info.value.reason == "[node] unknown field [gain]"

    @pytest.mark.parametrize("definition, message", [
        ([], "XGBoost model must define at lease one tree"),
        ({"splits": []}, "XGBoost model must define at lease one tree"),
        ({"objective": "reg:linear"}, "XGBoost model missing required field [splits]"),
        ('"trees"', "Expected [START_ARRAY] or [START_OBJECT] but got [VALUE_STRING]"),
    ])
    def test_definition_shape_errors(self, definition, message):
        with pytest.raises(ParsingError) as info:
            R.parse_xgboost(self.names, definition)
        assert info.value.reason == message

    def test_string_definition_and_numeric_strings(self):
        text = json.dumps([{"nodeid": "0", "depth": 0, "split": "a", "split_condition": "0.5", "yes": 1, "no": 2,
                            "children": [leaf(1, 1.0), leaf(2, "2.5")]}])
        ranker = R.parse_xgboost(self.names, text)
        assert ranker.score(np.array([1.0, 0], dtype=F)) == F(2.5)

    def test_vectorised_matches_scalar_on_random_forests(self):
        rng = np.random.default_rng(11)
        names = [f"f{i}" for i in range(6)]
        counter = iter(range(10 ** 6))

        def grow(depth):
            nodeid = next(counter)
            if depth == 0 or rng.random() < 0.2:
                return leaf(nodeid, float(rng.standard_normal()))
            yes_child, no_child = grow(depth - 1), grow(depth - 1)
            return split(nodeid, names[rng.integers(6)], float(rng.choice([0.0, 0.5, 1.0, rng.random()])),
                         yes_child, no_child)

        forest = [grow(int(rng.integers(0, 7))) for _ in range(25)]
        X = rng.choice([0.0, 0.5, 1.0, 0.25, 0.75], size=(500, 6)).astype(F)   # many exact ties
        for objective in ("reg:linear", "binary:logistic"):
            ranker = R.parse_xgboost(names, {"objective": objective, "splits": forest})
            many = ranker.score_many(X)
            for i in range(len(X)):
                assert ranker.score(X[i]).tobytes() == many[i].tobytes()

    def test_ranklib_is_an_explicit_difference(self):
        with pytest.raises(IllegalArgumentError) as info:
            R.parse_ranker("model/ranklib", "## LambdaMART\n<ensemble/>", ["a"])
        assert "not by the embedded engine" in info.value.reason
        with pytest.raises(IllegalArgumentError) as info:
            E.precheck(model("## Linear Regression\n0:0.5", model_type="model/ranklib"))
        assert info.value.reason == "Error while parsing model [m] with type [model/ranklib]"


# ==================================================================================================
# Mustache templates

def render(template, params, name="f"):
    source = template if isinstance(template, str) else X.jackson_dumps(template)
    return T.parse_rendered_query(name, T.render_mustache(source, params, name))


INJECTIONS = [
    'rambo"}}, "match_all": {"boost": 100',
    '\\"}',
    "a\\",
    "line1\nline2\r\t\b\f\x00\x1f",
    "}}{{ {{#x}} {{/x}}",
    "ünïcødé ✓ 𝄞 \u2028",
    '{"bool": {"must": []}}',
    "",
]


class TestMustache:
    @pytest.mark.parametrize("value", INJECTIONS)
    def test_parameter_values_cannot_change_the_query_structure(self, value):
        template = {"match": {"title": {"query": "{{q}}", "operator": "and"}}}
        assert render(template, {"q": value}) == {"match": {"title": {"query": value, "operator": "and"}}}

    @pytest.mark.parametrize("value", INJECTIONS)
    def test_values_are_escaped_in_string_templates_too(self, value):
        assert render('{"term": {"tag": "pre-{{q}}-post"}}', {"q": value}) == {"term": {"tag": f"pre-{value}-post"}}

    def test_escaping_is_jacksons(self):
        assert T.render_mustache("{{q}}", {"q": '"\\\n\x01é/'}) == '\\"\\\\\\n\\u0001é/'

    @pytest.mark.parametrize("value, text", [
        (3, "3"), (-12, "-12"), (2 ** 40, "1099511627776"), (1.5, "1.5"), (100.0, "100.0"), (1e-5, "1.0E-5"),
        (1e7, "1.0E7"), (0.001, "0.001"), (True, "true"), (False, "false"), (F(0.1), "0.1"),
        (["a", 1], "{0=a, 1=1}"), ([["x", "y"]], "{0=[x, y]}"), ({"k": [1, 2]}, "{k=[1, 2]}"),
    ])
    def test_non_strings_are_written_with_java_to_string(self, value, text):
        assert T.render_mustache("{{v}}", {"v": value}) == text

    def test_numbers_outside_strings(self):
        assert render('{"match_all": {"boost": {{b}}}}', {"b": 2.5}) == {"match_all": {"boost": 2.5}}

    def test_missing_and_null_values_render_empty(self):
        assert T.render_mustache("[{{nope}}][{{n}}]", {"n": None}) == "[][]"

    def test_to_json(self):
        template = '{"terms": {"tag": {{#toJson}}tags{{/toJson}}}}'
        tags = ['a"b', "c\\d", 1, 2.5, True, None, {"x": 1}]
        assert render(template, {"tags": tags}) == {"terms": {"tag": tags}}
        assert T.render_mustache("{{#toJson}}m{{/toJson}}", {"m": {"b": 1e-5, "a": [1]}}) == '{"a":[1],"b":1.0E-5}'
        assert T.render_mustache("{{#TOJSON}}m{{/TOJSON}}", {"m": [1]}) == "[1]"      # case-insensitive
        assert T.render_mustache("[{{#toJson}}nope{{/toJson}}]", {}) == "[]"
        # a scalar is written raw (no quotes, no escaping) -- as the plugin does
        assert T.render_mustache("{{#toJson}}s{{/toJson}}", {"s": 'a"b'}) == 'a"b'

    def test_join(self):
        params = {"tags": ["a", "b", 3, 1.5]}
        assert T.render_mustache("{{#join}}tags{{/join}}", params) == "a,b,3,1.5"
        assert T.render_mustache("{{#join delimiter=' OR '}}tags{{/join delimiter=' OR '}}", params) == "a OR b OR 3 OR 1.5"
        assert render('{"query_string": {"query": "{{#join delimiter=\' \'}}tags{{/join delimiter=\' \'}}"}}',
                      params) == {"query_string": {"query": "a b 3 1.5"}}
        # not a list: the function returns its body text unchanged
        assert T.render_mustache("{{#join}}tags{{/join}}", {"tags": "solo"}) == "tags"
        # joined values are not escaped (plugin behaviour): prefer toJson for untrusted lists
        assert T.render_mustache("{{#join}}t{{/join}}", {"t": ['x"y']}) == 'x"y'

    def test_url(self):
        assert T.render_mustache("{{#url}}https://x.org/?q={{q}}{{/url}}", {"q": "a b&c~é*"}) == \
            "https%3A%2F%2Fx.org%2F%3Fq%3Da+b%26c%7E%C3%A9*"

    def test_sections(self):
        tpl = "{{#flag}}F{{/flag}}{{^flag}}N{{/flag}}"
        assert T.render_mustache(tpl, {"flag": True}) == "F"
        assert T.render_mustache(tpl, {"flag": False}) == "N"
        assert T.render_mustache(tpl, {}) == "N"
        assert T.render_mustache(tpl, {"flag": 0}) == "F"        # numbers are truthy in mustache.java
        assert T.render_mustache(tpl, {"flag": ""}) == "N"
        assert T.render_mustache(tpl, {"flag": []}) == "N"
        assert T.render_mustache(tpl, {"flag": {}}) == "F"
        items = {"items": [{"n": "a"}, {"n": "b"}], "sep": ","}
        assert T.render_mustache("{{#items}}{{n}}{{sep}}{{/items}}", items) == "a,b,"
        assert T.render_mustache("{{#items}}{{.}};{{/items}}", {"items": ["x", 2]}) == "x;2;"

    def test_dotted_names_indexes_and_scope_fallback(self):
        params = {"a": {"b": {"c": "deep"}}, "l": ["x", "y"], "n": "outer"}
        assert T.render_mustache("{{a.b.c}}|{{l.1}}|{{l.size}}|{{l.9}}", params) == "deep|y|2|"
        # inside {{#a}}, "n" is not in a: found in the enclosing scope
        assert T.render_mustache("{{#a}}{{b.c}}-{{n}}{{/a}}", params) == "deep-outer"

    def test_set_delimiters_and_comments(self):
        assert T.render_mustache("{{=<% %>=}}<%q%>{{q}}<%! c %>", {"q": "v"}) == "v{{q}}"
        assert T.render_mustache("{{! comment }}{{{q}}}{{&q}}", {"q": '"'}) == '""'

    @pytest.mark.parametrize("template, message", [
        ("{{> other}}", "Partial templates are not supported in OpenSearch Mustache scripts: [other]"),
        ("{{#toJson}}a{{b}}{{/toJson}}", "Mustache function [toJson] must contain one and only one identifier"),
        ("{{#join}}{{/join}}", "Mustache function [join] must contain one and only one identifier"),
        ("{{#a}}x{{/b}}", "Mismatched start/end tags: a != b in f:1"),
        ("{{#a}}x", "Failed to close 'a' tag in f:1"),
        ("x {{q", "Improperly closed variable in f:1"),
    ])
    def test_compile_errors(self, template, message):
        with pytest.raises(T.MustacheCompileError) as info:
            T.MustacheTemplate(template, "f")
        assert info.value.reason == message
        assert info.value.error_type == "illegal_argument_exception"

    def test_required_params(self):
        f = feature("title", ["keywords", "boost", "user"], {"match": {"title": "{{keywords}}"}})
        assert T.required_params(f) == ["keywords", "boost", "user"]
        assert T.required_params({"params": "q"}) == ["q"]
        compiled = f.compile()
        with pytest.raises(IllegalArgumentError) as info:
            compiled.to_query({"boost": 1})
        assert info.value.reason == "Missing required param(s): [keywords,user]"
        # a key present with a null value counts as supplied
        assert compiled.to_query({"keywords": None, "boost": 1, "user": "u"}) == {"match": {"title": ""}}

    def test_rendered_text_that_is_not_a_query(self):
        f = feature("bad", ["q"], "{{q}}")
        with pytest.raises(OpenSearchError) as info:
            f.compile().to_query({"q": "[1]"})
        assert chain(info.value) == [("query_shard_exception", "Cannot create query while parsing feature [bad]"),
                                     ("x_content_parse_exception", "Failed to derive xcontent")]
        with pytest.raises(OpenSearchError) as info:
            feature("bad", [], '{"match": ').compile().to_query({})
        assert info.value.error_type == "query_shard_exception"
        assert chain(info.value)[1][0] == "json_parse_exception"

    def test_object_templates_are_compiled_from_compact_json(self):
        f = feature("t", ["q"], {"match": {"title": {"query": "{{q}}", "boost": 1e-4}}})
        assert f.template_source() == '{"match":{"title":{"query":"{{q}}","boost":1.0E-4}}}'
        assert f.compile().to_query({"q": "x"}) == {"match": {"title": {"query": "x", "boost": 1e-4}}}

    def test_script_feature_is_not_supported(self):
        f = feature("s", ["p"], {"source": "params.feature_vector.get('a')"}, language="script_feature")
        E.precheck(f)                          # storing works, as in the plugin
        compiled = f.compile()
        with pytest.raises(UnsupportedError) as info:
            compiled.to_query({"p": 1})
        assert "script_feature" in info.value.reason and "ScriptFeature" in info.value.reason

    def test_unknown_language_fails_at_query_time(self):
        compiled = feature("x", [], "whatever", language="groovy").compile()
        with pytest.raises(OpenSearchError) as info:
            compiled.to_query({})
        assert chain(info.value)[-1] == ("illegal_argument_exception", "script_lang not supported [groovy]")


# ==================================================================================================
# Derived expressions

class TestDerivedExpressions:
    def evaluate(self, source, **bindings):
        return T.compile_expression(source).evaluate(bindings)

    def test_arithmetic_precedence_and_functions(self):
        assert self.evaluate("1 + 2 * 3 - -4 / 2") == F(9.0)
        assert self.evaluate("(1 + 2) * 3") == F(9.0)
        assert self.evaluate("pow(a, 2) + sqrt(b) - abs(-3) + max(1, 2) + min(1, 2)", a=3.0, b=16.0) == F(13.0)
        assert self.evaluate("ln(exp(2)) + log10(1000)") == F(5.0)
        assert self.evaluate("a > 1 ? 10 : 20", a=2.0) == F(10.0)
        assert self.evaluate("010 + 0x10 + .5 + 1e1") == F(34.5)          # octal, hex, decimals
        assert self.evaluate("7 % 3 + (5 == 5) + !0 + (2 && 0)") == F(3.0)

    def test_ieee_semantics_instead_of_python_exceptions(self):
        assert np.isinf(self.evaluate("1 / 0"))
        assert np.isnan(self.evaluate("sqrt(-1)"))
        assert self.evaluate("ln(0)") == F(-np.inf)

    def test_result_is_double_cast_to_float(self):
        value = self.evaluate("a * 0.1", a=3.0)
        assert value == F(3.0 * 0.1) and value.dtype == np.float32

    def test_vectorised_over_documents(self):
        f = feature("d", ["w"], "a * w + b", language="derived_expression")
        compiled = f.compile()
        X = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 0.0]], dtype=F)
        assert compiled.values({"w": 10}, ["a", "b", "d"], X).tolist() == [12.0, 34.0]
        with pytest.raises(IllegalArgumentError) as info:
            compiled.values({}, ["a", "b", "d"], X)
        assert info.value.reason == "Missing required param(s): [w]"
        with pytest.raises(IllegalArgumentError) as info:
            compiled.values({"w": "ten"}, ["a", "b", "d"], X)
        assert info.value.reason == "parameter: w expected to be of type Double"

    def test_variables_and_bracket_normalisation(self):
        expression = T.compile_expression("doc[\"x\"] + doc['x'] + a.b + a")
        assert expression.variables == ("doc['x']", "a.b", "a")

    def test_set_validation(self):
        s = E.StoredFeatureSet("s", [feature("a"), feature("d", ["p"], "a * p + zz", language="derived_expression")])
        with pytest.raises(IllegalArgumentError) as info:
            E.precheck(s)
        assert info.value.reason == "Derived feature [d] refers to unknown feature or parameter: [zz]"
        clash = E.StoredFeatureSet("s", [feature("a"), feature("d", ["a"], "a * 2", language="derived_expression")])
        with pytest.raises(IllegalArgumentError) as info:
            E.precheck(clash)
        assert info.value.reason == "Duplicate name a . Cannot be used as both feature name and query parameter name"

    @pytest.mark.parametrize("source", ["1 +", "__import__('os').system('x')", "a ; b", "foo(1)", "pow(1)", "", "a = 1"])
    def test_no_eval_and_compile_errors(self, source):
        with pytest.raises(OpenSearchError) as info:
            T.compile_expression(source)
        assert info.value.error_type == "script_exception" and info.value.reason == "compile error"

    def test_function_errors_name_the_function(self):
        with pytest.raises(OpenSearchError) as info:
            T.compile_expression("pow(1)")
        assert root_reason(info.value) == "Invalid expression 'pow(1)': Expected (2) arguments for function call " \
                                          "(pow), but found (1)."


# ==================================================================================================
# Store elements

SET_BODY = {
    "featureset": {
        "name": "movie_features",
        "features": [
            {"name": "title_bm25", "params": ["keywords"], "template_language": "mustache",
             "template": {"match": {"title": "{{keywords}}"}}},
            {"name": "popularity", "params": [],
             "template": {"function_score": {"query": {"match_all": {}},
                                             "field_value_factor": {"field": "popularity", "missing": 0}}}},
        ],
    },
    "validation": {"index": "tmdb", "params": {"keywords": "rambo"}},
}


class TestElementBodies:
    def test_featureset_body_and_stored_source(self):
        request = E.parse_store_request("featureset", "movie_features", copy.deepcopy(SET_BODY))
        s = request.element
        assert isinstance(s, E.StoredFeatureSet) and request.create
        assert s.feature_names == ["title_bm25", "popularity"]
        assert s.feature_ordinal("popularity") == 1
        assert request.validation == E.FeatureValidation("tmdb", {"keywords": "rambo"})
        assert s.id == "featureset-movie_features"
        source = s.to_source()
        assert source["name"] == "movie_features" and source["type"] == "featureset"
        assert source["featureset"]["features"][1] == {
            "name": "popularity", "params": [], "template_language": "mustache",
            "template": SET_BODY["featureset"]["features"][1]["template"]}
        assert E.element_from_source(source, "featureset") == s

    def test_wrapper_is_required(self):
        with pytest.raises(OpenSearchError) as info:
            E.parse_store_request("featureset", "x", {"name": "x", "features": []})
        assert info.value.error_type == "x_content_parse_exception"
        assert info.value.reason == "[storable_elements] unknown field [name]"

    def test_only_one_element(self):
        body = {"feature": {"template": "{}"}, "featureset": {"features": []}}
        with pytest.raises(OpenSearchError) as info:
            E.parse_store_request("featureset", "x", body)
        assert chain(info.value) == [
            ("x_content_parse_exception", "[storable_elements] failed to parse field [featureset]"),
            ("illegal_argument_exception", "[featureset] already set, only one element can be set at a time "
                                           "(feature,featureset,model)."),
        ]

    def test_element_is_mandatory_and_must_match_url_type(self):
        with pytest.raises(ParsingError) as info:
            E.parse_store_request("feature", "x", {"validation": {"index": "i", "params": {}}})
        assert info.value.reason == "Element of type [feature,featureset,model] is mandatory."
        with pytest.raises(IllegalArgumentError) as info:
            E.parse_store_request("featureset", "x", {"feature": {"template": {"match_all": {}}}})
        assert info.value.reason == "Excepted a [featureset] but encountered [feature]"
        with pytest.raises(IllegalArgumentError) as info:
            E.parse_store_request("feature", "x", None)
        assert info.value.reason == "Missing content or source param."

    def test_names(self):
        request = E.parse_store_request("feature", "from_url", {"feature": {"template": {"match_all": {}}}})
        assert request.element.name == "from_url"
        with pytest.raises(OpenSearchError) as info:
            E.parse_store_request("feature", "url", {"feature": {"name": "body", "template": {"match_all": {}}}})
        assert chain(info.value)[-1] == ("parsing_exception", "Invalid [name], expected [url] but got [body]")
        with pytest.raises(OpenSearchError) as info:
            E.parse_store_request("featureset", "s", {"featureset": {"features": [{"template": "{}"}]}})
        assert chain(info.value)[-1] == ("parsing_exception", "Field [name] is mandatory")

    def test_feature_fields(self):
        f = E.parse_feature({"name": "f", "params": "query_string", "template": '{"match": {"a": "{{query_string}}"}}'})
        assert f.params == ["query_string"]
        assert f.template_language == "mustache"
        assert f.template_as_string and f.to_dict()["template"] == '{"match": {"a": "{{query_string}}"}}'
        with pytest.raises(ParsingError) as info:
            E.parse_feature({"name": "f"})
        assert info.value.reason == "Field [template] is mandatory"
        with pytest.raises(ParsingError) as info:
            E.parse_feature({"name": "f", "template": {}, "tempalte_language": "x"})
        assert info.value.reason == "[feature] unknown field [tempalte_language] did you mean [template_language]?"
        with pytest.raises(ParsingError) as info:
            E.parse_feature({"name": 3, "template": {}})
        assert info.value.reason == "[feature] name doesn't support values of type: VALUE_NUMBER"

    def test_duplicate_feature_names(self):
        body = {"featureset": {"features": [{"name": "a", "template": {}}, {"name": "a", "template": {}}]}}
        with pytest.raises(OpenSearchError) as info:
            E.parse_store_request("featureset", "s", body)
        assert chain(info.value)[-2:] == [
            ("parsing_exception", "Feature [a] defined twice in this set: feature names must be unique in a set."),
            ("illegal_argument_exception", "Feature [a] defined twice in this set: feature names must be unique in a set."),
        ]

    def test_validation_block(self):
        with pytest.raises(OpenSearchError) as info:
            E.parse_store_request("feature", "f", {"feature": {"template": {}}, "validation": {"index": "i"}})
        assert root_reason(info.value) == "Required [params]"

    def test_models_cannot_be_updated_with_post(self):
        body = {"model": {"feature_set": {"name": "s", "features": [{"name": "a", "template": {}}]},
                          "model": {"type": "model/linear", "definition": {"a": 1}}}}
        request = E.parse_store_request("model", "m", copy.deepcopy(body), method="PUT")
        assert isinstance(request.element, E.StoredLtrModel)
        assert request.element.to_source()["model"]["model"] == {"type": "model/linear", "definition": {"a": 1},
                                                                 "feature_normalizers": {}}
        with pytest.raises(IllegalArgumentError) as info:
            E.parse_store_request("model", "m", body, method="POST")
        assert info.value.status == 405
        assert info.value.reason == "Element of type [model] are not updatable, please create a new one instead."

    def test_model_element_errors(self):
        with pytest.raises(OpenSearchError) as info:
            E.parse_store_request("model", "m", {"model": {"model": {"type": "model/linear", "definition": {}}}})
        assert chain(info.value)[-1] == ("parsing_exception", "Field [feature_set] is mandatory")
        with pytest.raises(OpenSearchError) as info:
            E.parse_model_definition({"definition": {}})
        assert info.value.reason == "Field [model.type] is mandatory"
        with pytest.raises(OpenSearchError) as info:
            E.parse_model_definition({"type": "model/linear", "definition": 3})
        assert info.value.reason == "[model] definition doesn't support values of type: VALUE_NUMBER"


class TestAddFeatures:
    def test_append_and_duplicates(self):
        s = fset("a", "b")
        appended = E.add_features(s, "set", [feature("c")])
        assert appended.feature_names == ["a", "b", "c"]
        assert s.feature_names == ["a", "b"]                   # the original is untouched
        with pytest.raises(IllegalArgumentError) as info:
            E.add_features(s, "set", [feature("b")])
        assert info.value.reason == "Feature [b] defined twice in this set: feature names must be unique in a set."

    def test_merge_replaces_in_place_keeping_ordinals(self):
        s = fset("a", "b", "c")
        replacement = feature("b", ["q"], {"term": {"x": "{{q}}"}})
        merged = E.add_features(s, "set", [feature("d"), replacement], merge=True)
        assert merged.feature_names == ["a", "b", "c", "d"]
        assert merged.feature_ordinal("b") == 1 and merged.feature("b") == replacement

    def test_missing_set_is_created(self):
        created = E.add_features(None, "new_set", [feature("x")])
        assert created.name == "new_set" and created.feature_names == ["x"]

    def test_size_limit(self):
        big = E.StoredFeatureSet("s", [feature(f"f{i}") for i in range(E.MAX_FEATURES)])
        with pytest.raises(IllegalArgumentError) as info:
            E.add_features(big, "s", [feature("one_more")])
        assert info.value.reason == "The resulting feature set would be too large"
        assert E.add_features(big, "s", [feature("f3")], merge=True).size() == E.MAX_FEATURES

    def test_request_rules(self):
        request = E.parse_add_features_request("s", {"features": [{"name": "a", "template": {}}]})
        assert [f.name for f in request.features] == ["a"] and request.query is None
        with pytest.raises(IllegalArgumentError) as info:
            E.parse_add_features_request("s", None)
        assert info.value.reason == ("features must be provided as a query for the feature store or in the body, "
                                     "none provided")
        with pytest.raises(IllegalArgumentError) as info:
            E.parse_add_features_request("s", {"features": [{"name": "a", "template": {}}]}, query="a*")
        assert info.value.reason.endswith("or directly in the body not both")

    def test_select_by_query(self):
        stored = [feature("user_rating"), feature("user_age"), feature("title")]
        assert [f.name for f in E.select_features_by_query(stored, "user*")] == ["user_rating", "user_age"]
        assert [f.name for f in E.select_features_by_query(stored, "*")] == ["user_rating", "user_age", "title"]
        assert [f.name for f in E.select_features_by_query(stored, "title")] == ["title"]
        with pytest.raises(IllegalArgumentError) as info:
            E.select_features_by_query(stored, "tit")
        assert info.value.reason == "The feature query [tit] returned no features"


class TestCreateModel:
    BODY = {"model": {"name": "my_linear_model",
                      "model": {"type": "model/linear", "definition": {"title_bm25": 0.7, "popularity": 0.01},
                                "feature_normalizers": {"popularity": {"min_max": {"minimum": 0, "maximum": 1000}}}}},
            "validation": {"index": "tmdb", "params": {"keywords": "rambo"}}}

    def stored_set(self):
        return E.parse_store_request("featureset", "movie_features", copy.deepcopy(SET_BODY)).element

    def test_model_copies_the_set(self):
        stored = self.stored_set()
        request = E.parse_create_model_request("movie_features", copy.deepcopy(self.BODY), version="3")
        m = E.create_model_from_set(request, stored, set_version=3)
        compiled = E.precheck(m)
        before = m.to_source()
        # later edits of the set (merge a new definition, append) never reach the model
        edited = E.add_features(stored, "movie_features", [feature("title_bm25", [], {"match_all": {}}), feature("z")],
                                merge=True)
        stored.features[0].params.append("mutated")
        stored.features[0].template["match"]["title"] = "changed"
        assert m.to_source() == before
        assert m.feature_set.feature_names == ["title_bm25", "popularity"]
        assert edited.feature_names == ["title_bm25", "popularity", "z"]
        assert compiled.features[0].to_query({"keywords": "rambo"}) == {"match": {"title": "rambo"}}
        assert before["model"]["feature_set"]["name"] == "movie_features"
        score = compiled.ranker.score(np.array([2.0, 500.0], dtype=F))
        assert score == F(F(F(0.7) * F(2.0)) + F(F(0.01) * F(F(F(500) - F(0)) / F(F(1000) - F(0)))))

    def test_version_and_existence_checks(self):
        request = E.parse_create_model_request("movie_features", copy.deepcopy(self.BODY), version=2)
        with pytest.raises(IllegalArgumentError) as info:
            E.create_model_from_set(request, self.stored_set(), set_version=1)
        assert info.value.reason == "Stored feature set [movie_features] has version [1] but [2] was expected."
        with pytest.raises(IllegalArgumentError) as info:
            E.create_model_from_set(request, None)
        assert info.value.reason == "Stored feature set [movie_features] does not exist"
        with pytest.raises(IllegalArgumentError) as info:
            E.parse_create_model_request("s", self.BODY, version="0")
        assert info.value.reason == "version must be a strictly positive long value"

    def test_body_errors(self):
        with pytest.raises(ParsingError) as info:
            E.parse_create_model_request("s", {"validation": {"index": "i", "params": {}}})
        assert info.value.reason == "Missing required value [model]"
        with pytest.raises(ActionRequestValidationError) as info:
            E.parse_create_model_request("s", {"model": {"model": {"type": "model/linear", "definition": {}}}})
        assert info.value.reason == "Validation Failed: 1: modelName must be set;"
        with pytest.raises(OpenSearchError) as info:
            E.parse_create_model_request("s", {"model": {"name": "m", "model": {"definition": {}}}})
        assert root_reason(info.value) == "Field [model.type] is mandatory"

    def test_bad_definition_is_rejected_at_upload(self):
        body = copy.deepcopy(self.BODY)
        body["model"]["model"]["definition"] = {"unknown_feature": 1.0}
        m = E.create_model_from_set(E.parse_create_model_request("movie_features", body), self.stored_set())
        with pytest.raises(IllegalArgumentError) as info:
            E.precheck(m)
        assert info.value.reason == "Error while parsing model [my_linear_model] with type [model/linear]"

    def test_not_updatable_error(self):
        error = E.model_not_updatable_error()
        assert error.status == 405 and error.error_type == "illegal_argument_exception"


# ==================================================================================================
# Java compatibility helpers

class TestJavaCompat:
    @pytest.mark.parametrize("value, text", [
        (1.0, "1.0"), (0.1, "0.1"), (1e-5, "1.0E-5"), (1e7, "1.0E7"), (9999999.0, "9999999.0"),
        (0.001, "0.001"), (0.0001, "1.0E-4"), (123456789.0, "1.23456789E8"), (-2.5, "-2.5"), (-0.0, "-0.0"),
        (5e-324, "4.9E-324"), (1e23, "1.0E23"), (float("nan"), "NaN"), (float("-inf"), "-Infinity"),
    ])
    def test_double_to_string(self, value, text):
        assert X.java_double_to_string(value) == text

    @pytest.mark.parametrize("value, text", [(0.1, "0.1"), (1.4e-45, "1.4E-45"), (3.4028235e38, "3.4028235E38"),
                                             (1970.0, "1970.0"), (1e10, "1.0E10")])
    def test_float_to_string(self, value, text):
        assert X.java_float_to_string(value) == text

    def test_hashmap_order(self):
        assert X.java_hashmap_order(["b", "a", "c"]) == ["a", "b", "c"]
        assert X.java_hashmap_order(["q", "a"]) == ["q", "a"]      # "q" (113) and "a" (97) share bucket 1: insertion order
        assert E.SUPPORTED_TYPES == "feature,featureset,model"
