"""A small safe expression language for aggregation formulas.

The text is parsed with Python's own parser into an AST, every node is checked against a
short whitelist, and the tree is compiled into closures. Nothing is ever ``eval``'d:
attribute access, subscripts, lambdas, comprehensions and unknown names are rejected at
pack load, and arithmetic is done in floats so ``9**9**9`` overflows instead of hanging.

Grammar: numbers, component ids, ``+ - * / **``, unary ``-``/``+``/``not``, comparisons
(``< <= > >= == !=``, chained), ``and``/``or``, ``x if cond else y``, and the functions
``min(a, b, ...)``, ``max(a, b, ...)``, ``abs(x)``, ``clamp(x, lo, hi)``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.suggest import did_you_mean

MAX_FORMULA_CHARS = 2_000
MAX_DEPTH = 64

Env = Mapping[str, float]
Node = Callable[[Env], float]


class FormulaError(RewardsmithError, ValueError):
    """The formula is malformed or names something it may not."""


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


_FUNCTIONS: dict[str, tuple[Callable[..., float], int, int | None]] = {
    # name: (function, min args, max args)
    "min": (min, 2, None),
    "max": (max, 2, None),
    "abs": (abs, 1, 1),
    "clamp": (_clamp, 3, 3),
}
_BINOPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


@dataclass(frozen=True)
class Formula:
    source: str
    names: frozenset[str]
    _root: Node

    def evaluate(self, env: Env) -> float:
        """Evaluate with ``env`` mapping every name to a float; raises on a non-finite result."""
        try:
            # float() also refuses the complex result of e.g. (-1) ** 0.5
            value = float(self._root(env))
        except (ZeroDivisionError, OverflowError, TypeError, ValueError) as exc:
            raise FormulaError(f"formula {self.source!r}: {exc}") from exc
        if not math.isfinite(value):
            raise FormulaError(f"formula {self.source!r} gave a non-finite value")
        return value


def parse_formula(source: str, allowed_names: set[str] | frozenset[str]) -> Formula:
    """Parse and check a formula; unknown names and constructs raise :class:`FormulaError`."""
    if len(source) > MAX_FORMULA_CHARS:
        raise FormulaError(f"formula is longer than {MAX_FORMULA_CHARS} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"formula {source!r} is not valid: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        # ValueError: a NUL character; RecursionError/MemoryError: nesting the parser
        # itself cannot hold. Each is the formula's fault, so a FormulaError.
        raise FormulaError(f"formula {source!r} is not valid: {type(exc).__name__}") from None
    names: set[str] = set()
    root = _compile(tree.body, source, allowed_names, names, 0)
    return Formula(source, frozenset(names), root)


def _compile(node: ast.AST, src: str, allowed: set[str] | frozenset[str], names: set[str],
             depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise FormulaError(f"formula {src!r} is nested too deeply")
    d = depth + 1

    def sub(child: ast.AST) -> Node:
        return _compile(child, src, allowed, names, d)

    match node:
        case ast.Constant(value=bool()):
            raise FormulaError(f"formula {src!r}: booleans are not values; use 1 or 0")
        case ast.Constant(value=int() | float() as number):
            try:
                constant = float(number)
            except OverflowError:
                digits = len(str(number))
                raise FormulaError(f"formula {src!r}: a {digits}-digit number is too large "
                                   "for a float") from None
            if not math.isfinite(constant):
                raise FormulaError(f"formula {src!r}: the number {constant} is not finite")
            return lambda env: constant
        case ast.Name(id=name):
            if name not in allowed:
                raise FormulaError(
                    f"formula {src!r} names {name!r}, which is not a component id of this "
                    f"pack{did_you_mean(name, allowed)}; known: "
                    f"{', '.join(sorted(allowed)) or 'none'}"
                )
            names.add(name)
            return lambda env: env[name]
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINOPS:
            fn, lhs, rhs = _BINOPS[type(op)], sub(left), sub(right)
            return lambda env: fn(lhs(env), rhs(env))
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            inner = sub(operand)
            return lambda env: -inner(env)
        case ast.UnaryOp(op=ast.UAdd(), operand=operand):
            return sub(operand)
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            inner = sub(operand)
            return lambda env: float(not inner(env))
        case ast.Compare(left=left, ops=ops, comparators=comparators) if all(
            type(op) in _CMPOPS for op in ops
        ):
            terms = [sub(left), *(sub(c) for c in comparators)]
            fns = [_CMPOPS[type(op)] for op in ops]

            def compare(env: Env) -> float:
                values = [t(env) for t in terms]
                return float(all(f(a, b) for f, a, b in zip(fns, values, values[1:], strict=False)))

            return compare
        case ast.BoolOp(op=ast.And(), values=values):
            parts = [sub(v) for v in values]
            return lambda env: float(all(p(env) for p in parts))
        case ast.BoolOp(op=ast.Or(), values=values):
            parts = [sub(v) for v in values]
            return lambda env: float(any(p(env) for p in parts))
        case ast.IfExp(test=test, body=body, orelse=orelse):
            t, b, o = sub(test), sub(body), sub(orelse)
            return lambda env: b(env) if t(env) else o(env)
        case ast.Call(func=ast.Name(id=fname), args=args, keywords=[]) if fname in _FUNCTIONS:
            fn, lo, hi = _FUNCTIONS[fname]
            if len(args) < lo or (hi is not None and len(args) > hi):
                expected = str(lo) if lo == hi else f"at least {lo}"
                raise FormulaError(f"formula {src!r}: {fname}() takes {expected} arguments")
            arg_nodes = [sub(a) for a in args]
            return lambda env: float(fn(*(a(env) for a in arg_nodes)))
        case ast.Call(keywords=[_, *_]):
            raise FormulaError(f"formula {src!r}: keyword arguments are not allowed")
        case ast.Call(func=ast.Name(id=fname)):
            raise FormulaError(
                f"formula {src!r} calls {fname!r}; allowed functions: "
                f"{', '.join(sorted(_FUNCTIONS))}"
            )
    raise FormulaError(
        f"formula {src!r}: {type(node).__name__} is not allowed (only arithmetic, comparisons, "
        "and/or, if-else and min/max/abs/clamp over component ids)"
    )
