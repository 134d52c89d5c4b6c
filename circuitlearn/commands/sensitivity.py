"""``circuitlearn sensitivity NETLIST --output NODE[,NODE2]``: dV_out/dR of every resistor."""

from __future__ import annotations

import argparse
import json

HELP = ("print dV_out/dR for every resistor (adjoint network), optionally checked against "
        "ngspice's .sens analysis")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("netlist", help="SPICE netlist")
    parser.add_argument("--output", required=True, metavar="NODE[,NODE2]",
                        help="output V(NODE), or V(NODE) - V(NODE2)")
    parser.add_argument("--check", action="store_true",
                        help="also run ngspice's .sens and compare (exit 1 on disagreement)")
    parser.add_argument("--backend", choices=("auto", "pyspice", "batch"), default="auto",
                        help="ngspice backend for --check (default auto)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")


def _output(text: str) -> tuple[str, str]:
    from circuitlearn.errors import CircuitLearnError

    nodes = [n.strip() for n in text.split(",")]
    if not 1 <= len(nodes) <= 2 or not all(nodes):
        raise CircuitLearnError(f"--output: expected NODE or NODE,NODE2, got {text!r}")
    return (nodes[0], nodes[1] if len(nodes) == 2 else "0")


def run(args: argparse.Namespace) -> int:
    from circuitlearn.netlist import load
    from circuitlearn.spice.sens import sensitivity_report

    report = sensitivity_report(load(args.netlist), _output(args.output),
                                backend=args.backend if args.check else None)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format())
    return 0 if report.passed else 1
