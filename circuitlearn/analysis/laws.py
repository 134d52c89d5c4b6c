r"""Conserved quantities as data, and the ones the structure of a network gives.

A :class:`Law` is a polynomial-like function of the conductances
:math:`f(k) = \sum_m c_m \prod_{(e, p) \in m} \varphi_p(k_e)`, with
:math:`\varphi_p(k) = k^p` and :math:`\varphi_0(k) = \log k`; a *separable* law has
one factor per term. It is conserved by a flow :math:`\dot k = F(k)` when
:math:`\nabla f \cdot F = 0`.

Structural laws (:func:`structural_laws`) for a rule preconditioned by ``k^a``
(:class:`~circuitlearn.learning.modifiers.Precondition`; ``a = 0`` is the rule
itself), with ``r_e`` the unpreconditioned rate:

======================== ===================================== =====================
structure                law (``a = 0``; general ``a``)         conserved by
======================== ===================================== =====================
component ``C_j``        ``sum k^2``; ``sum k^(2-a)/(2-a)``     gradient flow only
series chain             ``k_1^3 - k_2^3``; ``k^(3-a)``         every rule, exactly
parallel group           ``k_1 - k_2``; ``k^(1-a)``             every rule, exactly
Norton (data) law        ``sum c_e k_e``; ``k^(1-a)``           every rule, exactly
frozen edge              every ``phi(k_e)``                     every rule
======================== ===================================== =====================

(the power ``0`` stands for ``log``). Series: ``k_1 dV_1 = k_2 dV_2`` in every state,
so ``k_1^2 r_1 = k_2^2 r_2``. Parallel: equal drops, ``r_1 = r_2``. Norton: at an
interior node ``m`` with edges ``e`` to held nodes ``d(e)``, a vector ``c`` with
``sum c_e = 0`` and ``sum c_e V_d(e)(x_b) = 0`` for every example gives
``sum c_e r_e = 0`` because ``dV_e = V_d - V_m`` and ``V_d`` is the same in every
state. Data spanning every drive direction leave only the parallel edges to one
held node; data confined to a subspace add laws.

>>> law = Law((((0, 3.0),), 1.0), (((1, 3.0),), -1.0))
>>> law.formula(["r1", "r2"]), law.value(np.array([2.0, 1.0]))
('r1^3 - r2^3', 7.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from circuitlearn.analysis.components import Components, component_invariants
from circuitlearn.analysis.graph import frozen_blocks, parallel_groups, series_chains
from circuitlearn.solver.problem import LearningProblem
from circuitlearn.solver.topology import source_forest

Monomial = tuple[tuple[int, float], ...]
"""``((edge, power), ...)``: a product of ``phi_power(k_edge)``; power 0 is ``log``."""


def phi(k: np.ndarray, p: float) -> np.ndarray:
    """``k^p``, or ``log k`` for ``p = 0``."""
    return np.log(k) if p == 0 else k ** p


def dphi(k: np.ndarray, p: float) -> np.ndarray:
    """``d phi_p / dk``: ``p k^(p-1)``, or ``1/k`` for ``p = 0``."""
    return 1.0 / k if p == 0 else p * k ** (p - 1)


def factor_name(name: str, p: float) -> str:
    """``"r1"``, ``"r1^3"``, ``"r1^-1"``, ``"log(r1)"``."""
    if p == 0:
        return f"log({name})"
    return name if p == 1 else f"{name}^{p:g}"


@dataclass(frozen=True, init=False)
class Law:
    """``f(k) = sum_m c_m prod phi_p(k_e)``: terms ``(monomial, coefficient)``."""

    terms: tuple[tuple[Monomial, float], ...]
    kind: str = field(default="", compare=False)

    def __init__(self, *terms: tuple[Monomial, float], kind: str = ""):
        object.__setattr__(self, "terms", tuple((tuple(m), float(c)) for m, c in terms))
        object.__setattr__(self, "kind", kind)

    @property
    def edges(self) -> list[int]:
        """Edges the law involves, in first-use order."""
        return list(dict.fromkeys(e for m, _ in self.terms for e, _ in m))

    def value(self, k: np.ndarray) -> float:
        return float(sum(c * np.prod([phi(k[e], p) for e, p in m]) for m, c in self.terms))

    def gradient(self, k: np.ndarray) -> np.ndarray:
        """``df/dk`` (E,)."""
        g = np.zeros(len(k))
        for m, c in self.terms:
            values = [phi(k[e], p) for e, p in m]
            for i, (e, p) in enumerate(m):
                g[e] += c * dphi(k[e], p) * np.prod(values[:i] + values[i + 1:])
        return g

    def scale(self, k: np.ndarray) -> float:
        """``sum_m |c_m prod phi|``: the size against which drifts are relative."""
        return float(sum(abs(c * np.prod([phi(k[e], p) for e, p in m])) for m, c in self.terms))

    def normalized(self) -> Law:
        """The law with its largest coefficient magnitude 1 and the first one positive."""
        big = max(abs(c) for _, c in self.terms)
        sign = 1.0 if self.terms[0][1] > 0 else -1.0
        return Law(*((m, sign * c / big) for m, c in self.terms), kind=self.kind)

    def term_names(self, names: list[str] | tuple[str, ...]) -> dict[str, float]:
        """``{"r1^3": 1.0, "r2^3": -1.0}``: factors joined by ``*``."""
        return {"*".join(factor_name(names[e], p) for e, p in m): c for m, c in self.terms}

    def formula(self, names: list[str] | tuple[str, ...]) -> str:
        """The law as text, ``"r1^3 - r2^3"``, small rationals written as fractions."""
        out = []
        for text, c in self.term_names(names).items():
            mag = _number(abs(c))
            body = text if mag == "1" else f"{mag}*{text}"
            out.append(("- " if c < 0 else "+ ") + body)
        return " ".join(out).removeprefix("+ ")


def _number(x: float) -> str:
    frac = Fraction(x).limit_denominator(12)
    if frac.denominator > 1 and abs(float(frac) - x) < 1e-9 * max(1.0, x):
        return f"{frac.numerator}/{frac.denominator}"
    return f"{x:.6g}"


def power_of(base: float, a: float) -> float:
    """The power of a law under preconditioning ``k^a``: ``base - a`` (0 means log)."""
    return float(base - a)


@dataclass(frozen=True)
class StructuralLaws:
    """Laws and frozen edges that follow from a problem's structure.

    Attributes
    ----------
    laws : list of Law
        Component, series, parallel and (given data) Norton laws.
    frozen : dict
        ``{edge: reason}`` for edges that never move under any rule.
    frozen_gradient : dict
        Edges that the gradient flow alone leaves still (pendant blocks with an
        output; components silenced by the data).
    components : Components
    """

    laws: list[Law]
    frozen: dict[int, str]
    frozen_gradient: dict[int, str]
    components: Components

    def expected_dimension(self, powers: tuple[float, ...], *, gradient: bool = True) -> int:
        """Dimension of the span of the separable laws in the basis ``powers``, on the
        edges that move (what discovery should find)."""
        still = set(self.frozen) | (set(self.frozen_gradient) if gradient else set())
        laws = [law for law in self.laws if gradient or law.kind != "component"]
        cols = {(e, p): i for i, (e, p) in enumerate(
            (e, p) for e in range(len(self.components.trainable)) for p in powers)}
        rows = []
        for law in laws:
            row = np.zeros(len(cols))
            for m, c in law.terms:
                if len(m) == 1 and m[0][0] not in still and m[0] in cols:
                    row[cols[m[0]]] += c
            if len(law.terms) == sum(len(m) == 1 and m[0] in cols for m, _ in law.terms):
                rows.append(row)
        return int(np.linalg.matrix_rank(np.array(rows))) if rows else 0


def structural_laws(problem: LearningProblem, *, power: float = 0.0,
                    x: np.ndarray | None = None) -> StructuralLaws:
    """Every law of the table in the module docstring for ``problem`` under the
    preconditioner ``k^power``; Norton laws and silenced components need the
    training inputs ``x`` (B, n_in)."""
    c = problem.circuit
    comps = component_invariants(problem)
    trainable = np.asarray(problem.trainable, bool)
    terminals = _terminals(problem, outputs=True)
    frozen = {int(e): "both ends held" for e in comps.held_edges}
    for comp in comps:
        if not comp.outputs:
            frozen.update({int(e): "component without outputs" for e in comp.edges})
    for e in frozen_blocks(c.num_nodes, c.resistor_edges, terminals):
        frozen.setdefault(e, "no path between sources or outputs")
    frozen.update({int(e): "not trainable" for e in np.flatnonzero(~trainable)})
    frozen_grad = _gradient_frozen(problem, comps, x)
    still = set(frozen) | set(frozen_grad)
    laws = []
    for comp in comps:
        edges = [int(e) for e in comp.edges if e not in still]
        if comp.outputs and comp.conserved and edges:
            p = power_of(2, power)
            w = 1.0 if p == 0 else 1.0 / p
            laws.append(Law(*((((e, p),), w) for e in edges), kind="component"))
    active = [e for e in range(c.num_resistors) if e not in frozen]
    for kind, base, groups in (("series", 3, series_chains(c.num_nodes, c.resistor_edges,
                                                            terminals)),
                               ("parallel", 1, parallel_groups(c.resistor_edges))):
        p = power_of(base, power)
        for group in groups:
            members = [e for e in group if e in active]
            laws += [Law((((members[0], p),), 1.0), (((e, p),), -1.0), kind=kind)
                     for e in members[1:]]
    if x is not None:
        laws += norton_laws(problem, x, power=power, exclude=still)
    return StructuralLaws(laws, frozen, {e: r for e, r in frozen_grad.items()
                                         if e not in frozen}, comps)


def _terminals(problem: LearningProblem, *, outputs: bool) -> np.ndarray:
    """Nodes where current can enter the resistor network: ground, source terminals
    and (with ``outputs``) output nodes."""
    c = problem.circuit
    term = np.zeros(c.num_nodes, bool)
    term[0] = True
    term[c.vsource_edges.ravel()] = True
    term[c.isource_edges.ravel()] = True
    if outputs:
        term[np.asarray(problem.outputs).ravel()] = True
    return term


def _gradient_frozen(problem: LearningProblem, comps: Components,
                     x: np.ndarray | None) -> dict[int, str]:
    """Edges without free-state current (pendant blocks holding only outputs, and
    components whose held neighbours all sit at one potential for every example)."""
    c = problem.circuit
    out = {e: "no free-state current" for e in
           frozen_blocks(c.num_nodes, c.resistor_edges, _terminals(problem, outputs=False))}
    if x is None:
        return out
    drive = _held_potentials(problem, x)
    for comp in comps:
        if comp.current_sources:
            continue
        ends = c.resistor_edges[comp.edges].ravel()
        held = np.unique(ends[np.isin(ends, np.flatnonzero(~np.isnan(drive[:, 0])))])
        spread = np.ptp(drive[held], axis=0).max() if len(held) else np.inf
        if spread < 1e-12 * (1 + np.nanmax(np.abs(drive))):
            out.update({int(e): "silenced by the data" for e in comp.edges})
    return out


def _held_potentials(problem: LearningProblem, x: np.ndarray) -> np.ndarray:
    """Potentials (N, B) of the nodes held by grounded sources for inputs ``x``; NaN
    for the other nodes."""
    st = problem.structure
    rep, _ = source_forest(problem.circuit.num_nodes, problem.circuit.vsource_edges)
    u = np.hstack([np.atleast_2d(x), np.ones((len(np.atleast_2d(x)), 1))])
    v = np.asarray(st.drive_nodes @ u.T)
    v[rep != 0] = np.nan
    return v


def norton_laws(problem: LearningProblem, x: np.ndarray, *, power: float = 0.0,
                exclude: set[int] | frozenset[int] = frozenset()) -> list[Law]:
    """Norton (data-induced) laws at every interior node (module docstring), in
    reduced row echelon form per node; edges in ``exclude`` are left out."""
    c = problem.circuit
    rep, _ = source_forest(c.num_nodes, c.vsource_edges)
    drive = _held_potentials(problem, x)
    p = power_of(1, power)
    laws = []
    for m in np.flatnonzero((rep == np.arange(c.num_nodes)) & (np.arange(c.num_nodes) != 0)):
        a, b = c.resistor_edges[:, 0], c.resistor_edges[:, 1]
        edges = [int(e) for e in np.flatnonzero(((a == m) & (rep[b] == 0))
                                                | ((b == m) & (rep[a] == 0)))
                 if e not in exclude]
        if len(edges) < 2:
            continue
        other = np.where(a[edges] == m, b[edges], a[edges])
        rows = np.vstack([np.ones(len(edges)), drive[other].T])
        for coef in _null_rref(rows):
            laws.append(Law(*((((edges[i], p),), v) for i, v in enumerate(coef) if v != 0),
                            kind="norton"))
    return laws


def _null_rref(rows: np.ndarray, tol: float = 1e-10) -> list[np.ndarray]:
    """Null space of ``rows`` as the rows of its reduced row echelon form."""
    _, s, vt = np.linalg.svd(rows)
    rank = int(np.sum(s > tol * max(s[0], 1.0)))
    basis = vt[rank:]
    out = []
    for i in range(len(basis)):
        j = int(np.flatnonzero(np.abs(basis[i]) > tol)[0])
        basis[i] /= basis[i, j]
        for r in range(len(basis)):
            if r != i:
                basis[r] -= basis[r, j] * basis[i]
    for row in basis:
        row[np.abs(row) < tol] = 0.0
        out.append(row)
    return out
