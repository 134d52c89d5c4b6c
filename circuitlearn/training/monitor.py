r"""What a run watches while it steps: divergence, convergence and its best state.

Divergence (status ``"diverged"``, the run stops at once)
    * a conductance or a rate that is not finite, or a conductance matrix that
      can no longer be factorized (raised by the step itself);
    * :math:`Q = \sum_e k_e^2` over trainable edges more than :data:`Q_GROWTH`
      times its initial value (checked after every step): the learning flows
      keep :math:`Q` nearly constant (the gradient flow of a voltage-driven
      network exactly), so such growth is the explicit step overshooting;
    * a recorded train loss that is not finite or more than :data:`LOSS_GROWTH`
      times its reference, the larger of the initial loss and the loss of
      predicting zero, :math:`\tfrac12 \langle\lVert y\rVert^2\rangle`.
Convergence (status ``"converged"``, checked at every recorded row)
    * ``stop_loss``: the train loss is at most this (V^2);
    * ``stop_tolerance`` over ``stop_window`` steps: the train loss fell by less
      than this fraction since the last row at least ``stop_window`` steps back.
Best state
    The recorded state with the lowest test loss (train loss without a test set).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuitlearn.analysis.conservation import invariant_q
from circuitlearn.training.checkpoint import Best
from circuitlearn.training.experiment import TrainSpec
from circuitlearn.training.io import COLUMNS

Q_GROWTH = 1e4
"""Growth of ``Q = sum k^2`` taken as divergence (conductances 100x larger in rms)."""
LOSS_GROWTH = 1e2
"""Growth of the train loss over its reference taken as divergence."""

_STEP, _T, _TRAIN, _TEST, _Q = (COLUMNS.index(c) for c in ("step", "t", "train_loss",
                                                          "test_loss", "invariant_q"))


@dataclass(frozen=True)
class Stop:
    """Why a run ended early: ``status`` (``"diverged"``, ``"converged"``) and ``reason``."""

    status: str
    reason: str


class Monitor:
    """Checks of one run (see the module docstring).

    Parameters
    ----------
    train : TrainSpec
        Resolved ``[train]`` (stop criteria).
    mask : ndarray of bool
        Trainable edges.
    first : tuple
        The row at step 0.
    zero_loss : float
        Loss of predicting zero, ``1/2 mean ||y||^2`` (V^2).
    has_test : bool
        Track the best state by test loss (else by train loss).
    best : Best, optional
        The best state so far (from a checkpoint).
    """

    def __init__(self, train: TrainSpec, mask: np.ndarray, first: tuple[float, ...],
                 zero_loss: float, has_test: bool, best: Best | None = None):
        self.train = train
        self.mask = mask
        self.q0 = first[_Q]
        self.loss0 = first[_TRAIN]
        self.reference = max(first[_TRAIN], zero_loss)
        self.has_test = has_test
        self.best = best

    def after_step(self, k: np.ndarray) -> Stop | None:
        """Divergence of ``Q`` after a step."""
        with np.errstate(over="ignore"):
            q = invariant_q(k, self.mask)
        if not np.isfinite(q):
            return Stop("diverged", "Q = sum k^2 is not finite (the conductances overflowed)")
        if self.q0 > 0 and q > Q_GROWTH * self.q0:
            return Stop("diverged", f"Q = sum k^2 grew {q / self.q0:.3g}-fold (limit "
                                    f"{Q_GROWTH:.0e})")
        return None

    def after_row(self, rows: list[tuple[float, ...]], k: np.ndarray) -> Stop | None:
        """Divergence of the loss, best state and convergence after a recorded row."""
        row = rows[-1]
        loss = row[_TRAIN]
        if not np.isfinite(loss):
            return Stop("diverged", f"the train loss is {loss}")
        if self.reference > 0 and loss > LOSS_GROWTH * self.reference:
            return Stop("diverged", f"the train loss {loss:.3g} V^2 is {loss / self.loss0:.3g} "
                                    f"times the initial {self.loss0:.3g} V^2")
        self._track_best(row, k)
        return self._converged(rows)

    def _track_best(self, row: tuple[float, ...], k: np.ndarray) -> None:
        loss = row[_TEST] if self.has_test else row[_TRAIN]
        if np.isfinite(loss) and (self.best is None or loss < self.best.loss):
            self.best = Best(int(row[_STEP]), row[_T], float(loss), np.array(k))

    def _converged(self, rows: list[tuple[float, ...]]) -> Stop | None:
        train, row = self.train, rows[-1]
        loss, step = row[_TRAIN], int(row[_STEP])
        if train.stop_loss is not None and loss <= train.stop_loss:
            return Stop("converged", f"the train loss {loss:.3g} V^2 reached stop_loss = "
                                     f"{train.stop_loss:g}")
        if train.stop_tolerance is None or step < train.stop_window:
            return None
        old = next(r for r in reversed(rows) if r[_STEP] <= step - train.stop_window)
        gain = (old[_TRAIN] - loss) / old[_TRAIN] if old[_TRAIN] > 0 else 0.0
        if gain < train.stop_tolerance:
            change = f"fell by only {gain:.3g}" if gain >= 0 else f"rose by {-gain:.3g}"
            return Stop("converged", f"the train loss {change} (relative) over the last "
                                     f"{step - int(old[_STEP])} steps, less than a fall of "
                                     f"stop_tolerance = {train.stop_tolerance:g}")
        return None
