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
the batch. :func:`adjoint_gradient` returns ``dL/dk`` (V^2/S) for every edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .circuit import Circuit
from .equilibrium_moments import BatchMoments, as_batch, contrast, error_moments
from .equilibrium_structure import ProblemError, ProblemStructure
from .factor import Factorization, SingularMatrixError
from .topology import check_topology

__all__ = [
    "BatchMoments", "EquilibriumSolver", "LearningProblem", "ProblemError", "accuracy",
    "adjoint_gradient", "as_batch", "make_problem", "mse_loss", "output_conductance", "predict",
]

PATHS = ("moments", "states")


@dataclass(frozen=True, eq=False)
class LearningProblem:
    """A circuit with named inputs, outputs and trainable edges.

    Attributes
    ----------
    circuit : Circuit
    inputs : tuple of str
        Input source names (lower case), V or I sources; column ``j`` of ``x`` is
        the value of ``inputs[j]`` (V or A).
    outputs : tuple of (int, int)
        ``(node+, node-)`` index pairs; ``node- == 0`` for a single-node output.
    output_names : tuple of str
        ``"a"`` for a node output, ``"a,b"`` for a difference ``V(a) - V(b)``.
    trainable : ndarray of bool, shape (E,)
        Edges whose conductance learns.
    voltage_driven : bool
        All inputs are voltage sources and there is no current source: then
        ``V(c k) = V(k)`` for ``c > 0`` and ``k . dL/dk = 0``.
    """

    circuit: Circuit
    inputs: tuple[str, ...]
    outputs: tuple[tuple[int, int], ...]
    output_names: tuple[str, ...]
    trainable: np.ndarray
    voltage_driven: bool

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    @property
    def num_edges(self) -> int:
        return self.circuit.num_resistors

    def with_inputs(self, x: np.ndarray) -> Circuit:
        """The circuit with input sources set to one example ``x`` (n_in,), V or A."""
        x = np.asarray(x, float).reshape(-1)
        if x.shape != (self.num_inputs,):
            raise ProblemError(f"one example needs {self.num_inputs} input values")
        c = self.circuit
        v, i = c.vsource_values.copy(), c.isource_values.copy()
        for name, value in zip(self.inputs, x, strict=True):
            if name in c.vsource_names:
                v[c.vsource_names.index(name)] = value
            else:
                i[c.isource_names.index(name)] = value
        return c.with_sources(v, i)

    @property
    def structure(self) -> ProblemStructure:
        """Conductance-independent matrices, built on first use and cached."""
        cached = self.__dict__.get("_structure")
        if cached is None:
            cached = ProblemStructure.build(self.circuit, self.inputs, self.outputs)
            object.__setattr__(self, "_structure", cached)
        return cached


def make_problem(circuit: Circuit, inputs: Sequence[str],
                 outputs: Sequence[str | tuple[str, str]],
                 trainable: np.ndarray | None = None) -> LearningProblem:
    """Build and validate a :class:`LearningProblem`.

    Parameters
    ----------
    circuit : Circuit
        Any topologically valid R/V/I circuit (floating voltage sources allowed).
    inputs : sequence of str
        Names of the input sources (case-insensitive).
    outputs : sequence of str or (str, str)
        Output node names, or ``(node+, node-)`` pairs for ``V(node+) - V(node-)``.
    trainable : ndarray of bool, shape (E,), optional
        Default: every edge.

    Raises
    ------
    ProblemError
        Unknown or repeated source, unknown node, an output fixed by voltage sources
        or outputs that cannot be clamped independently, a bad ``trainable`` mask.
    TopologyError
        If the circuit has no unique operating point.
    """
    check_topology(circuit)
    names = tuple(_input_names(circuit, inputs))
    pairs, out_names = _output_pairs(circuit, outputs)
    mask = np.ones(circuit.num_resistors, bool) if trainable is None else np.asarray(trainable)
    if mask.shape != (circuit.num_resistors,) or not np.isin(mask, (0, 1)).all():
        raise ProblemError(f"trainable must be a bool array of shape ({circuit.num_resistors},)")
    mask = mask.astype(bool)
    mask.setflags(write=False)
    voltage = all(n in circuit.vsource_names for n in names) and not circuit.isource_names
    problem = LearningProblem(circuit, names, pairs, out_names, mask, voltage)
    if not problem.structure.output_ranks_ok():
        raise ProblemError(f"outputs {', '.join(out_names)} cannot be clamped independently: "
                           "an output is held by voltage sources or the outputs form a loop")
    return problem


def _input_names(circuit: Circuit, inputs: Sequence[str]) -> list[str]:
    known = set(circuit.vsource_names) | set(circuit.isource_names)
    names = [str(n).lower() for n in inputs]
    for name in names:
        if name not in known:
            raise ProblemError(f"unknown input source {name!r} (sources: "
                               f"{', '.join(sorted(known)) or 'none'})")
    if len(set(names)) != len(names):
        raise ProblemError(f"repeated input source in {names}")
    return names


def _output_pairs(circuit: Circuit, outputs: Sequence[str | tuple[str, str]]
                  ) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...]]:
    pairs, labels = [], []
    for out in outputs:
        nodes = (out, "0") if isinstance(out, str) else tuple(out)
        if len(nodes) != 2:
            raise ProblemError(f"output {out!r} must be a node name or a (node+, node-) pair")
        try:
            idx = tuple(circuit.node_index(str(n)) for n in nodes)
        except KeyError as exc:
            raise ProblemError(f"output {out!r}: {exc.args[0]}") from None
        if idx[0] == idx[1]:
            raise ProblemError(f"output {out!r} is a difference of a node with itself")
        pairs.append(idx)
        labels.append(",".join(circuit.nodes[i] for i in idx) if idx[1] else circuit.nodes[idx[0]])
    return tuple(pairs), tuple(labels)


class EquilibriumSolver:
    r"""States of one conductance configuration: one sparse factorization of ``L_r``.

    The free state solves the reduced Kirchhoff equations

    .. math:: L_r(k)\, V_r = P^\top \big(b(x) - L(k)\, Q\, s_v(x)\big),
              \qquad V = P V_r + Q s_v ,

    (:mod:`circuitlearn.equilibrium_structure`); clamped and nudged states add the
    rank-``n_out`` corrections of the module docstring. Linear maps (``free_map``,
    ``output_response``, ``output_conductance``) are computed on first use and cached.

    Parameters
    ----------
    problem : LearningProblem
    k : ndarray, shape (E,)
        Conductances (S), positive for a positive-definite ``L_r``.
    backend : str, optional
        Factorization backend (:mod:`circuitlearn.factor`).

    Raises
    ------
    ProblemError
        If ``L_r`` is singular (for instance zero or negative conductances).
    """

    def __init__(self, problem: LearningProblem, k: np.ndarray, *, backend: str | None = None):
        self.problem = problem
        self.k = np.asarray(k, dtype=float)
        if self.k.shape != (problem.num_edges,):
            raise ProblemError(f"k must have shape ({problem.num_edges},), got {self.k.shape}")
        self._st = problem.structure
        try:
            self._factor = Factorization(self._st.blocks.ff(self.k), spd=True, backend=backend)
        except SingularMatrixError as exc:
            raise ProblemError(f"singular conductance matrix: {exc}") from None

    # ------------------------------------------------------------ linear maps
    def _response(self, u: np.ndarray) -> np.ndarray:
        """Free-state potentials (N, c) for drive columns ``u`` (n_in + 1, c)."""
        try:
            v_free = self._factor.solve(self._st.forcing(self.k, u))
        except SingularMatrixError as exc:
            raise ProblemError(f"singular conductance matrix: {exc}") from None
        return self._st.potentials(v_free, u)

    @cached_property
    def free_map(self) -> np.ndarray:
        """``H`` (N, n_in + 1): ``V_F = H [x, 1]`` (V per input unit; last column V)."""
        return self._response(np.eye(self.problem.num_inputs + 1))

    @cached_property
    def output_response(self) -> np.ndarray:
        """``W`` (N, n_out): potentials per ampere injected into each output port (ohm),
        all sources off."""
        v_free = self._factor.solve(self._st.out_free)
        return np.asarray(self._st.gather @ v_free)

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
               v_free: np.ndarray | None = None) -> np.ndarray:
        """Nudged state (B, N) for nudge conductance ``beta`` (S, any sign).

        ``V_beta = V_F - beta W (I + beta R)^{-1} e`` with ``e = C V_F - y``;
        ``v_free`` as in :meth:`clamped`.
        """
        v_free = self.free(x) if v_free is None else v_free
        e = self.outputs(v_free) - as_batch(y, self.problem.num_outputs, "y")
        return v_free - beta * (e @ self.nudge_gain(beta)) @ self.output_response.T

    def nudge_gain(self, beta: float) -> np.ndarray:
        """``(I + beta R)^{-1}`` (n_out, n_out), symmetric, dimensionless."""
        eye = np.eye(self.problem.num_outputs)
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


def predict(problem: LearningProblem, k: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Free-state outputs ``V_O(x)`` (B, n_out), V."""
    solver = EquilibriumSolver(problem, k)
    return solver.outputs(solver.free(x))


def mse_loss(problem: LearningProblem, k: np.ndarray, x: np.ndarray | BatchMoments,
             y: np.ndarray | None = None, *, path: str = "moments") -> float:
    """Loss ``L = (1/2) mean_b ||V_O(x_b) - y_b||^2`` (V^2).

    ``path="moments"`` uses the affine free state (``x`` may be a precomputed
    :class:`BatchMoments`); ``"states"`` solves each example.
    """
    _check_path(path)
    solver = EquilibriumSolver(problem, k)
    if path == "moments":
        return error_moments(solver, x, y).loss
    e = solver.outputs(solver.free(x)) - as_batch(y, problem.num_outputs, "y")
    return 0.5 * float(np.mean(np.sum(e**2, axis=1)))


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


def accuracy(problem: LearningProblem, k: np.ndarray, x: np.ndarray,
             labels: np.ndarray) -> float:
    """Fraction of examples whose largest output voltage is the class label.

    ``labels`` are integer classes (B,) or targets (B, n_out) read by argmax.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = np.argmax(labels, axis=1)
    guess = np.argmax(predict(problem, k, x), axis=1)
    return float(np.mean(guess == labels))
