r"""The exact loss gradient assembled from ngspice's solutions of two physical networks.

For sampled training examples ``(x_b, y_b)`` at conductances ``k``, ngspice solves

1. the free network (inputs applied, every source on): ``V_F``, whose outputs give
   the errors ``e_b = C V_F - y_b``;
2. the adjoint network (:func:`circuitlearn.solver.adjoint.adjoint_network`): every
   source at 0, ``e_b`` driven as currents into the output ports: ``lambda_b``;
3. the two current-nudged networks (every source on, the fixed currents
   ``-+beta e_b`` driven into the output ports): ``V_{+-beta} = V_F -+ beta lambda_b``.

From ngspice's potentials alone,

.. math:: g^{adj}_e = -\operatorname{mean}_b dV_{F,b,e}\, d\lambda_{b,e}, \qquad
          g^{EP}_e = -\frac{1}{4\beta}\operatorname{mean}_b
                     \big(dV_{-\beta,b,e}^2 - dV_{+\beta,b,e}^2\big),

both equal to ``dL/dk`` exactly, are compared with circuitlearn's adjoint gradient
(:func:`~circuitlearn.solver.equilibrium.adjoint_gradient`, the batch-moment path):
per edge, ``|g_spice - g| / max_e |g_e|`` (the largest, "max relative error") and the
cosine between the two vectors. The errors ``e_b`` and the nudge currents are taken
from ngspice's own free state, so nothing of circuitlearn enters ngspice's side
except the conductances and the examples. Each network is one netlist written by
:func:`circuitlearn.netlist.write`, solved for every example in one session.

Conditioning. The errors ``e = C V_F - y`` cancel: two solvers whose potentials agree
to ``d`` (relative) give errors, hence gradients, that agree only to about
``d |C V_F| / |e|``. Near a perfect fit (the bundled allostery run ends at
``L ~ 1e-23 V^2``, ``|C V_F| / |e| ~ 1e10``) no pair of double-precision solvers
agrees on the gradient to 1e-9. Each check therefore also reports this
amplification and the error against circuitlearn's adjoint gradient *for ngspice's
own output errors* (free drops and adjoint solve alone, well conditioned), and
passes when that error, and the raw error divided by ``max(1, |C V_F| / |e|)``, are
within ``rtol``. The EP contrast of two nudged states cancels in the same way, by
``|V_F| / |beta dlambda|`` (current nudging is exact at any ``beta``, so a larger
``--beta`` conditions it better).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from circuitlearn.errors import SpiceFailed
from circuitlearn.learning.rules import make_rule
from circuitlearn.netlist import write
from circuitlearn.solver.adjoint import NUDGE_PREFIX, port_current_circuit
from circuitlearn.solver.equilibrium import (
    EquilibriumSolver,
    LearningProblem,
    adjoint_gradient,
)
from circuitlearn.spice import SpiceResult, run_op_batch
from circuitlearn.spice.states import sample_experiment
from circuitlearn.spice.validation import Check, ValidationReport, compare, node_dict


@dataclass(frozen=True)
class GradientCheck:
    """ngspice's gradient against circuitlearn's, edge by edge (V^2/S).

    Attributes
    ----------
    label : str
    max_relative_error : float
        ``max_e |g_spice - g|_e / max_e |g_e|``, ``g`` circuitlearn's adjoint gradient.
    cosine : float
        ``g_spice . g / (|g_spice| |g|)``.
    worst_edge : str
        The resistor with the largest difference.
    same_errors : float
        The max relative error against circuitlearn's adjoint gradient for ngspice's
        own output errors ``e_b`` (free drops and adjoint solve compared alone).
    amplification : float
        ``max_b |C V_F,b| / |e_b|``: the errors ``e = C V_F - y`` lose this factor of
        relative precision to cancellation, so two exact solvers that agree on the
        potentials to ``d`` agree on the gradient only to about ``d`` times it.
    nudge_amplification : float or None
        For EP, ``max_b |V_F,b|_inf / (beta |B lambda_b|_inf)``: the contrast
        ``dV_{-beta}^2 - dV_{+beta}^2`` of two states that close cancels likewise
        (None for the adjoint network).
    """

    label: str
    max_relative_error: float
    cosine: float
    worst_edge: str
    same_errors: float = 0.0
    amplification: float = 1.0
    nudge_amplification: float | None = None

    @property
    def normalized_error(self) -> float:
        """What must be within ``rtol``: :attr:`same_errors` divided by
        ``max(1, nudge_amplification)``, the raw error and ``1 - cosine`` divided by
        ``max(1, amplification + nudge_amplification)``."""
        cos_gap = abs(1.0 - self.cosine) if np.isfinite(self.cosine) else np.inf
        nudge = self.nudge_amplification or 0.0
        return max(self.same_errors / max(1.0, nudge),
                   max(self.max_relative_error, cos_gap) / max(1.0, self.amplification + nudge))

    def to_dict(self) -> dict:
        return {"label": self.label, "max_relative_error": self.max_relative_error,
                "cosine": self.cosine, "worst_edge": self.worst_edge,
                "max_relative_error_same_errors": self.same_errors,
                "error_amplification": self.amplification,
                "nudge_amplification": self.nudge_amplification,
                "normalized_error": self.normalized_error}


def _relative(spice: np.ndarray, ours: np.ndarray) -> tuple[float, int]:
    diff = np.abs(spice - ours)
    scale = float(np.max(np.abs(ours)))
    return (float(np.max(diff)) / scale if scale > 0 else np.inf), int(np.argmax(diff))


def compare_gradients(label: str, names: tuple[str, ...], spice: np.ndarray,
                      ours: np.ndarray, same_errors: np.ndarray | None = None,
                      amplification: float = 1.0, nudge_amplification: float | None = None
                      ) -> GradientCheck:
    """:class:`GradientCheck` of ``spice`` against ``ours`` (E,) for resistors ``names``;
    ``same_errors``: circuitlearn's gradient for ngspice's output errors."""
    error, worst = _relative(spice, ours)
    norms = float(np.linalg.norm(spice) * np.linalg.norm(ours))
    return GradientCheck(label, error, float(spice @ ours) / norms if norms > 0 else np.nan,
                         names[worst],
                         0.0 if same_errors is None else _relative(spice, same_errors)[0],
                         amplification, nudge_amplification)


@dataclass
class GradientReport(ValidationReport):
    """A :class:`ValidationReport` of the networks' node voltages plus the gradients
    assembled from them; it passes when the potentials agree within ``rtol`` and
    every gradient's :attr:`GradientCheck.normalized_error` is within ``rtol``."""

    gradients: list[GradientCheck] = field(default_factory=list)

    @property
    def max_error(self) -> float:
        return max([super().max_error, *(g.normalized_error for g in self.gradients)])

    def format(self, *, limit: int = 20) -> str:
        lines = super().format(limit=limit).split("\n")
        rows = []
        for g in self.gradients:
            rows.append(f"   {g.label}: max relative error {g.max_relative_error:.3g}, "
                        f"cosine {g.cosine:.15f} (worst edge {g.worst_edge})")
            nudge = ("" if g.nudge_amplification is None else
                     f", |V_F|/|beta dlambda| = {g.nudge_amplification:.3g}")
            rows.append(f"     with ngspice's output errors on both sides: "
                        f"{g.same_errors:.3g}; cancellation |C V_F|/|e| = "
                        f"{g.amplification:.3g}{nudge}")
        return "\n".join([*lines[:-1], "gradients (ngspice vs circuitlearn, per edge, "
                          "relative to max |dL/dk|):", *rows, lines[-1]])

    def to_dict(self) -> dict:
        return {**super().to_dict(), "gradients": [g.to_dict() for g in self.gradients]}


def _max_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """``max(a / b)`` elementwise, ``inf`` where ``b == 0``."""
    return float(np.max(np.divide(a, b, out=np.full_like(b, np.inf), where=b > 0)))


def _potentials(nodes: tuple[str, ...], results: list[SpiceResult]) -> np.ndarray:
    """ngspice's node potentials (B, N) in circuitlearn's node order (ground 0 V)."""
    try:
        return np.array([[0.0] + [r.node_voltages[n] for n in nodes[1:]] for r in results])
    except KeyError as exc:
        raise SpiceFailed(f"ngspice returned no voltage for node {exc.args[0]!r}") from None


def _drops(problem: LearningProblem, v: np.ndarray) -> np.ndarray:
    """Edge drops (B, E), V, of potentials (B, N)."""
    edges = problem.circuit.resistor_edges
    return v[:, edges[:, 0]] - v[:, edges[:, 1]]


def _mean_drop_product(problem: LearningProblem, v_a: np.ndarray, v_b: np.ndarray
                       ) -> np.ndarray:
    """``mean_b dV_a dV_b`` per edge (V^2) of two batches of potentials (B, N)."""
    return np.mean(_drops(problem, v_a) * _drops(problem, v_b), axis=0)


def gradient_checks(problem: LearningProblem, k: np.ndarray, x: np.ndarray, y: np.ndarray,
                    *, label: str, beta: float, backend: str = "auto",
                    method: str = "op") -> tuple[list[Check], list[GradientCheck]]:
    """Solve the free, adjoint and current-nudged (``+-beta``, S) networks of the
    examples ``x`` (B, n_in), ``y`` (B, n_out) in ngspice; compare their potentials
    with circuitlearn's and the gradients assembled from them with
    :func:`~circuitlearn.solver.equilibrium.adjoint_gradient` (module docstring)."""
    nodes = problem.circuit.nodes
    free = problem.circuit.with_conductance(k)
    v_free_ours, lam_ours = make_rule(problem, "dual").networks(k, x, y)
    checks: list[Check] = []

    def solve(kind, circuit, values, ours, added=(), inputs=True):
        alterations = [{**(dict(zip(problem.inputs, xi.tolist(), strict=True)) if inputs
                           else {}), **dict(zip(added, vi.tolist(), strict=True))}
                       for xi, vi in zip(x, values, strict=True)]
        results = run_op_batch(write(circuit), alterations, backend=backend, method=method)
        checks.extend(compare(f"{label}, example {i}: {kind}",
                              node_dict(nodes, ours[i]), r) for i, r in enumerate(results))
        return _potentials(nodes, results)

    v_free = solve("free network", free, np.zeros((len(x), 0)), v_free_ours)
    e = v_free[:, [a for a, _ in problem.outputs]] - v_free[:, [b for _, b in problem.outputs]]
    e -= y
    adjoint, added = port_current_circuit(free, problem.outputs, np.zeros(len(e.T)),
                                          sources_off=True)
    lam = solve("adjoint network", adjoint, e, lam_ours, added, inputs=False)
    nudged, added = port_current_circuit(free, problem.outputs, np.zeros(len(e.T)),
                                         sources_off=False, prefix=NUDGE_PREFIX)
    v_pm = [solve(f"current-nudged network beta={s * beta:+g}", nudged, -s * beta * e,
                  v_free_ours - s * beta * lam_ours, added) for s in (1.0, -1.0)]
    g = adjoint_gradient(problem, k, x, y)
    same = -_mean_drop_product(problem, v_free_ours,
                               EquilibriumSolver(problem, k).adjoint(e))
    gain = _max_ratio(np.linalg.norm(e + y, axis=1), np.linalg.norm(e, axis=1))
    nudge_gain = _max_ratio(np.abs(v_free).max(axis=1),
                            beta * np.abs(_drops(problem, lam)).max(axis=1))
    names = problem.circuit.resistor_names
    ep = (_mean_drop_product(problem, v_pm[0], v_pm[0])
          - _mean_drop_product(problem, v_pm[1], v_pm[1]))
    return checks, [
        compare_gradients(f"{label}: -mean dV_F dlambda (free x adjoint network)", names,
                          -_mean_drop_product(problem, v_free, lam), g, same, gain),
        compare_gradients(f"{label}: centered EP, current nudge beta={beta:g} S", names,
                          ep / (4 * beta), g, same, gain, nudge_gain)]


def validate_gradient(path: str | Path, *, backend: str = "auto", rtol: float = 1e-9,
                      run: str | Path | None = None, samples: int = 4, seed: int = 0,
                      method: str = "op", beta: float | None = None) -> GradientReport:
    """:func:`gradient_checks` for ``samples`` training examples of the experiment at
    ``path``, at its initial conductances and at the run's checkpoint (as
    :func:`~circuitlearn.spice.states.validate_experiment`). ``beta`` (S) defaults
    to the rule's ``beta``, else ``0.1 * mean(k)``."""
    sample = sample_experiment(path, run=run, samples=samples, seed=seed)
    report = GradientReport(str(path), rtol)
    for label, k in sample.states:
        b = beta or sample.setup.experiment.rule.params.get("beta") or 0.1 * float(np.mean(k))
        checks, gradients = gradient_checks(sample.setup.problem, k, sample.x, sample.y,
                                            label=label, beta=float(b), backend=backend,
                                            method=method)
        report.checks += checks
        report.gradients += gradients
    return report
