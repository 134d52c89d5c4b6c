"""Element cards (R, V, I, X) into circuit arrays, with subcircuit expansion.

Names follow ngspice: inside instance ``x1`` (nested: ``x1.x2``) a node ``mid``
becomes ``x1.mid`` and an element ``r2`` becomes ``r.x1.r2``; ports map to the
caller's nodes; ground (``0``, ``gnd``) and ``.global`` nodes keep their names.
"""

from __future__ import annotations

import math
from collections import ChainMap
from dataclasses import dataclass

import numpy as np

from circuitlearn.circuit import GROUND, Circuit
from circuitlearn.errors import NetlistError, SourceLocation
from circuitlearn.netlist.lines import Line, Token, tokenize
from circuitlearn.netlist.scope import Block, Scope, Subckt, number_or_none, split_assignments

UNSUPPORTED = {
    "a": "XSPICE code model", "b": "behavioural source", "c": "capacitor", "d": "diode",
    "e": "voltage-controlled voltage source", "f": "current-controlled current source",
    "g": "voltage-controlled current source", "h": "current-controlled voltage source",
    "j": "JFET", "k": "coupled inductors", "l": "inductor", "m": "MOSFET",
    "n": "numerical device", "o": "lossy transmission line", "p": "coupled lines",
    "q": "bipolar transistor", "s": "voltage switch", "t": "transmission line",
    "u": "RC line", "w": "current switch", "y": "transmission line", "z": "MESFET",
}
NOMINAL_TEMPERATURE = 27.0  # degrees C, ngspice's default tnom and temp
RESISTOR_PARAMS = {"ac", "noisy", "l", "w", "scale", "m", "tc1", "tc2", "tc", "tce", "temp",
                   "dtemp", "tnom", "r", "resistance"}
TRANSIENT = ("sin", "pulse", "pwl", "exp", "sffm")


class CircuitBuilder:
    """Accumulates nodes and elements, then freezes them into a :class:`Circuit`."""

    def __init__(self) -> None:
        self.nodes: dict[str, int] = {GROUND: 0}
        self.groups: dict[str, tuple[list, list, list]] = {k: ([], [], []) for k in "rvi"}
        self.origins: dict[str, SourceLocation] = {}

    def node(self, name: str) -> int:
        return self.nodes.setdefault(name, len(self.nodes))

    def add(self, kind: str, name: str, pos: str, neg: str, value: float, line: Line) -> None:
        if name in self.origins:
            first = self.origins[name]
            raise line.error(f"duplicate element name (first defined at {first})", name)
        names, edges, values = self.groups[kind]
        names.append(name)
        edges.append((self.node(pos), self.node(neg)))
        values.append(value)
        self.origins[name] = SourceLocation(line.path, line.number)

    def build(self, title: str) -> Circuit:
        (rn, re, rk), (vn, ve, vv), (in_, ie, iv) = (self.groups[k] for k in "rvi")
        return Circuit(nodes=tuple(self.nodes), resistor_names=tuple(rn), resistor_edges=re,
                       conductance=np.array(rk, float), vsource_names=tuple(vn),
                       vsource_edges=ve, vsource_values=vv, isource_names=tuple(in_),
                       isource_edges=ie, isource_values=iv, title=title,
                       origins=self.origins)


@dataclass
class Level:
    """One level of the netlist hierarchy being expanded."""

    block: Block
    scope: Scope
    prefix: str
    ports: dict[str, str]
    global_nodes: frozenset[str]
    subckts: ChainMap
    models: ChainMap
    stack: tuple[str, ...]
    temperature: float
    tnom: float

    def node(self, token: Token) -> str:
        name = token.text.lower()
        if name in (GROUND, "gnd"):
            return GROUND
        if name in self.ports:
            return self.ports[name]
        if not self.prefix or name in self.global_nodes:
            return name
        return f"{self.prefix}.{name}"

    def element(self, name: str) -> str:
        return f"{name[0]}.{self.prefix}.{name}" if self.prefix else name


def expand(level: Level, builder: CircuitBuilder, scan) -> None:
    """Add every element of ``level`` (recursively through instances) to ``builder``.

    ``scan(lines) -> Block`` reads a subcircuit body the first time it is used.
    """
    for line in level.block.elements:
        tokens = tokenize(line)
        name = tokens[0].text.lower()
        letter = name[0]
        if letter == "r":
            _resistor(level, builder, line, name, tokens[1:])
        elif letter in "vi":
            _source(level, builder, line, name, tokens[1:])
        elif letter == "x":
            _instance(level, builder, line, name, tokens[1:], scan)
        elif letter in UNSUPPORTED:
            raise line.error(f"unsupported element type '{letter.upper()}' "
                             f"({UNSUPPORTED[letter]}): circuitlearn simulates resistors and "
                             "independent voltage and current sources only", name)
        else:
            raise line.error(f"unknown element type '{letter}'", name)


def _two_nodes(level: Level, line: Line, name: str, fields: list[Token]) -> tuple[str, str]:
    if len(fields) < 2 or any(f.kind != "word" for f in fields[:2]):
        raise line.error("needs two node names", name)
    return level.node(fields[0]), level.node(fields[1])


def _resistor(level: Level, b: CircuitBuilder, line: Line, name: str, fields: list[Token]):
    positional, pairs = split_assignments(fields, line)
    pos, neg = _two_nodes(level, line, name, positional)
    value, model = _resistor_value_and_model(level, line, name, positional[2:], pairs)
    unknown = set(pairs) - RESISTOR_PARAMS
    if unknown:
        raise line.error(f"unknown resistor parameter(s): {', '.join(sorted(unknown))}", name)
    params = {**(model.params if model else {}), **pairs}

    def get(key: str, default: float) -> float:
        tok = params.get(key)
        return default if tok is None else level.scope.value(tok, line, what=key, element=name)

    resistance = level.scope.value(value, line, what="resistance", element=name)
    resistance *= get("scale", 1.0) * _temperature_factor(level, get)
    if resistance == 0:
        raise line.error("zero resistance (a short circuit): give it a nonzero value, or use "
                         "a 0 V voltage source to join two nodes", name)
    multiplier = get("m", 1.0)
    conductance = 1.0 / resistance if multiplier == 1.0 else multiplier / resistance
    if not (math.isfinite(resistance) and math.isfinite(conductance) and conductance != 0):
        raise line.error(f"resistance {resistance!r} ohm (multiplier {multiplier!r}) gives "
                         f"conductance {conductance!r} S, which is not a finite nonzero "
                         "number", name)
    b.add("r", level.element(name), pos, neg, conductance, line)


def _resistor_value_and_model(level, line, name, rest, pairs):
    value: Token | None = pairs.get("r") or pairs.get("resistance")
    model = None
    for tok in rest:
        known = tok.kind == "word" and tok.text.lower() in level.models
        if known and number_or_none(tok) is None:
            model = level.models[tok.text.lower()]
        elif value is None:
            value = tok
        else:
            raise line.error(f"unexpected field {tok.text!r}", name)
    if value is None and model is not None:
        value = model.params.get("r") or model.params.get("res")
    if value is None:
        raise line.error("missing resistance value", name)
    return value, model


def _temperature_factor(level: Level, get) -> float:
    """ngspice's resistor temperature factor, with ``dT = T - tnom`` (K):
    ``1.01 ** (tce dT)`` if ``tce`` is given, else ``1 + tc1 dT + tc2 dT^2``.
    ``T`` is the instance ``temp``, else the circuit temperature plus ``dtemp``;
    ``tnom`` comes from the model, else ``.options tnom`` (default 27 deg C)."""
    tc1, tc2, tce = get("tc1", get("tc", 0.0)), get("tc2", 0.0), get("tce", math.nan)
    if tc1 == 0 and tc2 == 0 and math.isnan(tce):
        return 1.0
    temperature = get("temp", level.temperature + get("dtemp", 0.0))
    dt = temperature - get("tnom", level.tnom)
    if not math.isnan(tce):
        return 1.01 ** (tce * dt)
    return 1.0 + tc1 * dt + tc2 * dt * dt


def _source(level: Level, b: CircuitBuilder, line: Line, name: str, fields: list[Token]):
    pos, neg = _two_nodes(level, line, name, fields)
    value = _source_value(level, line, name, fields[2:])
    if not math.isfinite(value):
        raise line.error(f"source value {value!r} is not finite", name)
    b.add(name[0], level.element(name), pos, neg, value, line)


def _source_value(level: Level, line: Line, name: str, fields: list[Token]) -> float:
    """DC value of a V or I source: ``[DC] value``, else the time-zero value of a
    transient function; ``AC`` alone means DC 0. The last ``DC`` given wins."""
    fields = [f for f in fields if f.kind != "="]
    dc: float | None = None
    t0: float | None = None
    has_ac = False
    i = 0
    while i < len(fields):
        word = fields[i].text.lower() if fields[i].kind == "word" else ""
        if word == "dc":
            if i + 1 >= len(fields):
                raise line.error("'dc' without a value", name)
            dc = level.scope.value(fields[i + 1], line, element=name)
            i += 2
        elif word in ("ac", "distof1", "distof2"):
            has_ac = True
            i += 1 + _count_numbers(fields[i + 1:], 2)
        elif word in TRANSIENT:
            n = _count_numbers(fields[i + 1:], 64)
            args = [level.scope.value(f, line, element=name) for f in fields[i + 1:i + 1 + n]]
            t0 = _time_zero(word, args, line, name)
            i += 1 + n
        elif dc is None and (fields[i].kind == "expr" or number_or_none(fields[i]) is not None
                             or _is_parameter(level, fields[i])):
            dc = level.scope.value(fields[i], line, element=name)
            i += 1
        else:
            raise line.error(f"unexpected field {fields[i].text!r} (expected [DC] value)", name)
    if dc is not None:
        return dc
    if t0 is not None:
        return t0
    if has_ac:
        return 0.0
    raise line.error("missing source value", name)


def _is_parameter(level: Level, token: Token) -> bool:
    try:
        level.scope.lookup(token.text.lower())
    except KeyError:
        return False
    return True


def _count_numbers(fields: list[Token], limit: int) -> int:
    n = 0
    while n < min(limit, len(fields)) and (fields[n].kind == "expr"
                                           or number_or_none(fields[n]) is not None):
        n += 1
    return n


def _time_zero(kind: str, args: list[float], line: Line, name: str) -> float:
    """Value at t = 0 of a transient source function (what ngspice uses for ``.op``)."""
    need = {"sin": 2, "pulse": 2, "pwl": 2, "exp": 2, "sffm": 2}[kind]
    if len(args) < need:
        raise line.error(f"{kind.upper()}() needs at least {need} values", name)
    if kind == "sin":
        phase = args[5] if len(args) > 5 else 0.0
        return args[0] + args[1] * math.sin(math.radians(phase))
    if kind == "pwl":
        return args[1]
    return args[0]


def _instance(level: Level, b: CircuitBuilder, line: Line, name: str, fields: list[Token],
              scan) -> None:
    positional, pairs = split_assignments(fields, line)
    if not positional or any(f.kind != "word" for f in positional):
        raise line.error("needs nodes and a subcircuit name", name)
    sub_name = positional[-1].text.lower()
    entry = level.subckts.get(sub_name)
    if entry is None:
        known = ", ".join(sorted(level.subckts)) or "none defined"
        raise line.error(f"unknown subcircuit {sub_name!r} (known: {known})", name)
    sub = entry[0]
    nodes = positional[:-1]
    if len(nodes) != len(sub.ports):
        raise line.error(f"subcircuit {sub_name!r} has {len(sub.ports)} ports "
                         f"({' '.join(sub.ports)}) but {len(nodes)} nodes are given", name)
    if sub_name in level.stack:
        raise line.error(f"subcircuit {sub_name!r} instantiates itself", name)
    if pairs and not sub.defaults:
        raise line.error(f"subcircuit {sub_name!r} declares no parameters (add "
                         f"'params: {next(iter(pairs))}=...' to its .subckt line) but "
                         f"{len(pairs)} are given; ngspice rejects this too", name)
    child = _child_level(level, line, name, sub, pairs, nodes, entry, scan)
    try:
        expand(child, b, scan)
    except NetlistError as exc:
        raise NetlistError(exc.path, exc.line, f"{exc.message} (in instance {name} at "
                           f"{line.path}:{line.number})", exc.element) from None


def _child_level(level, line, name, sub: Subckt, pairs, nodes, entry, scan) -> Level:
    _, def_scope, def_table, def_models = entry
    caller = Scope({}, {}, {}, parent=level.scope)  # earlier actuals are visible to later ones
    for key, tok in pairs.items():
        caller.values[key] = caller.value(tok, line, what=f"parameter {key!r}", element=name)
    actuals = caller.values
    if sub.block is None:
        sub.block = scan(sub.body)
    block = sub.block
    scope = Scope({**sub.defaults, **block.params}, actuals, block.functions, parent=def_scope)
    prefix = f"{level.prefix}.{name}" if level.prefix else name
    table = def_table.new_child({})
    table.maps[0].update({n: (s, scope, table, def_models.new_child(block.models))
                          for n, s in block.subckts.items()})
    return Level(block=block, scope=scope, prefix=prefix,
                 ports={p: level.node(t) for p, t in zip(sub.ports, nodes, strict=True)},
                 global_nodes=level.global_nodes | block.global_nodes, subckts=table,
                 models=def_models.new_child(block.models), stack=(*level.stack, sub.name),
                 temperature=level.temperature, tnom=level.tnom)
