r"""Composable modifiers of learning rules, in the spirit of optax transforms.

A modifier is a callable ``modifier(rate, k) -> rate`` acting on the rate ``dk/dt``
(E,), S/s, of a rule at conductances ``k`` (S). :func:`chain` composes a rule with
modifiers applied left to right:

.. math:: \dot k = m_n(\cdots m_1(\mathrm{rule}(k, x, y), k)\cdots, k).

Order matters: put :func:`trainable_mask` and :func:`bounds` last to guarantee their
constraints after noise. Random modifiers own a seeded ``numpy.random.Generator``:
two modifiers built with the same seed give the same sequence of draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from circuitlearn.errors import CircuitLearnError

Modifier = Callable[[np.ndarray, np.ndarray], np.ndarray]
RuleFn = Callable[..., np.ndarray]
Seed = int | np.random.Generator | None


class ModifierError(CircuitLearnError):
    """A modifier with an invalid parameter."""


def project(k: np.ndarray, k_min: float | np.ndarray = 0.0,
            k_max: float | np.ndarray = np.inf) -> np.ndarray:
    """Clip conductances into ``[k_min, k_max]`` (S); for the integrator after a step."""
    return np.clip(np.asarray(k, float), k_min, k_max)


@dataclass(frozen=True)
class Bounds:
    """Conductance bounds ``[k_min, k_max]`` (S, scalars or (E,) arrays).

    As a rate modifier it zeroes ``dk_e/dt`` of every edge at (or beyond) a bound
    whose rate would take it further out: ``k_e <= k_min`` and ``dk_e/dt < 0``, or
    ``k_e >= k_max`` and ``dk_e/dt > 0``. :meth:`project` clips ``k`` itself.
    """

    k_min: float | np.ndarray = 0.0
    k_max: float | np.ndarray = np.inf

    def __call__(self, rate: np.ndarray, k: np.ndarray) -> np.ndarray:
        leaving = ((k <= self.k_min) & (rate < 0)) | ((k >= self.k_max) & (rate > 0))
        return np.where(leaving, 0.0, rate)

    def project(self, k: np.ndarray) -> np.ndarray:
        """``k`` clipped into the bounds (S)."""
        return project(k, self.k_min, self.k_max)


def bounds(k_min: float | np.ndarray = 0.0, k_max: float | np.ndarray = np.inf) -> Bounds:
    """Bounds modifier; raises :class:`ModifierError` if ``k_min > k_max`` somewhere."""
    if np.any(np.asarray(k_min) > np.asarray(k_max)):
        raise ModifierError(f"bounds need k_min <= k_max, got {k_min} > {k_max}")
    return Bounds(k_min, k_max)


@dataclass
class Noise:
    """Update noise: ``rate (1 + sigma xi)`` (multiplicative, ``sigma`` dimensionless)
    or ``rate + sigma xi`` (additive, ``sigma`` in S/s), ``xi ~ N(0, 1)`` per edge and
    call."""

    sigma: float
    kind: str = "multiplicative"
    rng: np.random.Generator = field(default_factory=np.random.default_rng)

    def __call__(self, rate: np.ndarray, k: np.ndarray) -> np.ndarray:
        xi = self.rng.standard_normal(np.shape(rate))
        if self.kind == "multiplicative":
            return rate * (1.0 + self.sigma * xi)
        return rate + self.sigma * xi


def noise(sigma: float, kind: str = "multiplicative", seed: Seed = None) -> Noise:
    """Noise modifier with its own generator seeded by ``seed``."""
    if kind not in ("multiplicative", "additive"):
        raise ModifierError(f"noise kind must be 'multiplicative' or 'additive', got {kind!r}")
    if sigma < 0:
        raise ModifierError(f"noise sigma must be >= 0, got {sigma}")
    return Noise(float(sigma), kind, np.random.default_rng(seed))


@dataclass(frozen=True)
class Quantize:
    """Round each rate to the nearest of ``levels`` values evenly spaced on
    ``[-span, span]`` (S/s), clipping beyond; ``span=None`` uses ``max |rate|`` of
    each call. Odd ``levels`` include zero (``levels=3``: ternary updates)."""

    levels: int
    span: float | None = None

    def __call__(self, rate: np.ndarray, k: np.ndarray) -> np.ndarray:
        span = float(np.max(np.abs(rate), initial=0.0)) if self.span is None else self.span
        if span == 0.0:
            return np.zeros_like(rate)
        step = 2.0 * span / (self.levels - 1)
        idx = np.clip(np.rint((rate + span) / step), 0, self.levels - 1)
        return idx * step - span

    @property
    def values(self) -> np.ndarray | None:
        """The quantization levels (S/s), or ``None`` for an adaptive span."""
        return None if self.span is None else np.linspace(-self.span, self.span, self.levels)


def quantize(levels: int, *, step: float | None = None, range: float | None = None) -> Quantize:
    """Quantization modifier with ``levels >= 2`` values.

    Give either ``step`` (spacing of the levels, S/s; the span is
    ``step (levels - 1) / 2``) or ``range`` (largest magnitude, S/s); neither: the
    span adapts to ``max |rate|`` at each call.
    """
    if int(levels) != levels or levels < 2:
        raise ModifierError(f"quantize needs an integer number of levels >= 2, got {levels}")
    if step is not None and range is not None:
        raise ModifierError("quantize takes step or range, not both")
    span = range if step is None else step * (levels - 1) / 2
    if span is not None and not span > 0:
        raise ModifierError(f"quantization step/range must be > 0, got {step or range}")
    return Quantize(int(levels), None if span is None else float(span))


@dataclass
class Desynchronous:
    """Update only ``round(fraction E)`` randomly chosen edges per call (the others
    get 0); with ``rescale`` the kept rates are divided by ``fraction`` (unbiased)."""

    fraction: float
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    rescale: bool = False

    def __call__(self, rate: np.ndarray, k: np.ndarray) -> np.ndarray:
        n = rate.shape[-1]
        keep = np.zeros(n, bool)
        keep[self.rng.choice(n, int(round(self.fraction * n)), replace=False)] = True
        out = np.where(keep, rate, 0.0)
        return out / self.fraction if self.rescale else out


def desynchronous(fraction: float, seed: Seed = None, *, rescale: bool = False) -> Desynchronous:
    """Desynchronous-update modifier, ``0 < fraction <= 1``."""
    if not 0 < fraction <= 1:
        raise ModifierError(f"desynchronous fraction must be in (0, 1], got {fraction}")
    return Desynchronous(float(fraction), np.random.default_rng(seed), rescale)


def trainable_mask(mask: np.ndarray) -> Modifier:
    """Modifier that zeroes the rate of edges where ``mask`` (E,) is False."""
    keep = np.asarray(mask, bool).copy()

    def apply(rate: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.where(keep, rate, 0.0)

    return apply


class ChainedRule:
    """A rule followed by modifiers; call it like the rule: ``(k, x, y) -> dk/dt``.

    :meth:`project` applies the ``project`` of every :class:`Bounds` in the chain.
    """

    def __init__(self, rule: RuleFn, modifiers: tuple[Modifier, ...]):
        self.rule = rule
        self.modifiers = modifiers

    def __call__(self, k: np.ndarray, x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        rate = self.rule(k, x, y)
        for modifier in self.modifiers:
            rate = modifier(rate, k)
        return rate

    def project(self, k: np.ndarray) -> np.ndarray:
        """``k`` clipped by every bounds modifier of the chain (S)."""
        for modifier in self.modifiers:
            if isinstance(modifier, Bounds):
                k = modifier.project(k)
        return np.asarray(k, float)

    def __repr__(self) -> str:
        return f"chain({self.rule!r}, {', '.join(map(repr, self.modifiers))})"


def chain(rule: RuleFn, *modifiers: Modifier) -> ChainedRule:
    """``rule`` followed by ``modifiers`` (applied left to right)."""
    return ChainedRule(rule, tuple(modifiers))
