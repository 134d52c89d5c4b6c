r"""What a run records: the learning-curve rows and the final summary.

Every ``record_every`` steps a row of ``curves.csv`` holds

* ``train_loss``, ``test_loss``: :math:`L = \tfrac12 \langle \lVert V_O - y \rVert^2
  \rangle_b` over the training and test sets (V^2,
  :func:`~circuitlearn.learning.metrics.mse_loss`), times the data set's
  ``info["loss_scale"]`` when it has one (flow data: ``(lam/C)^2``, so the curves
  are the flow-matching loss in V^2/s^2, :mod:`circuitlearn.learning.flowdata`);
* ``accuracy``: fraction of test rows with ``argmax V_O`` equal to the label
  (classification only);
* ``invariant_q``: :math:`Q = \sum_{e\ \mathrm{trainable}} k_e^2` (S^2,
  :func:`~circuitlearn.analysis.conservation.invariant_q`);
* ``power``: free-state dissipated power averaged over the training set (W).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from circuitlearn._version import __version__
from circuitlearn.analysis.conservation import invariant_q
from circuitlearn.learning.metrics import accuracy, mse_loss
from circuitlearn.solver.equilibrium import EquilibriumSolver
from circuitlearn.training.io import curves_dict
from circuitlearn.training.setup import Setup

METRICS = ("train_loss", "test_loss", "accuracy", "invariant_q", "power")


def evaluate(setup: Setup, k: np.ndarray) -> tuple[float, ...]:
    """Metrics at conductances ``k``, in :data:`METRICS` order."""
    data = setup.dataset
    solver = EquilibriumSolver(setup.problem, k)
    out_train = solver.outputs(solver.free(data.x_train))
    out_test = solver.outputs(solver.free(data.x_test))
    acc = accuracy(out_test, data.labels_test) if data.is_classification else math.nan
    power = float(np.mean(solver.power(data.x_train)))
    scale = data.info.get("loss_scale", 1.0)
    return (scale * mse_loss(out_train, data.y_train), scale * mse_loss(out_test, data.y_test),
            acc,
            invariant_q(k, setup.mask), power)


def _metrics(row: tuple[float, ...]) -> dict[str, float | None]:
    return {n: (None if math.isnan(v) else float(v)) for n, v in zip(METRICS, row[2:],
                                                                   strict=True)}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _finite_or_none(x: float) -> float | None:
    """``x`` as a float, or ``None`` for an infinite bound (JSON has no infinity)."""
    return float(x) if np.isfinite(x) else None


def summarize(setup: Setup, *, step: int, t: float, k: np.ndarray, rows: list,
              wall_s: float, rate_evaluations: int, backend: str) -> dict[str, Any]:
    """The ``summary.json`` of a run stopped after ``step`` at time ``t`` (s)."""
    exp = setup.experiment
    total = exp.train.total_steps
    curves = curves_dict(rows)
    first, final = _metrics(rows[0]), _metrics(rows[-1])
    q = curves["invariant_q"]
    drift = (q - q[0]) / q[0] if q[0] != 0 else np.zeros_like(q)
    return {
        "status": "completed" if step >= total else "stopped",
        "experiment": str(exp.path), "version": __version__,
        "steps": step, "total_steps": total, "t": t,
        "initial": first, "final": final,
        "train_loss_reduction": _ratio(first["train_loss"], final["train_loss"]),
        "test_loss_reduction": _ratio(first["test_loss"], final["test_loss"]),
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
        "config": exp.to_dict(),
    }
