r"""What a run records: the learning-curve rows and the final summary.

Every ``record_every`` steps (and at the last step taken) a row of ``curves.csv``
holds

* ``train_loss``, ``test_loss``: :math:`L = \tfrac12 \langle \lVert V_O - y \rVert^2
  \rangle_b` over the training and test sets (V^2,
  :func:`~circuitlearn.learning.metrics.mse_loss`; empty without a test set),
  times the data set's ``info["loss_scale"]`` when it has one (flow data:
  ``(lam/C)^2``, so the curves are the flow-matching loss in V^2/s^2,
  :mod:`circuitlearn.learning.flowdata`);
* ``train_accuracy``, ``test_accuracy``: fraction of rows with ``argmax V_O``
  equal to the label (classification only);
* ``invariant_q``: :math:`Q = \sum_{e\ \mathrm{trainable}} k_e^2` (S^2,
  :func:`~circuitlearn.analysis.conservation.invariant_q`);
* ``power``: free-state dissipated power averaged over the training set (W),
  :math:`\langle \sum_e k_e\, dV_e^2 \rangle_b` from the drives' second moment;
* ``at_bound``: fraction of trainable edges on a bound of ``[train] bounds``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from circuitlearn._version import __version__
from circuitlearn.analysis.conservation import invariant_q
from circuitlearn.errors import CircuitLearnError
from circuitlearn.learning.metrics import accuracy, least_squares_accuracy, mse_loss
from circuitlearn.solver.equilibrium import EquilibriumSolver
from circuitlearn.training.checkpoint import Best
from circuitlearn.training.io import COLUMNS, curves_dict
from circuitlearn.training.setup import Setup

METRICS = COLUMNS[2:]


def measure(setup: Setup, k: np.ndarray) -> tuple[float, ...]:
    """Metrics at conductances ``k``, in :data:`METRICS` order (NaN where undefined, and
    every metric but ``Q`` when the network cannot be solved at ``k``)."""
    data = setup.dataset
    with np.errstate(over="ignore"):
        q = invariant_q(k, setup.mask)
    at_bound = float(np.mean(setup.bounds.at_bound(k)[setup.mask]))
    try:
        solver = EquilibriumSolver(setup.problem, k)
        out_train = solver.free_outputs(data.x_train)
        out_test = solver.free_outputs(data.x_test)
        power = solver.mean_power(setup.drive_moment)
    except (CircuitLearnError, ArithmeticError, ValueError):
        return (math.nan,) * 4 + (q, math.nan, at_bound)
    acc_train = acc_test = math.nan
    if data.is_classification:
        acc_train = accuracy(out_train, data.labels_train)
        acc_test = accuracy(out_test, data.labels_test)
    scale = data.info.get("loss_scale", 1.0)
    return (scale * mse_loss(out_train, data.y_train), scale * mse_loss(out_test, data.y_test),
            acc_train, acc_test, q, power, at_bound)


def baselines(setup: Setup) -> dict[str, float] | None:
    """Reference accuracies of a classification task: chance ``1/C`` and the affine
    least-squares readout (:func:`~circuitlearn.learning.metrics.least_squares_accuracy`)
    on the train and test sets; None for regression."""
    d = setup.dataset
    if not d.is_classification:
        return None
    train, test = least_squares_accuracy(d.x_train, d.y_train, d.labels_train, d.x_test,
                                         d.labels_test)
    return {"chance": 1.0 / max(d.num_classes, 1), "least_squares_train_accuracy": train,
            "least_squares_test_accuracy": test}


def _metrics(row: tuple[float, ...]) -> dict[str, float | None]:
    return {n: (None if math.isnan(v) else float(v)) for n, v in zip(METRICS, row[2:],
                                                                   strict=True)}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _finite_or_none(x: float) -> float | None:
    """``x`` as a float, or ``None`` for an infinite bound (JSON has no infinity)."""
    return float(x) if np.isfinite(x) else None


def summarize(setup: Setup, *, status: str, reason: str, step: int, t: float, k: np.ndarray,
              rows: list, best: Best | None, wall_s: float, rate_evaluations: int,
              backend: str) -> dict[str, Any]:
    """The ``summary.json`` of a run that ended (``status``, ``reason``) after ``step``
    at time ``t`` (s); ``rows[-1]`` is the last step taken."""
    exp = setup.experiment
    curves = curves_dict(rows)
    first, final = _metrics(rows[0]), _metrics(rows[-1])
    q = curves["invariant_q"]
    drift = (q - q[0]) / q[0] if q[0] != 0 else np.zeros_like(q)
    on = "test_loss" if setup.dataset.has_test else "train_loss"
    return {
        "status": status, "reason": reason,
        "experiment": None if exp.network.circuit is not None else str(exp.path),
        "version": __version__,
        "steps": step, "total_steps": setup.train.total_steps, "t": t, "dt": setup.train.dt,
        "initial": first, "final": final,
        "train_loss_reduction": _ratio(first["train_loss"], final["train_loss"]),
        "test_loss_reduction": _ratio(first["test_loss"], final["test_loss"]),
        "best": None if best is None else {"step": best.step, "t": best.t, on: best.loss},
        "baselines": baselines(setup),
        "q_relative_drift": float(drift[-1]),
        "q_max_abs_relative_drift": float(np.max(np.abs(drift))),
        "wall_time_s": wall_s, "rate_evaluations": rate_evaluations,
        "factorization_backend": backend,
        "trainable_edges": int(setup.mask.sum()),
        "conductance_range": [float(np.min(k)), float(np.max(k))],
        "bounds": [_finite_or_none(np.min(setup.bounds.k_min)),
                   _finite_or_none(np.max(setup.bounds.k_max))],
        "dataset": {key: v for key, v in setup.dataset.info.items()
                    if key != "teacher_conductance"},
        "config": setup.config(),
    }
