r"""Per-component invariants :math:`Q_j = \sum_{e \in C_j} k_e^2` of the learning flow.

Remove the nodes whose potentials are held by voltage sources (ground, the input
and the bias sources: every node of the voltage-source tree that contains ground;
a floating source tree is one free node of the contracted graph,
:func:`~circuitlearn.solver.topology.source_forest`). The remaining *interior*
nodes fall into connected components :math:`I_j`; :math:`C_j` is the set of edges
with an end in :math:`I_j`. Edges whose two ends lie in one source tree have a
fixed drop (*held* edges, e.g. both ends held).

Theorem (per-component scaling). If no current source injects into :math:`I_j`,
Kirchhoff's law on :math:`I_j` reads :math:`L^{(j)}_{II} V_I = -L^{(j)}_{ID} V_D`
with :math:`L^{(j)} = B_j^\top \mathrm{diag}(k_{C_j}) B_j`: linear in
:math:`k_{C_j}` alone, so :math:`V_{I_j}(c\,k_{C_j}) = V_{I_j}(k_{C_j})` and the loss
is invariant under scaling one component. Euler's relation gives
:math:`k_{C_j}\cdot\partial_{C_j} L = 0`, so the gradient flow conserves every

.. math:: Q_j = \sum_{e \in C_j} k_e^2 \quad (\mathrm{S}^2)

separately (when every edge of :math:`C_j` trains). Coupled learning and
equilibrium propagation drift, in closed form (:func:`component_q_rates`, with
``e = C V_F - y``, ``S = R^{-1}``, ``G_\pm = (I \pm \beta R)^{-1}`` and the
component's share of the output resistance
:math:`R_j = (BW)_{C_j}^\top \mathrm{diag}(k_{C_j}) (BW)_{C_j}`,
:math:`\sum_j R_j = R`):

.. math::

    \dot Q_j^{CL} = -\alpha\eta\,\langle (Se)^\top R_j (Se)\rangle,\qquad
    \dot Q_j^{EP\pm} = \mp\alpha\beta\,\langle e^\top G_\pm R_j G_\pm e\rangle,\qquad
    \dot Q_j^{EP\,c} = \tfrac12(\dot Q_j^{EP+} + \dot Q_j^{EP-}) = O(\beta^2).

>>> from circuitlearn.netlist import load
>>> from circuitlearn.solver.problem import make_problem
>>> problem = make_problem(load("netlists/bridge.cir"), ["vs"], ["a"])
>>> comps = component_invariants(problem)
>>> [c.name for c in comps], comps[0].conserved
(['q_1'], True)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from circuitlearn.solver.equilibrium import EquilibriumSolver
from circuitlearn.solver.moments import BatchMoments, error_moments
from circuitlearn.solver.problem import LearningProblem
from circuitlearn.solver.topology import source_forest


@dataclass(frozen=True)
class Component:
    """One component ``C_j`` of trainable structure.

    Attributes
    ----------
    name : str
        ``"q_1"``, ``"q_2"``, ... (numbered by first edge).
    edges : ndarray of int
        Edge indices of ``C_j``.
    nodes : tuple of str
        Interior nodes ``I_j`` (with the nodes of floating source trees in it).
    outputs : tuple of int
        Indices of the outputs with a node in ``I_j``.
    current_sources : tuple of str
        Current sources injecting into ``I_j`` (they break the law).
    fixed_edges : tuple of int
        Edges of ``C_j`` that do not train (they break the law).
    """

    name: str
    edges: np.ndarray
    nodes: tuple[str, ...]
    outputs: tuple[int, ...]
    current_sources: tuple[str, ...]
    fixed_edges: tuple[int, ...]

    @property
    def conserved(self) -> bool:
        """``Q_j`` is conserved by the gradient flow (exactly): no current source
        injects into the component and every edge trains, or nothing can move it
        (no output in the component)."""
        return not self.outputs or not (self.current_sources or self.fixed_edges)


@dataclass(frozen=True)
class Components:
    """The components of a problem and its held edges.

    Attributes
    ----------
    items : tuple of Component
    held_edges : ndarray of int
        Edges with both ends in one voltage-source tree (fixed drop: frozen for
        every rule).
    trainable : ndarray of bool, shape (E,)
    """

    items: tuple[Component, ...]
    held_edges: np.ndarray
    trainable: np.ndarray

    def __iter__(self) -> Iterator[Component]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Component:
        return self.items[i]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.items)

    def q(self, k: np.ndarray) -> np.ndarray:
        """``Q_j = sum_{e in C_j, trainable} k_e^2`` for every component (S^2)."""
        k2 = np.where(self.trainable, np.asarray(k, float) ** 2, 0.0)
        return np.array([k2[c.edges].sum() for c in self.items])

    def q_rate(self, k: np.ndarray, dkdt: np.ndarray) -> np.ndarray:
        """``dQ_j/dt = 2 sum_{e in C_j, trainable} k_e dk_e/dt`` (S^2/s)."""
        prod = np.where(self.trainable, 2.0 * np.asarray(k, float) * dkdt, 0.0)
        return np.array([prod[c.edges].sum() for c in self.items])

    def describe(self, problem: LearningProblem) -> list[dict]:
        """JSON-able description: name, resistor names, nodes, outputs, sources."""
        names = problem.circuit.resistor_names
        return [{"name": c.name, "edges": [names[e] for e in c.edges],
                 "nodes": list(c.nodes),
                 "outputs": [problem.output_names[o] for o in c.outputs],
                 "current_sources": list(c.current_sources),
                 "fixed_edges": [names[e] for e in c.fixed_edges],
                 "conserved_by_gradient_flow": c.conserved} for c in self.items]


def component_invariants(problem: LearningProblem) -> Components:
    """The components ``C_j`` of ``problem`` (see the module docstring).

    Returns
    -------
    Components
        ``.q(k)`` gives every ``Q_j`` (S^2); ``.held_edges`` the fixed-drop edges.
    """
    c = problem.circuit
    n = c.num_nodes
    rep, _ = source_forest(n, c.vsource_edges)
    ends = rep[c.resistor_edges]
    held = ends[:, 0] == ends[:, 1]
    label = _interior_labels(n, rep, ends[~held])
    edge_comp = np.where(label[ends[:, 0]] >= 0, label[ends[:, 0]], label[ends[:, 1]])
    edge_comp[held] = -1
    order = {lab: i for i, lab in enumerate(dict.fromkeys(edge_comp[edge_comp >= 0].tolist()))}
    out_nodes = [(rep[a], rep[b]) for a, b in problem.outputs]
    items = []
    for lab, i in order.items():
        edges = np.flatnonzero(edge_comp == lab)
        members = np.flatnonzero(label[rep] == lab)
        outs = tuple(o for o, pair in enumerate(out_nodes) if lab in label[list(pair)])
        isrc = tuple(name for name, (a, b) in zip(c.isource_names, c.isource_edges.tolist(),
                                                  strict=True)
                     if lab in (label[rep[a]], label[rep[b]]))
        fixed = tuple(int(e) for e in edges if not problem.trainable[e])
        items.append(Component(f"q_{i + 1}", edges, tuple(c.nodes[m] for m in members),
                               outs, isrc, fixed))
    return Components(tuple(items), np.flatnonzero(held), np.asarray(problem.trainable, bool))


def _interior_labels(n: int, rep: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Component label of every representative node (-1 for held nodes and
    non-representatives), from the edges ``ends`` (R, 2) between representatives."""
    interior = (rep == np.arange(n)) & (np.arange(n) != 0)
    keep = interior[ends[:, 0]] & interior[ends[:, 1]]
    e = ends[keep]
    graph = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, lab = connected_components(graph, directed=False)
    return np.where(interior, lab, -1)


def component_q_rates(problem: LearningProblem, components: Components, k: np.ndarray,
                      x: np.ndarray | BatchMoments, y: np.ndarray | None = None, *,
                      rule: str, alpha: float = 1.0, eta: float = 0.0, beta: float = 0.0,
                      nudging: str = "positive", nudge: str = "conductance") -> np.ndarray:
    r"""Closed-form ``dQ_j/dt`` (S^2/s) of coupled learning (``rule="cl"``) and
    equilibrium propagation (``"ep"``) for every component (module docstring).

    Valid for components without current sources whose edges all train; the
    gradient flow (``"gradient"``) gives zeros. The batch enters through the error
    moments ``<e e^T>`` only: ``<e^T M e> = tr(M <e e^T>)``.
    """
    if rule == "gradient":
        return np.zeros(len(components))
    solver = EquilibriumSolver(problem, k)
    ee = error_moments(solver, x, y).ee
    bw = solver.edge_output_response
    shares = [bw[c.edges].T @ (solver.k[c.edges, None] * bw[c.edges]) for c in components]
    if rule == "cl":
        s = solver.output_conductance
        return np.array([-alpha * eta * np.trace(s @ r_j @ s @ ee) for r_j in shares])
    signs = {"positive": (1.0,), "negative": (-1.0,), "centered": (1.0, -1.0)}[nudging]
    rates = []
    for sign in signs:
        g = solver.nudge_gain(sign * beta, nudge)
        rates.append([-sign * alpha * beta * np.trace(g @ r_j @ g @ ee) for r_j in shares])
    return np.mean(rates, axis=0)
