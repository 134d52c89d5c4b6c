"""Parameters, functions and subcircuit definitions of a netlist, with ngspice scoping.

Scoping rules (as ngspice 39 resolves them)
-------------------------------------------
* Top-level ``.param`` lines define global parameters wherever they stand in the
  file; a parameter defined twice takes its last value. Parameters may refer to
  each other in any order; a cycle is an error.
* Inside a subcircuit instance, a name resolves to, in order of precedence: the
  instance's actual parameters (``X1 ... sub a=1``), the body's ``.param`` lines,
  the defaults on the ``.subckt`` line (``params: a=2``), then the scope in which
  the subcircuit was defined (global for top-level definitions).
* Actual parameters are evaluated in the caller's scope, left to right; an actual
  may refer to the ones before it.
* ``.func f(x) {expr}`` and ``.param f(x)={expr}`` define functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from circuitlearn.errors import ExpressionError
from circuitlearn.netlist.expr import UserFunction, evaluate, parse_number
from circuitlearn.netlist.lines import Line, Token


@dataclass
class Definition:
    """A parameter assignment: expression tokens and the line that made it."""

    token: Token
    line: Line


@dataclass
class Subckt:
    """A ``.subckt`` definition (its body is scanned lazily on first use)."""

    name: str
    ports: tuple[str, ...]
    defaults: dict[str, Definition]
    body: list[Line]
    line: Line
    block: Block | None = None


@dataclass
class Model:
    """A ``.model NAME TYPE (params)`` card."""

    name: str
    kind: str
    params: dict[str, Token]
    line: Line


@dataclass
class Block:
    """The cards of one netlist level (top level or a subcircuit body)."""

    elements: list[Line] = field(default_factory=list)
    params: dict[str, Definition] = field(default_factory=dict)
    functions: dict[str, UserFunction] = field(default_factory=dict)
    subckts: dict[str, Subckt] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    global_nodes: set[str] = field(default_factory=set)
    options: dict[str, Definition] = field(default_factory=dict)


class Scope:
    """Parameter values of one netlist level, evaluated lazily with cycle detection.

    Parameters
    ----------
    definitions : mapping
        Parameter name -> :class:`Definition`, evaluated on first use.
    values : mapping
        Parameter name -> value already known (instance actuals); these win.
    functions : mapping
        User functions visible here.
    parent : Scope, optional
        Where names not defined here are looked up.
    """

    def __init__(self, definitions: Mapping[str, Definition], values: Mapping[str, float],
                 functions: Mapping[str, UserFunction], parent: Scope | None = None):
        self.definitions = dict(definitions)
        self.values = dict(values)
        self.functions = {**(parent.functions if parent else {}), **functions}
        self.parent = parent
        self._active: list[str] = []

    def lookup(self, name: str) -> float:
        """Value of parameter ``name``; raises KeyError if it is defined nowhere."""
        if name in self.values:
            return self.values[name]
        if name in self.definitions:
            return self._resolve(name)
        if self.parent is None:
            raise KeyError(name)
        return self.parent.lookup(name)

    def _resolve(self, name: str) -> float:
        definition = self.definitions[name]
        if name in self._active:
            cycle = " -> ".join([*self._active[self._active.index(name):], name])
            raise definition.line.error(f"parameters refer to each other in a cycle: {cycle}")
        self._active.append(name)
        try:
            value = self.value(definition.token, definition.line, what=f"parameter {name!r}")
        finally:
            self._active.pop()
        self.values[name] = value
        return value

    def value(self, token: Token, line: Line, *, what: str = "value",
              element: str | None = None) -> float:
        """Numeric value of a field: a SPICE number, ``{expr}``/``'expr'`` or a bare
        parameter name; errors name the line and element."""
        if token.kind == "word":
            number = parse_number(token.text)
            if number is not None:
                return number
        try:
            return evaluate(token.text, self.lookup, self.functions)
        except ExpressionError as exc:
            raise line.error(f"bad {what} {token.text!r}: {exc}", element) from None
        except RecursionError:
            raise line.error(f"bad {what} {token.text!r}: recursion too deep", element) from None


def split_assignments(tokens: list[Token], line: Line) -> tuple[list[Token], dict[str, Token]]:
    """Split tokens into leading positional fields and ``key=value`` pairs.

    ``params:`` (any case) before the pairs is dropped. Raises on a dangling ``=``.
    """
    positional: list[Token] = []
    pairs: dict[str, Token] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if i + 1 < len(tokens) and tokens[i + 1].kind == "=":
            if tok.kind != "word" or i + 2 >= len(tokens) or tokens[i + 2].kind == "=":
                raise line.error(f"malformed assignment near {tok.text!r}=")
            pairs[tok.text.lower()] = tokens[i + 2]
            i += 3
            continue
        if tok.kind == "=":
            raise line.error("'=' without a name before it")
        if tok.text.lower() == "params:":
            i += 1
            continue
        if pairs:
            raise line.error(f"positional field {tok.text!r} after key=value pairs")
        positional.append(tok)
        i += 1
    return positional, pairs


def function_definition(text: str, line: Line) -> tuple[str, UserFunction] | None:
    """Parse ``name(a, b) = {expr}`` or ``name(a,b) {expr}``; ``None`` if not a function."""
    head, sep, rest = text.partition("(")
    name = head.strip().lower()
    if not sep or not name.isidentifier():
        return None
    args, sep, body = rest.partition(")")
    if not sep:
        raise line.error(f"malformed function definition {text!r}")
    body = body.strip().lstrip("=").strip()
    if body[:1] in "{'" and body[-1:] in "}'":
        body = body[1:-1]
    params = tuple(a.strip().lower() for a in args.split(",") if a.strip())
    if not body or not all(p.isidentifier() for p in params):
        raise line.error(f"malformed function definition {text!r}")
    return name, UserFunction(params, body)


def number_or_none(token: Token) -> float | None:
    """The token as a plain SPICE number, or None."""
    return parse_number(token.text) if token.kind == "word" else None
