r"""Equilibrium states of a self-learning resistor network.

A :class:`LearningProblem` names the input sources (their values are the features
``x``, one column per source, V or A) and the outputs (node potentials or potential
differences ``V_O = C V``, V). For edge drops ``dV = B V`` the network energy is

.. math:: E(V; k) = \tfrac12 \sum_e k_e\, dV_e^2 \quad (\mathrm{W}),

and a training example ``(x, y)`` defines three states:

free
    inputs applied, every other source at its netlist value;
clamped (coupled learning)
    outputs additionally held at ``C V = V_O^F + \eta (y - V_O^F)``;
nudged (equilibrium propagation)
    a conductance ``beta`` (S) pulls each output toward its target: the current
    ``beta (y_o - C_o V)`` is injected into node+ and drawn from node-, i.e.
    ``E -> E + (beta/2) ||C V - y||^2``; ``beta`` may be negative.

Fast formulation
----------------
All three states are affine in the drive ``u = [x, 1]``. One sparse factorization
of the reduced Laplacian ``L_r`` (:mod:`circuitlearn.equilibrium_structure`) and
``n_in + 1`` solves give ``V_F = H u``; ``n_out`` more solves give the output
response ``W = P L_r^{-1} (C P)^T`` (V per A injected at each output port), the
output resistance ``R = C W`` (ohm) and conductance ``S = R^{-1}`` (siemens).
With ``e = C V_F - y``,

.. math::

    V_C = V_F - \eta\, W S e, \qquad V_\beta = V_F - \beta\, W (I + \beta R)^{-1} e .

Loss convention
---------------
``L = (1/2) mean_b sum_o (V_O(x_b) - y_b)_o^2`` (V^2): sum over outputs, mean over
the batch (:mod:`circuitlearn.learning.metrics`). :func:`adjoint_gradient` returns
``dL/dk`` (V^2/S) for every edge.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from circuitlearn.errors import ProblemError, SingularMatrixError
from circuitlearn.solver.factor import Factorization, default_backend
from circuitlearn.solver.moments import (
    BatchMoments,
    as_batch,
    chunks,
    contrast,
    error_moments,
)
from circuitlearn.solver.problem import LearningProblem, make_problem

__all__ = [
    "BatchMoments", "EquilibriumSolver", "LearningProblem", "adjoint_gradient", "as_batch",
    "make_problem", "output_conductance",
]

PATHS = ("moments", "states")
NUDGES = ("conductance", "current")
"""How EP nudges: a conductance ``beta`` to the target (the current ``beta (y - C V)``
follows the state), or the fixed current ``beta (y - C V_F)`` set from the free state."""


class EquilibriumSolver:
    r"""States of one conductance configuration: one sparse factorization of ``L_r``.

    The free state solves the reduced Kirchhoff equations

    .. math:: L_r(k)\, V_r = P^\top \big(b(x) - L(k)\, Q\, s_v(x)\big),
              \qquad V = P V_r + Q s_v ,

    (:mod:`circuitlearn.equilibrium_structure`); clamped and nudged states add the
    rank-``n_out`` corrections of the module docstring. Linear maps (``free_map``,
    ``output_response``, ``output_conductance``) are computed on first use and cached;
    ``free_map`` and ``output_response`` come from one block solve.

    The sparsity pattern, its scatter map and the symbolic factorization (ordering)
    belong to ``problem.structure`` and are built once per problem; constructing a
    solver costs one value update and one numeric factorization.

    Parameters
    ----------
    problem : LearningProblem
    k : ndarray, shape (E,)
        Conductances (S), positive for a positive-definite ``L_r``.
    backend : str, optional
        Factorization backend (:mod:`circuitlearn.factor`); default
        :func:`~circuitlearn.factor.default_backend`. Read back as :attr:`backend`.

    Raises
    ------
    ProblemError
        If ``L_r`` is singular (for instance zero or negative conductances).

    Examples
    --------
    >>> from circuitlearn.solver.examples import random_problem
    >>> problem, k, x, y = random_problem(0)
    >>> states = EquilibriumSolver(problem, k)
    >>> v_free = states.free(x)
    >>> v_clamped = states.clamped(x, y, eta=1.0, v_free=v_free)
    >>> bool(np.allclose(states.outputs(v_clamped), y))  # eta = 1 clamps onto the targets
    True
    """

    def __init__(self, problem: LearningProblem, k: np.ndarray, *, backend: str | None = None):
        self.problem = problem
        self.k = np.asarray(k, dtype=float)
        if self.k.shape != (problem.num_edges,):
            raise ProblemError(f"k must have shape ({problem.num_edges},), got {self.k.shape}")
        self._st = problem.structure
        backend = backend or default_backend()
        try:
            self._factor = Factorization(self._st.blocks.ff(self.k), spd=True, backend=backend,
                                         symbolic=self._st.symbolic(backend))
        except SingularMatrixError as exc:
            raise ProblemError(f"singular conductance matrix: {exc}") from None

    @property
    def backend(self) -> str:
        """Factorization backend in use (``"cholmod"`` or ``"splu"``)."""
        return self._factor.backend

    # ------------------------------------------------------------ linear maps
    def _solve(self, rhs: np.ndarray) -> np.ndarray:
        try:
            return self._factor.solve(rhs)
        except SingularMatrixError as exc:
            raise ProblemError(f"singular conductance matrix: {exc}") from None

    def _response(self, u: np.ndarray) -> np.ndarray:
        """Free-state potentials (N, c) for drive columns ``u`` (n_in + 1, c)."""
        return self._st.potentials(self._solve(self._st.forcing(self.k, u)), u)

    @cached_property
    def _maps(self) -> tuple[np.ndarray, np.ndarray]:
        """``(H, W)`` from one block solve of ``n_in + 1 + n_out`` right-hand sides
        (a multi-column triangular solve reads the factor once)."""
        eye = np.eye(self.problem.num_inputs + 1)
        m = len(eye)
        rhs = np.empty((self._st.num_free, m + self.problem.num_outputs), order="F")
        self._st.forcing(self.k, eye, out=rhs[:, :m])
        rhs[:, m:] = self._st.out_free
        sol = self._solve(rhs)
        return (self._st.potentials(sol[:, :m], eye),
                np.asarray(self._st.gather @ sol[:, m:]))

    @property
    def free_map(self) -> np.ndarray:
        """``H`` (N, n_in + 1): ``V_F = H [x, 1]`` (V per input unit; last column V)."""
        return self._maps[0]

    @property
    def output_response(self) -> np.ndarray:
        """``W`` (N, n_out): potentials per ampere injected into each output port (ohm),
        all sources off."""
        return self._maps[1]

    @cached_property
    def output_resistance(self) -> np.ndarray:
        """``R = C W`` (n_out, n_out), ohm: the port resistance matrix of the outputs."""
        r = self.outputs(self.output_response.T).T
        return 0.5 * (r + r.T)

    @cached_property
    def output_conductance(self) -> np.ndarray:
        """``S = R^{-1}`` (n_out, n_out), siemens: Schur complement of the reduced
        Laplacian onto the output ports."""
        return np.linalg.inv(self.output_resistance)

    @cached_property
    def edge_output_response(self) -> np.ndarray:
        """``B W`` (E, n_out): edge drops per ampere injected at each output port."""
        return self.edge_drops(self.output_response)

    def edge_drops(self, node_columns: np.ndarray) -> np.ndarray:
        """``B X`` (E, c) for node-space columns ``X`` (N, c): one sparse product."""
        return np.asarray(self._st.incidence @ node_columns)

    # ------------------------------------------------------- per-example states
    def free(self, x: np.ndarray) -> np.ndarray:
        """Free-state node potentials (B, N), V, by one solve per example."""
        u = self._drive(x)
        return self._response(u.T).T

    def clamped(self, x: np.ndarray, y: np.ndarray, eta: float, *,
                v_free: np.ndarray | None = None) -> np.ndarray:
        """Clamped state (B, N): outputs held at ``V_O^F + eta (y - V_O^F)``.

        ``V_C = V_F - eta W S e`` with ``e = C V_F - y``; ``v_free`` (B, N) reuses a
        free state already computed for ``x``.
        """
        v_free = self.free(x) if v_free is None else v_free
        e = self.outputs(v_free) - as_batch(y, self.problem.num_outputs, "y")
        return v_free - eta * (e @ self.output_conductance) @ self.output_response.T

    def nudged(self, x: np.ndarray, y: np.ndarray, beta: float, *,
               v_free: np.ndarray | None = None, nudge: str = "conductance") -> np.ndarray:
        """Nudged state (B, N) for nudge conductance ``beta`` (S, any sign).

        ``V_beta = V_F - beta W (I + beta R)^{-1} e`` with ``e = C V_F - y``;
        ``v_free`` as in :meth:`clamped`. With ``nudge="current"`` the nudge is the
        fixed current ``beta (y - C V_F)`` set from the free state, and
        ``V_beta = V_F - beta W e = V_F - beta lambda`` exactly.
        """
        v_free = self.free(x) if v_free is None else v_free
        e = self.outputs(v_free) - as_batch(y, self.problem.num_outputs, "y")
        return v_free - beta * (e @ self.nudge_gain(beta, nudge)) @ self.output_response.T

    def nudge_gain(self, beta: float, nudge: str = "conductance") -> np.ndarray:
        """``(I + beta R)^{-1}`` (n_out, n_out), symmetric, dimensionless; the identity
        for ``nudge="current"`` (a fixed current does not feel the outputs move)."""
        if nudge not in NUDGES:
            raise ProblemError(f"nudge must be one of {NUDGES}, got {nudge!r}")
        eye = np.eye(self.problem.num_outputs)
        if nudge == "current":
            return eye
        try:
            gain = np.linalg.solve(eye + beta * self.output_resistance, eye)
        except np.linalg.LinAlgError:
            raise ProblemError(f"nudge beta={beta} S makes the network singular") from None
        return 0.5 * (gain + gain.T)

    def adjoint(self, e: np.ndarray) -> np.ndarray:
        """Adjoint states (B, N): potentials when currents ``e`` (B, n_out), A, are
        injected into the output ports (one solve per example), ohm x A = V."""
        rhs = self._st.out_free @ np.asarray(e, float).T
        return np.asarray(self._st.gather @ self._factor.solve(rhs)).T

    def outputs(self, V: np.ndarray) -> np.ndarray:
        """Output values ``C V`` (..., n_out), V."""
        V = np.asarray(V)
        return V[..., self._st.out_pos] - V[..., self._st.out_neg]

    def drops(self, V: np.ndarray) -> np.ndarray:
        """Edge drops ``dV = B V`` (..., E), V."""
        e = self.problem.circuit.resistor_edges
        V = np.asarray(V)
        return V[..., e[:, 0]] - V[..., e[:, 1]]

    def free_outputs(self, x: np.ndarray) -> np.ndarray:
        """Free-state outputs ``C V_F = C H [x, 1]`` (B, n_out), V, from the free map:
        no state of size N per example is formed (memory O(B n_out))."""
        x = as_batch(x, self.problem.num_inputs, "x")
        ch = self.outputs(self.free_map.T)  # (n_in + 1, n_out)
        out = np.empty((len(x), self.problem.num_outputs))
        for rows in chunks(len(x)):
            out[rows] = x[rows] @ ch[:-1] + ch[-1]
        return out

    def mean_power(self, drive_moment: np.ndarray) -> float:
        """Free-state power averaged over a batch, ``mean_b sum_e k_e dV_e^2`` (W), from
        the batch's drive moment ``mean_b u u^T`` (:func:`~circuitlearn.solver.moments.
        drive_moment`): ``tr(D^T K D Sigma_uu)`` with ``D = B H``."""
        d = self.edge_drops(self.free_map)
        return float(np.sum((d.T @ (self.k[:, None] * d)) * drive_moment))

    def power(self, x: np.ndarray) -> np.ndarray:
        """Power dissipated in the resistors in the free state, ``sum_e k_e dV_e^2``
        (B,), W."""
        return (self.drops(self.free(x)) ** 2) @ self.k

    def _drive(self, x: np.ndarray) -> np.ndarray:
        x = as_batch(x, self.problem.num_inputs, "x")
        return np.hstack([x, np.ones((len(x), 1))])


# ------------------------------------------------------------- batch functions
def _check_path(path: str) -> None:
    if path not in PATHS:
        raise ProblemError(f"path must be one of {PATHS}, got {path!r}")


def adjoint_gradient(problem: LearningProblem, k: np.ndarray, x: np.ndarray | BatchMoments,
                     y: np.ndarray | None = None, *, path: str = "moments") -> np.ndarray:
    r"""Exact ``dL/dk`` (E,), V^2/S, by the adjoint method (every edge, trainable or not).

    .. math:: \partial L/\partial k_e = -\operatorname{mean}_b\, dV_{b,e}\, (B \lambda_b)_e,
              \qquad \lambda_b = W e_b,

    where ``lambda_b`` is the adjoint state: the potentials when the output errors
    ``e_b = C V_F - y_b`` (read as amperes) are injected into the output ports.
    """
    _check_path(path)
    solver = EquilibriumSolver(problem, k)
    if path == "moments":
        stats = error_moments(solver, x, y)
        return -contrast(solver, stats, np.eye(problem.num_outputs), 0.0)
    v_free = solver.free(x)
    e = solver.outputs(v_free) - as_batch(y, problem.num_outputs, "y")
    return -np.mean(solver.drops(v_free) * solver.drops(solver.adjoint(e)), axis=0)


def output_conductance(problem: LearningProblem, k: np.ndarray) -> np.ndarray:
    """Port conductance matrix ``S`` (n_out, n_out), siemens.

    ``S = (C L_r^{-1} C^T)^{-1}``: the Schur complement of the grounded Laplacian onto
    the output nodes (for node-pair outputs, the conductance matrix seen by the
    output ports) with every source off. ``E(V_C) - E(V_F) = (eta^2/2) e^T S e``.
    """
    return EquilibriumSolver(problem, k).output_conductance
