"""Sparse factorizations with one interface: analyze a pattern once, refactor numerically.

A training run changes the conductances, never the wiring, so the sparsity pattern
of the reduced Laplacian is fixed. :class:`SymbolicFactor` does the pattern-only
work once (fill-reducing ordering, elimination tree, supernodes);
:meth:`SymbolicFactor.numeric` then costs one numeric factorization per step and
returns a :class:`Factorization` whose :meth:`~Factorization.solve` takes one or
many right-hand sides.

Backends
--------
``"cholmod"``
    Supernodal sparse Cholesky from SuiteSparse through scikit-sparse (optional
    extra ``fast``: ``pip install -e '.[fast]'`` with the system package
    ``libsuitesparse-dev``; scikit-sparse 0.5 needs SuiteSparse 7, hence
    ``scikit-sparse<0.5`` for Debian 12's SuiteSparse 5.12). ``cholmod_analyze``
    (AMD, METIS when worthwhile) runs once per pattern, ``cholmod_factorize`` per
    step, in place in the analysed factor. SPD matrices only.

    CHOLMOD's supernodal kernels are dense BLAS/LAPACK calls, so the BLAS behind
    Debian's ``libblas.so.3`` matters: install ``libopenblas0-pthread`` (it becomes
    that alternative). Measured on 2 cores, numeric factorization of 3D disordered
    networks: 0.19 s with OpenBLAS vs 0.74 s with the reference BLAS at 10^5 edges,
    0.68 s vs 5.6 s at 3x10^5 edges (2D lattice, 10^5 edges: 68 vs 118 ms). OpenBLAS
    threads gain 1.15-1.5x on 3D networks; on a small machine shared with other
    work, ``OPENBLAS_NUM_THREADS=1`` avoids oversubscription by worker threads
    that busy-wait between calls.
``"splu"``
    SciPy's SuperLU, the fallback that always exists. For SPD matrices: symmetric
    mode without pivoting (``diag_pivot_thresh=0``, ``SymmetricMode``) and the
    minimum-degree ordering of ``A + A^T`` (``MMD_AT_PLUS_A``), computed once per
    pattern; each numeric factorization reuses it on the pre-permuted matrix
    (``permc_spec="NATURAL"``). About 6x faster than ``spsolve``'s default
    (``COLAMD`` with partial pivoting) on 3D networks. General matrices (modified
    nodal analysis) use plain SuperLU with ``COLAMD`` and partial pivoting.

:func:`default_backend` picks ``cholmod`` when it is installed, else ``splu``; pass
``backend=`` to override, and read ``Factorization.backend`` (or
``EquilibriumSolver.backend``) to report which one ran.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from circuitlearn.errors import ParameterError, SingularMatrixError

try:  # pragma: no cover - depends on the optional extra
    from sksparse.cholmod import CholmodError, CholmodNotPositiveDefiniteError
    from sksparse.cholmod import analyze as _cholmod_analyze

    HAVE_CHOLMOD = True
except ImportError:  # pragma: no cover
    HAVE_CHOLMOD = False
    CholmodError = CholmodNotPositiveDefiniteError = ArithmeticError  # type: ignore[misc]

BACKENDS = ("cholmod", "splu")
ENV_BACKEND = "CIRCUITLEARN_FACTOR_BACKEND"
_override: str | None = None
_SPD_SPLU = {"diag_pivot_thresh": 0.0, "options": {"SymmetricMode": True}}
_PIVOT_RATIO = 1e-14


def available_backends() -> list[str]:
    """Names of the factorization backends usable on this machine, fastest first."""
    return (["cholmod"] if HAVE_CHOLMOD else []) + ["splu"]


def default_backend() -> str:
    """The SPD backend used when none is named.

    In order: the one set by :func:`set_default_backend`, the environment variable
    ``CIRCUITLEARN_FACTOR_BACKEND``, else the fastest available (``cholmod`` if
    installed, else ``splu``).
    """
    name = _override or os.environ.get(ENV_BACKEND, "").strip().lower()
    if not name:
        return available_backends()[0]
    if name not in available_backends():
        where = "set_default_backend" if _override else f"environment variable {ENV_BACKEND}"
        raise ParameterError(where, None, f"factorization backend {name!r} is not available "
                             f"(available: {', '.join(available_backends())})")
    return name


def set_default_backend(name: str | None) -> str | None:
    """Make ``name`` the default SPD backend (``None``: automatic); returns the
    previous setting, so that ``set_default_backend(previous)`` restores it."""
    global _override
    if name is not None and name not in available_backends():
        raise ValueError(f"factorization backend {name!r} is not available "
                         f"(available: {', '.join(available_backends())})")
    previous, _override = _override, name
    return previous


def _check_backend(backend: str | None, spd: bool) -> str:
    backend = backend or (default_backend() if spd else "splu")
    if backend not in available_backends():
        raise ValueError(f"factorization backend {backend!r} is not available "
                         f"(available: {', '.join(available_backends())})")
    if backend == "cholmod" and not spd:
        raise ValueError("cholmod needs a symmetric positive definite matrix")
    return backend


def _same_memory(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` and ``b`` are views of the same memory (scipy re-wraps index arrays)."""
    return a is b or (a.shape == b.shape and a.dtype == b.dtype and a.strides == b.strides
                      and a.ctypes.data == b.ctypes.data)


def _as_csc(matrix: sp.spmatrix | sp.sparray) -> sp.csc_matrix:
    a = matrix if isinstance(matrix, sp.csc_matrix) else sp.csc_matrix(matrix)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"matrix must be square, got shape {a.shape}")
    if not a.has_sorted_indices:
        a = a.sorted_indices()
    return a


class SymbolicFactor:
    """Symbolic factorization of one sparsity pattern, reusable for any values.

    Parameters
    ----------
    pattern : sparse matrix, shape (n, n)
        Only its sparsity pattern (and shape) matters; for SPD use it must be
        structurally symmetric. Every later matrix must have exactly this pattern
        (same CSC ``indptr`` and sorted ``indices``; explicit zeros count). Its
        index arrays are kept, not copied (matrices that share them are
        recognized at no cost): do not modify them.
    spd : bool
        True for symmetric positive definite matrices (Cholesky-capable).
    backend : str, optional
        ``"cholmod"`` or ``"splu"``; default :func:`default_backend` for SPD
        matrices and ``"splu"`` otherwise.

    Notes
    -----
    The ``cholmod`` backend factorizes in place into one workspace factor. A
    :class:`Factorization` whose values have been overwritten by a later
    :meth:`numeric` call notices it and refactors itself into a private copy on
    its next solve, so old factorizations stay correct (only slower). Not
    thread-safe: use one symbolic factor per thread.
    """

    def __init__(self, pattern: sp.spmatrix, *, spd: bool = True, backend: str | None = None):
        self.backend = _check_backend(backend, spd)
        self.spd = bool(spd)
        a = _as_csc(pattern)
        self.shape = a.shape
        self._indptr, self._indices = a.indptr, a.indices  # kept, not copied
        self._generation = itertools.count(1)
        self.current = 0  # generation whose values the cholmod workspace holds
        self._analysis = None
        self._workspace = None
        self._order = None
        if self.shape[0] == 0 or not self.spd:
            return
        if self.backend == "cholmod":
            self._analysis = _cholmod_analyze(a)
            self._workspace = self._analysis.copy()
        else:
            self._order, self._permuted = _splu_ordering(a)
            self._inverse = np.argsort(self._order)

    @property
    def nnz(self) -> int:
        """Number of stored entries of the pattern."""
        return len(self._indices)

    def same_pattern(self, matrix: sp.csc_matrix) -> bool:
        """True if ``matrix`` (CSC, sorted indices) has exactly this pattern."""
        if matrix.shape != self.shape:
            return False
        if _same_memory(matrix.indptr, self._indptr) and _same_memory(matrix.indices,
                                                                        self._indices):
            return True
        return (np.array_equal(matrix.indptr, self._indptr)
                and np.array_equal(matrix.indices, self._indices))

    def matrix(self, data: np.ndarray) -> sp.csc_matrix:
        """The CSC matrix with this pattern and stored values ``data`` (nnz,)."""
        data = np.asarray(data, dtype=float)
        if data.shape != (self.nnz,):
            raise ValueError(f"expected {self.nnz} values, got shape {data.shape}")
        return sp.csc_matrix((data, self._indices, self._indptr), shape=self.shape)

    def numeric(self, values: sp.spmatrix | np.ndarray) -> Factorization:
        """Numeric factorization of a matrix with this pattern.

        Parameters
        ----------
        values : sparse matrix with this pattern, or ndarray (nnz,)
            The matrix, or its stored values in CSC order.

        Raises
        ------
        SingularMatrixError
            If the matrix is singular (or, for SPD use, not positive definite).
        ValueError
            If the pattern differs from the analysed one.
        """
        return Factorization(values, spd=self.spd, backend=self.backend, symbolic=self)

    # ------------------------------------------------------------ internals
    def _factor(self, a: sp.csc_matrix):
        """Solve function ``b -> A^{-1} b`` and the generation it belongs to."""
        if self.shape[0] == 0:
            return (lambda b: np.zeros_like(b, dtype=float)), 0
        if not self.spd:
            return _superlu_general(a), 0
        if self.backend == "cholmod":
            gen = next(self._generation)
            self.current = 0  # invalid while (and if) the factorization fails
            _cholmod_refactor(self._workspace, a)
            self.current = gen
            return self._workspace, gen
        lu = _superlu_spd(self._permuted(a.data), "NATURAL")
        order, inverse = self._order, self._inverse
        return (lambda b: np.take(lu.solve(b[order]), inverse, axis=0)), 0

    def _private(self, a: sp.csc_matrix):
        """A cholmod factor of ``a`` that no later :meth:`numeric` overwrites."""
        factor = self._analysis.copy()
        _cholmod_refactor(factor, a)
        return factor


class Factorization:
    """A factorized square sparse matrix ``A``; :meth:`solve` returns ``A^{-1} b``.

    Parameters
    ----------
    matrix : sparse matrix, shape (n, n), or ndarray (nnz,) with ``symbolic``
        The matrix (S, for a conductance matrix), or its stored values in the
        CSC order of ``symbolic``'s pattern.
    spd : bool
        True if ``A`` is symmetric positive definite (Cholesky-capable).
    backend : str, optional
        ``"cholmod"`` or ``"splu"``; default :func:`default_backend` for SPD
        matrices and ``"splu"`` otherwise (ignored with ``symbolic``).
    symbolic : SymbolicFactor, optional
        Analysis of ``A``'s pattern to reuse (numeric factorization only); by
        default a one-off analysis is made.

    Attributes
    ----------
    backend : str
        The backend that factorized ``A``.

    Raises
    ------
    SingularMatrixError
        If ``A`` is singular (or, for SPD backends, not positive definite).
    """

    def __init__(self, matrix: sp.spmatrix | np.ndarray, *, spd: bool = True,
                 backend: str | None = None, symbolic: SymbolicFactor | None = None):
        self._generation = 0
        if symbolic is None:
            if isinstance(matrix, np.ndarray):
                raise ValueError("a values array needs the symbolic factor of its pattern")
            a = _as_csc(matrix)
            self.backend = _check_backend(backend, spd)
            if self.backend == "splu":  # one-off: SuperLU orders and factorizes in one call
                self.shape, self._symbolic = a.shape, None
                self._solve = (_superlu_spd(a, "MMD_AT_PLUS_A").solve if spd and a.shape[0]
                               else _superlu_general(a) if a.shape[0]
                               else (lambda b: np.zeros_like(b, dtype=float)))
                return
            symbolic = SymbolicFactor(a, spd=spd, backend=backend)
        elif isinstance(matrix, np.ndarray):
            a = symbolic.matrix(matrix)
        else:
            a = _as_csc(matrix)
            if not symbolic.same_pattern(a):
                raise ValueError("matrix pattern differs from the symbolic factorization's")
        self.backend = symbolic.backend
        self.shape = symbolic.shape
        self._symbolic = symbolic
        self._matrix = a
        self._solve, self._generation = symbolic._factor(a)

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Solve ``A x = b`` for a vector (n,) or a block of right-hand sides (n, m)."""
        b = np.asarray(b, dtype=float)
        if b.ndim == 2 and b.shape[1] == 0:
            return np.zeros_like(b)
        if self._generation and self._generation != self._symbolic.current:
            # the shared cholmod workspace now holds another matrix: refactor privately
            self._solve = self._symbolic._private(self._matrix)
            self._generation = 0
        x = self._solve(b)
        if not np.all(np.isfinite(x)):
            raise SingularMatrixError("solution is not finite: the matrix is singular")
        return x


# -------------------------------------------------------------- backends
def _cholmod_refactor(factor, a: sp.csc_matrix) -> None:  # pragma: no cover - extra
    try:
        factor.cholesky_inplace(a)
    except CholmodNotPositiveDefiniteError as exc:
        raise SingularMatrixError(f"matrix is not positive definite "
                                  f"(CHOLMOD failed at column {exc.column})") from None
    except CholmodError as exc:
        raise SingularMatrixError(str(exc)) from None


def _splu_ordering(a: sp.csc_matrix):
    """Minimum-degree ordering of ``A + A^T`` (structural) and the permuted pattern.

    Returns ``order`` (``A[order][:, order]`` is factorized in natural order) and a
    function mapping ``A``'s CSC values to the CSC matrix ``A[order][:, order]``.
    """
    n = a.shape[0]
    # A strictly diagonally dominant matrix with A's pattern: the ordering is
    # structural, and this one never fails to factorize.
    probe = sp.csc_matrix((np.where(a.indices == np.repeat(np.arange(n), np.diff(a.indptr)),
                                    0.0, -1.0), a.indices, a.indptr), shape=a.shape)
    probe = probe + sp.diags(np.asarray(abs(probe).sum(axis=0)).ravel() + 1.0)
    order = np.argsort(spla.splu(sp.csc_matrix(probe), permc_spec="MMD_AT_PLUS_A",
                                 **_SPD_SPLU).perm_c)
    # where each stored value of A lands in A[order][:, order] (exact in float64)
    tag = sp.csc_matrix((np.arange(1, a.nnz + 1, dtype=float), a.indices, a.indptr),
                        shape=a.shape)
    permuted = tag[order][:, order].tocsc()
    permuted.sort_indices()
    source = permuted.data.astype(np.int64) - 1
    indices, indptr = permuted.indices.copy(), permuted.indptr.copy()

    def permute(data: np.ndarray) -> sp.csc_matrix:
        return sp.csc_matrix((data[source], indices, indptr), shape=a.shape)

    return order, permute


def _superlu_spd(a: sp.csc_matrix, permc_spec: str):
    try:
        lu = spla.splu(a, permc_spec=permc_spec, **_SPD_SPLU)
    except RuntimeError as exc:  # "Factor is exactly singular"
        raise SingularMatrixError(str(exc)) from None
    # LDL^T without pivoting: A is positive definite iff every pivot is positive
    diag = lu.U.diagonal()
    if diag.size and not diag.min() > _PIVOT_RATIO * diag.max():
        raise SingularMatrixError("matrix is singular or not positive definite "
                                  f"(pivots in [{diag.min():.3g}, {diag.max():.3g}])")
    return lu


def _superlu_general(a: sp.csc_matrix):
    try:
        lu = spla.splu(a, permc_spec="COLAMD")
    except RuntimeError as exc:  # "Factor is exactly singular"
        raise SingularMatrixError(str(exc)) from None
    diag = np.abs(lu.U.diagonal())
    if diag.size and diag.min() <= _PIVOT_RATIO * diag.max():
        raise SingularMatrixError("matrix is numerically singular "
                                  f"(pivot ratio {diag.min() / diag.max():.1e})")
    return lu.solve
