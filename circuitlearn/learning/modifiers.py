r"""Composable modifiers of learning rules, with explicit state as in optax.

A modifier acts on the rate ``dk/dt`` (E,), S/s, of a rule at conductances ``k``
(S). Like an optax transform it is a pair of pure functions:

``init(key) -> state``
    the initial state (``None`` for modifiers without one);
``update(rate, k, state) -> (rate, state)``
    the modified rate and the next state.

:func:`chain` composes a rule with modifiers applied left to right,

.. math:: \dot k = m_n(\cdots m_1(\mathrm{rule}(k, x, y), k)\cdots, k),

and keeps the tuple of their states in :attr:`ChainedRule.state`, which a
checkpoint stores (:meth:`ChainedRule.state_dict`) and restores
(:meth:`ChainedRule.load_state`). Random modifiers draw from
``numpy.random.default_rng([*key, count])``: their state is the :class:`KeyState`
``(key, count)`` (optax's ``AddNoiseState(count, rng_key)``), two integers per
modifier, so that a resumed run draws exactly what an uninterrupted one would.

Declared once in :data:`MODIFIERS` (name, parameters, ranges): ``noise``,
``quantize``, ``desynchronous``. :class:`Bounds` is also a modifier, and the
integrators use the same object to clip ``k`` after each step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from circuitlearn.errors import ParameterError
from circuitlearn.registry import (
    Param,
    Registry,
    at_least,
    at_most_one,
    non_negative,
    positive,
    unit_interval,
)

RuleFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class KeyState:
    """State of a random modifier: call ``count`` draws from ``default_rng([*key, count])``."""

    key: tuple[int, ...]
    count: int = 0

    def generator(self) -> np.random.Generator:
        """The generator of the current call."""
        return np.random.default_rng([*self.key, self.count])

    def advanced(self) -> KeyState:
        """The state of the next call."""
        return dataclasses.replace(self, count=self.count + 1)


class Modifier:
    """Base of the modifiers: stateless unless :meth:`init` says otherwise."""

    def init(self, key: tuple[int, ...]) -> Any:
        """Initial state for random key ``key`` (non-negative integers)."""
        return None

    def update(self, rate: np.ndarray, k: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """``(modified rate (S/s), next state)``."""
        raise NotImplementedError


class RandomModifier(Modifier):
    """A modifier that draws random numbers: its state is a :class:`KeyState`."""

    def init(self, key: tuple[int, ...]) -> KeyState:
        return KeyState(tuple(int(i) for i in key))


# ---------------------------------------------------------------------- bounds
def bounds_problem(k_min: float | np.ndarray, k_max: float | np.ndarray) -> str | None:
    """What is wrong with conductance bounds ``[k_min, k_max]`` (S), or None."""
    lo, hi = np.asarray(k_min, float), np.asarray(k_max, float)
    if not np.all(np.isfinite(lo)):
        return f"k_min must be finite, got {k_min}"
    if np.any(lo < 0):
        return ("k_min must not be negative (conductances of a passive network are "
                f"positive), got {k_min}")
    if np.any(np.isnan(hi)) or not np.all(lo < hi):
        return f"need k_min < k_max, got [{k_min}, {k_max}]"
    return None


@dataclass(frozen=True, eq=False)
class Bounds(Modifier):
    r"""Box constraint :math:`k_{min} \le k \le k_{max}` (S), scalars or (E,) arrays.

    As a modifier it zeroes the rate of every edge at (or beyond) a bound that
    would take it further out (:meth:`restrict`); :meth:`project` clips ``k``
    itself (the integrators do so after every step).

    >>> b = Bounds(0.5, 2.0)
    >>> b.restrict(np.array([-1.0, 1.0]), np.array([0.5, 2.0])), b.project(np.array([3.0]))
    (array([0., 0.]), array([2.]))
    """

    k_min: float | np.ndarray = 0.0
    k_max: float | np.ndarray = np.inf

    def __post_init__(self) -> None:
        problem = bounds_problem(self.k_min, self.k_max)
        if problem:
            raise ParameterError("bounds", None, problem)

    def restrict(self, rate: np.ndarray, k: np.ndarray) -> np.ndarray:
        """``rate`` with the components that push ``k`` out of the box set to zero."""
        out = ((k <= self.k_min) & (rate < 0)) | ((k >= self.k_max) & (rate > 0))
        return np.where(out, 0.0, rate) if np.any(out) else rate

    def update(self, rate: np.ndarray, k: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        return self.restrict(rate, k), state

    def project(self, k: np.ndarray) -> np.ndarray:
        """``k`` clipped into the box (S)."""
        return np.clip(np.asarray(k, float), self.k_min, self.k_max)

    def at_bound(self, k: np.ndarray) -> np.ndarray:
        """Mask of the conductances on (or beyond) a bound, ``k <= k_min`` or
        ``k >= k_max`` (their rate is restricted)."""
        return (k <= self.k_min) | (k >= self.k_max)


# -------------------------------------------------------------------- modifiers
@dataclass(frozen=True)
class Noise(RandomModifier):
    """Update noise: ``rate (1 + sigma xi)`` (multiplicative, ``sigma`` dimensionless)
    or ``rate + sigma xi`` (additive, ``sigma`` in S/s), ``xi ~ N(0, 1)`` per edge and
    call."""

    sigma: float
    kind: str = "multiplicative"

    def update(self, rate, k, state):
        xi = state.generator().standard_normal(np.shape(rate))
        if self.kind == "multiplicative":
            return rate * (1.0 + self.sigma * xi), state.advanced()
        return rate + self.sigma * xi, state.advanced()


@dataclass(frozen=True)
class Quantize(Modifier):
    """Round each rate to the nearest of ``levels`` values evenly spaced on
    ``[-span, span]`` (S/s), clipping beyond; ``span=None`` uses ``max |rate|`` of
    each call. Odd ``levels`` include zero (``levels=3``: ternary updates)."""

    levels: int
    span: float | None = None

    def update(self, rate, k, state):
        span = float(np.max(np.abs(rate), initial=0.0)) if self.span is None else self.span
        if span == 0.0:
            return np.zeros_like(rate), state
        step = 2.0 * span / (self.levels - 1)
        idx = np.clip(np.rint((rate + span) / step), 0, self.levels - 1)
        return idx * step - span, state


def _quantize(levels: int, step: float | None, range: float | None) -> Quantize:
    """``step`` (S/s between levels) or ``range`` (the span); neither: adaptive span."""
    span = range if step is None else step * (levels - 1) / 2
    return Quantize(levels, span)


@dataclass(frozen=True)
class Desynchronous(RandomModifier):
    """Update only ``round(fraction E)`` randomly chosen edges per call (the others
    get 0); with ``rescale`` the kept rates are divided by ``fraction`` (unbiased)."""

    fraction: float
    rescale: bool = False

    def update(self, rate, k, state):
        n = rate.shape[-1]
        keep = np.zeros(n, bool)
        keep[state.generator().choice(n, int(round(self.fraction * n)), replace=False)] = True
        out = np.where(keep, rate, 0.0)
        return (out / self.fraction if self.rescale else out), state.advanced()


MODIFIERS = Registry("modifier")
MODIFIERS.add("noise", Noise,
              Param("sigma", check=non_negative, doc="noise level (1, or S/s if additive)"),
              Param("kind", "str", "multiplicative", choices=("multiplicative", "additive")),
              doc="update noise, N(0, sigma^2) relative or absolute")
MODIFIERS.add("quantize", _quantize,
              Param("levels", "int", check=at_least(2), doc="number of rate levels"),
              Param("step", default=None, check=positive, doc="spacing of levels (S/s)"),
              Param("range", default=None, check=positive, doc="largest level (S/s)"),
              doc="rates rounded to evenly spaced levels", checks=(at_most_one("step", "range"),))
MODIFIERS.add("desynchronous", Desynchronous,
              Param("fraction", check=unit_interval, doc="share of edges updated per call"),
              Param("rescale", "bool", False, doc="divide kept rates by fraction"),
              doc="random partial updates")


def noise(sigma: float, kind: str | None = None) -> Noise:
    """Noise modifier (:class:`Noise`); ``kind`` "multiplicative" (default) or
    "additive". Parameters, defaults and ranges: :data:`MODIFIERS`."""
    return MODIFIERS.build("noise", sigma=sigma, kind=kind)


def quantize(levels: int, *, step: float | None = None, range: float | None = None) -> Quantize:
    """Quantize modifier: ``levels`` values ``step`` apart, or spanning ``[-range,
    range]``, or (neither) spanning ``max |rate|`` at each call."""
    return MODIFIERS.build("quantize", levels=levels, step=step, range=range)


def desynchronous(fraction: float, *, rescale: bool | None = None) -> Desynchronous:
    """Desynchronous-update modifier, ``0 < fraction <= 1`` (:class:`Desynchronous`)."""
    return MODIFIERS.build("desynchronous", fraction=fraction, rescale=rescale)


# ------------------------------------------------------------------------ chain
class ChainedRule:
    """A rule followed by modifiers; call it like the rule: ``(k, x, y) -> dk/dt``.

    Calling advances :attr:`state` (the tuple of the modifiers' states);
    :meth:`update` is the pure form. :meth:`project` applies every
    :class:`Bounds` of the chain. For a rule of a learning problem the rate of the
    edges that do not train (``rule.problem.trainable``) is set to zero once, after
    the modifiers (noise cannot move a frozen edge).

    >>> rule = chain(lambda k, x, y: -k, noise(0.1, kind="additive"), seed=3)
    >>> rate = rule(np.ones(2), None)
    >>> rule.state_dict()
    [{'key': [3, 0], 'count': 1}]
    """

    def __init__(self, rule: RuleFn, modifiers: Sequence[Modifier], seed: int = 0):
        self.rule = rule
        self.modifiers = tuple(modifiers)
        self.state = self.init(seed)

    def init(self, seed: int) -> tuple[Any, ...]:
        """Initial states: modifier ``i`` gets the random key ``(seed, i)``."""
        if seed < 0:
            raise ParameterError("chain", "seed", f"must not be negative, got {seed}")
        return tuple(m.init((seed, i)) for i, m in enumerate(self.modifiers))

    def update(self, k: np.ndarray, x: Any, y: np.ndarray | None,
               state: tuple[Any, ...]) -> tuple[np.ndarray, tuple[Any, ...]]:
        """``(dk/dt, next state)`` without touching :attr:`state`."""
        problem = getattr(self.rule, "problem", None)
        rate = (self.rule(k, x, y) if problem is None
                else self.rule.rate_and_loss(k, x, y, masked=False)[0])
        states = []
        for modifier, s in zip(self.modifiers, state, strict=True):
            rate, s = modifier.update(rate, k, s)
            states.append(s)
        if problem is not None:
            rate = np.where(problem.trainable, rate, 0.0)
        return rate, tuple(states)

    def __call__(self, k: np.ndarray, x: Any, y: np.ndarray | None = None) -> np.ndarray:
        rate, self.state = self.update(k, x, y, self.state)
        return rate

    def state_dict(self) -> list[dict[str, Any] | None]:
        """:attr:`state` as JSON-able data."""
        return [None if s is None else {"key": list(s.key), "count": s.count}
                for s in self.state]

    def load_state(self, data: list[dict[str, Any] | None]) -> None:
        """Restore a state saved by :meth:`state_dict`."""
        if len(data) != len(self.modifiers):
            raise ValueError(f"{len(data)} modifier states for {len(self.modifiers)} modifiers")
        self.state = tuple(None if d is None else KeyState(tuple(d["key"]), int(d["count"]))
                           for d in data)

    def project(self, k: np.ndarray) -> np.ndarray:
        """``k`` clipped by every bounds modifier of the chain (S)."""
        for modifier in self.modifiers:
            if isinstance(modifier, Bounds):
                k = modifier.project(k)
        return np.asarray(k, float)

    def __repr__(self) -> str:
        return f"chain({self.rule!r}, {', '.join(map(repr, self.modifiers))})"


def chain(rule: RuleFn, *modifiers: Modifier, seed: int = 0) -> ChainedRule:
    """``rule`` followed by ``modifiers`` (applied left to right); random modifiers
    draw from keys ``(seed, position)``."""
    return ChainedRule(rule, modifiers, seed)
