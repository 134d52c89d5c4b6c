r"""Batch-independent learning rates from second moments of the output errors.

Every state is affine in the drive ``u = [x, 1]``: with ``V_F = H u``, output errors
``e = C H u - y`` and a state ``V_X = V_F - s W K e`` (``s`` a scalar, ``K`` an
n_out x n_out gain), the edge drops are ``dV_F = B H u`` and
``dV_F - dV_X = s (B W K) e``. Hence the per-edge batch means

.. math::

    T_1(K) = \operatorname{mean}_b\, dV_{F,b} \odot (BWK e_b)
           = \operatorname{rowsum}\big((BH\,\Sigma_{ue}) \odot (BWK)\big),\\
    T_2(K) = \operatorname{mean}_b\, (BWK e_b)^{\odot 2}
           = \operatorname{rowsum}\big((BWK\,\Sigma_{ee}) \odot (BWK)\big),

need only ``Sigma_ue = mean_b u_b e_b^T`` and ``Sigma_ee = mean_b e_b e_b^T``, and

.. math::

    \frac{1}{2s}\operatorname{mean}_b\,(dV_F^2 - dV_X^2) = T_1(K) - \frac{s}{2} T_2(K)

exactly (a difference of squares factored as ``(a - c)(a + c)``, free of the
cancellation that plagues ``dV_F^2 - dV_X^2`` at small ``s``). Coupled learning is
``K = S, s = eta``; EP is ``K = (I + bR)^{-1}, s = b``; ``-dL/dk = T_1(I)``.

Both terms are evaluated at once as ``rowsum((BW) \odot (BZ))`` with the node-space
columns ``Z = H \Sigma_{ue} K^T - (s/2) W (K \Sigma_{ee} K^T)`` (N, n_out): the
small contractions act on N rows, and only one more sparse product ``B Z`` touches
the edges (``BW`` is cached by the solver).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from circuitlearn.errors import ProblemError

_BLAS_SINGLE_THREAD = 2**18
CHUNK_ROWS = 2**16
"""Examples per chunk when a batch is streamed through its moments: the memory of a
step does not grow with the batch (a batch of at most this many rows is one chunk)."""

if TYPE_CHECKING:
    from circuitlearn.solver.equilibrium import EquilibriumSolver


def as_batch(a: np.ndarray, width: int, name: str = "x") -> np.ndarray:
    """``a`` as a float array of shape (B, width).

    A 1-D array of length ``width`` is one example; when ``width == 1`` a 1-D array
    of any length is a column of examples.
    """
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1) if arr.size == width and width != 1 else arr.reshape(-1, width)
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ProblemError(f"{name} must have shape (batch, {width}), got {np.shape(a)}")
    return arr


@dataclass(frozen=True, eq=False)
class BatchMoments:
    """Second moments of a fixed batch, ``Sigma = mean_b z_b z_b^T``, ``z = [x, 1, y]``.

    Precompute once for full-batch training; a rule step then costs nothing that
    grows with the batch size. Pass it in place of ``x`` (and ``y=None``).

    Attributes
    ----------
    zz : ndarray, shape (n_in + 1 + n_out, n_in + 1 + n_out)
    num_inputs, num_outputs, size : int
    """

    zz: np.ndarray
    num_inputs: int
    num_outputs: int
    size: int

    @classmethod
    def from_batch(cls, x: np.ndarray, y: np.ndarray) -> BatchMoments:
        """Moments of examples ``x`` (B, n_in) and targets ``y`` (B, n_out)."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        x = x.reshape(len(x), -1) if x.ndim == 1 else x
        y = y.reshape(len(y), -1) if y.ndim == 1 else y
        z = np.hstack([x, np.ones((len(x), 1)), y])
        return cls(z.T @ z / len(z), x.shape[1], y.shape[1], len(z))


@dataclass(frozen=True, eq=False)
class ErrorMoments:
    """Moments of the free-state output errors ``e = C V_F - y`` (V).

    Attributes
    ----------
    ue : ndarray, shape (n_in + 1, n_out)
        ``mean_b u_b e_b^T``.
    ee : ndarray, shape (n_out, n_out)
        ``mean_b e_b e_b^T`` (V^2).
    """

    ue: np.ndarray
    ee: np.ndarray


def thin_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for a tall ``a`` (R, n) and a small ``b`` (n, p), never threaded.

    The contractions of the moment path have length ``n_in + 1`` or ``n_out``: a
    threaded BLAS ``dgemm`` gains nothing there, and the worker threads it wakes
    keep spinning afterwards and compete with CHOLMOD's BLAS threads in the next
    factorization (measured: 20-40 ms instead of 1-2 ms at E = 10^5 on two
    cores). Products of at most 2^18 multiply-adds go to BLAS, which runs them on
    one thread (OpenBLAS's ``gemm`` threshold); larger ones to ``einsum``'s loops.
    """
    if a.shape[0] * a.shape[1] * b.shape[1] <= _BLAS_SINGLE_THREAD:
        return a @ b
    return np.einsum("ij,jk->ik", a, b)


def error_moments(solver: EquilibriumSolver, x: np.ndarray | BatchMoments,
                  y: np.ndarray | None = None) -> ErrorMoments:
    """Error moments from a batch ``(x, y)`` or from precomputed :class:`BatchMoments`.

    From samples the cost is O(B (n_in + 1) n_out) (errors computed directly, which
    keeps full precision when the errors are small); from moments O((n_in + n_out)^2
    n_out), independent of the batch size.
    """
    p = solver.problem
    ch = solver.outputs(solver.free_map.T)  # (n_in + 1, n_out) = (C H)^T
    if isinstance(x, BatchMoments):
        if (x.num_inputs, x.num_outputs) != (p.num_inputs, p.num_outputs):
            raise ProblemError("batch moments do not match the problem's inputs/outputs")
        m = np.vstack([ch, -np.eye(p.num_outputs)])  # e = m^T z
        zm = x.zz @ m
        return ErrorMoments(zm[: p.num_inputs + 1], m.T @ zm)
    if y is None:
        raise ProblemError("targets y are required with a batch of inputs")
    xb = as_batch(x, p.num_inputs, "x")
    yb = as_batch(y, p.num_outputs, "y")
    if len(xb) != len(yb):
        raise ProblemError(f"x has {len(xb)} examples but y has {len(yb)}")
    ue = np.zeros((p.num_inputs + 1, p.num_outputs))
    ee = np.zeros((p.num_outputs, p.num_outputs))
    for rows in chunks(len(xb)):
        u = np.hstack([xb[rows], np.ones((len(xb[rows]), 1))])
        e = thin_matmul(u, ch) - yb[rows]
        if len(xb) <= CHUNK_ROWS:
            return ErrorMoments(thin_matmul(u.T, e) / len(u), thin_matmul(e.T, e) / len(u))
        ue += thin_matmul(u.T, e)
        ee += thin_matmul(e.T, e)
    return ErrorMoments(ue / len(xb), ee / len(xb))


def chunks(n: int) -> list[slice]:
    """Row slices of at most :data:`CHUNK_ROWS` covering ``range(n)`` (one, possibly
    empty, when ``n <= CHUNK_ROWS``)."""
    return [slice(s, s + CHUNK_ROWS) for s in range(0, max(n, 1), CHUNK_ROWS)]


def drive_moment(x: np.ndarray) -> np.ndarray:
    """``mean_b u_b u_b^T`` (n_in + 1, n_in + 1) of the drives ``u = [x, 1]``, streamed
    in chunks of :data:`CHUNK_ROWS` rows (V^2 for voltage inputs)."""
    x = np.asarray(x, float)
    uu = np.zeros((x.shape[1] + 1, x.shape[1] + 1))
    for rows in chunks(len(x)):
        u = np.hstack([x[rows], np.ones((len(x[rows]), 1))])
        uu += thin_matmul(u.T, u)
    return uu / max(len(x), 1)


def contrast(solver: EquilibriumSolver, stats: ErrorMoments, gain: np.ndarray,
             s: float) -> np.ndarray:
    """``T_1(K) - (s/2) T_2(K)`` (E,), V^2/S for the EP family (see module docstring).

    Equals ``(1/(2 s)) mean_b (dV_F^2 - dV_X^2)`` for the state ``V_X = V_F - s W K e``.
    """
    gain = np.asarray(gain, dtype=float)
    z = thin_matmul(solver.free_map, stats.ue @ gain.T)  # (N, n_out)
    if s != 0.0:
        z -= thin_matmul(solver.output_response, (0.5 * s) * (gain @ stats.ee @ gain.T))
    return np.einsum("eo,eo->e", solver.edge_output_response, solver.edge_drops(z))
