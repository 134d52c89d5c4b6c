"""``circuitlearn conservation EXP.toml``: the conserved quantities of a learning flow."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = ("find the first integrals of the experiment's learning flow dk/dt = F(k) "
        "(separable polynomials, log and negative powers under preconditioning), verify "
        "them on fresh RK4 trajectories; --rule cl|ep: which gradient-flow laws survive")

FOLLOWED = ("cl", "ep")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", metavar="EXP.toml", help="experiment file")
    parser.add_argument("--rule", metavar="NAME",
                        help="flow of this rule instead of the experiment's (its parameters "
                             "if the experiment uses it, else defaults); cl or ep: the laws "
                             "of the gradient flow followed under CL at eta = 1e-3, 1e-2, "
                             "1e-1 or EP (each nudging) at beta = (1e-3, 1e-2, 1e-1) x mean k")
    parser.add_argument("--degree", type=_at_least(1), default=3, metavar="D",
                        help="highest power, or total degree with --basis polynomial "
                             "(default 3: the series law needs k^3)")
    parser.add_argument("--samples", type=_at_least(1), metavar="N",
                        help="conductance samples (default max(4 x columns, 200))")
    parser.add_argument("--basis", choices=("separable", "polynomial"), default="separable",
                        help="separable sums of powers (default) or every monomial with "
                             "cross terms (small networks)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the laws as JSON")


def _at_least(n: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < n:
            raise argparse.ArgumentTypeError(f"must be at least {n}, got {value}")
        return value
    return parse


def run(args: argparse.Namespace) -> int:
    from circuitlearn.analysis import first_integrals as fi
    from circuitlearn.learning.rules import RULES
    from circuitlearn.training.experiment import load_experiment
    from circuitlearn.training.setup import build

    setup = build(load_experiment(args.experiment))
    modifiers = _deterministic(setup)
    exp_rule = setup.experiment.rule
    name = RULES.entry(args.rule or exp_rule.name).name
    follow = args.rule is not None and name in FOLLOWED
    base = "gradient" if follow else name
    params = dict(exp_rule.params) if base == exp_rule.name else {}
    problem, x, y = setup.problem, setup.dataset.x_train, setup.dataset.y_train
    nudge = exp_rule.params.get("nudge", "conductance") if exp_rule.name == "ep" else "conductance"
    report = fi.conservation_laws(
        problem, fi.rule_flow(problem, base, params, modifiers, x, y),
        setup.circuit.conductance, rule=base, parameters=params, degree=args.degree,
        basis=args.basis,
        precondition=fi.precondition_power(modifiers), samples=args.samples, x=x,
        followers=fi.followers(problem, name, modifiers, x, y, nudge=nudge) if follow else {})
    print(report.format(Path(args.experiment).name))
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


def _deterministic(setup) -> tuple:
    """The experiment's modifiers, refused unless all are deterministic and smooth."""
    from circuitlearn.errors import ExperimentError
    from circuitlearn.learning.modifiers import Decay, Precondition

    exp = setup.experiment
    for (key, _), mod in zip(exp.rule.modifiers, setup.rule.modifiers, strict=True):
        if not isinstance(mod, Precondition | Decay):
            raise ExperimentError(f"{exp.path}: [rule.{key}]: the conservation command "
                                  "needs a deterministic, smooth flow: remove this "
                                  "modifier (only precondition and decay are kept)")
    return setup.rule.modifiers
