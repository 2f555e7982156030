"""Derived-expression features: Lucene's JavaScript expression language, evaluated safely with numpy.

The plugin compiles ``derived_expression`` templates with Lucene's ``JavascriptCompiler`` and
evaluates them in double per document, casting the result to float. This is a small recursive
descent parser for the same grammar (arithmetic, comparisons, logical and bitwise operators,
ternary, octal/hex/decimal literals, Lucene's default functions) and a vectorised evaluator with
IEEE semantics (``1/0`` is infinity, ``sqrt(-1)`` NaN) -- never Python's ``eval``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from localnode.errors import IllegalArgumentError, UnsupportedError
from localnode.ltr.xcontent import JavaParseError, ScriptError

_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {}


def _asinh(a: np.ndarray) -> np.ndarray:   # Lucene MathUtil.asinh
    sign = np.where(np.signbit(a), -1.0, 1.0)
    a = np.abs(a)
    return sign * np.log(np.sqrt(a * a + 1.0) + a)


def _atanh(a: np.ndarray) -> np.ndarray:   # Lucene MathUtil.atanh
    mult = np.where(np.signbit(a), -0.5, 0.5)
    a = np.abs(a)
    return mult * np.log((1.0 + a) / (1.0 - a))


_FUNCTIONS.update({
    "abs": (1, np.abs), "acos": (1, np.arccos), "acosh": (1, lambda a: np.log(np.sqrt(a * a - 1.0) + a)),
    "asin": (1, np.arcsin), "asinh": (1, _asinh), "atan": (1, np.arctan), "atan2": (2, np.arctan2),
    "atanh": (1, _atanh), "ceil": (1, np.ceil), "cos": (1, np.cos), "cosh": (1, np.cosh), "exp": (1, np.exp),
    "floor": (1, np.floor), "ln": (1, np.log), "log10": (1, np.log10),
    "logn": (2, lambda base, x: np.log(x) / np.log(base)), "max": (2, np.maximum), "min": (2, np.minimum),
    "pow": (2, np.power), "sin": (1, np.sin), "sinh": (1, np.sinh), "sqrt": (1, np.sqrt), "tan": (1, np.tan),
    "tanh": (1, np.tanh),
})
_UNSUPPORTED_FUNCTIONS = {"haversin"}   # Lucene's SloppyMath approximation; not reproduced

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<hex>0[xX][0-9a-fA-F]+)
  | (?P<octal>0[0-7]+(?![0-9.eE]))
  | (?P<decimal>(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+|0|[1-9][0-9]*)(?:[eE][+-]?[0-9]+)?)
  | (?P<variable>[_$a-zA-Z][_$a-zA-Z0-9]*(?:\[(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[0-9]+)\])*
                 (?:\.[_$a-zA-Z][_$a-zA-Z0-9]*(?:\[(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[0-9]+)\])*)*)
  | (?P<op>>>>|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%()<>!~&|^?:,])
""", re.VERBOSE)

_BINARY_LEVELS: list[set[str]] = [{"||"}, {"&&"}, {"|"}, {"^"}, {"&"}, {"==", "!="}, {"<", ">", "<=", ">="},
                                  {"<<", ">>", ">>>"}, {"+", "-"}, {"*", "/", "%"}]


def _normalize_variable(text: str) -> str:
    """Lucene writes bracketed keys with single quotes: ``doc["f"]`` and ``doc['f']`` are one variable."""
    return re.sub(r'\["((?:[^"\\]|\\.)*)"\]', lambda m: "['" + m.group(1).replace("'", "\\'") + "']", text)


class _ExpressionSyntaxError(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(source):
            match = _TOKEN.match(source, pos)
            if not match:
                raise _ExpressionSyntaxError(f"unexpected character '{source[pos]}' on line (1) position ({pos})", pos)
            kind = match.lastgroup or ""
            if kind != "ws":
                self.tokens.append((kind, match.group(), pos))
            pos = match.end()
        self.i = 0
        self.variables: list[str] = []

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, text: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise _ExpressionSyntaxError("unexpected end of expression", len(self.source))
        if text is not None and token[1] != text:
            raise _ExpressionSyntaxError(f"unexpected token '{token[1]}' on line (1) position ({token[2]})", token[2])
        self.i += 1
        return token

    def parse(self) -> tuple:
        if not self.tokens:
            raise _ExpressionSyntaxError("unexpected end of expression", 0)
        node = self.conditional()
        extra = self.peek()
        if extra is not None:
            raise _ExpressionSyntaxError(f"unexpected token '{extra[1]}' on line (1) position ({extra[2]})", extra[2])
        return node

    def conditional(self) -> tuple:
        cond = self.binary(0)
        token = self.peek()
        if token and token[1] == "?":
            self.take("?")
            yes = self.conditional()
            self.take(":")
            return ("?", cond, yes, self.conditional())
        return cond

    def binary(self, level: int) -> tuple:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while (token := self.peek()) and token[0] == "op" and token[1] in _BINARY_LEVELS[level]:
            self.take()
            left = (token[1], left, self.binary(level + 1))
        return left

    def unary(self) -> tuple:
        token = self.peek()
        if token and token[0] == "op" and token[1] in ("-", "+", "!", "~"):
            self.take()
            return ("u" + token[1], self.unary())
        return self.primary()

    def primary(self) -> tuple:
        kind, text, offset = self.take()
        if kind == "decimal":
            return ("num", float(text))
        if kind == "hex":
            return ("num", float(int(text, 16)))
        if kind == "octal":
            return ("num", float(int(text[1:], 8)))
        if kind == "op" and text == "(":
            node = self.conditional()
            self.take(")")
            return node
        if kind == "variable":
            nxt = self.peek()
            if nxt and nxt[1] == "(":
                return self.call(text, offset)
            name = _normalize_variable(text)
            if name not in self.variables:
                self.variables.append(name)
            return ("var", name)
        raise _ExpressionSyntaxError(f"unexpected token '{text}' on line (1) position ({offset})", offset)

    def call(self, name: str, offset: int) -> tuple:
        self.take("(")
        args: list[tuple] = []
        if (token := self.peek()) and token[1] != ")":
            args.append(self.conditional())
            while (token := self.peek()) and token[1] == ",":
                self.take(",")
                args.append(self.conditional())
        self.take(")")
        if name in _UNSUPPORTED_FUNCTIONS:
            raise UnsupportedError(f"derived_expression function [{name}]")
        if name not in _FUNCTIONS:
            raise _ExpressionSyntaxError(
                f"Invalid expression '{self.source}': Unrecognized function call ({name}).", offset)
        arity = _FUNCTIONS[name][0]
        if arity != len(args):
            raise _ExpressionSyntaxError(f"Invalid expression '{self.source}': Expected ({arity}) arguments for "
                                         f"function call ({name}), but found ({len(args)}).", offset)
        return ("call", name, args)


_INT64_MAX = 2.0 ** 63


def _to_long(x: np.ndarray) -> np.ndarray:
    """Java's ``(long) double``: truncate, NaN -> 0, saturate."""
    x = np.asarray(x, dtype=np.float64)
    clipped = np.where(np.isnan(x), 0.0, np.clip(np.trunc(x), -_INT64_MAX, _INT64_MAX))
    big = clipped >= _INT64_MAX
    out = np.where(big, 0.0, clipped).astype(np.int64)
    return np.where(big, np.iinfo(np.int64).max, out)


def _bool(x: np.ndarray) -> np.ndarray:
    return np.asarray(x != 0, dtype=np.float64)   # NaN counts as true, like the compiled bytecode


def _shift(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    left = _to_long(a)
    count = (_to_long(b) & 63).astype(np.uint64)
    if op == "<<":
        return (left.view(np.uint64) << count).view(np.int64)
    if op == ">>":
        return left >> count.astype(np.int64)
    return (left.view(np.uint64) >> count).view(np.int64)


def _evaluate(node: tuple, env: Mapping[str, Any]) -> Any:
    op = node[0]
    if op == "num":
        return np.float64(node[1])
    if op == "var":
        return np.asarray(env[node[1]], dtype=np.float64)
    if op == "call":
        return _FUNCTIONS[node[1]][1](*[_evaluate(arg, env) for arg in node[2]])
    if op == "?":
        return np.where(_evaluate(node[1], env) != 0, _evaluate(node[2], env), _evaluate(node[3], env))
    if op.startswith("u"):
        value = _evaluate(node[1], env)
        return {"u-": lambda v: -v, "u+": lambda v: v, "u!": lambda v: np.asarray(v == 0, dtype=np.float64),
                "u~": lambda v: (~_to_long(v)).astype(np.float64)}[op](value)
    a, b = _evaluate(node[1], env), _evaluate(node[2], env)
    if op in ("+", "-", "*", "/"):
        return {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[op](a, b)
    if op == "%":
        return np.fmod(a, b)
    if op in ("<", ">", "<=", ">=", "==", "!="):
        compare = {"<": np.less, ">": np.greater, "<=": np.less_equal, ">=": np.greater_equal,
                   "==": np.equal, "!=": np.not_equal}[op]
        return np.asarray(compare(a, b), dtype=np.float64)
    if op == "&&":
        return _bool(a) * _bool(b)
    if op == "||":
        return np.maximum(_bool(a), _bool(b))
    if op in ("&", "|", "^"):
        fn = {"&": np.bitwise_and, "|": np.bitwise_or, "^": np.bitwise_xor}[op]
        return fn(_to_long(a), _to_long(b)).astype(np.float64)
    return _shift(op, a, b).astype(np.float64)


@dataclass
class DerivedExpression:
    """A compiled Lucene expression; ``variables`` are in order of first appearance."""
    source: str
    variables: tuple[str, ...]
    tree: tuple = field(repr=False)

    def evaluate(self, bindings: Mapping[str, Any], n: int | None = None) -> np.ndarray | np.float32:
        """Evaluate in double for scalar or per-document bindings; cast to float32 as the scorer does.

        Returns a float32 scalar when every binding is a scalar and ``n`` is not given, else an array.
        """
        missing = [v for v in self.variables if v not in bindings]
        if missing:
            raise IllegalArgumentError(f"Unknown feature [{missing[0]}]")
        with np.errstate(all="ignore"):
            value = np.asarray(_evaluate(self.tree, bindings), dtype=np.float64)
            if n is not None:
                value = np.broadcast_to(value, (n,))
            return value.astype(np.float32) if value.ndim else np.float32(value)


def compile_expression(source: str) -> DerivedExpression:
    """Compile a derived expression, raising the plugin's ``script_exception`` on syntax errors."""
    try:
        parser = _Parser(source)
        tree = parser.parse()
    except _ExpressionSyntaxError as exc:
        pointer = " " * exc.offset + "^---- HERE"
        raise ScriptError("compile error", caused_by=JavaParseError(str(exc)), script_stack=[source, pointer],
                          script=source, lang="expression") from None
    return DerivedExpression(source, tuple(parser.variables), tree)


__all__ = ["DerivedExpression", "compile_expression"]
