"""Per-component invariants Q_j: the components, their exact conservation by the
gradient flow, the closed-form drifts of CL and EP, and what breaks them."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn.analysis.components import component_invariants, component_q_rates
from circuitlearn.learning.integrate import integrate
from circuitlearn.learning.metrics import mse_loss, predict
from circuitlearn.learning.rules import make_rule
from circuitlearn.solver.examples import SOURCE_CASES, random_problem


def test_components_of_the_bundled_network(bed):
    problem, *_ = bed()
    comps = component_invariants(problem)
    names = problem.circuit.resistor_names
    described = {c["name"]: c for c in comps.describe(problem)}
    assert [names[e] for e in comps.held_edges] == ["rdd"]
    assert set(described["q_1"]["edges"]) == {f"ra{i}" for i in range(1, 13)} | {
        "rs1", "rs2", "rd"}
    assert described["q_1"]["nodes"] == ["a1", "a2", "a3", "a4", "a5", "s", "d"]
    assert described["q_2"]["outputs"] == ["b4", "b1,b3"]
    assert described["q_3"]["edges"] == ["rc1", "rc2", "rc3", "rc4", "rc5"]
    assert described["q_3"]["outputs"] == []
    # every edge lies in exactly one component, or is held
    covered = np.concatenate([c.edges for c in comps] + [comps.held_edges])
    assert sorted(covered.tolist()) == list(range(problem.num_edges))


def test_both_components_reach_the_outputs_and_each_q_j_is_conserved(bed):
    problem, k, x, y = bed()
    comps = component_invariants(problem)
    rule = make_rule(problem, "gradient", alpha=50.0)
    rate = rule(k, x, y)
    # both components learn: their edges move, and the outputs depend on both
    for c in comps[:2]:
        assert np.linalg.norm(rate[c.edges]) > 1e-3 * np.linalg.norm(rate)
    assert np.all(np.abs(comps.q_rate(k, rate)) <= 1e-13 * comps.q(k) * np.abs(rate).max())
    traj = integrate(lambda t, kk: rule(kk, x, y), k, t_end=2.0, dt=0.01, method="rk4",
                     record_every=10)
    q = np.array([comps.q(kk) for kk in traj.k])
    assert np.max(np.abs(q / q[0] - 1)) < 1e-10  # |dQ_j / Q_j| < 1e-10 for every j
    losses = [mse_loss(predict(problem, kk, x), y) for kk in traj.k[[0, -1]]]
    assert losses[1] < 0.5 * losses[0]
    moved = np.abs(traj.k[-1] - k) / k
    assert moved[comps[0].edges].max() > 0.05 and moved[comps[1].edges].max() > 0.05


@pytest.mark.parametrize("rule, params", [
    ("cl", {"eta": 0.3}), ("cl", {"eta": 1e-3}),
    ("ep", {"beta": 0.2, "nudging": "positive"}), ("ep", {"beta": 0.2, "nudging": "negative"}),
    ("ep", {"beta": 0.05, "nudging": "centered"}),
    ("ep", {"beta": 0.2, "nudging": "positive", "nudge": "current"}),
    ("ep", {"beta": 0.2, "nudging": "centered", "nudge": "current"}),
])
def test_q_j_drift_of_cl_and_ep_matches_the_closed_form(bed, rule, params):
    problem, k, x, y = bed()
    comps = component_invariants(problem)
    rate = make_rule(problem, rule, alpha=2.0, **params)(k, x, y)
    closed = component_q_rates(problem, comps, k, x, y, rule=rule, alpha=2.0, **params)
    measured = comps.q_rate(k, rate)
    scale = np.abs(2 * k * rate).sum()
    np.testing.assert_allclose(measured, closed, rtol=1e-9, atol=1e-14 * scale)
    assert closed[2] == 0.0 or abs(closed[2]) < 1e-14 * scale  # no outputs: no drift
    sign = {"cl": -1, "positive": -1, "negative": 1}.get(params.get("nudging", rule))
    if sign is not None:
        assert np.all(sign * closed[:2] > 0)  # CL and EP+ shrink every Q_j, EP- grows it


@pytest.mark.parametrize("edit, inputs, broken", [
    # input 1 of component A drives a current into a1 instead of holding in1
    (lambda t: t.replace("RA8 in1 a1 1.0", "RA8 ia a1 1.0\nRIA ia 0 2.0\nIin ia 0 0"),
     ("vin1", "vin2", "iin"), "q_1"),
])
def test_a_current_source_breaks_only_its_component(bed, edit, inputs, broken):
    problem, k, x, y = bed(edit, inputs)
    comps = component_invariants(problem)
    by_name = {c.name: c for c in comps}
    assert by_name[broken].current_sources == ("iin",) and not by_name[broken].conserved
    dq = comps.q_rate(k, make_rule(problem, "gradient")(k, x, y))
    scale = {c.name: 2 * np.linalg.norm(k[c.edges]) * np.linalg.norm(
        make_rule(problem, "gradient")(k, x, y)[c.edges]) for c in comps}
    for c in comps[:2]:
        relative = abs(dq[comps.names.index(c.name)]) / scale[c.name]
        assert (relative > 1e-3) if c.name == broken else (relative < 1e-13)


def test_a_fixed_edge_breaks_only_its_component(bed):
    problem, *_ = bed()
    mask = np.ones(problem.num_edges, bool)
    mask[problem.circuit.resistor_names.index("rb5")] = False
    problem, k, x, y = bed(trainable=mask)
    comps = component_invariants(problem)
    assert comps[1].fixed_edges and not comps[1].conserved and comps[0].conserved
    rate = make_rule(problem, "gradient")(k, x, y)
    dq = comps.q_rate(k, rate)
    assert abs(dq[0]) < 1e-13 * np.linalg.norm(k) * np.linalg.norm(rate)
    assert abs(dq[1]) > 1e-3 * np.linalg.norm(k) * np.linalg.norm(rate)


def test_floating_sources_join_their_nodes_into_one_interior_node():
    problem, k, x, y = random_problem(4, num_nodes=14, sources=SOURCE_CASES["floating"])
    comps = component_invariants(problem)
    floating = problem.circuit.vsource_edges[problem.circuit.vsource_names.index("vfl1")]
    a, b = (problem.circuit.nodes[i] for i in floating)
    assert any(a in c.nodes and b in c.nodes for c in comps)
    # current sources inject into the network: the law is flagged as broken there
    assert any(c.current_sources for c in comps)
