"""Structural conservation laws: the graph facts behind them, their closed forms, the
measured per-rule table (exact / O(eta) / O(beta) / O(beta^2)), preconditioning and
the data-induced (Norton) laws."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn.analysis.discovery import (
    law_cosines,
    sample_conductances,
    trajectory_drift,
)
from circuitlearn.analysis.first_integrals import survival
from circuitlearn.analysis.graph import (
    biconnected_blocks,
    frozen_blocks,
    parallel_groups,
    series_chains,
)
from circuitlearn.analysis.laws import Law, structural_laws
from circuitlearn.learning.modifiers import chain, precondition
from circuitlearn.learning.rules import make_rule

NUDGES = (1e-4, 1e-3, 1e-2)


def test_blocks_chains_and_groups_of_a_small_graph():
    # triangle 0-1-2, a pendant path 2-3-4 and a pendant parallel pair 2-5 (twice)
    edges = np.array([[0, 1], [1, 2], [2, 0], [2, 3], [3, 4], [2, 5], [5, 2]])
    block = biconnected_blocks(6, edges)
    assert len({block[0], block[1], block[2]}) == 1 and len(set(block.tolist())) == 4
    assert block[5] == block[6]
    terminals = np.array([True, True, False, False, False, False])
    assert frozen_blocks(6, edges, terminals) == {3, 4, 5, 6}
    terminals[4] = True  # an output at the end of the path: it carries current now
    assert frozen_blocks(6, edges, terminals) == {5, 6}
    assert series_chains(6, edges, terminals) == [[3, 4], [5, 6]]
    assert parallel_groups(edges) == [[5, 6]]


def _named(problem, *names):
    return [problem.circuit.resistor_names.index(n) for n in names]


def test_structural_laws_of_the_bundled_network(bed):
    problem, *_ = bed()
    found = structural_laws(problem)
    names = problem.circuit.resistor_names
    formulas = {law.kind: [] for law in found.laws}
    for law in found.laws:
        formulas[law.kind].append(law.formula(names))
    assert formulas["series"] == ["rs1^3 - rs2^3"] and formulas["parallel"] == ["rp1 - rp2"]
    assert len(formulas["component"]) == 2
    assert sorted(names[e] for e in found.frozen) == sorted(
        ["rd", "rdd", "rc1", "rc2", "rc3", "rc4", "rc5"])
    assert found.frozen[names.index("rd")] == "no path between sources or outputs"
    assert found.expected_dimension((1.0, 2.0, 3.0)) == 4
    assert found.expected_dimension((1.0, 2.0, 3.0), gradient=False) == 2


@pytest.mark.parametrize("rule", ["gradient", "cl", "ep-positive", "ep-negative",
                                  "ep-centered"])
def test_series_and_parallel_closed_forms_hold_for_every_rule(bed, rule):
    problem, k, x, y = bed()
    name, _, nudging = rule.partition("-")
    params = {"eta": 0.5} if name == "cl" else (
        {"beta": 0.5, "nudging": nudging} if name == "ep" else {})
    flow = make_rule(problem, name, **params)
    rate = flow(k, x, y)
    s1, s2, p1, p2 = _named(problem, "rs1", "rs2", "rp1", "rp2")
    # same current through a series pair in every state: k1^2 r1 = k2^2 r2
    assert k[s1] ** 2 * rate[s1] == pytest.approx(k[s2] ** 2 * rate[s2], rel=1e-12)
    assert rate[p1] == pytest.approx(rate[p2], rel=1e-12)  # same drop: r1 = r2
    laws = [law for law in structural_laws(problem).laws if law.kind != "component"]
    drift = trajectory_drift(laws, lambda kk: flow(kk, x, y), k[None], steps=100)
    assert max(drift) < 1e-10  # RK4 error only


def _family(problem, x, y, rule, **params):
    key = "eta" if rule == "cl" else "beta"
    return [(v, (lambda r: lambda kk: r(kk, x, y))(make_rule(problem, rule, **{key: v},
                                                               **params)))
            for v in NUDGES]


@pytest.mark.parametrize("rule, params, component", [
    ("cl", {}, 1.0),
    ("ep", {"nudging": "positive"}, 1.0),
    ("ep", {"nudging": "negative"}, 1.0),
    ("ep", {"nudging": "centered"}, 2.0),
    ("ep", {"nudging": "positive", "nudge": "current"}, 1.0),
    ("ep", {"nudging": "centered", "nudge": "current"}, "exact"),
])
def test_measured_per_rule_table(bed, rule, params, component):
    """Q_j drift to O(eta), O(beta), O(beta^2) (or not at all with centered current
    nudging, which is the gradient flow); series and parallel laws exact for all."""
    problem, k, x, y = bed()
    laws = structural_laws(problem).laws
    samples = sample_conductances(k, problem.trainable, 4, 1.0, np.random.default_rng(0))
    rows = survival(laws, _family(problem, x, y, rule, **params), samples,
                    parameter="eta" if rule == "cl" else "beta")
    for law, row in zip(laws, rows, strict=True):
        if law.kind == "component" and component != "exact":
            assert row.status == "approximate"
            assert row.order == pytest.approx(component, abs=0.1)
        else:
            assert row.status == "exact", (law.kind, row.drift)


def test_pendant_block_with_an_output_is_frozen_for_the_gradient_flow_only(bed):
    def pendant(text):
        return text.replace("RD a3 d 1.1", "RD a3 d 1.1\nRQ1 a3 p 1.0\nRQ2 p q 0.8\nRQ3 q a3 1.2")

    outputs = ["a2", "a4", "b4", ("b1", "b3"), "p"]
    problem, k, x, y = bed(pendant, outputs=outputs)
    found = structural_laws(problem)
    block = _named(problem, "rq1", "rq2", "rq3")
    assert all(found.frozen_gradient.get(e) == "no free-state current" for e in block)
    assert not any(e in found.frozen for e in block)
    grad, cl = make_rule(problem, "gradient")(k, x, y), make_rule(problem, "cl", eta=0.1)(k, x, y)
    assert np.abs(grad[block]).max() < 1e-15 * np.abs(grad).max()  # rounding only
    assert np.all(cl[block] < -1e-6 * np.abs(cl).max())  # CL lowers them
    law = Law((((block[0], 1.0),), 1.0))
    samples = sample_conductances(k, problem.trainable, 3, 1.0, np.random.default_rng(0))
    for rule, params, order in (("cl", {}, 1.0), ("ep", {"nudging": "positive"}, 1.0),
                                ("ep", {"nudging": "centered"}, 2.0)):
        (row,) = survival([law], _family(problem, x, y, rule, **params), samples,
                          parameter="eta" if rule == "cl" else "beta")
        assert row.status == "approximate" and row.order == pytest.approx(order, abs=0.1)


@pytest.mark.parametrize("a", [1.0, -1.0, 2.0])
def test_preconditioned_laws(bed, a):
    """dk/dt = k^a rule: sum k^(2-a)/(2-a) per component (log for a = 2), k^(3-a)
    series and k^(1-a) parallel laws (log for a = 1); Q_j is no longer conserved."""
    problem, k, x, y = bed()
    found = structural_laws(problem, power=a)
    comp = [law for law in found.laws if law.kind == "component"]
    powers = {law.kind: law.terms[0][0][0][1] for law in found.laws}
    assert powers == {"component": 2 - a, "series": 3 - a, "parallel": 1 - a}
    samples = sample_conductances(k, problem.trainable, 6, 1.0, np.random.default_rng(1))
    for rule, params in (("gradient", {}), ("cl", {"eta": 0.3}),
                         ("ep", {"beta": 0.3, "nudging": "centered"})):
        flow = chain(make_rule(problem, rule, **params), precondition(a))
        rates = np.array([flow(kk, x, y) for kk in samples])
        for law in found.laws:
            worst = law_cosines(law, samples, rates).max()
            exact = rule == "gradient" or law.kind != "component"
            assert (worst < 1e-12) if exact else (worst > 1e-6), (rule, law.kind, worst)
        if rule == "gradient":
            q = Law(*((((e, 2.0),), 1.0) for e in comp[0].edges))
            assert law_cosines(q, samples, rates).max() > 1e-3


def test_norton_law_from_data_confined_to_a_subspace(bed):
    """x1 = 0 on every example: in1 acts as ground, so b4's edges to ground (rb4) and
    to in1 (rb9) become a Norton pair, conserved by every rule."""
    problem, k, x, y = bed()
    x0 = x.copy()
    x0[:, 0] = 0.0
    plain = structural_laws(problem, x=x)
    confined = structural_laws(problem, x=x0)
    names = problem.circuit.resistor_names
    new = [law.formula(names) for law in confined.laws if law.kind == "norton"]
    assert new == ["rb4 - rb9"] and not [law for law in plain.laws if law.kind == "norton"]
    law = next(law for law in confined.laws if law.kind == "norton")
    samples = sample_conductances(k, problem.trainable, 4, 1.0, np.random.default_rng(2))
    for rule, params in (("gradient", {}), ("cl", {"eta": 0.3}), ("ep", {"beta": 0.3})):
        flow = make_rule(problem, rule, **params)
        for data, bound in ((x0, 1e-12), (x, None)):
            rates = np.array([flow(kk, data, y) for kk in samples])
            worst = law_cosines(law, samples, rates).max()
            assert worst < bound if bound else worst > 1e-4
