r"""DC operating point of linear R/V/I circuits.

Kirchhoff's current law at every node ``n`` reads

.. math:: (L V)_n + \sum_s A_{sn} i_s = b_n ,

with ``L`` the weighted Laplacian (:mod:`circuitlearn.laplacian`), ``A`` the voltage
source incidence (``+1`` at ``n+``, ``-1`` at ``n-``), ``i_s`` the source currents
(from ``n+`` through the source to ``n-``) and ``b_n`` the current injected into
``n`` by current sources. Each voltage source adds ``(A V)_s = E_s``.

Fast path (every conductance positive)
    The structure of the learning equilibria with no inputs and no outputs
    (:class:`~circuitlearn.solver.structure.ProblemStructure`): each tree of the
    voltage-source forest is contracted onto one node (ground for the tree that
    holds ground, so that grounded sources are Dirichlet nodes), and the free
    potentials solve the SPD system ``L_r V_r = P^T (b - L Q s_v)`` (Cholesky).
    Source currents then follow from KCL at the source nodes.
General path
    With a negative (or zero) conductance the full modified-nodal-analysis system
    with ground removed is solved by sparse LU. It is also the tests' oracle for
    the fast path.

>>> from circuitlearn.netlist import parse
>>> op = solve(parse("bridge\nV1 a 0 2\nR1 a b 1\nR2 b 0 1\n"))
>>> op.voltage("b"), float(op.source_currents[0]), op.method
(1.0, -1.0, 'reduced')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from circuitlearn.circuit import Circuit
from circuitlearn.errors import SingularMatrixError, TopologyError
from circuitlearn.solver.factor import Factorization
from circuitlearn.solver.laplacian import (
    incidence_matrix,
    injection_matrix,
    laplacian,
)
from circuitlearn.solver.structure import ProblemStructure
from circuitlearn.solver.topology import check_topology, source_forest


@dataclass(frozen=True, eq=False)
class OperatingPoint:
    """DC solution of a circuit.

    Attributes
    ----------
    circuit : Circuit
    node_voltages : ndarray, shape (N,)
        Node potentials in volts, ``node_voltages[0] == 0`` (ground).
    source_currents : ndarray, shape (S,)
        Voltage-source currents in amperes, SPICE sign: from ``n+`` through the
        source to ``n-`` (a source delivering power has a negative current).
    method : str
        ``"reduced"`` (fast SPD path) or ``"mna"`` (general path).
    """

    circuit: Circuit
    node_voltages: np.ndarray
    source_currents: np.ndarray
    method: str

    def voltage(self, node: str) -> float:
        """Potential of ``node`` (V)."""
        return float(self.node_voltages[self.circuit.node_index(node)])

    def resistor_voltages(self) -> np.ndarray:
        """Drops ``dV_e = V(n+) - V(n-)`` across each resistor (V), shape (E,)."""
        e = self.circuit.resistor_edges
        return self.node_voltages[e[:, 0]] - self.node_voltages[e[:, 1]]

    def resistor_currents(self) -> np.ndarray:
        """Currents ``k_e dV_e`` from ``n+`` to ``n-`` through each resistor (A)."""
        return self.circuit.conductance * self.resistor_voltages()

    def resistor_power(self) -> np.ndarray:
        """Dissipated power ``k_e dV_e^2`` in each resistor (W)."""
        return self.circuit.conductance * self.resistor_voltages() ** 2

    def kcl_residual(self) -> np.ndarray:
        """KCL residual ``L V + A^T i - b`` at every non-ground node (A)."""
        c = self.circuit
        lv = laplacian(c.resistor_edges, c.conductance, c.num_nodes) @ self.node_voltages
        at_i = incidence_matrix(c.vsource_edges, c.num_nodes).T @ self.source_currents
        return (lv + at_i - _injections(c))[1:]

    def to_dict(self) -> dict[str, dict[str, float]]:
        """``{"node_voltages": {node: V}, "source_currents": {source: A}}`` with
        lower-case names, ground omitted (the schema of ngspice reference files)."""
        c = self.circuit
        return {
            "node_voltages": {n: float(v) for n, v in
                              zip(c.nodes[1:], self.node_voltages[1:], strict=True)},
            "source_currents": {n: float(i) for n, i in
                                zip(c.vsource_names, self.source_currents, strict=True)},
        }


def _injections(circuit: Circuit) -> np.ndarray:
    """Current ``b_n`` injected into each node by current sources (A)."""
    return injection_matrix(circuit.isource_edges, circuit.num_nodes) @ circuit.isource_values


def solve(circuit: Circuit, *, backend: str | None = None) -> OperatingPoint:
    """DC operating point of ``circuit``.

    Parameters
    ----------
    circuit : Circuit
    backend : str, optional
        Factorization backend for the fast path (see :mod:`circuitlearn.solver.factor`).

    Raises
    ------
    TopologyError
        If the operating point is not unique (floating node, current-source cut
        set, voltage-source loop or short, singular network).
    """
    check_topology(circuit)
    if np.all(circuit.conductance > 0):
        return _solve_reduced(circuit, backend)
    return _solve_mna(circuit)


def _solve_reduced(circuit: Circuit, backend: str | None) -> OperatingPoint:
    structure = ProblemStructure.build(circuit, (), ())
    k, bias = circuit.conductance, np.ones((1, 1))
    try:
        factor = Factorization(structure.blocks.ff(k), spd=True, backend=backend)
        v = structure.potentials(factor.solve(structure.forcing(k, bias)), bias)[:, 0]
    except SingularMatrixError as exc:  # pragma: no cover - excluded by topology checks
        raise TopologyError(f"singular conductance matrix: {exc}") from None
    return OperatingPoint(circuit, v, _source_currents(circuit, v), "reduced")


def _source_currents(circuit: Circuit, v: np.ndarray) -> np.ndarray:
    """Solve KCL ``A^T i = b - L V`` at the source nodes but one per source tree (its
    root, whose equation the others imply): a square system, one row per source."""
    if len(circuit.vsource_names) == 0:
        return np.zeros(0)
    residual = _injections(circuit) - laplacian(circuit.resistor_edges, circuit.conductance,
                                                circuit.num_nodes) @ v
    at = incidence_matrix(circuit.vsource_edges, circuit.num_nodes).T.tocsr()
    rep, _ = source_forest(circuit.num_nodes, circuit.vsource_edges)
    nodes = np.unique(circuit.vsource_edges)
    nodes = nodes[rep[nodes] != nodes]
    return Factorization(at[nodes], spd=False).solve(residual[nodes])


def _mna_matrix(circuit: Circuit, k: np.ndarray) -> sp.csc_matrix:
    """Modified-nodal-analysis matrix ``[[L, A^T], [A, 0]]`` with ground removed."""
    n = circuit.num_nodes
    lap = laplacian(circuit.resistor_edges, k, n)[1:, 1:]
    a = incidence_matrix(circuit.vsource_edges, n)[:, 1:]
    return sp.bmat([[lap, a.T], [a, None]], format="csc") if a.shape[0] else lap.tocsc()


MAX_CANCELLATION = 1e12


def _cancellation(system: sp.csc_matrix, magnitudes: sp.csc_matrix) -> float:
    """Estimate of ``||A^{-1} |A|||_1``, with ``|A|`` the matrix built from ``|k|``: how
    much relative changes of the conductances move the solution. Large values mean
    positive and negative conductances (nearly) cancel: a singular circuit that
    floating-point rounding has made look regular."""
    lu = spla.splu(system, permc_spec="COLAMD")
    op = spla.LinearOperator(system.shape, dtype=float,
                             matvec=lambda x: lu.solve(magnitudes @ x),
                             rmatvec=lambda y: magnitudes.T @ lu.solve(y, "T"))
    return float(spla.onenormest(op))


def _solve_mna(circuit: Circuit) -> OperatingPoint:
    n = circuit.num_nodes
    system = _mna_matrix(circuit, circuit.conductance)
    rhs = np.concatenate([_injections(circuit)[1:], circuit.vsource_values])
    try:
        x = Factorization(system, spd=False).solve(rhs)
        if np.any(circuit.conductance < 0):
            ratio = _cancellation(system, _mna_matrix(circuit, np.abs(circuit.conductance)))
            if ratio > MAX_CANCELLATION:
                raise SingularMatrixError(f"positive and negative conductances cancel to "
                                          f"rounding (sensitivity {ratio:.1e})")
    except SingularMatrixError as exc:
        negative = [f"{circuit.origins.get(n, '?')}: {n}" for n, k in
                    zip(circuit.resistor_names, circuit.conductance, strict=True) if k < 0]
        hint = f"; negative resistors: {', '.join(negative[:8])}" if negative else ""
        raise TopologyError(
            "singular circuit matrix: the operating point is not unique (for instance "
            f"positive and negative resistances that cancel) [{exc}]{hint}") from None
    v = np.concatenate([[0.0], x[: n - 1]])
    return OperatingPoint(circuit, v, x[n - 1:], "mna")
