"""The operators and built-in functions of ngspice's numparam expressions.

Each operator and function is a row of a table (:data:`BINARY`, :data:`BINDING`,
:data:`BUILTIN`) with the C behaviour ngspice has: math errors give C's ``inf`` or
``nan`` and are noted (:meth:`Context.note`), so that a non-finite result can name
the error behind it. The parser and evaluator are in :mod:`circuitlearn.netlist.expr`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from circuitlearn.netlist.expr import UserFunction


@dataclass(slots=True)
class Context:
    """Evaluation state: lookup, user functions, bound arguments, call stack, notes."""

    lookup: Callable[[str], float]
    functions: Mapping[str, UserFunction] | None
    local: dict[str, float] | None
    stack: tuple[str, ...]  # user functions being evaluated, outermost first
    notes: list[str]  # first numeric problem, reported only if the result is not finite

    def note(self, message: str) -> None:
        if not self.notes:
            self.notes.append(message)


Node = Callable[[Context], float]


def apply_math(ctx: Context, label: str, fn: Callable[..., float], fallback: Callable[..., Any],
           *args: float) -> float:
    """``fn(*args)``; on a math error, note it and return C's value (inf or nan) instead."""
    try:
        return fn(*args)
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        kind = "overflow" if isinstance(exc, OverflowError) else "math domain error"
        shown = ", ".join(f"{a:g}" for a in args)
        ctx.note(f"{kind} in {shown.replace(', ', '^')}" if label == "^"
                 else f"{kind} in {label}({shown})")
        with np.errstate(all="ignore"):
            return float(fallback(*args))


def _trunc(x: float) -> float:
    return float(math.trunc(x)) if math.isfinite(x) else x


def _div(ctx: Context, x: float, y: float) -> float:
    if y != 0.0:
        return x / y
    ctx.note("division by zero")
    return math.nan if x == 0.0 or x != x else math.copysign(math.inf, x) * math.copysign(1, y)


BINARY: dict[str, Callable[[Context, float, float], float]] = {
    "||": lambda c, x, y: 1.0 if x != 0.0 or y != 0.0 else 0.0,
    "&&": lambda c, x, y: 1.0 if x != 0.0 and y != 0.0 else 0.0,
    "+": lambda c, x, y: x + y,
    "-": lambda c, x, y: x - y,
    "*": lambda c, x, y: x * y,
    "/": _div,
    "%": lambda c, x, y: x - y * _trunc(_div(c, x, y)),  # C: x - y*trunc(x/y)
    "\\": lambda c, x, y: _trunc(abs(_div(c, x, y))),  # ngspice: trunc(|x/y|)
    "^": lambda c, x, y: apply_math(c, "^", math.pow, np.power, abs(x), y),  # pow(fabs(x), y)
}
BINARY.update({sym: (lambda c, x, y, f=f: float(f(x, y))) for sym, f in [
    ("==", operator.eq), ("=", operator.eq), ("!=", operator.ne), ("<>", operator.ne),
    ("<", operator.lt), ("<=", operator.le), (">", operator.gt), (">=", operator.ge)]})
BINARY["**"] = BINARY["^"]
BINDING = {"?": 10, "||": 20, "&&": 30, "+": 50, "-": 50, "*": 60, "/": 60, "%": 60,
            "\\": 60, "^": 70, "**": 70}
BINDING.update(dict.fromkeys(("==", "=", "!=", "<>", "<", "<=", ">", ">="), 40))

Builtin = tuple[int, Callable[..., float], Callable[..., Any]]  # arity, fn, C-like fallback
BUILTIN: dict[str, Builtin] = {
    name: (1, fn, fallback) for name, fn, fallback in [
        ("sqr", lambda x: x * x, np.square), ("sqrt", math.sqrt, np.sqrt),
        ("sin", math.sin, np.sin), ("cos", math.cos, np.cos), ("tan", math.tan, np.tan),
        ("asin", math.asin, np.arcsin), ("acos", math.acos, np.arccos),
        ("atan", math.atan, np.arctan), ("arctan", math.atan, np.arctan),
        ("sinh", math.sinh, np.sinh), ("cosh", math.cosh, np.cosh), ("tanh", math.tanh, np.tanh),
        ("asinh", math.asinh, np.arcsinh), ("acosh", math.acosh, np.arccosh),
        ("atanh", math.atanh, np.arctanh), ("exp", math.exp, np.exp),
        ("ln", math.log, np.log), ("log", math.log, np.log), ("log10", math.log10, np.log10),
        ("abs", math.fabs, np.abs),
        ("sgn", lambda x: 1.0 if x > 0 else 0.0 if x == 0 else -1.0, np.sign),  # C: nan -> -1
        ("int", _trunc, np.trunc), ("nint", lambda x: float(round(x)), np.rint),  # half-even
        ("floor", lambda x: float(math.floor(x)), np.floor),
        ("ceil", lambda x: float(math.ceil(x)), np.ceil),
    ]
}
BUILTIN.update({
    "pow": (2, math.pow, np.power),
    "pwr": (2, lambda z, x: math.pow(abs(z), x), lambda z, x: np.power(np.abs(z), x)),
    "max": (2, lambda z, x: x if x > z else z, max),  # C macro MAX(last, first)
    "min": (2, lambda z, x: x if x < z else z, min),
    "ternary_fcn": (3, lambda c, a, b: a if c != 0.0 else b, max),
})
RANDOM = frozenset(("agauss", "gauss", "unif", "aunif", "limit"))
