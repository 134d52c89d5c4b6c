"""Free, clamped and nudged states against the general DC solver; KCL, Tellegen."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn.circuit import Circuit
from circuitlearn.errors import CircuitLearnError, ProblemError
from circuitlearn.learning.metrics import accuracy, predict
from circuitlearn.solver.dc import solve
from circuitlearn.solver.equilibrium import (
    EquilibriumSolver,
    LearningProblem,
    make_problem,
    output_conductance,
)
from circuitlearn.solver.examples import (
    SOURCE_CASES,
    SourceSpec,
    random_circuit,
    random_problem,
    source_free_nodes,
)
from circuitlearn.solver.laplacian import laplacian

CASES = SOURCE_CASES


@pytest.fixture(params=[(c, pairs) for c in CASES for pairs in (False, True)],
                ids=lambda p: f"{p[0]}-{'pairs' if p[1] else 'nodes'}")
def case(request):
    name, pairs = request.param
    return random_problem(7, num_nodes=14, sources=CASES[name], pair_outputs=pairs, batch=4)


def _extend(c: Circuit, nodes=(), resistors=(), vsources=()) -> Circuit:
    """``c`` plus new nodes, resistors ``(a, b, k)`` and V sources ``(name, a, b, value)``."""
    r = np.array(resistors, float).reshape(-1, 3)
    v = list(vsources)
    return Circuit(
        nodes=c.nodes + tuple(nodes),
        resistor_names=c.resistor_names + tuple(f"rx{i}" for i in range(len(r))),
        resistor_edges=np.vstack([c.resistor_edges, r[:, :2].astype(np.int64)]),
        conductance=np.r_[c.conductance, r[:, 2]],
        vsource_names=c.vsource_names + tuple(s[0] for s in v),
        vsource_edges=np.vstack([c.vsource_edges, np.array([s[1:3] for s in v],
                                                           np.int64).reshape(-1, 2)]),
        vsource_values=np.r_[c.vsource_values, [s[3] for s in v]],
        isource_names=c.isource_names, isource_edges=c.isource_edges,
        isource_values=c.isource_values)


def _clamp_circuit(problem: LearningProblem, x_row, targets) -> Circuit:
    """Outputs held by voltage sources at ``targets`` (floating for node pairs)."""
    src = [(f"vclamp{o}", a, b, t) for o, ((a, b), t) in enumerate(zip(problem.outputs, targets,
                                                                      strict=True))]
    return _extend(problem.with_inputs(x_row), vsources=src)


def _nudge_circuit(problem: LearningProblem, x_row, y_row, beta: float) -> Circuit:
    """Each output pulled by a resistor ``beta`` to a source ``y`` referred to node-."""
    n, outs = problem.circuit.num_nodes, problem.outputs
    nodes = [f"nudge{o}" for o in range(len(outs))]
    res = [(a, n + o, beta) for o, (a, _) in enumerate(outs)]
    src = [(f"vnudge{o}", n + o, b, y_row[o]) for o, (_, b) in enumerate(outs)]
    return _extend(problem.with_inputs(x_row), nodes, res, src)


def _injections(c: Circuit) -> np.ndarray:
    b = np.zeros(c.num_nodes)
    np.add.at(b, c.isource_edges[:, 0], -c.isource_values)
    np.add.at(b, c.isource_edges[:, 1], c.isource_values)
    return b


def test_free_state_matches_dc_solver(case):
    problem, k, x, _ = case
    states = EquilibriumSolver(problem, k).free(x)
    for row, v in zip(x, states, strict=True):
        ref = solve(problem.with_inputs(row)).node_voltages
        np.testing.assert_allclose(v, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("eta", [1.0, 0.25])
def test_clamped_state_matches_dc_solver(case, eta):
    problem, k, x, y = case
    sol = EquilibriumSolver(problem, k)
    states = sol.clamped(x, y, eta)
    free_out = sol.outputs(sol.free(x))
    np.testing.assert_allclose(sol.outputs(states), free_out + eta * (y - free_out), atol=1e-12)
    for b, v in enumerate(states):
        ref = solve(_clamp_circuit(problem, x[b], sol.outputs(v))).node_voltages
        np.testing.assert_allclose(v, ref[: len(v)], rtol=0, atol=1e-12)


@pytest.mark.parametrize("beta", [0.7, -0.2])
def test_nudged_state_matches_dc_solver(case, beta):
    problem, k, x, y = case
    states = EquilibriumSolver(problem, k).nudged(x, y, beta)
    for b, v in enumerate(states):
        ref = solve(_nudge_circuit(problem, x[b], y[b], beta)).node_voltages
        np.testing.assert_allclose(v, ref[: len(v)], rtol=0, atol=1e-12)


def test_kcl_at_free_nodes(case):
    """``(L V)_n`` equals the injected current at nodes no voltage source touches; in the
    nudged state the nudge current ``beta (y - C V)`` enters node+ and leaves node-."""
    problem, k, x, y = case
    sol, beta, c = EquilibriumSolver(problem, k), 0.4, problem.circuit
    lap = laplacian(c.resistor_edges, k, c.num_nodes)
    free = source_free_nodes(c)
    v_nudged = sol.nudged(x, y, beta)
    pull = beta * (y - sol.outputs(v_nudged))
    pos, neg = np.array(problem.outputs).T
    for b, (v_f, v_n) in enumerate(zip(sol.free(x), v_nudged, strict=True)):
        inj = _injections(problem.with_inputs(x[b]))
        np.testing.assert_allclose((lap @ v_f)[free], inj[free], atol=1e-12)
        nudge = np.zeros(c.num_nodes)
        np.add.at(nudge, pos, pull[b])
        np.add.at(nudge, neg, -pull[b])
        np.testing.assert_allclose((lap @ v_n)[free], (inj + nudge)[free], atol=1e-12)


def _delivered(c: Circuit, v: np.ndarray, vsource_currents: np.ndarray) -> float:
    """Power delivered by all sources (W): SPICE currents flow n+ -> source -> n-."""
    ve, ie = c.vsource_edges, c.isource_edges
    p_v = -np.sum((v[ve[:, 0]] - v[ve[:, 1]]) * vsource_currents)
    p_i = np.sum(c.isource_values * (v[ie[:, 1]] - v[ie[:, 0]]))
    return float(p_v + p_i)


def test_tellegen_free_state(case):
    """Dissipated power ``sum_e dV_e I_e`` equals the power the sources deliver."""
    problem, k, x, _ = case
    sol = EquilibriumSolver(problem, k)
    power = sol.power(x)
    for b, v in enumerate(sol.free(x)):
        op = solve(problem.with_inputs(x[b]))
        assert power[b] == pytest.approx(_delivered(op.circuit, v, op.source_currents), rel=1e-11)
        assert power[b] > 0


def test_tellegen_between_free_and_clamped_states(case):
    """``sum_e dV^F_e I^C_e`` = sum over the clamped circuit's sources of
    (free-state voltage across) x (clamped-state current): Tellegen for two states of
    one graph, the clamp sources seeing the free output voltages."""
    problem, k, x, y = case
    sol = EquilibriumSolver(problem, k)
    v_free, v_clamp = sol.free(x), sol.clamped(x, y, 0.5)
    for b in range(len(x)):
        op = solve(_clamp_circuit(problem, x[b], sol.outputs(v_clamp[b])))
        lhs = np.sum(sol.drops(v_free[b]) * k * sol.drops(v_clamp[b]))
        c = op.circuit
        v_ext = np.r_[v_free[b], np.zeros(c.num_nodes - len(v_free[b]))]
        assert lhs == pytest.approx(_delivered(c, v_ext, op.source_currents), rel=1e-10)


def test_output_conductance_is_schur_complement():
    """Grounded sources, node outputs: ``S = L_OO - L_OI L_II^{-1} L_IO``."""
    problem, k, _, _ = random_problem(3, num_nodes=16, sources=SourceSpec(2, v_bias=1),
                                      num_outputs=3)
    c = problem.circuit
    lap = laplacian(c.resistor_edges, k, c.num_nodes).toarray()
    out = np.array([a for a, _ in problem.outputs])
    fixed = np.r_[0, c.vsource_edges[:, 0]]
    inner = np.setdiff1d(np.arange(c.num_nodes), np.r_[fixed, out])
    schur = lap[np.ix_(out, out)] - lap[np.ix_(out, inner)] @ np.linalg.solve(
        lap[np.ix_(inner, inner)], lap[np.ix_(inner, out)])
    np.testing.assert_allclose(output_conductance(problem, k), schur, rtol=1e-12)


def test_output_resistance_of_port_pairs():
    """Column ``o`` of ``R = S^{-1}`` is the port voltages for 1 A into port ``o``,
    every source off (checked with the DC solver, floating sources included)."""
    problem, k, _, _ = random_problem(4, num_nodes=16, sources=CASES["floating"],
                                      num_outputs=2, pair_outputs=True)
    c = problem.circuit
    r = np.linalg.inv(output_conductance(problem, k))
    for o, (a, b) in enumerate(problem.outputs):
        probe = Circuit(c.nodes, c.resistor_names, c.resistor_edges, k, c.vsource_names,
                        c.vsource_edges, np.zeros(len(c.vsource_names)), ("iprobe",),
                        [(b, a)], [1.0])
        v = solve(probe).node_voltages
        np.testing.assert_allclose([v[p] - v[m] for p, m in problem.outputs], r[:, o],
                                   rtol=1e-11)
    assert np.all(np.linalg.eigvalsh(r) > 0)


def test_problem_metadata():
    problem, *_ = random_problem(2, sources=SourceSpec(2, v_bias=1), pair_outputs=True)
    assert problem.inputs == ("vin1", "vin2")
    assert problem.voltage_driven
    assert all("," in n for n in problem.output_names)
    assert problem.trainable.all() and problem.trainable.shape == (problem.num_edges,)
    current, *_ = random_problem(2, sources=SourceSpec(2, i_bias=1))
    assert not current.voltage_driven
    assert random_problem(2, sources=CASES["floating"])[0].voltage_driven is False


@pytest.mark.parametrize("inputs, outputs, message", [
    (["vxx"], ["n5"], "unknown input"),
    (["vin1", "VIN1"], ["n5"], "repeated"),
    (["vin1"], ["nowhere"], "no node"),
    (["vin1"], [("n5", "n5")], "itself"),
    (["vin1"], ["held"], "cannot be clamped"),
])
def test_make_problem_errors(inputs, outputs, message):
    c = random_circuit(1, num_nodes=10, sources=SourceSpec(2))
    outputs = [c.nodes[c.vsource_edges[0, 0]] if o == "held" else o for o in outputs]
    with pytest.raises(ProblemError, match=message) as info:
        make_problem(c, inputs, outputs)
    assert isinstance(info.value, CircuitLearnError)


def test_dependent_outputs_and_bad_mask_rejected():
    c = random_circuit(1, num_nodes=10, sources=SourceSpec(1))
    a, b, d = (c.nodes[i] for i in source_free_nodes(c)[:3])
    with pytest.raises(ProblemError, match="independently"):
        make_problem(c, ["vin1"], [(a, b), (b, d), (a, d)])
    with pytest.raises(ProblemError, match="trainable"):
        make_problem(c, ["vin1"], [a], trainable=np.ones(3, bool))


def test_singular_network_raises():
    problem, k, x, _ = random_problem(1)
    with pytest.raises(ProblemError, match="singular"):
        EquilibriumSolver(problem, np.zeros_like(k)).free(x)


def test_batch_shapes_and_single_examples():
    problem, k, x, y = random_problem(5, batch=3)
    sol = EquilibriumSolver(problem, k)
    full = sol.free(x)
    assert full.shape == (3, problem.circuit.num_nodes)
    np.testing.assert_allclose(sol.free(x[1]), full[1:2], atol=1e-14)
    assert sol.drops(full).shape == (3, problem.num_edges)
    assert sol.outputs(full).shape == (3, 2) and sol.power(x).shape == (3,)
    assert sol.clamped(x[0], y[0], 0.5).shape == (1, problem.circuit.num_nodes)
    with pytest.raises(ProblemError, match="shape"):
        sol.free(np.zeros((3, 5)))


def test_predict_and_accuracy():
    problem, k, x, _ = random_problem(6, num_outputs=3, batch=20)
    out = predict(problem, k, x)
    labels = np.argmax(out, axis=1)
    assert accuracy(out, labels) == 1.0
    assert accuracy(out, np.eye(3)[labels]) == 1.0
    assert accuracy(out, (labels + 1) % 3) == 0.0


def test_mean_power_from_the_drive_moment_is_the_dissipated_power():
    from circuitlearn.solver.moments import drive_moment

    problem, k, x, y = random_problem(5)
    solver = EquilibriumSolver(problem, k)
    per_example = solver.power(x)
    assert solver.mean_power(drive_moment(x)) == pytest.approx(np.mean(per_example),
                                                               rel=1e-12)
    # each example: the power the resistors dissipate in the DC operating point
    for xb, p in zip(x, per_example, strict=True):
        op = solve(problem.with_inputs(xb).with_conductance(k))
        assert np.sum(op.resistor_power()) == pytest.approx(p, rel=1e-10)
    assert np.allclose(solver.free_outputs(x), solver.outputs(solver.free(x)), rtol=1e-12,
                       atol=1e-14)
