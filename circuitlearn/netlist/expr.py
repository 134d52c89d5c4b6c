"""Numbers and expressions as ngspice 39 reads them (numparam ``{...}`` and ``'...'`` values).

:func:`parse_number` reads element values like ngspice's ``INPevaluate``; :func:`evaluate`
computes expressions like ngspice's numparam, as established by running ngspice 39:

* Numbers take a scale suffix (``T G Meg K M U N P F``, any case), then letters are skipped
  (``{10kohm}`` = 1e4). In expressions ``mil`` is milli (only element values know ``mil`` =
  25.4e-6), ``a`` is no suffix, and C ``sscanf`` hex (``0x10``) is read.
* Precedence, lowest first: ``?:`` (right associative), ``||``, ``&&``, one level for all
  comparisons (``== = != <> < <= > >=``), ``+ -``, ``* / % \\``, ``^ **``. The others are
  left associative, ``^`` too (``2^3^2`` = 64), and ``^`` uses ``|base|`` (``(-2)^3`` = 8).
* ``!`` binds to the next atom (``!2^0`` = 1). A sign opening an expression means ``0 - ...``
  (``-2^2`` = -4); a ``-`` after an operator negates the number after it, before any power
  (``2*-3^2`` = 18), and before a name or ``(`` is an error, in ngspice as here.
* Both ``?:`` branches are evaluated (undefined names fail in either); arithmetic is IEEE and
  only a non-finite result is an error, naming the division by zero, domain error or
  overflow behind it (``1/0 > 1`` is 1, as in ngspice). Where ngspice quietly accepts
  nonsense (``1 ? 2``, ``sin 1``, ``max(1,5,3)`` = 3, ``1---1`` = 2, ``1 ? 0 ? 7 : 8 : 9``
  = 7) we raise instead, as we do for recursive user functions (which crash ngspice).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from circuitlearn.errors import ExpressionError
from circuitlearn.netlist.numbers import parse_number, scale_of
from circuitlearn.netlist.operators import (
    BINARY,
    BINDING,
    BUILTIN,
    RANDOM,
    Context,
    Node,
    apply_math,
)

__all__ = ["ExpressionError", "UserFunction", "evaluate", "free_names", "parse_number"]


@dataclass(frozen=True)
class UserFunction:
    """A user function, from ``.func f(x, y) {body}`` or ``.param f(x)={body}``.

    Parameters
    ----------
    params : tuple of str
        Lower-case parameter names. Inside `body` they shadow global parameters and, as
        with ngspice's textual expansion, are also seen by the user functions it calls.
    body : str
        Expression text without braces or quotes.
    """

    params: tuple[str, ...]
    body: str


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<hex>0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d*)?)
     |(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d*)?)
     |(?P<name>[A-Za-z_][A-Za-z0-9_.]*)
     |(?P<op>\*\*|==|!=|<>|<=|>=|&&|\|\||[-+*/%\\^<>=!?:(),])
    )""",
    re.VERBOSE,
)
_LETTERS = re.compile(r"[A-Za-z_]*")
_Token = tuple[str, Any, int]  # kind ("num", "name", "op" or "end"), value, position


def _syntax(text: str, pos: int, what: str) -> ExpressionError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return ExpressionError(f"syntax error at column {pos + 1} of '{shown}': {what}")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while m := _TOKEN.match(text, pos):
        kind = m.lastgroup or ""
        start, pos, word = m.start(kind), m.end(), m.group(kind)
        if kind == "name":
            tokens.append(("name", word.lower(), start))
        elif kind == "op":
            tokens.append(("op", word, start))
        else:  # a number (sscanf reads "1e+" as 1), its suffix, then any letters
            if kind == "hex":
                value = float.fromhex(word.rstrip("pP+-"))
            elif word == "0" and text[pos:pos + 1] in ("x", "X"):
                raise _syntax(text, start, "hex number without digits")
            else:
                value = float(word.rstrip("eE+-"))
            pos = _LETTERS.match(text, pos).end()  # type: ignore[union-attr]
            tokens.append(("num", value * scale_of(text[m.end():pos], mil=False), start))
    rest = text[pos:].lstrip()
    if rest:
        raise _syntax(text, len(text) - len(rest), f"unexpected character {rest[0]!r}")
    tokens.append(("end", None, len(text)))
    return tokens


def _call_user(ctx: Context, name: str, fun: UserFunction, args: list[Node]) -> float:
    if len(args) != len(fun.params):
        raise ExpressionError(f"function '{name}' takes {len(fun.params)} argument(s), "
                              f"got {len(args)}")
    if name in ctx.stack:  # textual expansion never ends: ngspice 39 crashes
        raise ExpressionError(f"recursive user function: {' -> '.join((*ctx.stack, name))}")
    try:
        body = _compile(fun.body)[0]
    except ExpressionError as err:
        raise ExpressionError(f"in user function '{name}': {err}") from None
    # ngspice expands calls textually, so a body also sees its callers' arguments:
    # with .func g(x)={x+y} and .func f(y)={g(1)}, f(5) is 6 whatever the global y.
    local = dict(ctx.local or {})
    local.update(zip(fun.params, [a(ctx) for a in args], strict=True))
    return body(Context(ctx.lookup, ctx.functions, local, (*ctx.stack, name), ctx.notes))


def _call(name: str, args: list[Node]) -> Node:
    builtin = BUILTIN.get(name)

    def call(ctx: Context) -> float:
        if ctx.functions and name in ctx.functions:  # user functions win, as in ngspice
            return _call_user(ctx, name, ctx.functions[name], args)
        if builtin is None:
            kind = "random function" if name in RANDOM else "function"
            raise ExpressionError(f"unknown {kind} '{name}'")
        arity, fn, fallback = builtin
        if arity != len(args):
            raise ExpressionError(f"function '{name}' takes {arity} argument(s), got {len(args)}")
        return apply_math(ctx, name, fn, fallback, *[a(ctx) for a in args])

    return call


def _name(name: str) -> Node:
    def value(ctx: Context) -> float:
        if ctx.local is not None and name in ctx.local:
            return ctx.local[name]
        try:
            return float(ctx.lookup(name))
        except KeyError:
            raise ExpressionError(f"undefined parameter '{name}'") from None

    return value


def _ternary(cond: Node, then: Node, other: Node) -> Node:
    def choose(ctx: Context) -> float:
        taken, skipped = (then, other) if cond(ctx) != 0.0 else (other, then)
        seen = len(ctx.notes)
        skipped(ctx)  # ngspice evaluates both: an undefined name fails in either branch
        del ctx.notes[seen:]
        return taken(ctx)

    return choose


def _binary(op: str, left: Node, right: Node) -> Node:
    fn = BINARY[op]
    return lambda ctx: fn(ctx, left(ctx), right(ctx))


def _const(value: float) -> Node:
    return lambda ctx: value


class _Parser:
    """Pratt parser from tokens to closures ``node(ctx) -> float``."""

    def __init__(self, text: str):
        self.text, self.tokens, self.i = text, _tokenize(text), 0
        self.names: set[str] = set()

    def fail(self, token: _Token, expected: str = "") -> ExpressionError:
        kind, value, pos = token
        shown = "end of expression" if kind == "end" else f"number {value:g}" if kind == "num" \
            else repr(value)
        what = f"expected {expected!r}, found {shown}" if expected else f"unexpected {shown}"
        return _syntax(self.text, pos, what)

    def is_op(self, symbol: str) -> bool:
        kind, value, _ = self.tokens[self.i]
        return kind == "op" and value == symbol

    def expect(self, symbol: str) -> None:
        if not self.is_op(symbol):
            raise self.fail(self.tokens[self.i], symbol)
        self.i += 1

    def expression(self, rbp: int, start: bool) -> Node:
        left = self.prefix(start)
        while True:
            kind, op, _ = self.tokens[self.i]
            bp = BINDING.get(op, 0) if kind == "op" else 0
            if bp <= rbp:
                return left
            self.i += 1
            if op == "?":
                then = self.expression(bp, start=False)
                if self.is_op("?"):  # ngspice 39 reads c1 ? c2 ? a : b : d as c1 ? a : d
                    raise _syntax(self.text, self.tokens[self.i][2], "a '?:' nested between "
                                  "'?' and ':' needs parentheses")
                self.expect(":")
                left = _ternary(left, then, self.expression(bp - 1, start=False))
            else:  # every binary operator is left associative, '^' included
                left = _binary(op, left, self.expression(bp, start=False))

    def prefix(self, start: bool) -> Node:
        token = self.tokens[self.i]
        kind, sign, _ = token
        if kind != "op" or sign not in ("-", "+"):
            return self.atom()
        self.i += 1
        if start:  # ngspice: a leading sign is a binary operator with 0 on its left
            operand = self.expression(BINDING["+"], start=False)
            return operand if sign == "+" else lambda ctx: 0.0 - operand(ctx)
        if sign == "-" and self.tokens[self.i][0] == "num":  # negates the number only
            self.i += 1
            return _const(-self.tokens[self.i - 1][1])
        if sign == "+":
            raise self.fail(token)
        raise _syntax(self.text, token[2], "'-' after an operator must be followed by a "
                      "number (as in ngspice); write e.g. 2*(-x)")

    def atom(self) -> Node:
        token = self.tokens[self.i]
        kind, value, _ = token
        self.i += 1
        if kind == "num":
            return _const(value)
        if kind == "name" and not self.is_op("("):
            self.names.add(value)
            return _name(value)
        if kind == "name":
            self.i += 1
            args: list[Node] = []
            while not (args == [] and self.is_op(")")):
                args.append(self.expression(0, start=True))
                if not self.is_op(","):
                    break
                self.i += 1
            self.expect(")")
            return _call(value, args)
        if kind == "op" and value == "(":
            inner = self.expression(0, start=True)
            self.expect(")")
            return inner
        if kind == "op" and value == "!":  # binds to the next atom only: !2^0 == (!2)^0
            operand = self.atom()
            return lambda ctx: 1.0 if operand(ctx) == 0.0 else 0.0
        raise self.fail(token)


@lru_cache(maxsize=4096)  # bounded: a huge cache of closures makes Python's GC crawl
def _compile(text: str) -> tuple[Node, frozenset[str]]:
    parser = _Parser(text)
    try:
        node = parser.expression(0, start=True)
    except RecursionError:
        raise ExpressionError(f"expression nested too deeply: '{text[:60]}'") from None
    if parser.tokens[parser.i][0] != "end":
        raise parser.fail(parser.tokens[parser.i])
    return node, frozenset(parser.names)


def evaluate(text: str, lookup: Callable[[str], float],
             functions: Mapping[str, UserFunction] | None = None) -> float:
    """Evaluate an ngspice numparam expression.

    Parameters
    ----------
    text : str
        The expression without its braces or quotes, e.g. ``"2*x + 1k"``.
    lookup : callable
        ``lookup(name)`` returns the value of parameter `name` (lower case) or raises
        KeyError, which becomes ``ExpressionError("undefined parameter 'name'")``.
    functions : mapping of str to UserFunction, optional
        User functions by lower-case name; they take precedence over built-ins.

    Returns
    -------
    float
        The value, always finite.

    Raises
    ------
    ExpressionError
        Syntax error (with its column), undefined parameter, unknown function, wrong number
        of arguments, recursive user function, or a non-finite result (naming its cause).
    """
    ctx = Context(lookup, functions, None, (), [])
    try:
        value = _compile(text)[0](ctx)
    except RecursionError:
        raise ExpressionError(f"expression nested too deeply: '{text[:60]}'") from None
    if not math.isfinite(value):
        if ctx.notes:
            raise ExpressionError(ctx.notes[0])
        raise ExpressionError("overflow: result is infinite" if math.isinf(value)
                              else "result is not a number")
    return value


def free_names(text: str) -> set[str]:
    """Lower-case parameter names that `text` reads (names of called functions excluded).

    For a user function, ``free_names(fun.body) - set(fun.params)`` gives the global
    parameters its body depends on.

    Raises
    ------
    ExpressionError
        If `text` is not a well-formed expression.
    """
    return set(_compile(text)[1])
