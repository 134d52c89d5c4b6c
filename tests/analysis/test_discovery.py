"""Discovery of first integrals: it recovers Q, the Q_j and the structural laws on
purpose-built networks, with exactly the expected dimension, and finds nothing
spurious on a network without structure."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn.analysis.discovery import discover, powers_for
from circuitlearn.analysis.first_integrals import conservation_laws
from circuitlearn.analysis.laws import structural_laws
from circuitlearn.learning.modifiers import chain, precondition
from circuitlearn.learning.rules import make_rule
from circuitlearn.solver.examples import random_problem


def _flow(problem, x, y, rule="gradient", a=None, **params):
    r = make_rule(problem, rule, **params)
    r = chain(r, precondition(a)) if a is not None else r
    return lambda k: r(k, x, y)


def test_recovers_q_j_series_parallel_and_frozen_edges(bed):
    problem, k, x, y = bed()
    report = conservation_laws(problem, _flow(problem, x, y), k, rule="gradient",
                               samples=200, x=x, trajectories=1)
    names = problem.circuit.resistor_names
    found = report.found
    assert sorted(names[e] for e in found.frozen) == sorted(
        ["rd", "rdd", "rc1", "rc2", "rc3", "rc4", "rc5"])
    assert len(found.laws) == structural_laws(problem).expected_dimension(powers_for(3)) == 4
    assert not found.ambiguous and found.gap > 1e10
    assert sorted(report.explained) == ["component", "component", "parallel", "series"]
    formulas = [law.formula(names) for law in found.laws]
    assert formulas[0] == "rp1 - rp2" and formulas[3] == "rs1^3 - rs2^3"
    assert formulas[1].startswith("ra1^2 + ra2^2") and formulas[1].endswith("rs1^2 + rs2^2")
    assert max(found.drift) < 1e-10
    doc = report.to_dict()
    assert set(doc) >= {"rule", "degree", "basis", "laws", "singular_values"}
    assert doc["laws"][3]["terms"] == {"rs1^3": 1.0, "rs2^3": -1.0}
    for law in doc["laws"]:
        assert max(abs(c) for c in law["terms"].values()) == 1.0
        assert law["max_relative_drift"] < 1e-10


@pytest.mark.parametrize("seed", [5, 9])
def test_nothing_spurious_on_a_network_without_structure(seed):
    problem, k, x, y = random_problem(seed, num_nodes=10, extra_edges=14)
    predicted = structural_laws(problem)
    assert [law.kind for law in predicted.laws] == ["component"] and not predicted.frozen
    found = discover(_flow(problem, x, y), k, samples=300, seed=seed)
    assert len(found.laws) == 1 and not found.frozen and found.gap > 1e10
    (q,) = found.laws
    assert q.terms == tuple((((e, 2.0),), 1.0) for e in range(problem.num_edges))
    cl = discover(_flow(problem, x, y, "cl", eta=0.1), k, samples=300, seed=seed)
    assert cl.laws == [] and cl.frozen == []  # CL keeps Q only to O(eta)


@pytest.mark.parametrize("a", [1.0, -1.0, 2.0])
def test_recovers_the_preconditioned_laws(bed, a):
    problem, k, x, y = bed()
    found = discover(_flow(problem, x, y, a=a), k, powers=powers_for(3, a), samples=200)
    predicted = structural_laws(problem, power=a)
    assert len(found.laws) == predicted.expected_dimension(powers_for(3, a)) == 4
    mine = {tuple(m for m, _ in law.terms) for law in found.laws}
    theirs = {tuple(m for m, _ in law.terms) for law in predicted.laws}
    # the predicted laws minus the frozen dangling edge rd
    rd = problem.circuit.resistor_names.index("rd")
    assert mine == {tuple(m for m in t if m[0][0] != rd) for t in theirs}


def test_data_confined_to_a_subspace_adds_the_predicted_norton_law(bed):
    problem, k, x, y = bed()
    x = x.copy()
    x[:, 0] = 0.0
    found = discover(_flow(problem, x, y), k, samples=200)
    predicted = structural_laws(problem, x=x)
    assert len(found.laws) == predicted.expected_dimension(powers_for(3)) == 5
    names = problem.circuit.resistor_names
    assert "rb4 - rb9" in [law.formula(names) for law in found.laws]


def test_polynomial_basis_finds_the_series_parallel_composite():
    """A parallel pair (k0, k1) in series with k2: besides k0 - k1 and Q the flow
    conserves C = (k0 + k1)^3 - 2 k2^3, which no separable law gives. The polynomial
    basis returns one new generator per degree (products of lower ones left out),
    and C lies in the algebra they generate."""
    from circuitlearn import netlist
    from circuitlearn.analysis.laws import Law
    from circuitlearn.solver.problem import make_problem

    circuit = netlist.parse("composite\nV1 in 0 1\nR0 in m 1\nR1 in m 2\nR2 m o 1.5\n"
                            "R3 o 0 1\nR4 o n 1\nR5 n 0 2\nR6 in n 1\n")
    problem = make_problem(circuit, ["v1"], ["o"])
    x, y = np.array([[1.0], [0.4]]), np.array([[0.3], [0.1]])
    flow = _flow(problem, x, y)
    found = discover(flow, circuit.conductance, basis="polynomial", degree=3, samples=400)
    g1, g2, g3 = found.laws
    assert g1.formula(circuit.resistor_names) == "r0 - r1"
    assert [max(sum(p for _, p in m) for m, _ in g.terms) for g in found.laws] == [1, 2, 3]
    composite = Law(*((((0, 1.0), (1, 2.0)), 3.0), (((0, 2.0), (1, 1.0)), 3.0),
                      (((0, 3.0),), 1.0), (((1, 3.0),), 1.0), (((2, 3.0),), -2.0)))
    rng = np.random.default_rng(0)
    k = circuit.conductance * 10 ** rng.uniform(-0.5, 0.5, (60, 7))
    rates = np.array([flow(kk) for kk in k])
    from circuitlearn.analysis.discovery import law_cosines

    assert law_cosines(composite, k, rates).max() < 1e-13  # the closed form is conserved
    v = {law: np.array([law.value(kk) for kk in k]) for law in (g1, g2, g3, composite)}
    algebra = np.stack([np.ones(len(k)), v[g1], v[g2], v[g3], v[g1] ** 2, v[g1] ** 3,
                        v[g1] * v[g2]], axis=1)
    coef, *_ = np.linalg.lstsq(algebra, v[composite], rcond=None)
    assert np.abs(algebra @ coef - v[composite]).max() < 1e-9 * np.abs(v[composite]).max()
