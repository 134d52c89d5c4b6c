r"""Weighted graph Laplacians on a fixed sparsity pattern.

For resistor edges ``e = (a, b)`` with conductances ``k_e`` (S), the incidence matrix
``B`` (E x N) has ``B[e, a] = +1`` and ``B[e, b] = -1``, the edge voltage drops are
``dV = B V`` and the weighted Laplacian (nodal conductance matrix) is

.. math:: L = B^\top \operatorname{diag}(k) B ,

so that ``(L V)_n`` is the current leaving node ``n`` through resistors (A).

:class:`BlockLaplacian` splits the nodes into *free* nodes (unknown potentials) and
*fixed* nodes (Dirichlet: ground and nodes held by voltage sources) and returns the
blocks ``L_ff`` (CSC) and ``L_fd`` (CSR). The sparsity pattern and a scatter map
``M`` (nnz x E) are built once; a change of conductances costs one sparse
mat-vec ``data = M k``, never a COO rebuild.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def incidence_matrix(edges: np.ndarray, num_nodes: int) -> sp.csr_matrix:
    """Signed incidence matrix ``B`` (E x N): ``+1`` at ``n+``, ``-1`` at ``n-``.

    A self-loop (``n+ == n-``) gives an all-zero row.
    """
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    num_edges = len(edges)
    rows = np.repeat(np.arange(num_edges), 2)
    vals = np.tile([1.0, -1.0], num_edges)
    return sp.csr_matrix((vals, (rows, edges.ravel())), shape=(num_edges, num_nodes))


def injection_matrix(edges: np.ndarray, num_nodes: int) -> sp.csr_matrix:
    """``J = -B^T`` (N x S): a current source ``(n+, n-)`` of 1 A draws 1 A out of
    ``n+`` and injects it into ``n-`` (SPICE convention), so ``b = J i`` (A)."""
    return (-incidence_matrix(edges, num_nodes).T).tocsr()


def laplacian(edges: np.ndarray, k: np.ndarray, num_nodes: int) -> sp.csr_matrix:
    """Full weighted Laplacian ``L = B^T diag(k) B`` (N x N), assembled from COO arrays."""
    b = incidence_matrix(edges, num_nodes)
    return (b.T @ sp.diags(np.asarray(k, float)) @ b).tocsr()


class _BlockPattern:
    """Sparsity pattern of one block of ``L`` and the scatter map from ``k`` to its values.

    Entries are sorted by (major, minor) index, which is exactly the compressed
    order of CSC (major = column) or CSR (major = row) storage.
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, sign: np.ndarray,
                 edge: np.ndarray, shape: tuple[int, int], num_edges: int, fmt: str):
        major, minor, n_major, n_minor = (
            (cols, rows, shape[1], shape[0]) if fmt == "csc" else (rows, cols, shape[0], shape[1])
        )
        uniq, pos = np.unique(major * n_minor + minor, return_inverse=True)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(uniq // n_minor, minlength=n_major))])
        self._fmt = fmt
        self._shape = shape
        self._indices = (uniq % n_minor).astype(np.int32)
        self._indptr = indptr.astype(np.int32)
        self.scatter = sp.csr_matrix((sign, (pos, edge)), shape=(len(uniq), num_edges))

    def matrix(self, k: np.ndarray) -> sp.spmatrix:
        """The block for conductances ``k``: one sparse mat-vec, sharing the index
        arrays (a factorization recognizes the pattern by identity)."""
        cls = sp.csc_matrix if self._fmt == "csc" else sp.csr_matrix
        m = cls((self.scatter @ k, self._indices, self._indptr), shape=self._shape)
        m.has_sorted_indices = True  # np.unique sorted them; skips an O(nnz) check
        return m


class BlockLaplacian:
    """Blocks of the weighted Laplacian for a fixed free/fixed node partition.

    Parameters
    ----------
    edges : ndarray of int, shape (E, 2)
        Resistor ``(n+, n-)`` node indices.
    num_nodes : int
        Total number of nodes ``N`` (ground included).
    fixed : array of int
        Indices of Dirichlet nodes (ground and nodes held by voltage sources).

    Attributes
    ----------
    free, fixed : ndarray of int
        Node indices of each block, in block order.
    """

    def __init__(self, edges: np.ndarray, num_nodes: int, fixed: np.ndarray):
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        self.num_nodes = num_nodes
        self.num_edges = len(edges)
        self.fixed = np.unique(np.asarray(fixed, dtype=np.int64))
        is_fixed = np.zeros(num_nodes, bool)
        is_fixed[self.fixed] = True
        self.free = np.flatnonzero(~is_fixed)
        local = np.empty(num_nodes, np.int64)
        local[self.free] = np.arange(len(self.free))
        local[self.fixed] = np.arange(len(self.fixed))
        a, b = edges[:, 0], edges[:, 1]
        eid = np.arange(self.num_edges)
        # COO entries of L: (a,a)+k, (b,b)+k, (a,b)-k, (b,a)-k
        rows = np.concatenate([a, b, a, b])
        cols = np.concatenate([a, b, b, a])
        sign = np.concatenate([np.ones(2 * len(a)), -np.ones(2 * len(a))])
        edge = np.tile(eid, 4)
        self._ff = self._block(rows, cols, sign, edge, is_fixed, local, False, "csc")
        self._fd = self._block(rows, cols, sign, edge, is_fixed, local, True, "csr")

    def _block(self, rows, cols, sign, edge, is_fixed, local, col_fixed, fmt):
        sel = ~is_fixed[rows] & (is_fixed[cols] == col_fixed)
        shape = (len(self.free), len(self.fixed) if col_fixed else len(self.free))
        return _BlockPattern(local[rows[sel]], local[cols[sel]], sign[sel], edge[sel],
                             shape, self.num_edges, fmt)

    def ff(self, k: np.ndarray) -> sp.csc_matrix:
        """Free-free block ``L_ff`` (CSC), symmetric; positive definite when every free
        node has a path of positive conductances to a fixed node."""
        return self._ff.matrix(np.asarray(k, float))

    def fd(self, k: np.ndarray) -> sp.csr_matrix:
        """Free-fixed coupling block ``L_fd`` (CSR)."""
        return self._fd.matrix(np.asarray(k, float))
