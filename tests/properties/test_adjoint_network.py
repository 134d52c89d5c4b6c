"""The adjoint network as a circuit: Tellegen's gradient, its sign, the current-nudged
networks and dV/dR, each solved by the general DC solver (independent of the
equilibrium solver's low-rank formulas)."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn import adjoint_network
from circuitlearn.learning.metrics import mse_loss, predict
from circuitlearn.netlist import parse
from circuitlearn.solver.adjoint import current_nudged_network, resistance_sensitivity
from circuitlearn.solver.dc import solve
from circuitlearn.solver.equilibrium import EquilibriumSolver, adjoint_gradient
from circuitlearn.solver.examples import SOURCE_CASES, random_problem

PARAMS = [(c, pairs) for c in SOURCE_CASES for pairs in (False, True)]
IDS = [f"{c}-{'pairs' if p else 'nodes'}" for c, p in PARAMS]


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


def _problem(name: str, pairs: bool, seed: int = 7):
    return random_problem(seed, num_nodes=14, sources=SOURCE_CASES[name], pair_outputs=pairs,
                          batch=5)


def _network_gradient(problem, k, x, y, build=adjoint_network) -> np.ndarray:
    """``-mean_b dV_F dlambda`` from the free and adjoint circuits, solved one by one."""
    products = []
    for xb, yb in zip(x, y, strict=True):
        free = solve(problem.with_inputs(xb).with_conductance(k)).resistor_voltages()
        adjoint = solve(build(problem, k, xb, yb)).resistor_voltages()
        products.append(free * adjoint)
    return -np.mean(products, axis=0)


@pytest.mark.parametrize("name, pairs", PARAMS, ids=IDS)
def test_adjoint_network_gives_the_gradient(name, pairs):
    """Director-Rohrer: the drops of the adjoint circuit times the free drops are the
    gradient of the adjoint method and of central finite differences."""
    problem, k, x, y = _problem(name, pairs)
    grad = _network_gradient(problem, k, x, y)
    assert _rel(grad, adjoint_gradient(problem, k, x, y)) < 1e-12
    h = 1e-6
    fd = np.array([(mse_loss(predict(problem, k + h * d, x), y)
                    - mse_loss(predict(problem, k - h * d, x), y)) / (2 * h)
                   for d in np.eye(len(k))])
    assert _rel(grad, fd) < 1e-7


def test_adjoint_network_sources_are_off_and_errors_injected_into_node_plus():
    problem, k, x, y = _problem("floating", True)
    adj = adjoint_network(problem, k, x[0], y[0])
    n_src = len(problem.circuit.isource_names)
    assert np.all(adj.vsource_values == 0) and np.all(adj.isource_values[:n_src] == 0)
    es = EquilibriumSolver(problem, k)
    e = es.outputs(es.free(x[:1])) - y[:1]
    np.testing.assert_array_equal(adj.isource_values[n_src:], e[0])
    # SPICE `I n1 n2` drives its current into n2: the injections run node- -> node+.
    assert [tuple(p[::-1]) for p in adj.isource_edges[n_src:].tolist()] == list(problem.outputs)
    lam = solve(adj).node_voltages
    np.testing.assert_allclose(lam, es.adjoint(e)[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(es.outputs(lam), e[0] @ es.output_resistance, rtol=1e-12)


def test_the_sign_and_the_sources_off_matter():
    """Injecting ``y - C V_F`` instead flips the gradient (relative error 2); leaving a
    bias source on in the adjoint circuit gives a wrong gradient."""
    problem, k, x, y = _problem("v-bias", False)
    exact = adjoint_gradient(problem, k, x, y)

    def flipped(p, kk, xb, yb):
        c = adjoint_network(p, kk, xb, yb)
        n = len(p.circuit.isource_names)
        return c.with_sources(isource_values=np.r_[c.isource_values[:n],
                                                   -c.isource_values[n:]])

    def bias_on(p, kk, xb, yb):
        c = adjoint_network(p, kk, xb, yb)
        v = c.vsource_values.copy()
        v[c.vsource_names.index("vb1")] = p.circuit.vsource_values[
            p.circuit.vsource_names.index("vb1")]
        return c.with_sources(vsource_values=v)

    assert _rel(_network_gradient(problem, k, x, y, flipped), exact) == pytest.approx(2.0)
    assert _rel(_network_gradient(problem, k, x, y, bias_on), exact) > 0.1


@pytest.mark.parametrize("beta", [0.5, -0.5, 2.0])
def test_current_nudged_network_is_free_minus_beta_lambda_exactly(beta):
    problem, k, x, y = _problem("floating", False)
    es = EquilibriumSolver(problem, k)
    v_free = es.free(x)
    lam = es.adjoint(es.outputs(v_free) - y)
    ours = es.nudged(x, y, beta, nudge="current")
    np.testing.assert_allclose(ours, v_free - beta * lam, rtol=1e-12, atol=1e-13)
    for b in range(len(x)):
        circuit = current_nudged_network(problem, k, x[b], y[b], beta)
        np.testing.assert_allclose(solve(circuit).node_voltages, ours[b], rtol=1e-11,
                                   atol=1e-13)


def test_resistance_sensitivity_matches_finite_differences():
    problem, k, x, _ = _problem("floating", True)
    circuit = problem.with_inputs(x[0]).with_conductance(k)
    a, b = problem.outputs[1]

    def v_out(resistance):
        op = solve(circuit.with_conductance(1.0 / resistance))
        return op.node_voltages[a] - op.node_voltages[b]

    r, h = circuit.resistance, 1e-6
    fd = np.array([(v_out(r + h * r[i] * d) - v_out(r - h * r[i] * d)) / (2 * h * r[i])
                   for i, d in enumerate(np.eye(len(r)))])
    exact = resistance_sensitivity(circuit, (circuit.nodes[a], circuit.nodes[b]))
    assert _rel(exact, fd) < 1e-8


def test_resistance_sensitivity_of_a_held_node_is_zero():
    circuit = parse("held\nV1 a 0 1\nR1 a b 1k\nR2 b 0 2k\n")
    np.testing.assert_array_equal(resistance_sensitivity(circuit, ("a", "0")), 0.0)
