r"""What a GradEP circuit can represent and generate: closed forms for flow matching.

Kron reduction (:func:`kron_field`)
    Remove the springs, hold the rails (and the time source) as Dirichlet nodes and
    eliminate the hidden nodes ``H``: the visible block of the reduced Laplacian is

    .. math:: S = L_{VV} - L_{VH} L_{HH}^{-1} L_{HV}, \qquad
              G = L_{VR} - L_{VH} L_{HH}^{-1} L_{HR}, \qquad r = -G\,b ,

    and stationarity ``S V + G b + lam (V - D x) = 0`` gives
    ``V* = (lam I + S)^{-1} (lam D x + r)``. With the read-out ``P`` (``I`` single,
    ``[I, -I]`` differential),

    .. math:: v = A x + c, \quad A = \frac{\lambda}{C}\big(\lambda P(\lambda I + S)^{-1} D
              - I\big), \quad c = \frac{\lambda}{C} P (\lambda I + S)^{-1} r ;

    single-ended ``A = -(1/C) lam S (lam I + S)^{-1}``: symmetric (a curl-free
    field), spectrum in ``(-lam/C, 0]``, off-diagonals ``>= 0``, ``A 1 <= 0``.
Representable fields (:func:`realizing_laplacian`)
    ``A`` is the field of some passive single-ended network iff
    ``S = -lam C A (lam I + C A)^{-1}`` is a symmetric Z-matrix (off-diagonals
    ``<= 0``) with ``S 1 >= 0``; it is then realised without hidden nodes
    (conductance ``-S_ij`` between visible nodes, shunts ``(S 1)_i`` to the rails).
    Hidden nodes add no expressivity; couplings of the other sign need the
    differential encoding. A passive network only contracts: from ``N(0, I)`` it
    generates ``N((I - e^{AT}) x*, e^{2AT})`` (:func:`affine_flow_map`).
``Q = sum k^2`` (:func:`q_rate_identity`)
    ``V*`` does not change when every conductance (trainable ``k``, fixed
    ``kappa``, springs ``lam``) is scaled, so ``L_V = (C/lam)^2 L`` at fixed voltage
    targets ``y`` has ``sum_all k dL_V/dk = 0`` and under ``dk/dt = -alpha dL/dk``

    .. math:: \dot Q = 2\alpha\Big[\lambda \partial_\lambda L\big|_u
              + \sum_{fixed} \kappa\, \partial_\kappa L - \langle (v - u)\cdot v\rangle\Big]
              = 2\alpha\Big[\lambda \partial_\lambda L\big|_y
              + \sum_{fixed} \kappa\, \partial_\kappa L\Big] ,

    (Euler's relation: ``v`` is homogeneous of degree 1 in ``(k, kappa, lam)``).
    ``2 alpha lam dL/dlam`` alone misses the fixed edges and, at fixed ``u``, the
    read-out term ``-<(v - u).v>``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuitlearn.errors import ProblemError
from circuitlearn.learning.flow import FlowField, FlowLayout
from circuitlearn.solver.equilibrium import adjoint_gradient


@dataclass(frozen=True)
class KronField:
    """The Kron-reduced circuit and its field ``v = A x + c0 + t c1``.

    Attributes
    ----------
    S : ndarray (m, m), S
        Reduced Laplacian on the visible nodes (``m = d`` or ``2 d``).
    G : ndarray (m, r), S
        Visible-to-rail block (rails: nodes held by non-input sources; ground first).
    rails : ndarray (r,), V
        Rail voltages (the time source at 0).
    A, c0, c1 : ndarrays
        The field (1/s, V/s, V/s^2).
    """

    S: np.ndarray
    G: np.ndarray
    rails: np.ndarray
    A: np.ndarray
    c0: np.ndarray
    c1: np.ndarray


def kron_field(field: FlowField) -> KronField:
    """:class:`KronField` of ``field``'s network, from the dense Laplacian (a check of
    :meth:`FlowField.affine` that does not use the sparse solver).

    Raises
    ------
    ProblemError
        A floating (not grounded) voltage source.
    """
    p, lay = field.problem, field.layout
    c = p.circuit
    edges, k = c.resistor_edges, field.solver.k
    keep = np.setdiff1d(np.arange(len(edges)), lay.springs)
    lap = np.zeros((c.num_nodes, c.num_nodes))
    for (a, b), g in zip(edges[keep], k[keep], strict=True):
        lap[[a, b], [a, b]] += g
        lap[a, b] -= g
        lap[b, a] -= g
    if np.any(c.vsource_edges[:, 1] != 0):
        raise ProblemError("the Kron form needs grounded voltage sources")
    visible = _terminals(p, lay)
    data_nodes = c.resistor_edges[lay.springs].sum(axis=1) - visible
    held = {0: 0.0, **dict(zip(c.vsource_edges[:, 0].tolist(), c.vsource_values.tolist(),
                               strict=True))}
    time_node = (c.vsource_edges[c.vsource_names.index(p.inputs[-1]), 0]
                 if lay.time else -1)
    rails = np.array([n for n in held if n not in data_nodes], np.int64)
    hidden = np.setdiff1d(np.arange(c.num_nodes), np.r_[visible, rails, data_nodes])
    lhh = lap[np.ix_(hidden, hidden)]
    lvh = lap[np.ix_(visible, hidden)]
    s = lap[np.ix_(visible, visible)] - lvh @ np.linalg.solve(lhh, lvh.T)
    g = lap[np.ix_(visible, rails)] - lvh @ np.linalg.solve(lhh, lap[np.ix_(hidden, rails)])
    b = np.array([0.0 if n == time_node else held[n] for n in rails])
    s = 0.5 * (s + s.T)
    lam, rate = field.lam, field.rate
    read = np.eye(lay.dim) if lay.encoding == "single" else np.hstack([np.eye(lay.dim),
                                                                      -np.eye(lay.dim)])
    drive = lay.drive[:len(visible)]
    resolvent = np.linalg.inv(lam * np.eye(len(visible)) + s)
    a = rate * (lam * read @ resolvent @ drive - np.eye(lay.dim))
    c1 = -rate * read @ resolvent @ g[:, rails == time_node].sum(axis=1)
    return KronField(s, g, b, a, -rate * read @ resolvent @ (g @ b), c1)


def _terminals(problem, layout: FlowLayout) -> np.ndarray:
    pos = [p for p, _ in problem.outputs]
    return np.array(pos if layout.encoding == "single" else
                    pos + [m for _, m in problem.outputs], np.int64)


def realizing_laplacian(A: np.ndarray, lam: float, capacitance: float
                        ) -> tuple[np.ndarray, bool]:
    """``S = -lam C A (lam I + C A)^{-1}`` and whether a passive single-ended network
    realises ``A``: ``A`` symmetric, ``lam I + C A`` positive definite, ``S`` a
    Z-matrix with ``S 1 >= 0`` (to 1e-12 of ``max |S|``)."""
    A = np.asarray(A, float)
    d = len(A)
    m = lam * np.eye(d) + capacitance * A
    if not np.allclose(A, A.T, atol=1e-12 * np.abs(A).max()) or \
            np.linalg.eigvalsh(0.5 * (m + m.T))[0] <= 0:
        return np.full((d, d), np.nan), False
    s = -lam * capacitance * A @ np.linalg.inv(m)
    s = 0.5 * (s + s.T)
    tol = 1e-12 * max(np.abs(s).max(), 1e-300)
    off = s - np.diag(np.diag(s))
    return s, bool(off.max() <= tol and s.sum(axis=1).min() >= -tol)


def affine_flow_map(A: np.ndarray, c0: np.ndarray, c1: np.ndarray, T: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(Phi, shift)`` with ``x(T) = Phi x(0) + shift`` for ``dx/dt = A x + c0 + t c1``
    from ``t = 0``: the exponential of ``[[A, c0, c1], [0, 0, 0], [0, 1, 0]] T`` acting
    on ``[x, 1, t]``."""
    from scipy.linalg import expm

    d = len(A)
    m = np.zeros((d + 2, d + 2))
    m[:d, :d], m[:d, d], m[:d, d + 1], m[d + 1, d] = A, c0, c1, 1.0
    e = expm(m * T)
    return e[:d, :d], e[:d, d]


def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    w, q = np.linalg.eigh(0.5 * (m + m.T))
    return (q * np.sqrt(np.clip(w, 0.0, None))) @ q.T


def gaussian_w2(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray) -> float:
    r"""2-Wasserstein distance (V) between ``N(m1, s1)`` and ``N(m2, s2)``:
    ``W2^2 = ||m1 - m2||^2 + tr(s1 + s2 - 2 (s1^{1/2} s2 s1^{1/2})^{1/2})``.

    >>> round(gaussian_w2(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2)), 12)
    2.0
    """
    r = _sqrtm_psd(s1)
    cross = np.trace(_sqrtm_psd(r @ s2 @ r))
    w2 = float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross)
    return float(np.sqrt(max(w2, 0.0)))


def empirical_w2(a: np.ndarray, b: np.ndarray) -> float:
    """2-Wasserstein distance (V) between two equal-size point clouds (exact
    assignment): ``sqrt(min_p mean_i ||a_i - b_p(i)||^2)``."""
    from circuitlearn.learning.flowdata import ot_pairing

    p = ot_pairing(a, b)
    return float(np.sqrt(np.mean(np.sum((a - b[p]) ** 2, axis=1))))


def least_squares_field(x: np.ndarray, u: np.ndarray, t: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The best affine field for flow-matching pairs ``(x, u)`` with no circuit
    constraint: ``(A, c0, c1, L)`` minimising ``1/2 mean ||A x + c0 + t c1 - u||^2``
    (``c1 = 0`` without ``t``): a lower bound on any linear network's loss."""
    cols = [x, np.ones((len(x), 1))] + ([np.asarray(t)[:, None]] if t is not None else [])
    z = np.hstack(cols)
    w, *_ = np.linalg.lstsq(z, u, rcond=None)
    d = x.shape[1]
    loss = 0.5 * float(np.mean(np.sum((z @ w - u) ** 2, axis=1)))
    return w[:d].T, w[d], (w[d + 1] if t is not None else np.zeros(d)), loss


def q_rate_identity(field: FlowField, x: np.ndarray, u: np.ndarray,
                    t: np.ndarray | None, alpha: float) -> dict[str, float]:
    """The terms of ``dQ/dt`` (S^2/s) under the gradient flow ``dk/dt = -alpha dL/dk``
    of the flow-matching loss ``L`` on the trainable edges (``alpha`` in S^2 s/V^2).

    Returns
    -------
    dict
        ``direct`` ``-2 alpha sum_trainable k dL/dk``; ``springs``
        ``2 alpha lam dL/dlam`` at fixed voltage targets; ``fixed`` the same sum over
        the other non-trainable edges; ``readout`` ``-2 alpha <(v - u).v>``;
        ``identity`` ``springs + fixed`` (equals ``direct``).
    """
    p, lay = field.problem, field.layout
    inputs, y = lay.inputs(x, t), field.targets(x, u)
    grad = field.rate ** 2 * adjoint_gradient(p, field.solver.k, inputs, y, path="states")
    kg = field.solver.k * grad
    spring = np.zeros(len(kg), bool)
    spring[lay.springs] = True
    fixed = ~p.trainable & ~spring
    v = field.velocity(x, t)
    out = {"direct": -2 * alpha * float(kg[p.trainable].sum()),
           "springs": 2 * alpha * float(kg[spring].sum()),
           "fixed": 2 * alpha * float(kg[fixed].sum()),
           "readout": -2 * alpha * float(np.mean(np.sum((v - u) * v, axis=1)))}
    out["identity"] = out["springs"] + out["fixed"]
    return out
