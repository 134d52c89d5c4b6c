"""Reading SPICE netlists: the subset of ngspice syntax for linear R/V/I circuits.

:func:`load`, :func:`parse`
    Element cards ``R``, ``V``, ``I`` and ``X`` (subcircuit instances); directives
    ``.param``, ``.func``, ``.subckt``/``.ends`` (nested, with parameters),
    ``.include``, ``.lib``, ``.global``, ``.model NAME R (r=... tc1=... tnom=...)``,
    ``.temp`` and ``.options temp=... tnom=...``.
    Analysis and output directives (``.op .dc .tran .ac .print .plot .save
    .options .meas`` ...) and ``.control`` blocks are accepted and ignored: the
    circuit is solved for its DC operating point (``.op`` semantics). See
    :mod:`circuitlearn.netlist_lines` for comments, continuations and tokens, and
    :mod:`circuitlearn.netlist_scope` for parameter scoping.

Every problem raises :class:`~circuitlearn.errors.NetlistError` naming the file,
the line and the element.
"""

from __future__ import annotations

import os
import sys
from collections import ChainMap
from pathlib import Path

from circuitlearn.circuit import Circuit
from circuitlearn.errors import NetlistError
from circuitlearn.netlist.elements import NOMINAL_TEMPERATURE, CircuitBuilder, Level, expand
from circuitlearn.netlist.lines import Line, logical_lines, read_file, tokenize
from circuitlearn.netlist.scope import (
    Block,
    Definition,
    Model,
    Scope,
    Subckt,
    function_definition,
    split_assignments,
)

IGNORED_DIRECTIVES = frozenset(
    ".op .dc .tran .ac .tf .noise .sens .pz .disto .four .print .plot .probe .save .width "
    ".meas .measure .nodeset .ic .csparam .step .title .backanno "
    ".lprint .lplot".split()
)

__all__ = ["load", "parse"]


def load(path: str | os.PathLike[str]) -> Circuit:
    """Read the netlist file at ``path`` (includes resolve relative to its folder).

    Raises :class:`~circuitlearn.errors.NetlistError` (file, line, element) for bad input.

    >>> c = load("netlists/divider.cir")
    >>> c.nodes, c.resistor_names, c.vsource_names
    (('0', 'in', 'mid'), ('r1', 'r2'), ('v1',))
    """
    path = Path(path)
    return parse(read_file(path), str(path))


def parse(text: str, path: str = "<string>") -> Circuit:
    """Parse netlist ``text``; ``path`` names it in errors and anchors ``.include``.

    >>> parse("title\\nV1 a 0 {2*x}\\n.param x=1.5\\nR1 a 0 2k\\n").vsource_values
    array([3.])
    """
    title, lines = logical_lines(text, path)
    block = scan_block(lines)
    if not block.elements:
        raise NetlistError(path, 1, "the netlist defines no elements")
    scope = Scope(block.params, {}, block.functions)
    table: ChainMap = ChainMap({})
    models = ChainMap(block.models)
    table.maps[0].update({n: (s, scope, table, models) for n, s in block.subckts.items()})
    level = Level(block=block, scope=scope, prefix="", ports={},
                  global_nodes=frozenset(block.global_nodes), subckts=table, models=models,
                  stack=(), temperature=_option(scope, block, "temp"),
                  tnom=_option(scope, block, "tnom"))
    builder = CircuitBuilder()
    try:
        expand(level, builder, scan_block)
    except RecursionError:
        raise NetlistError(path, 1, "subcircuits or parameters are nested too deeply "
                           f"(Python recursion limit {sys.getrecursionlimit()})"
                           ) from None
    return builder.build(title)


def _option(scope: Scope, block: Block, name: str) -> float:
    """Circuit (``temp``) or nominal (``tnom``) temperature in deg C, from ``.temp`` or
    ``.options``; ngspice's default 27 deg C otherwise."""
    definition = block.options.get(name)
    if definition is None:
        return NOMINAL_TEMPERATURE
    return scope.value(definition.token, definition.line, what=name)


def scan_block(lines: list[Line]) -> Block:
    """Sort the cards of one level into elements, parameters, models and subcircuits."""
    block = Block()
    i = 0
    while i < len(lines):
        line = lines[i]
        word = line.text.split(None, 1)[0].lower()
        if word == ".subckt":
            end = _matching_ends(lines, i)
            sub = _subckt_header(line, lines[i + 1:end])
            block.subckts[sub.name] = sub
            i = end + 1
            continue
        _directive(block, line, word) if word.startswith(".") else block.elements.append(line)
        i += 1
    return block


def _directive(block: Block, line: Line, word: str) -> None:
    parts = line.text.split(None, 1)
    rest = parts[1] if len(parts) > 1 else ""
    if word == ".param":
        _param_line(block, line, rest)
    elif word == ".func":
        func = function_definition(rest, line)
        if func is None:
            raise line.error(f"malformed .func {rest!r}")
        block.functions[func[0]] = func[1]
    elif word == ".model":
        _model_line(block, line)
    elif word == ".global":
        block.global_nodes.update(t.text.lower() for t in tokenize(line)[1:])
    elif word == ".temp":
        tokens = tokenize(line)
        if len(tokens) < 2:
            raise line.error(".temp needs a value")
        block.options["temp"] = Definition(tokens[1], line)
    elif word in (".options", ".option", ".opt"):
        _options_line(block, line)
    elif word == ".ends":
        raise line.error(".ends without a matching .subckt")
    elif word not in IGNORED_DIRECTIVES:
        raise line.error(f"unsupported directive {word}")


def _options_line(block: Block, line: Line) -> None:
    """Keep ``temp`` and ``tnom`` of ``.options`` (the ones that change a DC solution of
    resistors with temperature coefficients); other options and flags are ignored."""
    tokens = tokenize(line)[1:]
    for i, tok in enumerate(tokens[:-2]):
        if tokens[i + 1].kind == "=" and tok.text.lower() in ("temp", "tnom"):
            block.options[tok.text.lower()] = Definition(tokens[i + 2], line)


def _param_line(block: Block, line: Line, rest: str) -> None:
    func = function_definition(rest, line) if "(" in rest.split("=", 1)[0] else None
    if func is not None:
        block.functions[func[0]] = func[1]
        return
    positional, pairs = split_assignments(tokenize(Line(rest, line.path, line.number)), line)
    if positional or not pairs:
        raise line.error(f".param expects name=value pairs, got {rest!r}")
    for name, token in pairs.items():
        block.params[name] = Definition(token, line)


def _model_line(block: Block, line: Line) -> None:
    tokens = tokenize(line)
    if len(tokens) < 3:
        raise line.error(".model needs a name and a type")
    _, pairs = split_assignments(tokens[3:], line)
    name, kind = tokens[1].text.lower(), tokens[2].text.lower()
    block.models[name] = Model(name, kind, pairs, line)


def _matching_ends(lines: list[Line], start: int) -> int:
    depth = 0
    for j in range(start, len(lines)):
        word = lines[j].text.split(None, 1)[0].lower()
        depth += (word == ".subckt") - (word == ".ends")
        if depth == 0:
            return j
    raise lines[start].error(".subckt without a matching .ends")


def _subckt_header(line: Line, body: list[Line]) -> Subckt:
    positional, pairs = split_assignments(tokenize(line)[1:], line)
    if not positional:
        raise line.error(".subckt needs a name")
    name = positional[0].text.lower()
    ports = tuple(t.text.lower() for t in positional[1:])
    defaults = {k: Definition(tok, line) for k, tok in pairs.items()}
    return Subckt(name, ports, defaults, body, line)
