"""SPICE netlists in and out, read as ngspice reads them.

``lines`` (logical lines, comments, continuations, includes, tokens), ``expr``
(numparam expressions), ``scope`` (``.param``/``.func``/``.subckt`` scoping),
``elements`` (the element grammar, one table row per element letter), ``reader``
(:func:`load`, :func:`parse`) and ``writer`` (:func:`write`, :func:`write_file`).
"""

from circuitlearn.netlist.reader import load, parse
from circuitlearn.netlist.writer import write, write_file

__all__ = ["load", "parse", "write", "write_file"]
