r"""Conductance-independent structure of a learning problem.

Voltage sources form a forest (checked by :mod:`circuitlearn.topology`). Every tree
of that forest is contracted onto one *representative* node: ground for the tree
that contains ground, its lowest-index node otherwise (a floating source tree). Node
potentials are then

.. math:: V = P\,V_r + Q\,s_v ,

with ``V_r`` the potentials of the free representatives, ``P`` (N x F) the 0/1 map
from a node to its representative, ``Q`` (N x S_v) the signed sums of source values
along each node's path to its representative and ``s_v`` the source values (V).
KCL summed over each contracted tree gives the reduced SPD system

.. math:: L_r V_r = P^\top (b - L\,Q\,s_v), \qquad L_r = P^\top L P ,

where ``L = B^T diag(k) B`` and ``b`` the currents injected by current sources (A).
``L_r`` is the Laplacian of the contracted graph with its Dirichlet node (ground)
removed; for grounded sources it is exactly the free-free block ``L_ff``.

The sources enter through one *drive vector* ``u = [x, 1]`` per example: column
``j < n_in`` of the drive maps is input source ``j`` at unit value, the last column
holds every other source at its netlist value (the constant bias).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from circuitlearn.circuit import Circuit
from circuitlearn.solver.factor import SymbolicFactor, default_backend
from circuitlearn.solver.laplacian import BlockLaplacian, incidence_matrix, injection_matrix
from circuitlearn.solver.topology import source_forest


@dataclass(frozen=True, eq=False)
class ProblemStructure:
    """Matrices of a learning problem that do not depend on the conductances.

    Attributes
    ----------
    incidence : csr_matrix, shape (E, N)
        ``B``: edge drops ``dV = B V`` (V).
    blocks : BlockLaplacian
        Blocks of the contracted Laplacian; ``blocks.ff(k)`` is ``L_r`` (S).
    gather : csr_matrix, shape (N, F)
        ``P`` restricted to free representatives.
    drive_nodes : csr_matrix, shape (N, n_in + 1)
        Potential offsets ``Q s_v`` per unit input and for the bias (V per unit).
    drive_drops : csr_matrix, shape (E, n_in + 1)
        ``B @ drive_nodes``.
    drive_currents : csr_matrix, shape (N, n_in + 1)
        Currents injected by current sources per unit input and for the bias (A).
    out_pos, out_neg : ndarray of int, shape (n_out,)
        Output node pairs: output ``o`` is ``V[out_pos[o]] - V[out_neg[o]]``.
    out_free : ndarray, shape (F, n_out)
        ``(C P)^T`` on free representatives: KCL right-hand side of a unit current
        injected into each output port.

    Notes
    -----
    Everything here is built once per problem (:attr:`LearningProblem.structure`),
    including the symbolic factorization of ``L_r`` (:meth:`symbolic`, one per
    backend): a training step only updates values and refactors numerically.
    """

    incidence: sp.csr_matrix
    blocks: BlockLaplacian
    gather: sp.csr_matrix
    drive_nodes: sp.csr_matrix
    drive_drops: sp.csr_matrix
    drive_currents: sp.csr_matrix
    out_pos: np.ndarray
    out_neg: np.ndarray
    out_free: np.ndarray
    _symbolic: dict[str, SymbolicFactor] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, circuit: Circuit, inputs: Sequence[str],
              outputs: Sequence[tuple[int, int]]) -> ProblemStructure:
        """Assemble the structure of ``circuit`` with input sources ``inputs`` (names)
        and output node pairs ``outputs``."""
        n = circuit.num_nodes
        rep, offsets = source_forest(n, circuit.vsource_edges)
        free = np.flatnonzero((rep == np.arange(n)) & (np.arange(n) != 0))
        blocks = BlockLaplacian(rep[circuit.resistor_edges], n, np.setdiff1d(np.arange(n), free))
        col = np.full(n, -1)
        col[free] = np.arange(len(free))
        hit = col[rep] >= 0
        gather = sp.csr_matrix((np.ones(hit.sum()), (np.flatnonzero(hit), col[rep[hit]])),
                               shape=(n, len(free)))
        sel_v, sel_i = _drive_selection(circuit, inputs)
        incidence = incidence_matrix(circuit.resistor_edges, n)
        drive_nodes = (offsets @ sel_v).tocsr()
        pos = np.array([p for p, _ in outputs], np.int64)
        neg = np.array([m for _, m in outputs], np.int64)
        c_t = sp.csr_matrix((np.r_[np.ones(len(pos)), -np.ones(len(neg))],
                             (np.r_[pos, neg], np.r_[np.arange(len(pos)), np.arange(len(neg))])),
                            shape=(n, len(pos)))
        return cls(incidence, blocks, gather, drive_nodes, (incidence @ drive_nodes).tocsr(),
                   (injection_matrix(circuit.isource_edges, n) @ sel_i).tocsr(), pos, neg,
                   np.asarray((gather.T @ c_t).todense()))

    @property
    def num_free(self) -> int:
        """Number ``F`` of unknown potentials (free representatives)."""
        return self.gather.shape[1]

    def forcing(self, k: np.ndarray, u: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Right-hand side ``P^T (b - L Q s_v)`` of the reduced KCL (A), shape (F, c).

        ``u`` (n_in + 1, c) holds one drive vector ``[x, 1]`` per column; ``out``
        (F, c), if given, receives the result. Only the edges next to voltage-source
        nodes carry drive drops, so the cost is O(F c) for the output plus the work
        on those few edges, not O(E c).
        """
        drive_edges, drive_inc, drive_drops, free_currents = self._drive_terms
        u = np.asarray(u, dtype=float)
        if out is None:
            out = np.zeros((self.num_free, u.shape[1]))
        else:
            out[...] = 0.0
        if free_currents.nnz:
            out += free_currents @ u
        if len(drive_edges):
            rows, inc = drive_inc
            out[rows] -= inc @ (k[drive_edges, None] * (drive_drops @ u))
        return out

    @cached_property
    def _drive_terms(self) -> tuple:
        """Edges with drive drops (T,); the rows of ``P^T B^T`` they touch and that
        block (R, T), sparse; their drops per drive column (T, n_in + 1), dense;
        ``P^T`` times the drive currents (F, n_in + 1), sparse."""
        dd = self.drive_drops.tocsr()
        edges = np.flatnonzero(np.diff(dd.indptr))
        inc = (self.gather.T @ self.incidence[edges].T).tocsr()
        rows = np.flatnonzero(np.diff(inc.indptr))
        free_currents = (self.gather.T @ self.drive_currents).tocsr()
        free_currents.eliminate_zeros()
        return (edges, (rows, inc[rows].tocsr()), dd[edges].toarray(), free_currents)

    def __getstate__(self) -> dict:
        # symbolic factorizations hold C library objects: rebuilt on demand after
        # unpickling or copying
        return {**self.__dict__, "_symbolic": {}}

    def symbolic(self, backend: str | None = None) -> SymbolicFactor:
        """Symbolic factorization of ``L_r``'s pattern for ``backend`` (default:
        :func:`~circuitlearn.factor.default_backend`), analysed on first use and
        cached: the fill-reducing ordering is computed once per problem."""
        backend = backend or default_backend()
        cached = self._symbolic.get(backend)
        if cached is None:
            cached = SymbolicFactor(self.blocks.ff(np.ones(self.incidence.shape[0])),
                                    spd=True, backend=backend)
            self._symbolic[backend] = cached
        return cached

    def potentials(self, v_free: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Node potentials ``V = P V_r + Q s_v`` (V), shape (N, c)."""
        return np.asarray(self.gather @ v_free + self.drive_nodes @ u)

    def output_ranks_ok(self) -> bool:
        """True when the outputs can be clamped independently (``C P`` has full row
        rank on the free representatives)."""
        touched = np.flatnonzero(np.any(self.out_free != 0, axis=1))
        sub = self.out_free[touched]
        n_out = self.out_free.shape[1]
        return n_out == 0 or (sub.size > 0 and np.linalg.matrix_rank(sub) == n_out)


def _drive_selection(circuit: Circuit, inputs: Sequence[str]) -> tuple[sp.csr_matrix, ...]:
    """Source values per drive column: unit input ``j`` in column ``j``, the other
    sources at their netlist values in the last column (V for ``sel_v``, A for ``sel_i``)."""
    m = len(inputs) + 1
    sel = {"v": np.zeros((len(circuit.vsource_names), m)),
           "i": np.zeros((len(circuit.isource_names), m))}
    sel["v"][:, -1] = circuit.vsource_values
    sel["i"][:, -1] = circuit.isource_values
    index = {("v", n): i for i, n in enumerate(circuit.vsource_names)}
    index.update({("i", n): i for i, n in enumerate(circuit.isource_names)})
    for j, name in enumerate(inputs):
        kind = "v" if ("v", name) in index else "i"
        row = index[(kind, name)]
        sel[kind][row, -1] = 0.0
        sel[kind][row, j] = 1.0
    return sp.csr_matrix(sel["v"]), sp.csr_matrix(sel["i"])
