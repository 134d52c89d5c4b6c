r"""How faithful each local learning rule is to the exact loss gradient.

For a learning problem at conductances ``k`` and a batch ``(x, y)`` (the full
training set), every rule's rate ``r = dk/dt`` (at ``alpha = 1``, masked to the
trainable edges) is compared with

* the exact gradient flow ``g = -dL/dk``, ``L = 1/2 mean_b ||V_O - y||^2``, from the
  free and adjoint networks' states (:func:`~circuitlearn.solver.equilibrium.
  adjoint_gradient`, ``path="states"``);
* for coupled learning also its own small-``eta`` limit ``g_S = -d/dk (1/2 mean_b
  e^T S e)`` with the output conductance ``S`` held fixed (``T_1(S)`` of
  :mod:`circuitlearn.solver.moments`),

by the cosine ``r.g / (|r| |g|)`` and the relative error ``|r - g| / |g|``, and the
rate of the invariant ``Q = sum k^2`` (:mod:`circuitlearn.analysis.conservation`)
relative to ``Q``, ``dQ/dt / Q`` (1/s per unit ``alpha``). CL's ``alpha`` has other
units than the gradient flow's (S/(V^2 s) against S^2/(V^2 s)), so its error to the
gradient is that of the best multiple of its rate, ``min_c |c r - g| / |g| =
sqrt(1 - cos^2)``; every other error, the CL limit's included, is unscaled.

Theory, and what :attr:`FidelityReport.orders` measures as the slope of
``log(error)`` against ``log(eta or beta)``: CL to its limit ``O(eta)`` (1);
one-sided EP ``O(beta)`` (1); centered EP with conductance nudging ``O(beta^2)``
(2); one-sided EP with current nudging exactly linear (1); centered EP with current
nudging exact at any ``beta`` (rounding only: reported as ``"exact"``).

>>> from circuitlearn.solver.examples import random_problem
>>> problem, k, x, y = random_problem(0, num_nodes=14)
>>> report = rule_fidelity(problem, k, x, y, etas=[1e-3, 1e-2], betas=[1e-3, 1e-2])
>>> round(report.orders["cl"], 1), round(report.orders["ep_centered/conductance"], 1)
(1.0, 2.0)
>>> report.orders["ep_centered/current"]
'exact'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from circuitlearn.analysis.conservation import invariant_q, invariant_q_rate
from circuitlearn.learning.rules import NUDGINGS, make_rule
from circuitlearn.solver.equilibrium import NUDGES, EquilibriumSolver, adjoint_gradient
from circuitlearn.solver.moments import BatchMoments, contrast, error_moments
from circuitlearn.solver.problem import LearningProblem

ETAS = tuple(np.logspace(-4, -1, 7).tolist())
"""Default clamping fractions (dimensionless)."""
BETA_FACTORS = tuple(np.logspace(-4, -1, 7).tolist())
"""Default nudges, in units of the mean trainable conductance."""
EXACT_BELOW = 1e-9
"""A series whose every relative error is below this is rounding only: ``"exact"``."""


@dataclass(frozen=True)
class FidelityRow:
    """One rule at one ``eta`` (CL) or ``beta`` (EP, S); the JSON row of the report."""

    rule: str
    cosine_to_gradient: float
    relative_error_to_gradient: float
    dq_dt_over_q: float
    eta: float | None = None
    beta: float | None = None
    nudge: str | None = None
    cosine_to_limit: float | None = None
    relative_error_to_limit: float | None = None

    @property
    def series(self) -> str:
        """``cl``, ``gradient`` or ``ep_<nudging>/<nudge>``: the key of :attr:`orders`."""
        return f"{self.rule}/{self.nudge}" if self.nudge else self.rule

    @property
    def nudge_size(self) -> float | None:
        return self.eta if self.eta is not None else self.beta

    @property
    def error(self) -> float:
        """The error whose order is fitted: to the limit for CL, else to the gradient."""
        limit = self.relative_error_to_limit
        return limit if limit is not None else self.relative_error_to_gradient

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class FidelityReport:
    """Rows per rule and nudge, the fitted orders, and where they were measured."""

    conductances: str
    examples: int
    loss: float
    rows: list[FidelityRow] = field(default_factory=list)

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{series: (nudges, errors)}`` in row order (rows with a nudge only)."""
        out: dict[str, tuple[list, list]] = {}
        for row in self.rows:
            if row.nudge_size is not None:
                xs, ys = out.setdefault(row.series, ([], []))
                xs.append(row.nudge_size)
                ys.append(row.error)
        return {k: (np.array(xs), np.array(ys)) for k, (xs, ys) in out.items()}

    @property
    def orders(self) -> dict[str, float | str | None]:
        return {key: fit_order(xs, ys) for key, (xs, ys) in self.series().items()}

    def to_dict(self) -> dict:
        return {"conductances": self.conductances, "examples": self.examples,
                "loss": self.loss, "alpha": 1.0, "rows": [r.to_dict() for r in self.rows],
                "orders": self.orders}

    def format(self) -> str:
        out = [f"rule fidelity at {self.conductances}: {self.examples} examples, "
               f"L = {self.loss:.6g} V^2; rates at alpha = 1",
               f"{'rule':<12} {'nudge':<11} {'eta/beta':>9} {'cos(grad)':>12} "
               f"{'err(grad)':>10} {'cos(limit)':>12} {'err(limit)':>10} {'dQ/dt/Q':>11}"]
        for r in self.rows:
            size = "" if r.nudge_size is None else f"{r.nudge_size:.3g}"
            limit = ("" if r.cosine_to_limit is None else
                     f"{r.cosine_to_limit:>12.9f} {r.relative_error_to_limit:>10.3g}")
            out.append(f"{r.rule:<12} {r.nudge or '':<11} {size:>9} "
                       f"{r.cosine_to_gradient:>12.9f} {r.relative_error_to_gradient:>10.3g} "
                       f"{limit:>23} {r.dq_dt_over_q:>11.3g}")
        orders = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in self.orders.items())
        out.append(f"fitted orders (CL: error to its limit vs eta; EP: to the gradient "
                   f"vs beta): {orders}")
        return "\n".join(out)


def fit_order(sizes: np.ndarray, errors: np.ndarray) -> float | str | None:
    """Slope of ``log(error)`` against ``log(size)`` (least squares); ``"exact"`` when
    every error is below :data:`EXACT_BELOW`; None with fewer than two points."""
    if len(sizes) < 2:
        return None
    if np.all(errors < EXACT_BELOW):
        return "exact"
    return float(np.polyfit(np.log(sizes), np.log(errors), 1)[0])


def _compare(rate: np.ndarray, target: np.ndarray, *, rescale: bool = False
             ) -> tuple[float, float]:
    """``(cosine, relative error)`` of ``rate`` against ``target``; with ``rescale`` the
    error of the best multiple ``c rate``, ``min_c |c r - g| / |g| = sqrt(1 - cos^2)``."""
    norm = np.linalg.norm(target)
    cosine = float(rate @ target / (np.linalg.norm(rate) * norm))
    if rescale:
        return cosine, float(np.sqrt(max(0.0, 1.0 - cosine**2)))
    return cosine, float(np.linalg.norm(rate - target) / norm)


def rule_fidelity(problem: LearningProblem, k: np.ndarray, x: np.ndarray, y: np.ndarray, *,
                  etas: Sequence[float] | None = None, betas: Sequence[float] | None = None,
                  conductances: str = "initial") -> FidelityReport:
    """Fidelity rows of CL on ``etas`` (default :data:`ETAS`) and of EP (positive,
    negative, centered; conductance and current nudging) on ``betas`` (S; default
    :data:`BETA_FACTORS` times the mean trainable conductance), plus the gradient
    flow itself, at conductances ``k`` (S) on the batch ``x`` (B, n_in), ``y``
    (B, n_out). ``conductances`` labels where ``k`` comes from."""
    mask = problem.trainable
    k = np.asarray(k, float)
    etas = ETAS if etas is None else etas
    if betas is None:
        betas = [f * float(np.mean(k[mask])) for f in BETA_FACTORS]
    moments = BatchMoments.from_batch(x, y)
    gradient = np.where(mask, -adjoint_gradient(problem, k, x, y, path="states"), 0.0)
    solver = EquilibriumSolver(problem, k)
    stats = error_moments(solver, moments)
    limit = np.where(mask, contrast(solver, stats, solver.output_conductance, 0.0), 0.0)
    q = invariant_q(k, mask)

    def row(name: str, rule: str, *, cl_limit: bool = False, **params) -> FidelityRow:
        rate = make_rule(problem, rule, **params)(k, moments)
        extra = dict(zip(("cosine_to_limit", "relative_error_to_limit"),
                         _compare(rate, limit), strict=True)) if cl_limit else {}
        return FidelityRow(name, *_compare(rate, gradient, rescale=cl_limit),
                           invariant_q_rate(k, rate, mask) / q, eta=params.get("eta"),
                           beta=params.get("beta"), nudge=params.get("nudge"), **extra)

    rows = [row("gradient", "gradient")]
    rows += [row("cl", "cl", eta=float(eta), cl_limit=True) for eta in etas]
    rows += [row(f"ep_{nudging}", "ep", beta=float(beta), nudging=nudging, nudge=nudge)
             for nudge in NUDGES for nudging in NUDGINGS for beta in betas]
    loss = 0.5 * float(np.trace(stats.ee))
    return FidelityReport(conductances, len(np.atleast_2d(x)), loss, rows)


def plot_fidelity(report: FidelityReport, path: str | Path, *, title: str = "") -> Path:
    """Log-log plot of each rule's relative error against its nudge: CL against
    ``eta`` (to the gradient and to its limit), EP against ``beta``, one line per
    rule; errors at rounding level are drawn at 1e-16. Returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), constrained_layout=True)
    orders = report.orders

    def order(key: str) -> str:
        value = orders.get(key)
        return f" (order {value:.2f})" if isinstance(value, float) else f" ({value})"

    cl = [r for r in report.rows if r.rule == "cl"]
    etas = [r.eta for r in cl]
    left.loglog(etas, [r.relative_error_to_gradient for r in cl], "o-", color="tab:gray",
                label="CL vs MSE gradient (best multiple)")
    left.loglog(etas, [r.relative_error_to_limit for r in cl], "s-", color="tab:purple",
                label="CL vs its limit, S fixed" + order("cl"))
    styles = {"conductance": "-", "current": "--"}
    looks = {"ep_positive": ("^", "tab:blue"), "ep_negative": ("v", "tab:orange"),
             "ep_centered": ("o", "tab:green")}
    for key, (betas, errors) in report.series().items():
        if key.startswith("ep_"):
            rule, nudge = key.split("/")
            marker, color = looks[rule]
            right.loglog(betas, np.maximum(errors, 1e-16), styles[nudge], marker=marker,
                         color=color, label=f"{rule[3:]}, {nudge} nudge{order(key)}")
    left.set(xlabel="clamping fraction eta", ylabel="relative error |r - g| / |g|",
             title="coupled learning")
    right.set(xlabel="nudge beta (S)", ylabel="relative error to -dL/dk",
              title="equilibrium propagation")
    for ax in (left, right):
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title or f"rule fidelity at {report.conductances}")
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
