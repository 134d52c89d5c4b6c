r"""The learning flow of a run, ``dk/dt = r(k, X, Y)``, and the choice of its step.

Batches (``[train] mode``)
    ``full-batch``: the whole training set at every rate evaluation. ``online``: one
    example, ``minibatch``: ``batch_size`` examples, switched every ``tau`` seconds
    in a fresh seeded order every epoch
    (:class:`~circuitlearn.learning.integrate.ExampleSchedule`); the batch presented
    during step ``[t, t + h]`` is the one at ``t + h/2``. Every batch goes through
    the same rule (the moments path by default), so the memory of a step never
    grows with the batch: samples stream through their second moments in chunks.
The step (``dt = "auto"``)
    Explicit Euler changes a conductance by :math:`h\,\dot k_e` per step. The
    automatic step bounds that change, at the start of the run, to
    :data:`AUTO_CHANGE` (5%) of every trainable conductance:

    .. math:: h = 0.05 \min_e \frac{k_e}{|\dot k_e(0)|}

    over trainable edges with a non-zero rate (after the bounds' restriction; the
    whole training set; modifiers at their current state, which is not advanced).
    The rates of the learning rules fall as the loss falls, so the bound holds
    (loosely) for the whole run. ``alpha dt`` is what matters: halving ``alpha``
    doubles the automatic step. Measured on the bundled experiments: 0.080 s
    (regression), 0.012 s (iris) and 0.062 s (allostery, RK4) against the
    hand-chosen 0.05, 0.05 and 0.1 s; all three automatic runs are stable and the
    regression reaches the same test loss (1.5e-8 V^2).
"""

from __future__ import annotations

import numpy as np

from circuitlearn.learning.integrate import ExampleSchedule, Rate, StepHook

AUTO_CHANGE = 0.05
"""Largest relative change of a conductance in the first step with ``dt = "auto"``."""


class Counter:
    """Counts calls of the wrapped rate (``count``: rate evaluations)."""

    def __init__(self, rate: Rate, count: int = 0):
        self.rate = rate
        self.count = count

    def __call__(self, t: float, k: np.ndarray) -> np.ndarray:
        self.count += 1
        return self.rate(t, k)


def make_rate(setup) -> tuple[Rate, StepHook | None]:
    """The flow ``rate(t, k)`` of a :class:`~circuitlearn.training.setup.Setup` and,
    in online and mini-batch mode, its ``before_step`` hook."""
    data, rule, train = setup.dataset, setup.rule, setup.train
    x, y = data.x_train, data.y_train
    if train.mode == "full-batch":
        return (lambda t, k: rule(k, x, y)), None
    schedule = ExampleSchedule(len(x), train.tau, train.seed, train.batch_size or 1)
    current: list[np.ndarray] = [np.arange(1)]

    def before_step(n: int, t: float, h: float) -> None:
        current[0] = schedule.batch(t + h / 2)

    def batch(t: float, k: np.ndarray) -> np.ndarray:
        rows = current[0]
        if len(rows) == 1:
            i = int(rows[0])
            return rule(k, x[i:i + 1], y[i:i + 1])
        return rule(k, x[rows], y[rows])

    return batch, before_step


def initial_rate(setup, k: np.ndarray) -> np.ndarray:
    """The rate ``dk/dt`` (S/s) of the whole training set at ``k``, after the bounds'
    restriction; the modifiers' state is used, not advanced."""
    rule, data = setup.rule, setup.dataset
    with np.errstate(all="ignore"):
        rate, _ = rule.update(k, data.x_train, data.y_train, rule.state)
    return setup.bounds.restrict(rate, k)


def auto_step(setup, k: np.ndarray, t_end: float, rate: np.ndarray | None = None) -> float:
    """The automatic step (s) at conductances ``k`` (S): see the module docstring
    (``rate``: :func:`initial_rate` when already computed).

    ``t_end / 100`` when no trainable conductance moves (nothing to learn).
    """
    rate = initial_rate(setup, k) if rate is None else rate
    moving = setup.mask & (rate != 0) & np.isfinite(rate)
    if not moving.any():
        return t_end / 100
    return float(AUTO_CHANGE * np.min(np.abs(k[moving]) / np.abs(rate[moving])))


def suggestion(setup, k0: np.ndarray, dt: float) -> tuple[float, float]:
    """A smaller step and the learning rate with the same effect, after a divergence:
    ``(dt', alpha')`` with ``dt' = min(auto_step, dt / 10)`` and
    ``alpha' = alpha dt' / dt`` (``alpha dt`` sets the change per step)."""
    try:
        auto = auto_step(setup, k0, setup.train.t_end)
    except Exception:  # noqa: BLE001 - a suggestion must never hide the divergence
        auto = dt / 10
    smaller = min(auto, dt / 10)
    alpha = float(setup.experiment.rule.params.get("alpha", 1.0))
    return smaller, alpha * smaller / dt

