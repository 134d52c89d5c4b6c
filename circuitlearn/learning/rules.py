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
    With ``nudge="current"`` the nudge is a fixed current and the rates are exact
    polynomials in ``beta`` (:class:`EquilibriumPropagation`): centered EP *is* the
    gradient flow at any ``beta``.
gradient flow (``alpha`` in S^2/(V^2 s))
    ``dk/dt = -alpha dL/dk`` with ``L = (1/2) mean_b ||V_O - y||^2`` (adjoint method).
gradient EP (``gradep``, ``beta`` in S, ``alpha`` in S^2/(V^2 s))
    EP on a GradEP circuit (:mod:`circuitlearn.learning.flow`): the outputs are the
    visible nodes, which the springs tie to the inputs, the targets are
    ``y = x + (C/lam) u`` and the springs never train; :class:`GradientEP`.
two networks (``dual``, ``alpha`` in S^2/(V^2 s))
    the same flow as the product of the drops of two physical networks,
    ``dk/dt = alpha mean_b dV_F dlambda``: the free network and the adjoint network
    (:mod:`circuitlearn.solver.adjoint`).

Evaluation paths: ``"moments"`` (default) needs one factorization and
``n_in + 1 + n_out`` solves whatever the batch size
(:mod:`circuitlearn.solver.moments`); ``x`` may then also be a
:class:`~circuitlearn.solver.moments.BatchMoments` with ``y=None``.
``"states"`` builds the explicit states (B, N) and applies the formulas literally.

Every rule is declared once in :data:`RULES` (name, parameters, ranges, units);
:func:`make_rule` and the experiment reader both check parameters there.
Modifiers (:mod:`circuitlearn.learning.modifiers`) wrap rules: ``chain(rule, *mods)``.

>>> from circuitlearn.solver.examples import random_problem
>>> problem, k, x, y = random_problem(0)
>>> rule = make_rule(problem, "cl", eta=0.1, alpha=2.0)
>>> rule(k, x, y).shape == k.shape
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from circuitlearn.errors import ParameterError
from circuitlearn.learning.flow import flow_layout
from circuitlearn.learning.metrics import mse_loss, mse_loss_from_moments
from circuitlearn.registry import Param, Registry, finite_positive, unit_interval
from circuitlearn.solver.equilibrium import (
    NUDGES,
    PATHS,
    EquilibriumSolver,
    LearningProblem,
)
from circuitlearn.solver.moments import (
    BatchMoments,
    ErrorMoments,
    as_batch,
    contrast,
    error_moments,
)

Rule = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
NUDGINGS = ("positive", "negative", "centered")


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
        self.problem = problem
        self.alpha = float(alpha)
        self.path = path

    def __call__(self, k: np.ndarray, x: np.ndarray | BatchMoments,
                 y: np.ndarray | None = None) -> np.ndarray:
        return self.rate_and_loss(k, x, y)[0]

    def rate_and_loss(self, k: np.ndarray, x: np.ndarray | BatchMoments,
                      y: np.ndarray | None = None, *, masked: bool = True
                      ) -> tuple[np.ndarray, float]:
        """``(dk/dt, L)`` from one factorization: the rate and the MSE loss at ``k``.

        The rate is zero on edges that do not train unless ``masked`` is false (a
        :class:`~circuitlearn.learning.modifiers.ChainedRule` masks after its
        modifiers, so that the mask is applied once, last).
        """
        solver = EquilibriumSolver(self.problem, k)
        if self.path == "moments":
            stats = error_moments(solver, x, y)
            rate, loss = self._moment_rate(solver, stats), mse_loss_from_moments(stats.ee)
        else:
            if isinstance(x, BatchMoments):
                raise ParameterError(f"learning rule {self.name!r}", "path",
                                     "the 'states' path needs the examples, not their moments")
            v_free = solver.free(x)
            y = as_batch(y, self.problem.num_outputs, "y")
            rate = self._state_rate(solver, v_free, x, y)
            loss = mse_loss(solver.outputs(v_free), y)
        rate = self.alpha * rate
        return (np.where(self.problem.trainable, rate, 0.0) if masked else rate), loss

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
    r"""Equilibrium propagation with ``positive``, ``negative`` or ``centered`` nudging,
    by a conductance (``nudge="conductance"``) or a fixed current (``"current"``).

    Current nudging is exact for linear networks
        The nudge is the fixed current ``J_b = beta (y_b - C V_{F,b})`` (A), computed
        once from the free state and driven into node+ of every output (out of node-),
        with every source of the free state still on. The network is linear and
        ``J_b`` does not depend on the nudged state, so by superposition the nudged
        potentials are the free ones plus the response to ``J_b``:
        ``V_{+-beta} = V_F + W (-+beta e_b) = V_F -+ beta lambda_b`` *exactly*, with
        ``e_b = C V_F - y_b`` and ``lambda_b = W e_b`` the adjoint state
        (:mod:`circuitlearn.solver.adjoint`). Per edge, ``dV_{+-beta} = dV_F -+ beta
        dlambda``, hence ``dV_{+-beta}^2 - dV_F^2 = -+2 beta dV_F dlambda + beta^2
        dlambda^2`` and, with the adjoint theorem ``dL/dk = -<dV_F dlambda>``,

        .. math::

            \dot k_{\pm} = -\alpha\,\partial L/\partial k
                \mp \tfrac{\alpha\beta}{2} \langle d\lambda^2 \rangle, \qquad
            \dot k_{centered} = \tfrac12 (\dot k_+ + \dot k_-)
                = -\alpha\,\partial L/\partial k .

        Centered EP equals the gradient flow at any ``beta`` (the polarization
        identity ``dV_F dlambda = (dV_{-beta}^2 - dV_{+beta}^2)/(4 beta)``); the
        one-sided error is exactly linear in ``beta``, of fixed sign on every edge
        (positive nudging pushes every conductance down). In the moment formulation
        the gain is ``K = I`` and ``T_1(I) - (s/2) T_2(I)`` is this identity.
        Conductance nudging is the same with ``e`` replaced by ``(I + beta R)^{-1} e``,
        which brings the ``O(beta)`` (one-sided) and ``O(beta^2)`` (centered) errors.

    Hardware: the nudge becomes a current source whose value is set from a
    free-phase measurement (sample and hold the output errors, scale by ``beta``)
    instead of a resistor to a source at the target; the nudged phase then needs no
    feedback from the nudged outputs, only the held free-phase error.
    """

    name = "ep"

    def __init__(self, problem: LearningProblem, beta: float, alpha: float,
                 nudging: str, path: str, nudge: str = "conductance"):
        super().__init__(problem, alpha, path)
        self.beta = float(beta)
        self.nudging = nudging
        self.nudge = nudge

    def _params(self) -> dict[str, object]:
        return {"beta": self.beta, "nudging": self.nudging, "nudge": self.nudge}

    def _signs(self) -> tuple[float, ...]:
        return {"positive": (1.0,), "negative": (-1.0,), "centered": (1.0, -1.0)}[self.nudging]

    def _moment_rate(self, solver, stats):
        rates = [contrast(solver, stats, solver.nudge_gain(s * self.beta, self.nudge),
                          s * self.beta) for s in self._signs()]
        return np.mean(rates, axis=0)

    def _state_rate(self, solver, v_free, x, y):
        nudged = [(s * self.beta, solver.nudged(x, y, s * self.beta, v_free=v_free,
                                                nudge=self.nudge))
                  for s in self._signs()]
        rates = [-_half_mean_diff(solver, v, v_free) / b for b, v in nudged]
        return np.mean(rates, axis=0)


class GradientEP(EquilibriumPropagation):
    r"""Gradient equilibrium propagation: EP that trains the visible nodes' *displacement*.

    On a GradEP circuit (visible nodes tied by springs ``lam`` to the sources at
    ``x``; :mod:`circuitlearn.learning.flow`) the nudged energy is

    .. math:: F_\beta(V) = E(V; k) + \tfrac{\lambda}{2}\lVert V_{vis} - x\rVert^2
              + \tfrac{\beta}{2}\lVert V_{vis} - y\rVert^2, \qquad
              y = x + \tfrac{C}{\lambda}\,u ,

    the free circuit plus a conductance ``beta`` (S) from every visible node to a
    source at ``y``. Spring and nudge combine into one spring ``lam + beta`` to a
    source at ``(lam x + beta y)/(lam + beta)``: passive for ``beta > -lam``, so the
    negative phase is a weakened spring. The nudge does not depend on ``k``, so
    ``dF_beta/dk_e = dV_e^2/2`` in every phase, and the EP theorem gives
    ``d/dbeta (dV_e(beta)^2/2)|_0 = dL_V/dk_e`` with
    ``L_V = 1/2 <||V_vis - y||^2> = (C/lam)^2 L`` and ``L`` the flow-matching loss.
    The three phases (free, ``+beta``, ``-beta``) give the local update

    .. math:: \dot k_e = \frac{\alpha}{4\beta}\,
              \big\langle dV_{-\beta,e}^2 - dV_{+\beta,e}^2 \big\rangle
              = -\alpha\,\partial_{k_e} L_V + O(\beta^2)

    (``nudging="positive"``/``"negative"``: ``O(beta)``; ``nudge="current"``: exact,
    see :class:`EquilibriumPropagation`). In Gower's units, ``beta_FM`` (S s^2) on
    ``1/2 ||v - u||^2`` and ``alpha_FM``, ``beta = beta_FM (lam/C)^2`` and
    ``alpha = alpha_FM (lam/C)^2`` give ``dk/dt -> -alpha_FM dL/dk``. Each edge
    needs only its own drop in the two nudged phases. The springs are held fixed
    (zero rate whatever ``[train] trainable`` says); ``rate_and_loss`` reports
    ``L_V`` (V^2).
    """

    name = "gradep"

    def __init__(self, problem: LearningProblem, beta: float, alpha: float,
                 nudging: str, path: str, nudge: str = "conductance"):
        mask = problem.trainable.copy()
        mask[flow_layout(problem).springs] = False
        mask.setflags(write=False)
        held = dataclasses.replace(problem, trainable=mask)
        object.__setattr__(held, "_structure", problem.structure)
        super().__init__(held, beta, alpha, nudging, path, nudge)


class GradientFlow(LocalRule):
    """Exact gradient descent on the MSE, ``dk/dt = -alpha dL/dk`` (adjoint method)."""

    name = "gradient"

    def _moment_rate(self, solver, stats):
        return contrast(solver, stats, np.eye(self.problem.num_outputs), 0.0)

    def _state_rate(self, solver, v_free, x, y):
        e = solver.outputs(v_free) - y
        return np.mean(solver.drops(v_free) * solver.drops(solver.adjoint(e)), axis=0)


class TwoNetworks(GradientFlow):
    """The gradient flow as a product of two physical networks' drops,
    ``dk/dt = alpha mean_b dV_{F,b} dlambda_b`` (S/s).

    The free network has the inputs applied and every source on; the adjoint
    network has the same conductances, every source off, and the output errors
    ``e_b = C V_F - y_b`` measured on the free network driven as currents into the
    output ports (:func:`circuitlearn.solver.adjoint.adjoint_network`). A local
    multiplier per edge turns the two drops into the exact gradient at any error
    size; :meth:`networks` returns both states.
    """

    name = "dual"

    def networks(self, k: np.ndarray, x: np.ndarray, y: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Node potentials (B, N), V, of the free network and of the adjoint network."""
        solver = EquilibriumSolver(self.problem, k)
        v_free = solver.free(x)
        e = solver.outputs(v_free) - as_batch(y, self.problem.num_outputs, "y")
        return v_free, solver.adjoint(e)


def _alpha(unit: str) -> Param:
    return Param("alpha", default=1.0, check=finite_positive, doc=f"learning rate ({unit})")


_PATH = Param("path", "str", "moments", choices=PATHS,
              doc="batch moments (one factorization) or explicit states")


def _ep_params(beta: str, nudging: str) -> tuple[Param, ...]:
    """EP's parameters: ``beta`` (S) described by ``beta``, default ``nudging``."""
    return (Param("beta", check=finite_positive, doc=beta), _alpha("S^2/(V^2 s)"),
            Param("nudging", "str", nudging, choices=NUDGINGS, doc="sign(s) of the nudge"),
            _PATH, Param("nudge", "str", "conductance", choices=NUDGES,
                         doc="nudge by a conductance beta, or by the fixed current "
                             "beta (y - C V_F) (exact for linear networks)"))


RULES = Registry("learning rule")
RULES.add("cl", CoupledLearning,
          Param("eta", check=unit_interval, doc="clamping fraction (dimensionless)"),
          _alpha("S/(V^2 s)"), _PATH, aliases=("coupled_learning",), doc="coupled learning")
RULES.add("ep", EquilibriumPropagation,
          *_ep_params("nudge conductance (S); nudging sets the sign", "positive"),
          aliases=("equilibrium_propagation",), doc="equilibrium propagation")
RULES.add("gradep", GradientEP,
          *_ep_params("nudge conductance (S) from each visible node to a source at "
                      "y = x + (C/lam) u", "centered"),
          aliases=("gradient_ep",), doc="gradient equilibrium propagation (flow matching)")
RULES.add("gradient", GradientFlow, _alpha("S^2/(V^2 s)"), _PATH,
          aliases=("adjoint", "gradient_flow"), doc="exact gradient flow (adjoint method)")
RULES.add("dual", TwoNetworks, _alpha("S^2/(V^2 s)"), _PATH, aliases=("two_networks",),
          doc="exact gradient flow from the free and the adjoint networks' drops")


def alpha_unit(name: str) -> str:
    """Unit of rule ``name``'s learning rate ``alpha``.

    >>> alpha_unit("cl"), alpha_unit("ep")
    ('S/(V^2 s)', 'S^2/(V^2 s)')
    """
    doc = RULES.entry(name).param("alpha").doc
    return doc[doc.index("(") + 1:-1]


def make_rule(problem: LearningProblem, name: str, **params: object) -> LocalRule:
    """The rule ``name`` of :data:`RULES` for ``problem``, ``params`` checked there:
    ``"cl"`` (``eta``, ``alpha``, ``path``), ``"ep"`` and ``"gradep"`` (``beta``,
    ``alpha``, ``nudging``, ``path``, ``nudge``), ``"gradient"`` and ``"dual"``
    (``alpha``, ``path``), and aliases.

    Raises
    ------
    ParameterError
        Unknown name or parameter, or a value out of its declared range.

    Examples
    --------
    >>> from circuitlearn.solver.examples import random_problem
    >>> problem, k, x, y = random_problem(0)
    >>> make_rule(problem, "ep", beta=0.01, nudging="centered", nudge="current")
    ... # doctest: +NORMALIZE_WHITESPACE
    EquilibriumPropagation(alpha=1.0, beta=0.01, nudging='centered', nudge='current',
                           path='moments')
    >>> make_rule(problem, "cl", eta=2.0)
    Traceback (most recent call last):
    ...
    circuitlearn.errors.ParameterError: learning rule 'cl': eta: must lie in (0, 1], got 2.0
    """
    return RULES.build(name, problem, **params)
