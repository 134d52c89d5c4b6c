"""``circuitlearn validate NETLIST|EXPERIMENT``: cross-check against ngspice."""

from __future__ import annotations

import argparse
import json
import math

HELP = ("re-solve a netlist (or an experiment's free, clamped and nudged states) with "
        "ngspice and compare node by node")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="SPICE netlist, or experiment file (.toml)")
    parser.add_argument("--backend", choices=("auto", "pyspice", "batch"), default="auto",
                        help="ngspice shared library (PySpice), ngspice -b, or auto "
                             "(PySpice if usable, else batch)")
    parser.add_argument("--rtol", type=_tolerance, default=1e-9,
                        help="tolerance relative to max(1, |value|) (default 1e-9)")
    parser.add_argument("--samples", type=_positive_int, default=4,
                        help="experiments: training examples checked per state (default 4)")
    parser.add_argument("--run", metavar="DIR",
                        help="experiments: run folder whose checkpoint is also checked "
                             "(default: the experiment's output folder, if it has one)")
    parser.add_argument("--method", choices=("op", "superposition"), default="op",
                        help="experiments: one ngspice op per example, or superposition of "
                             "a few (faster for large networks)")
    parser.add_argument("--limit", type=int, default=20,
                        help="worst nodes and sources listed per circuit (default 20)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--gradient", action="store_true",
                        help="experiments: solve the free, adjoint and current-nudged "
                             "networks in ngspice and compare the loss gradient assembled "
                             "from them with circuitlearn's, edge by edge")
    parser.add_argument("--beta", type=_positive_float, metavar="S",
                        help="with --gradient: current nudge (S; default the rule's beta, "
                             "else 0.1 mean(k))")


def _tolerance(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from circuitlearn.spice.validation import validate_netlist

    if args.gradient or args.beta is not None:
        from circuitlearn.errors import CircuitLearnError
        from circuitlearn.spice.gradient import validate_gradient

        if not args.gradient:
            raise CircuitLearnError("--beta is an option of --gradient")
        if not args.target.lower().endswith(".toml"):
            raise CircuitLearnError("--gradient needs an experiment file (.toml)")
        report = validate_gradient(args.target, backend=args.backend, rtol=args.rtol,
                                   run=args.run, samples=args.samples, method=args.method,
                                   beta=args.beta)
    elif args.target.lower().endswith(".toml"):
        from circuitlearn.spice.states import validate_experiment

        report = validate_experiment(args.target, backend=args.backend, rtol=args.rtol,
                                     run=args.run, samples=args.samples, method=args.method)
    else:
        report = validate_netlist(args.target, backend=args.backend, rtol=args.rtol)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format(limit=args.limit))
    return 0 if report.passed else 1
