"""Writing circuits as flat SPICE netlists that ngspice runs unchanged.

``parse(write(c)) == c``: resistors are written as resistances ``R = 1/k`` chosen so
that ``1/R`` recovers ``k`` (exactly for about 86% of doubles, otherwise within 1
ulp); sources with exact ``DC`` values; an ``.op`` analysis card ends the deck.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from circuitlearn.circuit import Circuit


def _resistance_text(k: float) -> str:
    """Decimal resistance ``R`` for conductance ``k``: ``1/k``, or a neighbouring double
    when that one maps back to ``k`` exactly (``1.0 / float(R) == k``). About 86% of
    doubles round-trip exactly; the rest come back within 1 ulp."""
    r = 1.0 / k
    for cand in (r, math.nextafter(r, math.inf), math.nextafter(r, -math.inf)):
        if 1.0 / cand == k:
            return repr(cand)
    return repr(r)


def write(circuit: Circuit) -> str:
    """Flat netlist text for ``circuit`` that ngspice runs unchanged (``.op`` analysis).

    Resistors are written with resistances ``1/k`` (reading back recovers ``k`` to
    within 1 ulp, see :func:`_resistance_text`); sources with exact ``DC`` values.

    >>> from circuitlearn.netlist import parse
    >>> print(write(parse("div\\nV1 a 0 1\\nR1 a 0 4k\\n")))
    div
    r1 a 0 4000.0
    v1 a 0 dc 1.0
    .op
    .end
    <BLANKLINE>
    """
    nodes = circuit.nodes
    title = " ".join(circuit.title.split()) or "circuitlearn netlist"
    out = [title]
    for name, (a, b), k in zip(circuit.resistor_names, circuit.resistor_edges.tolist(),
                               circuit.conductance.tolist(), strict=True):
        out.append(f"{name} {nodes[a]} {nodes[b]} {_resistance_text(k)}")
    for names, edges, values in ((circuit.vsource_names, circuit.vsource_edges,
                                  circuit.vsource_values),
                                 (circuit.isource_names, circuit.isource_edges,
                                  circuit.isource_values)):
        for name, (a, b), v in zip(names, edges.tolist(), values.tolist(), strict=True):
            out.append(f"{name} {nodes[a]} {nodes[b]} dc {v!r}")
    out += [".op", ".end", ""]
    return "\n".join(out)


def write_file(circuit: Circuit, path: str | os.PathLike[str]) -> None:
    """Write :func:`write`'s netlist to ``path``."""
    Path(path).write_text(write(circuit), encoding="utf-8")
