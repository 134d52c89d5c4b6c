"""``circuitlearn conservation EXP.toml``: the conserved quantities of a learning flow."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = ("find the first integrals of the experiment's learning flow dk/dt = F(k) "
        "(separable polynomials, log and negative powers under preconditioning), verify "
        "them on fresh RK4 trajectories; --rule cl|ep: which gradient-flow laws survive")

FOLLOWED = {"cl": ("eta",), "ep": ("beta",)}


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
    from circuitlearn.analysis.first_integrals import conservation_laws
    from circuitlearn.training.experiment import load_experiment
    from circuitlearn.training.setup import build

    setup = build(load_experiment(args.experiment))
    flows = ExperimentFlows(setup)
    name = args.rule or setup.experiment.rule.name
    base = "gradient" if _family(name) in FOLLOWED else name
    followers = flows.followers(_family(name)) if _family(name) in FOLLOWED and args.rule else {}
    report = conservation_laws(
        setup.problem, flows.flow(base), setup.circuit.conductance, rule=_label(flows, base),
        degree=args.degree, basis=args.basis, precondition=flows.precondition,
        samples=args.samples, x=setup.dataset.x_train, followers=followers)
    print(report.format(Path(args.experiment).name))
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


def _family(name: str) -> str:
    from circuitlearn.learning.rules import RULES

    return RULES.entry(name).name


def _label(flows: ExperimentFlows, name: str) -> str:
    params = flows.params(name)
    shown = {k: v for k, v in params.items() if k in ("eta", "beta", "nudging", "nudge")}
    return _family(name) + "".join(f" {k}={v}" for k, v in shown.items())


class ExperimentFlows:
    """Flows ``F(k) = rule(k, X, Y)`` on an experiment's training set, with the
    experiment's deterministic modifiers (preconditioning, decay)."""

    def __init__(self, setup):
        from circuitlearn.errors import ExperimentError
        from circuitlearn.learning.modifiers import Decay, Precondition

        self.setup = setup
        exp = setup.experiment
        self.modifiers = setup.rule.modifiers
        for (key, _), mod in zip(exp.rule.modifiers, self.modifiers, strict=True):
            if not isinstance(mod, Precondition | Decay):
                raise ExperimentError(f"{exp.path}: [rule.{key}]: the conservation command "
                                      "needs a deterministic, smooth flow: remove this "
                                      "modifier (only precondition and decay are kept)")
        self.precondition = float(sum(m.power for m in self.modifiers
                                      if isinstance(m, Precondition)))

    def params(self, name: str) -> dict:
        exp = self.setup.experiment.rule
        return dict(exp.params) if _family(name) == exp.name else {}

    def flow(self, name: str, **override):
        from circuitlearn.learning.modifiers import chain
        from circuitlearn.learning.rules import make_rule

        rule = chain(make_rule(self.setup.problem, name, **{**self.params(name), **override}),
                     *self.modifiers)
        x, y = self.setup.dataset.x_train, self.setup.dataset.y_train
        return lambda k: rule(k, x, y)

    def followers(self, family: str) -> dict:
        """``{label: (parameter, [(value, flow), ...])}`` of CL or of EP's nudgings."""
        import numpy as np

        from circuitlearn.analysis.first_integrals import SURVIVAL_GRID

        if family == "cl":
            return {"cl": ("eta", [(v, self.flow("cl", eta=v)) for v in SURVIVAL_GRID])}
        k0 = self.setup.circuit.conductance[self.setup.problem.trainable]
        scale = float(np.mean(k0))
        nudge = self.params("ep").get("nudge", "conductance")
        return {f"ep {nudging} ({nudge} nudge)": (
            "beta", [(v * scale, self.flow("ep", beta=v * scale, nudging=nudging, nudge=nudge))
                     for v in SURVIVAL_GRID])
            for nudging in ("positive", "negative", "centered")}
