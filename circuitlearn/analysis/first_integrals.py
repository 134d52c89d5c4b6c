r"""The research instrument behind ``circuitlearn conservation``.

:func:`conservation_laws` finds the first integrals of a problem's learning flow
numerically (:mod:`circuitlearn.analysis.discovery`), verifies each on fresh RK4
trajectories, matches it with the laws the structure predicts
(:mod:`circuitlearn.analysis.laws`) and, on request, follows it under coupled
learning or equilibrium propagation at shrinking ``eta`` or ``beta``
(:func:`survival`): exact, approximate (with the measured order) or broken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from circuitlearn.analysis.discovery import (
    Discovery,
    Flow,
    discover,
    law_cosines,
    powers_for,
    sample_conductances,
    trajectory_drift,
)
from circuitlearn.analysis.fidelity import fit_order
from circuitlearn.analysis.laws import Law, structural_laws
from circuitlearn.learning.modifiers import Modifier, Precondition, chain
from circuitlearn.learning.rules import make_rule
from circuitlearn.solver.problem import LearningProblem

EXACT_BELOW = 1e-12
"""A law whose every drift cosine is below this is conserved exactly (rounding)."""
SURVIVAL_GRID = (1e-3, 1e-2, 1e-1)
"""``eta``, and ``beta`` in units of the mean trainable conductance."""
FOLLOW_SAMPLES = 12
"""Fresh conductance samples at which followed laws are measured."""


def rule_flow(problem: LearningProblem, name: str, params: dict, modifiers: Sequence[Modifier],
              x: np.ndarray, y: np.ndarray) -> Flow:
    """``F(k) = rule(k, x, y)``: the rule ``name`` of :data:`~circuitlearn.learning.rules.
    RULES` followed by ``modifiers``, on the batch ``(x, y)``."""
    rule = chain(make_rule(problem, name, **params), *modifiers)
    return lambda k: rule(k, x, y)


def followers(problem: LearningProblem, family: str, modifiers: Sequence[Modifier],
              x: np.ndarray, y: np.ndarray, *, nudge: str = "conductance") -> dict:
    """``{label: (parameter, [(value, flow), ...])}``: CL at ``eta`` in
    :data:`SURVIVAL_GRID`, or EP with each nudging at ``beta`` = the grid times the
    mean trainable conductance (S)."""
    if family == "cl":
        return {"cl": ("eta", [(v, rule_flow(problem, "cl", {"eta": v}, modifiers, x, y))
                               for v in SURVIVAL_GRID])}
    scale = float(np.mean(problem.circuit.conductance[problem.trainable]))
    return {f"ep {nudging} ({nudge} nudge)": ("beta", [
        (v * scale, rule_flow(problem, "ep", {"beta": v * scale, "nudging": nudging,
                                              "nudge": nudge}, modifiers, x, y))
        for v in SURVIVAL_GRID]) for nudging in ("positive", "negative", "centered")}


def precondition_power(modifiers: Sequence[Modifier]) -> float:
    """The total power ``a`` of the ``k^a`` preconditioners among ``modifiers``."""
    return float(sum(m.power for m in modifiers if isinstance(m, Precondition)))


def laplacian_condition(problem: LearningProblem, k: np.ndarray) -> float:
    """Condition number of the reduced Laplacian ``L_r(k)`` (dense, up to 1000 free
    nodes; 100 beyond, the default of the rank threshold)."""
    if problem.structure.num_free > 1000:
        return 1e2
    eig = np.linalg.eigvalsh(problem.structure.blocks.ff(k).toarray())
    return float(eig[-1] / eig[0]) if eig.size and eig[0] > 0 else 1e2


@dataclass
class Survival:
    """One law under one rule family at shrinking nudges."""

    parameter: str
    values: list[float]
    drift: list[float]
    worst: float

    def _fit(self) -> float | str | None:
        d = np.asarray(self.drift)
        if np.any(d <= 0):
            return "exact" if self.worst < EXACT_BELOW else None
        return fit_order(np.asarray(self.values), d)

    @property
    def order(self) -> float | None:
        """Slope of ``log drift`` against ``log nudge`` (None for an exact law)."""
        order = self._fit()
        return order if isinstance(order, float) else None

    @property
    def status(self) -> str:
        """``exact`` (rounding only), ``approximate`` (the drift vanishes with the
        nudge) or ``broken``."""
        if self.worst < EXACT_BELOW or self._fit() == "exact":
            return "exact"
        order = self.order
        return "approximate" if order is not None and order >= 0.5 else "broken"

    def to_dict(self) -> dict:
        return {self.parameter: self.values, "drift": self.drift, "status": self.status,
                "order": None if self.status == "exact" else self.order}


def survival(laws: Sequence[Law], flows: Sequence[tuple[float, Flow]], k: np.ndarray, *,
             parameter: str) -> list[Survival]:
    """Drift cosines ``|grad f . F|/(|grad f| |F|)`` of every law under each
    ``(nudge, flow)`` at the samples ``k`` (n, E): the median per nudge, and the
    largest overall."""
    rates = [np.array([flow(kk) for kk in k]) for _, flow in flows]
    out = []
    for law in laws:
        cos = [law_cosines(law, k, r) for r in rates]
        out.append(Survival(parameter, [float(v) for v, _ in flows],
                            [float(np.median(c)) for c in cos],
                            float(max(np.max(c) for c in cos))))
    return out


@dataclass
class ConservationReport:
    """First integrals of one flow, verified, explained and (optionally) followed."""

    rule: str
    degree: int
    basis: str
    powers: tuple[float, ...]
    names: tuple[str, ...]
    found: Discovery
    explained: list[str]
    survival: dict[str, list[Survival]] = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    components: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The JSON document of ``circuitlearn conservation --json`` (README)."""
        laws = []
        for i, law in enumerate(self.found.laws):
            item = {"terms": law.term_names(self.names), "formula": law.formula(self.names),
                    "max_relative_drift": self.found.drift[i],
                    "explained_by": self.explained[i]}
            if self.survival:
                item["survival"] = {rule: rows[i].to_dict() for rule, rows in
                                    self.survival.items()}
            laws.append(item)
        f = self.found
        return {"rule": self.rule, "degree": self.degree, "basis": self.basis,
                "laws": laws, "parameters": self.parameters, "powers": list(self.powers),
                "components": self.components,
                "frozen_edges": [self.names[e] for e in f.frozen],
                "samples": f.samples, "threshold": f.threshold,
                "gap": None if not np.isfinite(f.gap) else f.gap, "ambiguous": f.ambiguous,
                "near_singular_values": f.near.tolist(),
                "singular_values": f.singular_values.tolist()}

    def format(self, title: str = "") -> str:
        """The table that ``circuitlearn conservation`` prints."""
        f, names = self.found, self.names
        gap = "none" if not np.isfinite(f.gap) else f"{f.gap:.1e}"
        powers = ", ".join("log" if p == 0 else f"{p:g}" for p in self.powers)
        shown = "".join(f" {k}={v}" for k, v in self.parameters.items()
                        if k in ("eta", "beta", "nudging", "nudge"))
        lines = [f"first integrals of the {self.rule}{shown} flow"
                 f"{' of ' + title if title else ''}",
                 f"  {len(names)} edges ({len(f.frozen)} frozen), {self.basis} basis, powers "
                 f"{powers}, {f.samples} samples",
                 f"  {len(f.laws)} laws: singular values <= {f.threshold:.1e}, gap {gap}"
                 + ("  AMBIGUOUS (gap < 1e3)" if f.ambiguous else "")]
        if f.near.size:
            lines.append(f"  {f.near.size} near-laws (approximately conserved), singular "
                         "values " + ", ".join(f"{v:.1e}" for v in f.near))
        for c in self.components:
            outs = ", ".join(c["outputs"]) or "none"
            lines.append(f"  component {c['name']}: {len(c['edges'])} edges, outputs {outs}"
                         + ("" if c["conserved_by_gradient_flow"] else
                            " (its Q is not conserved: current source or fixed edge)"))
        if f.frozen:
            lines.append("  frozen edges (every function of their k conserved): "
                         + ", ".join(names[e] for e in f.frozen))
        rows = [(str(i + 1), _short(law.formula(names)), f"{f.drift[i]:.1e}",
                 self.explained[i] or "not predicted") for i, law in enumerate(f.laws)]
        lines += _table(("#", "law", "RK4 drift", "structure"), rows)
        for label, items in self.survival.items():
            if not items:
                continue
            lines.append(f"under {label}: drift cosine |grad f . F| / (|grad f| |F|) "
                         f"(median of {FOLLOW_SAMPLES} samples)")
            head = ("#", *(f"{items[0].parameter}={v:.0e}" for v in items[0].values),
                    "status", "order")
            body = [(str(i + 1), *(f"{d:.1e}" for d in r.drift), r.status,
                     "-" if r.status == "exact" or r.order is None else f"{r.order:.2f}")
                    for i, r in enumerate(items)]
            lines += _table(head, body)
        return "\n".join(lines)


def _short(text: str, width: int = 60) -> str:
    """A long formula cut after its first terms, with the number of terms."""
    if len(text) <= width:
        return text
    terms = text.replace(" - ", " + -").split(" + ")
    return text[:width - 16].rsplit(" ", 1)[0] + f" ... ({len(terms)} terms)"


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [head, *rows]]


def conservation_laws(problem: LearningProblem, flow: Flow, k0: np.ndarray, *, rule: str,
                      degree: int = 3, basis: str = "separable", precondition: float = 0.0,
                      samples: int | None = None, x: np.ndarray | None = None,
                      followers: dict[str, tuple[str, list[tuple[float, Flow]]]] | None = None,
                      seed: int = 0, trajectories: int = 3,
                      parameters: dict | None = None) -> ConservationReport:
    """Discover, verify and explain the laws of ``flow`` (named ``rule``).

    Parameters
    ----------
    problem : LearningProblem
    flow : callable
        ``F(k)`` (E,), S/s: the rule with its modifiers on the training set.
    k0 : ndarray
        Centre of the samples (S): the experiment's initial conductances.
    degree, basis, samples
        See :func:`~circuitlearn.analysis.discovery.discover`.
    precondition : float
        The power ``a`` of a ``k^a`` preconditioner in ``flow`` (separable powers
        ``1 - a .. D - a``).
    x : ndarray, optional
        Training inputs, for the data-induced (Norton) laws among the explanations.
    followers : dict, optional
        ``{label: (parameter, [(value, flow), ...])}``: families (CL at several
        ``eta``, EP at several ``beta``) under which every law is followed.
    trajectories : int
        Fresh RK4 trajectories for the drift of every law.
    parameters : dict, optional
        The rule's parameters, for the report.
    """
    movable = np.asarray(problem.trainable, bool)
    powers = powers_for(degree, precondition)
    found = discover(flow, k0, degree=degree, basis=basis, powers=powers, movable=movable,
                     samples=samples, seed=seed,
                     condition=lambda k: laplacian_condition(problem, k))
    rng = np.random.default_rng(seed + 1)
    starts = sample_conductances(k0, movable, trajectories, 1.0, rng)
    found.drift = trajectory_drift(found.laws, flow, starts) if found.laws else []
    structure = structural_laws(problem, power=precondition, x=x)
    report = ConservationReport(rule, degree, basis, powers, problem.circuit.resistor_names,
                                found, [_explain(law, structure.laws) for law in found.laws],
                                parameters=dict(parameters or {}),
                                components=structure.components.describe(problem))
    fresh = sample_conductances(k0, movable, FOLLOW_SAMPLES, 1.0,
                                np.random.default_rng(seed + 2))
    for label, (parameter, family) in (followers or {}).items():
        report.survival[label] = survival(found.laws, family, fresh, parameter=parameter)
    return report


def _explain(law: Law, predicted: list[Law]) -> str:
    """The kind of the structural law equal to ``law`` (up to scale), ``"structure"``
    when ``law`` is a combination of several, else ``""`` (not predicted)."""
    mine = law.normalized()
    for other in predicted:
        theirs = other.normalized()
        if dict(theirs.terms).keys() == dict(mine.terms).keys() and all(
                abs(c - dict(mine.terms)[m]) < 1e-8 for m, c in theirs.terms):
            return other.kind
    monomials = list(dict.fromkeys(m for p in [law, *predicted] for m, _ in p.terms))
    col = {m: i for i, m in enumerate(monomials)}

    def vector(f: Law) -> np.ndarray:
        v = np.zeros(len(monomials))
        for m, c in f.terms:
            v[col[m]] += c
        return v

    if predicted:
        a = np.array([vector(p) for p in predicted]).T
        target = vector(mine)
        coef = np.linalg.lstsq(a, target, rcond=None)[0]
        if np.linalg.norm(a @ coef - target) < 1e-8 * np.linalg.norm(target):
            return "structure"
    return ""
