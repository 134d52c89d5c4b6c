r"""Continuous-time integration of learning flows :math:`\dot k = f(t, k)`.

A learning rule turns the network's physical states into a conductance rate
(S/s); training integrates

.. math:: \frac{dk}{dt} = f(t, k), \qquad k(t_0) = k_0 ,

from ``t_0`` to ``t_end`` (seconds). Three integrators, each a small class with a
single :meth:`step` (as in diffrax):

``Euler``
    :math:`k_{n+1} = k_n + h f(t_n, k_n)`, first order. This is the discrete
    update that learning hardware applies every ``h`` seconds.
``RK4``
    The classical fourth-order Runge-Kutta method.
``Adaptive``
    :func:`scipy.integrate.solve_ivp` (``RK45`` or ``DOP853``) with error control
    ``|err_i| <= atol + rtol |k_i|`` inside each macro step of length ``h``.

Bounds :math:`k_{min} \le k \le k_{max}` act twice: rates that push a conductance
already at a bound further out are set to zero (:meth:`Bounds.restrict`), and
``k`` is clipped after every step (:meth:`Bounds.project`).

Step ``n`` starts at :math:`t_n = t_0 + n h` (the last one ends exactly at
``t_end``), computed from the integer ``n`` so that a run resumed at step ``n``
reproduces the uninterrupted one bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from circuitlearn.errors import IntegrationError
from circuitlearn.learning.modifiers import Bounds

Rate = Callable[[float, np.ndarray], np.ndarray]
"""``rate(t, k) -> dk/dt``: conductance rate (S/s), shape (E,)."""


class Integrator(Protocol):
    """One step of an ODE integrator: ``step(rate, t, k, h) -> k(t + h)``."""

    name: str
    order: int | None

    def step(self, rate: Rate, t: float, k: np.ndarray, h: float) -> np.ndarray: ...


class Euler:
    r"""Explicit Euler: :math:`k_{n+1} = k_n + h\, f(t_n, k_n)` (order 1).

    >>> Euler().step(lambda t, k: -k, 0.0, np.ones(2), 0.5)
    array([0.5, 0.5])
    """

    name = "euler"
    order = 1

    def step(self, rate: Rate, t: float, k: np.ndarray, h: float) -> np.ndarray:
        """Advance ``k`` (S) from ``t`` to ``t + h`` (s)."""
        return k + h * rate(t, k)


class RK4:
    r"""Classical Runge-Kutta (order 4).

    .. math::
        a = f(t, k),\; b = f(t + \tfrac h2, k + \tfrac h2 a),\;
        c = f(t + \tfrac h2, k + \tfrac h2 b),\; d = f(t + h, k + h c), \\
        k_{n+1} = k_n + \tfrac h6 (a + 2b + 2c + d).
    """

    name = "rk4"
    order = 4

    def step(self, rate: Rate, t: float, k: np.ndarray, h: float) -> np.ndarray:
        """Advance ``k`` (S) from ``t`` to ``t + h`` (s)."""
        a = rate(t, k)
        b = rate(t + h / 2, k + (h / 2) * a)
        c = rate(t + h / 2, k + (h / 2) * b)
        d = rate(t + h, k + h * c)
        return k + (h / 6) * (a + 2 * b + 2 * c + d)


class Adaptive:
    """Adaptive Runge-Kutta through :func:`scipy.integrate.solve_ivp`.

    Each call of :meth:`step` integrates one macro step ``h`` with a fresh
    ``solve_ivp`` call (so a run can be checkpointed and resumed between steps).

    Parameters
    ----------
    method : {"RK45", "DOP853"}
        Dormand-Prince 5(4) or 8(5,3).
    rtol, atol : float
        Relative and absolute (S) local error tolerances.

    Attributes
    ----------
    nfev : int
        Rate evaluations so far.
    """

    order = None

    def __init__(self, method: str = "RK45", *, rtol: float = 1e-6, atol: float = 1e-9):
        if method not in ("RK45", "DOP853"):
            raise ValueError(f"adaptive method must be RK45 or DOP853, not {method!r}")
        self.method = method
        self.name = method.lower()
        self.rtol = rtol
        self.atol = atol
        self.nfev = 0

    def step(self, rate: Rate, t: float, k: np.ndarray, h: float) -> np.ndarray:
        """Advance ``k`` (S) from ``t`` to ``t + h`` (s) to within the tolerances."""
        from scipy.integrate import solve_ivp

        sol = solve_ivp(rate, (t, t + h), k, method=self.method, rtol=self.rtol,
                        atol=self.atol)
        self.nfev += int(sol.nfev)
        if not sol.success:
            raise IntegrationError(f"{self.method} failed at t = {t:g} s: {sol.message}")
        return sol.y[:, -1]


METHODS = ("euler", "rk4", "rk45", "dop853")


def make_integrator(method: str, *, rtol: float = 1e-6, atol: float = 1e-9) -> Integrator:
    """Integrator called ``method`` (one of :data:`METHODS`, case-insensitive)."""
    name = method.lower()
    if name == "euler":
        return Euler()
    if name == "rk4":
        return RK4()
    if name in ("rk45", "dop853"):
        return Adaptive(name.upper(), rtol=rtol, atol=atol)
    raise ValueError(f"unknown integrator {method!r} (choose from {', '.join(METHODS)})")



def bounded(rate: Rate, bounds: Bounds | None) -> Rate:
    """``rate`` with :meth:`Bounds.restrict` applied (``rate`` itself if no bounds)."""
    if bounds is None:
        return rate

    def restricted(t: float, k: np.ndarray) -> np.ndarray:
        return bounds.restrict(rate(t, k), k)

    return restricted


MAX_STEPS = 10**8
"""Most steps one integration may take (``(t_end - t0) / dt``): far beyond any run
that finishes, and small enough to reject ``dt = 1e-300`` before it runs forever."""


def num_steps(t_end: float, dt: float, t0: float = 0.0) -> int:
    """Steps of length ``dt`` to reach ``t_end`` from ``t0`` (the last may be shorter).

    Raises
    ------
    ValueError
        ``dt`` not positive and finite, ``t0`` or ``t_end`` not finite, ``t_end``
        before ``t0``, or more than :data:`MAX_STEPS` steps.
    """
    if not (dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be positive and finite, got {dt}")
    if not (math.isfinite(t0) and math.isfinite(t_end)):
        raise ValueError(f"t0 and t_end must be finite, got t0 = {t0}, t_end = {t_end}")
    if t_end < t0:
        raise ValueError(f"t_end = {t_end} is before t0 = {t0}")
    if (t_end - t0) / dt > MAX_STEPS:
        raise ValueError(f"(t_end - t0) / dt = {(t_end - t0) / dt:.3g} steps is more than "
                         f"the limit of {MAX_STEPS:.0e}")
    return max(0, math.ceil((t_end - t0) / dt - 1e-9))


def step_time(n: int, *, t_end: float, dt: float, t0: float = 0.0) -> float:
    """Time at the start of step ``n``: ``t0 + n dt``, capped at ``t_end`` (s)."""
    return min(t0 + n * dt, t_end) if n < num_steps(t_end, dt, t0) else t_end


StepHook = Callable[[int, float, float], None]
"""``before_step(n, t_n, h)``: called before step ``n`` (for example switching)."""


def iterate(rate: Rate, k0: np.ndarray, *, t_end: float, dt: float, method: str = "rk4",
            bounds: Bounds | None = None, t0: float = 0.0, start_step: int = 0,
            before_step: StepHook | None = None, integrator: Integrator | None = None,
            rtol: float = 1e-6, atol: float = 1e-9) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(n, t_n, k_n)`` after every step ``n = start_step + 1, ...``.

    ``k0`` is the state at step ``start_step``. The yielded arrays are never
    modified afterwards, so the last one yielded is always a consistent state (what
    a checkpoint needs when the run is interrupted in the middle of a step).
    Parameters are those of :func:`integrate`.
    """
    stepper = integrator or make_integrator(method, rtol=rtol, atol=atol)
    f = bounded(rate, bounds)
    k = np.array(k0, dtype=float)
    total = num_steps(t_end, dt, t0)
    t = step_time(start_step, t_end=t_end, dt=dt, t0=t0)
    for n in range(start_step, total):
        t_next = step_time(n + 1, t_end=t_end, dt=dt, t0=t0)
        if before_step is not None:
            before_step(n, t, t_next - t)
        k = stepper.step(f, t, k, t_next - t)
        if bounds is not None:
            k = bounds.project(k)
        if not np.all(np.isfinite(k)):
            raise IntegrationError(f"conductances became non-finite at step {n + 1}")
        t = t_next
        yield n + 1, t, k


@dataclass(frozen=True)
class Trajectory:
    """Recorded states of an integration.

    Attributes
    ----------
    steps : ndarray of int, shape (R,)
    t : ndarray, shape (R,)
        Times (s).
    k : ndarray, shape (R, E)
        Conductances (S).
    """

    steps: np.ndarray
    t: np.ndarray
    k: np.ndarray


Callback = Callable[[int, float, np.ndarray], bool | None]


def integrate(rate: Rate, k0: np.ndarray, *, t_end: float, dt: float, method: str = "rk4",
              bounds: Bounds | None = None, record_every: int = 1,
              callback: Callback | None = None, t0: float = 0.0,
              before_step: StepHook | None = None, rtol: float = 1e-6,
              atol: float = 1e-9) -> Trajectory:
    """Integrate ``dk/dt = rate(t, k)`` from ``t0`` to ``t_end``.

    Parameters
    ----------
    rate : callable
        ``rate(t, k) -> dk/dt`` in S/s, shape (E,).
    k0 : ndarray, shape (E,)
        Initial conductances (S).
    t_end, dt : float
        End time and step (s); for adaptive methods ``dt`` is the macro step.
    method : {"euler", "rk4", "rk45", "dop853"}
    bounds : Bounds, optional
        Box on ``k``: out-pushing rates are zeroed and ``k`` is clipped each step.
    record_every : int
        Record every this many steps (the initial and final states always).
    callback : callable, optional
        ``callback(n, t_n, k_n)`` at every recorded state; returning True stops
        the integration after that state.
    t0 : float
        Start time (s).
    before_step : callable, optional
        ``before_step(n, t_n, h)`` before each step.
    rtol, atol : float
        Tolerances of the adaptive methods.

    Returns
    -------
    Trajectory

    Examples
    --------
    Exponential decay ``dk/dt = -k``, whose exact solution is ``k0 e^{-t}``:

    >>> traj = integrate(lambda t, k: -k, np.ones(1), t_end=1.0, dt=0.1, method="rk4")
    >>> float(abs(traj.k[-1, 0] - np.exp(-1.0))) < 1e-6
    True
    """
    if record_every < 1:
        raise ValueError("record_every must be >= 1")
    k0 = np.array(k0, dtype=float)
    records = [(0, t0, k0)]
    stop = callback is not None and bool(callback(0, t0, k0))
    total = num_steps(t_end, dt, t0)
    states = iterate(rate, k0, t_end=t_end, dt=dt, method=method, bounds=bounds, t0=t0,
                     before_step=before_step, rtol=rtol, atol=atol)
    for n, t, k in states if not stop else ():
        if n % record_every == 0 or n == total:
            records.append((n, t, k))
            if callback is not None and callback(n, t, k):
                break
    steps, times, ks = zip(*records, strict=True)
    return Trajectory(np.array(steps), np.array(times), np.array(ks))


class ExampleSchedule:
    """Which training examples are presented in online and mini-batch mode.

    Each epoch is a fresh permutation ``perm_e`` of the ``n`` examples drawn from
    ``numpy.random.default_rng([seed, e])``, cut into ``ceil(n / batch_size)``
    consecutive batches (the last one may be smaller). The batch switches every
    ``tau`` seconds: window ``w = floor(t / tau)`` shows batch ``w mod nb`` of epoch
    ``e = w // nb``. With ``batch_size = 1`` (online mode) that is example
    ``perm_e[w mod n]``. The schedule is a pure function of the window index, so it
    needs no saved state.

    Parameters
    ----------
    n_examples : int
    tau : float
        Presentation time of one batch (s).
    seed : int
    batch_size : int
    """

    def __init__(self, n_examples: int, tau: float, seed: int = 0, batch_size: int = 1):
        if n_examples < 1 or not tau > 0 or batch_size < 1:
            raise ValueError("need at least one example, tau > 0 and batch_size >= 1")
        self.n = n_examples
        self.tau = tau
        self.seed = seed
        self.batch_size = min(batch_size, n_examples)
        self.batches = -(-n_examples // self.batch_size)
        self._epoch = -1
        self._perm = np.arange(n_examples)

    def window(self, t: float) -> int:
        """Index of the presentation window containing time ``t`` (s)."""
        return max(0, math.floor(t / self.tau + 1e-9))

    def batch(self, t: float) -> np.ndarray:
        """Indices of the examples presented at time ``t`` (s)."""
        w = self.window(t)
        epoch = w // self.batches
        if epoch != self._epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            self._epoch = epoch
        start = (w % self.batches) * self.batch_size
        return self._perm[start:start + self.batch_size]

    def example(self, t: float) -> int:
        """Index of the first example presented at time ``t`` (s) (the only one online)."""
        return int(self.batch(t)[0])
