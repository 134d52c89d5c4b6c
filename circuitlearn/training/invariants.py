r"""Monitoring every per-component invariant :math:`Q_j` during a run.

``invariants.csv``
    Header ``step,t,q_1,q_2,...``: one row per curve row, one column per component
    :math:`C_j` of :func:`~circuitlearn.analysis.components.component_invariants`,
    :math:`Q_j = \sum_{e \in C_j,\ \mathrm{trainable}} k_e^2` (S^2). Written with
    every checkpoint and at the end.
``summary.json`` ``"components"``
    Per component: its edges, nodes and outputs, whether the gradient flow conserves
    it, and ``q_initial``, ``q_final``, ``relative_drift`` (final) and
    ``max_abs_relative_drift``.

>>> from circuitlearn.solver.examples import random_problem
>>> problem, k, x, y = random_problem(0)
>>> log = InvariantLog(problem)
>>> log.record(0, 0.0, k); log.record(1, 0.1, 2 * k)
>>> round(log.summary()["components"][0]["relative_drift"], 12)
3.0
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from circuitlearn.analysis.components import component_invariants
from circuitlearn.solver.problem import LearningProblem
from circuitlearn.training.io import atomic_write

FILE = "invariants.csv"


class InvariantLog:
    """Rows ``(step, t, Q_1, ..., Q_n)`` of a run."""

    def __init__(self, problem: LearningProblem):
        self.problem = problem
        self.components = component_invariants(problem)
        self.rows: list[tuple[float, ...]] = []

    def record(self, step: int, t: float, k: np.ndarray) -> None:
        self.rows.append((step, t, *self.components.q(k)))

    def resume(self, folder: Path, steps: list[int]) -> None:
        """Keep the rows of ``folder/invariants.csv`` at the recorded ``steps`` (the
        checkpoint's curve rows; none if the file is absent)."""
        path = Path(folder) / FILE
        if not path.is_file():
            return
        lines = path.read_text().splitlines()[1:]
        rows = [tuple(float(v) for v in line.split(",")) for line in lines if line]
        keep = set(steps)
        self.rows = [r for r in rows if int(r[0]) in keep and len(r) == 2 + len(self.components)]

    def write(self, folder: Path, steps: list[int]) -> None:
        """Write the rows at the recorded ``steps`` to ``folder/invariants.csv``."""
        head = ",".join(("step", "t", *self.components.names))
        keep = set(steps)
        body = [f"{int(r[0])}," + ",".join(repr(float(v)) for v in r[1:])
                for r in self.rows if int(r[0]) in keep]
        atomic_write(Path(folder) / FILE, ("\n".join([head, *body]) + "\n").encode())

    def summary(self) -> dict:
        """``{"components": [...]}`` for ``summary.json``."""
        q = np.array([r[2:] for r in self.rows], float).reshape(-1, len(self.components))
        out = []
        for j, item in enumerate(self.components.describe(self.problem)):
            col = q[:, j]
            if len(col) and col[0] != 0:
                drift = (col - col[0]) / col[0]
                item.update(q_initial=float(col[0]), q_final=float(col[-1]),
                            relative_drift=float(drift[-1]),
                            max_abs_relative_drift=float(np.max(np.abs(drift))))
            out.append(item)
        return {"components": out}
