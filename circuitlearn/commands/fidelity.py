"""``circuitlearn fidelity EXP.toml``: how faithful each local rule is to the gradient."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

HELP = ("compare CL (grid of eta) and EP (grid of beta; conductance and current nudging) "
        "with the exact loss gradient on the training set: cosine, relative error, fitted "
        "order, dQ/dt / Q")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", metavar="EXP.toml", help="experiment file")
    parser.add_argument("--run", metavar="DIR",
                        help="run folder: measure at its checkpoint's conductances "
                             "(default: the experiment's initial conductances)")
    parser.add_argument("--eta", type=_grid(1.0), metavar="E1,E2,...",
                        help="CL clamping fractions in (0, 1] (default 7 values 1e-4..0.1)")
    parser.add_argument("--beta", type=_grid(math.inf), metavar="B1,B2,...",
                        help="EP nudges in S (default 7 values (1e-4..0.1) x mean k)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the rows as JSON")
    parser.add_argument("--plot", type=Path, metavar="FILE",
                        help="write a log-log plot of error against nudge (PNG, ...)")


def _grid(upper: float):
    def parse(text: str) -> list[float]:
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected numbers separated by commas, "
                                             f"got {text!r}") from None
        if not all(math.isfinite(v) and 0 < v <= upper for v in values):
            bound = "" if math.isinf(upper) else f" and at most {upper:g}"
            raise argparse.ArgumentTypeError(f"values must be positive{bound}, got {text}")
        return values
    return parse


def run(args: argparse.Namespace) -> int:
    from circuitlearn.analysis.fidelity import plot_fidelity, rule_fidelity
    from circuitlearn.spice.states import sample_experiment

    sample = sample_experiment(args.experiment, run=args.run, samples=None)
    label, k = sample.states[-1] if args.run else sample.states[0]
    label = "initial" if label.startswith("initial") else label
    report = rule_fidelity(sample.setup.problem, k, sample.x, sample.y, etas=args.eta,
                           betas=args.beta, conductances=label)
    print(report.format())
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    if args.plot:
        plot_fidelity(report, args.plot,
                      title=f"rule fidelity: {Path(args.experiment).name} at {label}")
    return 0
