"""LTR feature templates: mustache rendering exactly as opensearch-ltr 2.19 does it, and derived expressions.

Why a hand-written mustache and not ``chevron``: the plugin's engine is mustache.java with
OpenSearch's customisations, and several of its behaviours are observable in the rendered query:

- values are JSON-string escaped (Jackson ``quoteAsString``), not HTML escaped;
- non-strings are written with Java ``toString()`` (``1.0E-5``, ``true``), and a list rendered with
  ``{{list}}`` prints as ``{0=a, 1=b}`` (the plugin's object handler turns lists into index maps);
- ``{{#toJson}}``, ``{{#join}}``, ``{{#join delimiter='x'}}`` and ``{{#url}}`` are functions whose
  output is written *unescaped*, and whose body must be exactly one identifier;
- dotted names fall back to outer scopes, ``list.0`` / ``list.size`` work, ``0`` is truthy;
- partials are rejected with the plugin's message.

chevron escapes for HTML, stringifies the Python way and has no hook for these functions, so
patching it would replace most of it anyway; ~250 lines here keep every rule visible and testable.

Rendering pipeline (``PrecompiledTemplateFeature``): the stored template (an object is kept as
compact JSON, a string as is) is compiled once; at query time the declared params are checked
("Missing required param(s): [a,b]"), the template is rendered with the ``sltr.params`` map and
the text is parsed back as a JSON query. Because ``{{var}}`` output is JSON-escaped, a parameter
value can never change the structure of the query when the tag sits inside a JSON string. The
function sections (``toJson``, ``join``) and triple mustaches are raw in the plugin too, and are
raw here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from localnode.errors import IllegalArgumentError, UnsupportedError
from localnode.ltr.expressions import DerivedExpression, compile_expression
from localnode.ltr.xcontent import (
    JsonParseError, XContentParseError, is_json_number, jackson_dumps, jackson_escape, java_to_string,
    parse_first_json_value, query_shard_error)

MUSTACHE = "mustache"
DERIVED_EXPRESSION = "derived_expression"
SCRIPT_FEATURE = "script_feature"


class FeatureLike(Protocol):
    """What the template layer needs from a stored feature (see :class:`elements.StoredFeature`)."""
    name: str
    params: list[str]
    template_language: str

    def template_source(self) -> str: ...


# --------------------------------------------------------------------------------------------------
# Required params

def required_params(feature: FeatureLike | Mapping[str, Any]) -> list[str]:
    """The query-time params a feature declares (its ``params`` list, in declared order)."""
    if isinstance(feature, Mapping):
        params = feature.get("params") or []
        return [params] if isinstance(params, str) else list(params)
    return list(feature.params)


def missing_params(declared: Sequence[str], params: Mapping[str, Any] | None) -> list[str]:
    """Declared params absent from ``params``; a key present with a null value counts as present."""
    return [p for p in declared if params is None or p not in params]


def check_required_params(declared: Sequence[str], params: Mapping[str, Any] | None) -> None:
    """Raise the plugin's error when an active feature's declared params are not all supplied."""
    missing = missing_params(declared, params)
    if missing:
        # The plugin joins with "," (no space): "Missing required param(s): [a,b]".
        raise IllegalArgumentError(f"Missing required param(s): [{','.join(missing)}]")


# --------------------------------------------------------------------------------------------------
# Mustache: parsing

class MustacheCompileError(IllegalArgumentError):
    """MustacheUtils.compile turns every MustacheException into an IllegalArgumentException."""


@dataclass
class _Text:
    text: str


@dataclass
class _Var:
    name: str
    escaped: bool
    source: str


@dataclass
class _Section:
    name: str
    inverted: bool
    children: list[Any]


@dataclass
class _Block:          # {{$name}}...{{/name}} outside inheritance: just its content
    children: list[Any]


@dataclass
class _ToJson:
    variable: str


@dataclass
class _Join:
    variable: str
    delimiter: str
    children: list[Any]


@dataclass
class _Url:
    children: list[Any]


@dataclass
class _Open:
    sigil: str
    name: str
    line: int
    children: list[Any] = field(default_factory=list)


_CUSTOM_JOIN = re.compile(r"join delimiter='([^\n\r\u0085\u2028\u2029]*)'")


def _function_variable(fn: str, children: list[Any]) -> str:
    """The single identifier a toJson/join body must contain (its text, or a tag's source)."""
    if len(children) != 1:
        raise MustacheCompileError(f"Mustache function [{fn}] must contain one and only one identifier")
    only = children[0]
    if isinstance(only, _Text):
        return only.text
    return getattr(only, "source", "")


def _close(opened: _Open) -> Any:
    name, children = opened.name, opened.children
    if opened.sigil == "^":
        return _Section(name, True, children)
    if opened.sigil == "$":
        return _Block(children)
    if name.lower() == "tojson":
        return _ToJson(_function_variable("toJson", children))
    if name.lower() == "join":
        return _Join(_function_variable("join", children), ",", children)
    custom = _CUSTOM_JOIN.fullmatch(name)
    if custom:
        return _Join(_function_variable("join", children), custom.group(1), children)
    if name.lower() == "url":
        return _Url(children)
    return _Section(name, False, children)


def _partial_resource(template_name: str, partial: str) -> str:
    dot = template_name.rfind(".")
    extension = template_name[dot:] if dot >= 0 else ""
    return partial if not extension or partial.endswith(extension) else partial + extension


def parse_mustache(template: str, name: str = "") -> list[Any]:
    """Compile mustache source into a node list, raising the plugin's compile errors."""
    root: list[Any] = []
    stack: list[_Open] = []
    otag, ctag = "{{", "}}"
    pos = 0

    def out() -> list[Any]:
        return stack[-1].children if stack else root

    def line_at(index: int) -> int:
        return template.count("\n", 0, index) + 1

    while True:
        start = template.find(otag, pos)
        if start < 0:
            if pos < len(template):
                out().append(_Text(template[pos:]))
            break
        if start > pos:
            out().append(_Text(template[pos:start]))
        inner = start + len(otag)
        if otag == "{{" and template.startswith("{", inner):
            end = template.find("}}}", inner)
            if end < 0:
                raise MustacheCompileError(f"Improperly closed variable in {name}:{line_at(start)}")
            out().append(_Var(template[inner + 1:end].strip(), False, template[start:end + 3]))
            pos = end + 3
            continue
        end = template.find(ctag, inner)
        if end < 0:
            raise MustacheCompileError(f"Improperly closed variable in {name}:{line_at(start)}")
        source = template[start:end + len(ctag)]
        tag = template[inner:end].strip()
        pos = end + len(ctag)
        sigil = tag[:1]
        body = tag[1:].strip()
        if sigil in ("#", "^", "$"):
            stack.append(_Open(sigil, body, line_at(start)))
        elif sigil == "/":
            if not stack:
                raise MustacheCompileError(f"Mismatched start/end tags: null != {body} in {name}:{line_at(start)}")
            opened = stack.pop()
            if opened.name != body:
                raise MustacheCompileError(
                    f"Mismatched start/end tags: {opened.name} != {body} in {name}:{line_at(start)}")
            out().append(_close(opened))
        elif sigil == "!":
            continue
        elif sigil in (">", "<"):
            raise MustacheCompileError("Partial templates are not supported in OpenSearch Mustache scripts: "
                                       f"[{_partial_resource(name, body)}]")
        elif sigil == "&":
            out().append(_Var(body, False, source))
        elif sigil == "{":
            out().append(_Var(body.rstrip("}").strip(), False, source))
        elif sigil == "=":
            delimiters = tag[1:-1].split() if tag.endswith("=") else []
            if len(delimiters) != 2:
                raise MustacheCompileError(f"Invalid delimiter string: {tag} in {name}:{line_at(start)}")
            otag, ctag = delimiters
        else:
            out().append(_Var(tag, True, source))
    if stack:
        raise MustacheCompileError(f"Failed to close '{stack[-1].name}' tag in {name}:{stack[-1].line}")
    return root


# --------------------------------------------------------------------------------------------------
# Mustache: rendering

_INT = re.compile(r"[+-]?\d+")


def _get(scope: Any, key: str) -> tuple[bool, Any]:
    """One name segment looked up in one scope (maps by key; lists by index, or ``size``)."""
    if isinstance(scope, Mapping):
        return (True, scope[key]) if key in scope else (False, None)
    if isinstance(scope, list | tuple):
        if key == "size":
            return True, len(scope)
        if _INT.fullmatch(key):
            index = int(key)
            if 0 <= index < len(scope) and scope[index] is not None:
                return True, scope[index]
        return False, None
    return False, None


def _lookup(name: str, scopes: list[Any]) -> Any:
    """mustache.java's ReflectionObjectHandler.find: innermost scope first, dotted paths that fail
    in one scope are retried in the enclosing ones; ``.`` is the current scope."""
    if name == ".":
        return scopes[-1] if scopes else None
    segments = name.split(".")
    for scope in reversed(scopes):
        current = scope
        resolved = True
        for segment in segments[:-1]:
            found, current = _get(current, segment)
            if not found or current is None:
                resolved = False
                break
        if not resolved:
            continue
        found, value = _get(current, segments[-1])
        if found:
            return value
    return None


def _stringify(value: Any) -> str:
    """What ``{{x}}`` writes before escaping: lists are index maps, ``{0=a, 1=b}``."""
    if isinstance(value, list | tuple):
        return "{" + ", ".join(f"{i}={java_to_string(v)}" for i, v in enumerate(value)) + "}"
    return java_to_string(value)


def _truthy_items(value: Any) -> list[Any]:
    """The scopes a ``{{#x}}`` section renders with (empty list = section skipped)."""
    if value is None or value is False or (isinstance(value, str) and value == ""):
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _falsey(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, list | tuple):
        return len(value) == 0
    return False


def _url_encode(text: str) -> str:
    """``java.net.URLEncoder.encode(s, UTF-8)``: form encoding, space as ``+``."""
    out: list[str] = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in ".-*_"):
            out.append(ch)
        elif ch == " ":
            out.append("+")
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "replace"))
    return "".join(out)


def _render(nodes: list[Any], scopes: list[Any], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Var):
            value = _lookup(node.name, scopes)
            if value is not None:
                text = _stringify(value)
                out.append(jackson_escape(text) if node.escaped else text)
        elif isinstance(node, _Section):
            value = _lookup(node.name, scopes)
            if node.inverted:
                if _falsey(value):
                    _render(node.children, scopes, out)
            else:
                for item in _truthy_items(value):
                    _render(node.children, scopes + [item], out)
        elif isinstance(node, _Block):
            _render(node.children, scopes, out)
        elif isinstance(node, _ToJson):
            value = _lookup(node.variable, scopes)
            if isinstance(value, list | tuple | Mapping):
                out.append(jackson_dumps(value, hashmap_order=True))
            elif value is not None:
                out.append(java_to_string(value))
        elif isinstance(node, _Join):
            value = _lookup(node.variable, scopes)
            if isinstance(value, list | tuple):
                out.append(node.delimiter.join(java_to_string(v) for v in value))
            else:
                # Not iterable: the function returns its (rendered) body unchanged.
                body: list[str] = []
                _render(node.children, scopes, body)
                out.append("".join(body))
        elif isinstance(node, _Url):
            for child in node.children:
                piece: list[str] = []
                _render([child], scopes, piece)
                out.append(_url_encode("".join(piece)))


@dataclass
class MustacheTemplate:
    """A compiled feature template; ``name`` is the feature name (used in error messages)."""
    source: str
    name: str = ""
    nodes: list[Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.nodes = parse_mustache(self.source, self.name)

    def render(self, params: Mapping[str, Any] | None) -> str:
        out: list[str] = []
        _render(self.nodes, [dict(params or {})], out)
        return "".join(out)


def render_mustache(template: str, params: Mapping[str, Any] | None, name: str = "") -> str:
    """Compile and render in one go (tests, ``_render``-style tooling)."""
    return MustacheTemplate(template, name).render(params)


def parse_rendered_query(feature_name: str, text: str, index: str | None = None) -> dict[str, Any]:
    """Parse a rendered template back into a query object, failing like the plugin does.

    The plugin derives the content type from the text (it must look like a JSON object), parses it
    and wraps any failure in ``Cannot create query while parsing feature [name]``.
    """
    if not text.lstrip(" \t\r\n").startswith("{"):
        raise query_shard_error(feature_name, XContentParseError("Failed to derive xcontent"), index)
    try:
        _, value = parse_first_json_value(text, keep_float_text=False)
    except JsonParseError as exc:
        raise query_shard_error(feature_name, exc, index) from exc
    return value


# --------------------------------------------------------------------------------------------------
# Compiled features

@dataclass
class MustacheFeature:
    """``PrecompiledTemplateFeature``: a mustache feature ready to turn params into a query dict."""
    name: str
    params: list[str]
    template: MustacheTemplate

    def to_query(self, params: Mapping[str, Any] | None, index: str | None = None) -> dict[str, Any]:
        """Render the feature's query for one ``sltr`` call (raises on missing params / bad JSON)."""
        check_required_params(self.params, params)
        return parse_rendered_query(self.name, self.template.render(params), index)


@dataclass
class DerivedFeature:
    """``PrecompiledExpressionFeature``: a value computed from earlier features and numeric params.

    Per document the plugin evaluates it against the feature vector being filled, in ordinal
    order: features before it hold this document's values, features after it are still 0.0. The
    value is not boosted by ``sltr.boost`` and the feature matches every document.
    """
    name: str
    params: list[str]
    expression: DerivedExpression

    def param_values(self, params: Mapping[str, Any] | None) -> dict[str, float]:
        """Numeric values of the declared params the expression uses (checks missing params)."""
        check_required_params(self.params, params)
        values: dict[str, float] = {}
        for name in self.params:
            if name in self.expression.variables:
                value = (params or {}).get(name)
                if not is_json_number(value):
                    raise IllegalArgumentError(f"parameter: {name} expected to be of type Double")
                values[name] = float(value)
        return values

    def validate(self, feature_names: Sequence[str]) -> None:
        """Store-time check of a set (``PrecompiledExpressionFeature.validate``)."""
        names = set(feature_names)
        for var in self.expression.variables:
            if var not in names and var not in self.params:
                raise IllegalArgumentError(f"Derived feature [{self.name}] refers to unknown feature or parameter: [{var}]")
            if var in names and var in self.params:
                raise IllegalArgumentError(
                    f"Duplicate name {var} . Cannot be used as both feature name and query parameter name")

    def values(self, params: Mapping[str, Any] | None, feature_names: Sequence[str],
               vectors: np.ndarray) -> np.ndarray:
        """float32 values for every row of ``vectors`` (n_docs x n_features, current fill state)."""
        constants = self.param_values(params)
        ordinals = {n: i for i, n in enumerate(feature_names)}
        matrix = np.asarray(vectors, dtype=np.float32)
        bindings: dict[str, Any] = {}
        for var in self.expression.variables:
            if var in constants:
                bindings[var] = constants[var]
            elif var in ordinals:
                bindings[var] = matrix[:, ordinals[var]].astype(np.float64)
            else:
                raise IllegalArgumentError(f"Unknown feature [{var}]")
        return np.asarray(self.expression.evaluate(bindings, n=matrix.shape[0]), dtype=np.float32)


@dataclass
class UnsupportedLanguageFeature:
    """A feature the embedded engine cannot turn into a query; it fails at query time like the
    plugin would (stored fine, error when an ``sltr`` needs it)."""
    name: str
    params: list[str]
    template_language: str

    def to_query(self, params: Mapping[str, Any] | None, index: str | None = None) -> dict[str, Any]:
        check_required_params(self.params, params)
        if self.template_language == SCRIPT_FEATURE:
            raise UnsupportedError(f"LTR feature template_language [{SCRIPT_FEATURE}] (the plugin's ScriptFeature, "
                                   f"used by feature [{self.name}])")
        if self.template_language in ("painless", "expression"):
            raise UnsupportedError(f"LTR feature template_language [{self.template_language}] "
                                   f"(a script query, used by feature [{self.name}])")
        cause = IllegalArgumentError(f"script_lang not supported [{self.template_language}]")
        raise query_shard_error(self.name, cause, index)


CompiledFeature = MustacheFeature | DerivedFeature | UnsupportedLanguageFeature


def compile_feature(feature: FeatureLike) -> CompiledFeature:
    """``StoredFeature.optimize()``: compile a stored feature by its template language.

    Mustache compile errors and derived-expression syntax errors are raised here (the plugin raises
    them when the element is stored and when it is loaded for a query). ``script_feature`` and other
    languages compile to a feature that fails when queried, as storing them succeeds in the plugin.
    """
    if feature.template_language == MUSTACHE:
        return MustacheFeature(feature.name, list(feature.params), MustacheTemplate(feature.template_source(), feature.name))
    if feature.template_language == DERIVED_EXPRESSION:
        return DerivedFeature(feature.name, list(feature.params), compile_expression(feature.template_source()))
    return UnsupportedLanguageFeature(feature.name, list(feature.params), feature.template_language)


def render_feature_query(feature: FeatureLike, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Convenience entry point: compile a mustache feature and render its query for ``params``.

    Raises ``IllegalArgumentError("Missing required param(s): [a,b]")`` for missing declared params,
    ``MustacheCompileError`` for a bad template, a ``query_shard_exception`` when the rendered text is
    not a JSON object, ``UnsupportedError`` for script features.
    """
    compiled = compile_feature(feature)
    if isinstance(compiled, DerivedFeature):
        raise IllegalArgumentError(f"Feature [{feature.name}] is a derived expression, it has no query")
    return compiled.to_query(params)


__all__ = [
    "MUSTACHE", "DERIVED_EXPRESSION", "SCRIPT_FEATURE", "FeatureLike", "required_params", "missing_params",
    "check_required_params", "MustacheCompileError", "MustacheTemplate", "parse_mustache", "render_mustache",
    "parse_rendered_query", "MustacheFeature", "DerivedFeature", "UnsupportedLanguageFeature", "CompiledFeature",
    "compile_feature", "render_feature_query", "DerivedExpression", "compile_expression",
]
