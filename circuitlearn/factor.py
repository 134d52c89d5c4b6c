"""Sparse factorizations with one interface: factor once, solve many right-hand sides.

Backends
--------
``"cholmod"``
    Sparse Cholesky from SuiteSparse through scikit-sparse (optional extra ``fast``);
    symmetric positive definite matrices only.
``"splu"``
    SciPy's SuperLU with a symmetric ordering (``MMD_AT_PLUS_A``, no pivoting,
    ``SymmetricMode``), the fallback for SPD matrices, and plain SuperLU with
    partial pivoting (``COLAMD``) for general matrices (modified nodal analysis).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

try:  # pragma: no cover - depends on the optional extra
    from sksparse.cholmod import CholmodNotPositiveDefiniteError
    from sksparse.cholmod import cholesky as _cholmod_cholesky

    HAVE_CHOLMOD = True
except ImportError:  # pragma: no cover
    HAVE_CHOLMOD = False
    CholmodNotPositiveDefiniteError = ArithmeticError  # type: ignore[misc,assignment]


class SingularMatrixError(ArithmeticError):
    """The matrix could not be factorized (singular, or not positive definite)."""


def available_backends() -> list[str]:
    """Names of the factorization backends usable on this machine."""
    return (["cholmod"] if HAVE_CHOLMOD else []) + ["splu"]


def default_backend() -> str:
    """The fastest available SPD backend (``cholmod`` if installed, else ``splu``)."""
    return available_backends()[0]


class Factorization:
    """A factorized square sparse matrix ``A``; :meth:`solve` returns ``A^{-1} b``.

    Parameters
    ----------
    matrix : sparse matrix, shape (n, n)
    spd : bool
        True if ``A`` is symmetric positive definite (Cholesky-capable).
    backend : str, optional
        ``"cholmod"`` or ``"splu"``; default :func:`default_backend` for SPD
        matrices and ``"splu"`` otherwise.

    Raises
    ------
    SingularMatrixError
        If ``A`` is singular (or, for Cholesky, not positive definite).
    """

    def __init__(self, matrix: sp.spmatrix, *, spd: bool = True, backend: str | None = None):
        backend = backend or (default_backend() if spd else "splu")
        if backend not in available_backends():
            raise ValueError(f"factorization backend {backend!r} is not available "
                             f"(available: {', '.join(available_backends())})")
        if backend == "cholmod" and not spd:
            raise ValueError("cholmod needs a symmetric positive definite matrix")
        self.backend = backend
        self.shape = matrix.shape
        if self.shape[0] == 0:
            self._solve = lambda b: np.zeros_like(b, dtype=float)
        elif backend == "cholmod":
            self._solve = _cholmod(matrix)
        else:
            self._solve = _superlu(matrix, spd)

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Solve ``A x = b`` for a vector (n,) or a block of right-hand sides (n, m)."""
        b = np.asarray(b, dtype=float)
        if b.ndim == 2 and b.shape[1] == 0:
            return np.zeros_like(b)
        x = self._solve(b)
        if not np.all(np.isfinite(x)):
            raise SingularMatrixError("solution is not finite: the matrix is singular")
        return x


def _cholmod(matrix: sp.spmatrix):  # pragma: no cover - optional extra
    try:
        factor = _cholmod_cholesky(sp.csc_matrix(matrix))
    except CholmodNotPositiveDefiniteError as exc:
        raise SingularMatrixError(str(exc)) from None
    return factor


def _superlu(matrix: sp.spmatrix, spd: bool):
    a = sp.csc_matrix(matrix)
    if spd:
        opts = {"permc_spec": "MMD_AT_PLUS_A", "diag_pivot_thresh": 0.0,
                "options": {"SymmetricMode": True}}
    else:
        opts = {"permc_spec": "COLAMD"}
    try:
        lu = spla.splu(a, **opts)
    except RuntimeError as exc:  # "Factor is exactly singular"
        raise SingularMatrixError(str(exc)) from None
    diag = np.abs(lu.U.diagonal())
    if diag.size and diag.min() <= 1e-14 * diag.max():
        raise SingularMatrixError("matrix is numerically singular "
                                  f"(pivot ratio {diag.min() / diag.max():.1e})")
    return lu.solve
