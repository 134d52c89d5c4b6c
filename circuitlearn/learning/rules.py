r"""Local learning rules as pure functions ``rule(k, x, y) -> dk/dt`` (E,), S/s.

Every rule is a mean over the batch and is zero on non-trainable edges
(``problem.trainable``). With ``alpha > 0`` and the sign conventions below each
rule is a descent direction whose small-nudge limit is stated:

coupled learning (``eta`` dimensionless, ``alpha`` in S/(V^2 s))
    .. math:: \dot k = \frac{\alpha}{\eta}\,\tfrac12\,\langle dV_F^2 - dV_C^2\rangle
              \;\xrightarrow{\eta\to0}\; -\alpha\,\partial_k C_w ,

    with ``C_w = (1/2) mean_b e_b^T S e_b`` (W), ``S`` the output conductance
    held fixed: CL is *not* the MSE gradient.
equilibrium propagation (``beta > 0`` in S, ``alpha`` in S^2/(V^2 s))
    .. math::

        \text{positive:}\quad \dot k = -\frac{\alpha}{\beta}\,\tfrac12
            \langle dV_{+\beta}^2 - dV_F^2\rangle ,\qquad
        \text{negative:}\quad \dot k = +\frac{\alpha}{\beta}\,\tfrac12
            \langle dV_{-\beta}^2 - dV_F^2\rangle ,\\
        \text{centered:}\quad \dot k = \frac{\alpha}{2\beta}\,\tfrac12
            \langle dV_{-\beta}^2 - dV_{+\beta}^2\rangle ,

    all ``-> -alpha dL/dk``; the one-sided errors are O(beta), the centered O(beta^2).
    ``dV_{+-beta}`` are the drops of the state nudged by ``+-beta`` toward ``y``.
gradient flow (``alpha`` in S^2/(V^2 s))
    ``dk/dt = -alpha dL/dk`` with ``L = (1/2) mean_b ||V_O - y||^2`` (adjoint method).

Evaluation paths: ``"moments"`` (default) needs one factorization and
``n_in + 1 + n_out`` solves whatever the batch size
(:mod:`circuitlearn.equilibrium_moments`); ``x`` may then also be a
:class:`~circuitlearn.equilibrium_moments.BatchMoments` with ``y=None``.
``"states"`` builds the explicit states (B, N) and applies the formulas literally.

Modifiers (:mod:`circuitlearn.rules_modifiers`) wrap rules: ``chain(rule, *mods)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from circuitlearn.errors import CircuitLearnError
from circuitlearn.learning.modifiers import (
    Bounds,
    ChainedRule,
    Desynchronous,
    Modifier,
    Noise,
    Quantize,
    bounds,
    chain,
    desynchronous,
    noise,
    project,
    quantize,
    trainable_mask,
)
from circuitlearn.solver.equilibrium import PATHS, EquilibriumSolver, LearningProblem
from circuitlearn.solver.moments import (
    BatchMoments,
    ErrorMoments,
    as_batch,
    contrast,
    error_moments,
)

__all__ = [
    "Bounds", "ChainedRule", "CoupledLearning", "Desynchronous", "EquilibriumPropagation",
    "GradientFlow", "Modifier", "Noise", "Quantize", "Rule", "RuleError", "bounds", "chain",
    "coupled_learning", "desynchronous", "equilibrium_propagation", "gradient_flow",
    "invariant_q", "invariant_q_rate", "make_rule", "noise", "project", "quantize",
    "trainable_mask",
]

Rule = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
NUDGINGS = ("positive", "negative", "centered")


class RuleError(CircuitLearnError):
    """A learning rule that cannot be built (unknown name, bad parameter)."""


class LocalRule:
    """Base of the rules: ``rule(k, x, y)`` returns ``dk/dt`` (E,), S/s.

    Attributes
    ----------
    problem : LearningProblem
    alpha : float
        Learning rate.
    path : str
        ``"moments"`` (batch-independent) or ``"states"`` (explicit states).
    """

    name = "rule"

    def __init__(self, problem: LearningProblem, alpha: float, path: str):
        if path not in PATHS:
            raise RuleError(f"path must be one of {PATHS}, got {path!r}")
        self.problem = problem
        self.alpha = float(alpha)
        self.path = path

    def __call__(self, k: np.ndarray, x: np.ndarray | BatchMoments,
                 y: np.ndarray | None = None) -> np.ndarray:
        return self.rate_and_loss(k, x, y)[0]

    def rate_and_loss(self, k: np.ndarray, x: np.ndarray | BatchMoments,
                      y: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """``(dk/dt, L)`` from one factorization: the rate and the MSE loss at ``k``."""
        solver = EquilibriumSolver(self.problem, k)
        if self.path == "moments":
            stats = error_moments(solver, x, y)
            rate, loss = self._moment_rate(solver, stats), stats.loss
        else:
            if isinstance(x, BatchMoments):
                raise RuleError("the 'states' path needs the examples, not their moments")
            v_free = solver.free(x)
            y = as_batch(y, self.problem.num_outputs, "y")
            rate = self._state_rate(solver, v_free, x, y)
            e = solver.outputs(v_free) - y
            loss = 0.5 * float(np.mean(np.sum(e**2, axis=1)))
        return self.alpha * rate * self.problem.trainable, loss

    def _moment_rate(self, solver: EquilibriumSolver, stats: ErrorMoments) -> np.ndarray:
        raise NotImplementedError

    def _state_rate(self, solver: EquilibriumSolver, v_free: np.ndarray, x: np.ndarray,
                    y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}(alpha={self.alpha!r}{extra}, path={self.path!r})"

    def _params(self) -> dict[str, object]:
        return {}


def _half_mean_diff(solver: EquilibriumSolver, v_a: np.ndarray, v_b: np.ndarray) -> np.ndarray:
    """``(1/2) mean_b (dV_a^2 - dV_b^2)`` per edge (V^2), from explicit states."""
    return 0.5 * np.mean(solver.drops(v_a) ** 2 - solver.drops(v_b) ** 2, axis=0)


class CoupledLearning(LocalRule):
    """Coupled learning, ``dk/dt = (alpha/eta) (1/2) <dV_F^2 - dV_C^2>``."""

    name = "cl"

    def __init__(self, problem: LearningProblem, eta: float, alpha: float, path: str):
        if not eta > 0:
            raise RuleError(f"coupled learning needs eta > 0, got {eta}")
        super().__init__(problem, alpha, path)
        self.eta = float(eta)

    def _params(self) -> dict[str, object]:
        return {"eta": self.eta}

    def _moment_rate(self, solver, stats):
        return contrast(solver, stats, solver.output_conductance, self.eta)

    def _state_rate(self, solver, v_free, x, y):
        clamped = solver.clamped(x, y, self.eta, v_free=v_free)
        return _half_mean_diff(solver, v_free, clamped) / self.eta


class EquilibriumPropagation(LocalRule):
    """Equilibrium propagation with ``positive``, ``negative`` or ``centered`` nudging."""

    name = "ep"

    def __init__(self, problem: LearningProblem, beta: float, alpha: float,
                 nudging: str, path: str):
        if not beta > 0:
            raise RuleError(f"equilibrium propagation needs beta > 0 (the nudging mode "
                            f"sets the sign), got {beta}")
        if nudging not in NUDGINGS:
            raise RuleError(f"nudging must be one of {NUDGINGS}, got {nudging!r}")
        super().__init__(problem, alpha, path)
        self.beta = float(beta)
        self.nudging = nudging

    def _params(self) -> dict[str, object]:
        return {"beta": self.beta, "nudging": self.nudging}

    def _signs(self) -> tuple[float, ...]:
        return {"positive": (1.0,), "negative": (-1.0,), "centered": (1.0, -1.0)}[self.nudging]

    def _moment_rate(self, solver, stats):
        rates = [contrast(solver, stats, solver.nudge_gain(s * self.beta), s * self.beta)
                 for s in self._signs()]
        return np.mean(rates, axis=0)

    def _state_rate(self, solver, v_free, x, y):
        nudged = [(s * self.beta, solver.nudged(x, y, s * self.beta, v_free=v_free))
                  for s in self._signs()]
        rates = [-_half_mean_diff(solver, v, v_free) / b for b, v in nudged]
        return np.mean(rates, axis=0)


class GradientFlow(LocalRule):
    """Exact gradient descent on the MSE, ``dk/dt = -alpha dL/dk`` (adjoint method)."""

    name = "gradient"

    def _moment_rate(self, solver, stats):
        return contrast(solver, stats, np.eye(self.problem.num_outputs), 0.0)

    def _state_rate(self, solver, v_free, x, y):
        e = solver.outputs(v_free) - y
        return np.mean(solver.drops(v_free) * solver.drops(solver.adjoint(e)), axis=0)


def coupled_learning(problem: LearningProblem, *, eta: float, alpha: float = 1.0,
                     path: str = "moments") -> CoupledLearning:
    """Coupled learning rule; ``eta`` in (0, 1] is the clamping fraction."""
    return CoupledLearning(problem, eta, alpha, path)


def equilibrium_propagation(problem: LearningProblem, *, beta: float, alpha: float = 1.0,
                            nudging: str = "positive",
                            path: str = "moments") -> EquilibriumPropagation:
    """Equilibrium propagation; ``beta > 0`` (S) is the nudge magnitude."""
    return EquilibriumPropagation(problem, beta, alpha, nudging, path)


def gradient_flow(problem: LearningProblem, *, alpha: float = 1.0,
                  path: str = "moments") -> GradientFlow:
    """Adjoint-gradient flow ``dk/dt = -alpha dL/dk``."""
    return GradientFlow(problem, alpha, path)


_FACTORIES: dict[str, Callable[..., LocalRule]] = {
    "cl": coupled_learning, "coupled_learning": coupled_learning,
    "ep": equilibrium_propagation, "equilibrium_propagation": equilibrium_propagation,
    "gradient": gradient_flow, "adjoint": gradient_flow, "gradient_flow": gradient_flow,
}


def make_rule(problem: LearningProblem, name: str, **params: object) -> LocalRule:
    """Rule by name: ``"cl"``, ``"ep"``, ``"gradient"`` (aliases ``"coupled_learning"``,
    ``"equilibrium_propagation"``, ``"adjoint"``, ``"gradient_flow"``).

    Raises
    ------
    RuleError
        Unknown name or parameter, or a bad parameter value.
    """
    factory = _FACTORIES.get(str(name).lower().replace("-", "_"))
    if factory is None:
        raise RuleError(f"unknown learning rule {name!r} (known: {', '.join(_FACTORIES)})")
    try:
        return factory(problem, **params)
    except TypeError as exc:
        raise RuleError(f"learning rule {name!r}: {exc}") from None


def invariant_q(k: np.ndarray, trainable: np.ndarray | None = None) -> float:
    """``Q = sum_e k_e^2`` over trainable edges (S^2)."""
    k = np.asarray(k, float)
    return float(np.sum(k**2 if trainable is None else k[np.asarray(trainable)] ** 2))


def invariant_q_rate(k: np.ndarray, dkdt: np.ndarray, trainable: np.ndarray | None = None
                     ) -> float:
    """``dQ/dt = 2 sum_e k_e dk_e/dt`` over trainable edges (S^2/s)."""
    prod = 2.0 * np.asarray(k, float) * np.asarray(dkdt, float)
    return float(np.sum(prod if trainable is None else prod[np.asarray(trainable)]))
