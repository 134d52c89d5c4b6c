"""``circuitlearn simulate NETLIST``: DC operating point of a netlist."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from circuitlearn.solver.dc import OperatingPoint

HELP = "solve the DC operating point of a SPICE netlist and print node voltages and currents"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("netlist", help="SPICE netlist file (R, V, I, X, .param, .subckt ...)")
    parser.add_argument("--json", action="store_true",
                        help='print {"node_voltages": {...}, "source_currents": {...}} as JSON')
    parser.add_argument("--resistors", action="store_true",
                        help="also print each resistor's current (A) and dissipated power (W); "
                             'with --json under "resistors": {name: {"current", "power"}}')


def run(args: argparse.Namespace) -> int:
    from circuitlearn.netlist import load
    from circuitlearn.solver.dc import solve

    op = solve(load(args.netlist))
    if args.json:
        data = op.to_dict()
        if args.resistors:
            data["resistors"] = resistor_dict(op)
        print(json.dumps(data, indent=2))
    else:
        print(format_table(op, resistors=args.resistors))
    return 0


def resistor_dict(op: OperatingPoint) -> dict[str, dict[str, float]]:
    """``{resistor: {"current": A, "power": W}}``; the current flows from the resistor's
    first node to its second."""
    rows = zip(op.circuit.resistor_names, op.resistor_currents(), op.resistor_power(),
               strict=True)
    return {n: {"current": float(i), "power": float(p)} for n, i, p in rows}


def format_table(op: OperatingPoint, *, resistors: bool = False) -> str:
    """Human-readable tables of node voltages, source currents (and resistors)."""
    data = op.to_dict()
    lines = [f"* {op.circuit.title}" if op.circuit.title else "",
             f"{'node':<24} {'voltage (V)':>16}"]
    lines += [f"{n:<24} {v:>16.9g}" for n, v in data["node_voltages"].items()]
    if data["source_currents"]:
        lines += ["", f"{'source':<24} {'current (A)':>16}"]
        lines += [f"{n:<24} {i:>16.9g}" for n, i in data["source_currents"].items()]
    if resistors:
        lines += ["", f"{'resistor':<24} {'current (A)':>16} {'power (W)':>16}"]
        rows = zip(op.circuit.resistor_names, op.resistor_currents(), op.resistor_power(),
                   strict=True)
        lines += [f"{n:<24} {i:>16.9g} {p:>16.9g}" for n, i, p in rows]
    return "\n".join(line for i, line in enumerate(lines) if line or i > 0)
