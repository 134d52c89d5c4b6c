r"""Numerical discovery of the first integrals of a learning flow :math:`\dot k = F(k)`.

Candidates are linear combinations :math:`f = \sum_j c_j m_j(k)` of basis functions
(:class:`~circuitlearn.analysis.laws.Law` monomials): *separable*,
:math:`\varphi_p(k_e)` for every moving edge and power ``p`` (``p = 0`` is
``log``), or *polynomial*, every monomial of total degree ``1..D`` with cross terms
(small networks). ``f`` is conserved iff :math:`\nabla f(k)\cdot F(k) = 0` for
every ``k``: a linear condition on ``c`` per sampled ``k``.

Algorithm (:func:`discover`):

1. draw ``n >= 4 n_cols`` (at least 200) conductance vectors log-uniformly over
   ``decades`` around ``k0`` on the trainable edges;
2. divide each condition by :math:`|F(k_s)|` (rows become cosines);
3. edges with :math:`\max_s |F_e|/|F| < 10^4\epsilon` never move: every function
   of them is conserved; their columns are dropped *before* column scaling (they
   would otherwise be rounding noise scaled to unit norm);
4. scale every column of :math:`M_{sj} = \nabla m_j(k_s)\cdot F(k_s)/|F(k_s)|` to
   unit norm (no bias against slow edges);
5. rank decision on :math:`\sigma_i/\sigma_{max}`: exact laws are the singular
   values at most :math:`\tau = 100\,\epsilon\,\kappa\sqrt{n_{cols}}` (rounding of
   rates computed through a Laplacian of condition number :math:`\kappa`, measured on
   the samples), and the next singular value must be at least :math:`10^3` times the
   last null one, or the result is flagged ambiguous. A cluster in
   :math:`(\tau, 10^{-3}]` separated by :math:`10^2` is reported as *near-laws*
   (CL and EP keep :math:`Q_j` to :math:`O(\eta)`, :math:`O(\beta)`: their
   singular values scale with the nudge);
6. unscale the null basis and bring it to reduced row echelon form with pivots
   taken in the order of ascending power (1, 2, 3, ..., log, -1, -2, ...; edges in
   index order), zero tolerance :math:`\max(10^{-9}, 10^3/\mathrm{gap})` (the null
   space is accurate to about 1/gap, Wedin); polish every law on its own support
   (smallest singular vector of those columns), normalise its largest coefficient to
   1 and round a coefficient to a small fraction only where that is exact to
   :math:`10^{-10}`;
7. verify every law on fresh RK4 trajectories (:func:`trajectory_drift`).

>>> F = lambda k: np.array([k[1], -k[0], 0.0]) * k[2]
>>> found = discover(F, np.ones(3), degree=2, seed=1)
>>> [law.formula(["a", "b", "c"]) for law in found.laws], found.frozen
(['a^2 + b^2'], [2])
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from circuitlearn.analysis.laws import Law, Monomial, dphi, phi
from circuitlearn.errors import CircuitLearnError

Flow = Callable[[np.ndarray], np.ndarray]
"""``F(k) -> dk/dt`` (E,), S/s."""

EPS = float(np.finfo(float).eps)
FROZEN_BELOW = 1e4 * EPS
GAP_MIN = 1e3
NEAR_MAX, NEAR_GAP = 1e-3, 1e2
BASES = ("separable", "polynomial")


@dataclass
class Discovery:
    """What :func:`discover` found.

    Attributes
    ----------
    laws : list of Law
        A readable basis of the exact first integrals (frozen edges left out).
    frozen : list of int
        Edges that never move: every function of their conductance is conserved.
    singular_values : ndarray
        :math:`\\sigma_i/\\sigma_{max}`, descending.
    threshold, gap : float
        The rank threshold :math:`\\tau` and the gap after the null space.
    ambiguous : bool
        The gap is below :data:`GAP_MIN`: the count is not trustworthy.
    near : ndarray
        Singular values of the near-laws (in :math:`(\\tau, 10^{-3}]`).
    columns : list of Monomial
    samples : int
    """

    laws: list[Law]
    frozen: list[int]
    singular_values: np.ndarray
    threshold: float
    gap: float
    ambiguous: bool
    near: np.ndarray
    columns: list[Monomial]
    samples: int
    drift: list[float] = field(default_factory=list)

    @property
    def null_dimension(self) -> int:
        return len(self.laws)


def powers_for(degree: int, precondition: float = 0.0) -> tuple[float, ...]:
    """Separable powers ``1 - a .. D - a`` for a flow preconditioned by ``k^a``
    (0 means log): the laws of the rule's flow, mapped (:mod:`.laws`)."""
    return tuple(float(p - precondition) for p in range(1, degree + 1))


def preference(p: float) -> tuple[int, float]:
    """Pivot order of powers: 1, 2, 3, ..., then log, then -1, -2, ..."""
    return (0, p) if p > 0 else ((1, 0.0) if p == 0 else (2, -p))


def basis_columns(edges: Sequence[int], basis: str, degree: int,
                  powers: Sequence[float]) -> list[Monomial]:
    """Columns in pivot order: separable ``((e, p),)`` by power then edge, or every
    monomial of total degree ``1..degree`` by degree then lexicographically."""
    if basis == "separable":
        return [((e, float(p)),) for p in sorted(powers, key=preference) for e in edges]
    cols = []
    for d in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(edges, d):
            counts: dict[int, int] = {}
            for e in combo:
                counts[e] = counts.get(e, 0) + 1
            cols.append(tuple((e, float(n)) for e, n in counts.items()))
    return cols


def sample_conductances(k0: np.ndarray, movable: np.ndarray, n: int, decades: float,
                        rng: np.random.Generator) -> np.ndarray:
    """``n`` conductance vectors (n, E): ``k0 10^U(-d/2, d/2)`` on ``movable`` edges."""
    k = np.tile(np.asarray(k0, float), (n, 1))
    k[:, movable] *= 10 ** rng.uniform(-decades / 2, decades / 2, (n, int(movable.sum())))
    return k


def rate_matrix(columns: list[Monomial], k: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``M[s, j] = grad m_j(k_s) . f_s`` for samples ``k`` (n, E), rates ``f`` (n, E)."""
    out = np.zeros((len(k), len(columns)))
    for j, mono in enumerate(columns):
        values = [phi(k[:, e], p) for e, p in mono]
        for i, (e, p) in enumerate(mono):
            rest = np.prod(values[:i] + values[i + 1:], axis=0) if len(mono) > 1 else 1.0
            out[:, j] += dphi(k[:, e], p) * rest * f[:, e]
    return out


def discover(flow: Flow, k0: np.ndarray, *, degree: int = 3, basis: str = "separable",
             powers: Sequence[float] | None = None, movable: np.ndarray | None = None,
             samples: int | None = None, decades: float = 1.0, seed: int = 0,
             condition: Callable[[np.ndarray], float] | None = None) -> Discovery:
    """First integrals of ``dk/dt = flow(k)`` in the given basis (module docstring).

    Parameters
    ----------
    flow : callable
        ``F(k)`` (E,), S/s.
    k0 : ndarray, shape (E,)
        Centre of the samples (S); edges outside ``movable`` stay at ``k0``.
    degree : int
        Highest power (separable) or total degree (polynomial).
    basis : {"separable", "polynomial"}
    powers : sequence of float, optional
        Separable powers (default ``1..degree``; 0 means log).
    movable : ndarray of bool, optional
        Edges that are sampled (default: all).
    samples : int, optional
        Number of samples (default ``max(4 n_cols, 200)``).
    decades : float
        Width of the log-uniform sampling (decades).
    seed : int
    condition : callable, optional
        ``condition(k)``: condition number of the network's Laplacian, for the
        rank threshold (default 100).
    """
    if basis not in BASES:
        raise CircuitLearnError(f"basis must be one of {', '.join(BASES)}, got {basis!r}")
    k0 = np.asarray(k0, float)
    movable = np.ones(len(k0), bool) if movable is None else np.asarray(movable, bool)
    powers = tuple(powers) if powers is not None else powers_for(degree)
    rng = np.random.default_rng(seed)
    n_guess = len(basis_columns(np.flatnonzero(movable), basis, degree, powers))
    n = samples or max(4 * n_guess, 200)
    k = sample_conductances(k0, movable, n, decades, rng)
    f = np.array([flow(kk) for kk in k])
    norm = np.linalg.norm(f, axis=1)
    keep = np.isfinite(norm) & (norm > 0)
    k, f = k[keep], f[keep] / norm[keep, None]
    frozen = np.max(np.abs(f), axis=0, initial=0.0) < FROZEN_BELOW
    columns = basis_columns(np.flatnonzero(~frozen), basis, degree, powers)
    if not columns or not len(k):
        return Discovery([], np.flatnonzero(frozen).tolist(), np.zeros(0), 0.0, np.inf,
                         False, np.zeros(0), columns, len(k))
    if len(k) < len(columns):
        raise CircuitLearnError(f"{len(k)} usable samples for {len(columns)} candidate terms: "
                                f"the conditions cannot fix the coefficients (give at least "
                                f"{len(columns)} samples; default max(4 x terms, 200))")
    m = rate_matrix(columns, k, f)
    scale = np.linalg.norm(m, axis=0)
    scale[scale == 0] = 1.0
    ms = m / scale
    _, s, vt = np.linalg.svd(ms, full_matrices=False)
    sr = s / s[0]
    kappa = float(np.median([condition(kk) for kk in k[:20]])) if condition else 1e2
    tau = 100 * EPS * kappa * np.sqrt(len(columns))
    asc = np.sort(sr)
    null = int(np.sum(asc <= tau))
    gap = float(asc[null] / max(asc[null - 1], 1e-300)) if 0 < null < len(asc) else np.inf
    near = _near(asc, null)
    laws = []
    tol = max(1e-9, 1e3 / gap if np.isfinite(gap) else 1e-9)
    if null and basis == "polynomial":
        laws = [_polish(row, ms, scale, columns, resolve=False)
                for row in _generators(ms, scale, columns, degree, tau, tol)]
    elif null:
        laws = [_polish(row, ms, scale, columns) for row in _rref(vt[len(s) - null:] / scale, tol)]
    return Discovery(laws, np.flatnonzero(frozen).tolist(), sr, tau, gap,
                     bool(null and gap < GAP_MIN), near, columns, len(k))


def _near(asc: np.ndarray, null: int) -> np.ndarray:
    """A cluster of singular values in ``(tau, NEAR_MAX]`` followed by a gap."""
    best, count = 0.0, 0
    for i in range(null, len(asc) - 1):
        if asc[i] <= NEAR_MAX and asc[i] > 0:
            g = asc[i + 1] / asc[i]
            if g >= NEAR_GAP and g > best:
                best, count = g, i + 1 - null
    return asc[null:null + count]


def _rref(rows: np.ndarray, tol: float) -> list[np.ndarray]:
    """Reduced row echelon form of ``rows`` (r, n), pivots in column order."""
    a = rows.copy()
    r = len(a)
    if r == 0:
        return []
    top = np.max(np.abs(a))
    row = 0
    for j in range(a.shape[1]):
        if row == r:
            break
        i = row + int(np.argmax(np.abs(a[row:, j])))
        if abs(a[i, j]) < tol * top:
            continue
        a[[row, i]] = a[[i, row]]
        a[row] /= a[row, j]
        for t in range(r):
            if t != row:
                a[t] -= a[t, j] * a[row]
        row += 1
    a[np.abs(a) < tol] = 0.0
    return [x for x in a if np.any(x)]


def _generators(ms: np.ndarray, scale: np.ndarray, columns: list[Monomial], degree: int,
                tau: float, tol: float) -> list[np.ndarray]:
    """Polynomial laws that are not products of laws of lower degree: at each degree
    ``d`` the rows of the null space's echelon form (columns of degree <= ``d``) whose
    pivot is not a pivot of the products of the generators found so far."""
    degrees = np.array([sum(p for _, p in m) for m in columns])
    index = {_exponents(m): j for j, m in enumerate(columns)}
    gens: list[np.ndarray] = []
    for d in range(1, degree + 1):
        cols = np.flatnonzero(degrees <= d)
        _, s, vt = np.linalg.svd(ms[:, cols], full_matrices=False)
        null = int(np.sum(s / s[0] <= tau))
        full = np.zeros((null, len(columns)))
        full[:, cols] = vt[len(s) - null:] / scale[cols]
        known = [_product(combo, columns, index) for n in range(1, d + 1)
                 for combo in itertools.combinations_with_replacement(gens, n)
                 if sum(_degree(g, degrees) for g in combo) <= d]
        taken = {int(np.flatnonzero(r)[0]) for r in _rref(np.array(known), tol)} if known else set()
        gens += [r for r in _rref(full, tol) if int(np.flatnonzero(r)[0]) not in taken]
    return gens


def _exponents(mono: Monomial) -> tuple[tuple[int, float], ...]:
    return tuple(sorted(mono))


def _degree(coef: np.ndarray, degrees: np.ndarray) -> float:
    return float(degrees[np.flatnonzero(coef)].max())


def _product(factors: Sequence[np.ndarray], columns: list[Monomial],
             index: dict) -> np.ndarray:
    """Coefficients of the product of polynomials given by their coefficients."""
    poly: dict[tuple, float] = {(): 1.0}
    for f in factors:
        nxt: dict[tuple, float] = {}
        for mono, c in poly.items():
            for j in np.flatnonzero(f):
                powers = dict(mono)
                for e, p in columns[j]:
                    powers[e] = powers.get(e, 0.0) + p
                key = tuple(sorted(powers.items()))
                nxt[key] = nxt.get(key, 0.0) + c * f[j]
        poly = nxt
    out = np.zeros(len(columns))
    for mono, c in poly.items():
        out[index[mono]] += c
    return out


def _polish(coef: np.ndarray, ms: np.ndarray, scale: np.ndarray,
            columns: list[Monomial], resolve: bool = True) -> Law:
    """The law on ``coef``'s support (re-solved there unless ``resolve`` is false),
    normalised and rounded where exact."""
    support = np.flatnonzero(coef)
    if len(support) > 1 and resolve:
        _, _, vt = np.linalg.svd(ms[:, support], full_matrices=False)
        c = vt[-1] / scale[support]
    else:
        c = coef[support]
    c = c / c[np.argmax(np.abs(c))]
    c = c * np.sign(c[0])
    exact = [Fraction(float(v)).limit_denominator(24) for v in c]
    c = np.array([float(q) if abs(float(q) - v) < 1e-10 else v for q, v in zip(exact, c,
                                                                             strict=True)])
    return Law(*((columns[j], float(v)) for j, v in zip(support, c, strict=True)))


def law_cosines(law: Law, k: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """``|grad f . F| / (|grad f| |F|)`` at samples ``k`` (n, E) with rates ``F(k)``
    (n, E): 0 for an exact law."""
    out = []
    for kk, f in zip(k, rates, strict=True):
        g = law.gradient(kk)
        den = np.linalg.norm(g) * np.linalg.norm(f)
        out.append(abs(g @ f) / den if den > 0 else 0.0)
    return np.array(out)


def trajectory_drift(laws: Sequence[Law], flow: Flow, starts: np.ndarray, *,
                     steps: int = 200, travel: float = 0.2) -> list[float]:
    """Largest relative drift ``max_t |f(k_t) - f(k_0)| / scale_f(k_0)`` of each law on
    RK4 trajectories from ``starts`` (n, E), each of duration ``travel |k_0| /
    |F(k_0)|`` (the conductances move by about ``travel`` of their norm) in
    ``steps`` steps; ``scale_f`` is :meth:`Law.scale`. A trajectory ends early if the
    network stops being solvable (a conductance reaches zero)."""
    from circuitlearn.learning.integrate import iterate

    worst = np.zeros(len(laws))
    for k0 in np.atleast_2d(starts):
        speed = np.linalg.norm(flow(k0))
        if speed == 0:
            continue
        t_end = travel * np.linalg.norm(k0) / speed
        first = np.array([law.value(k0) for law in laws])
        scale = np.array([max(law.scale(k0), 1e-300) for law in laws])
        states = iterate(lambda t, k: flow(k), k0, t_end=t_end, dt=t_end / steps, method="rk4")
        try:
            for _, _, k in states:
                if np.any(k <= 0):
                    break
                now = np.array([law.value(k) for law in laws])
                worst = np.maximum(worst, np.abs(now - first) / scale)
        except CircuitLearnError:
            pass
    return worst.tolist()
