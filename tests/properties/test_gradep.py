"""Gradient EP on a GradEP circuit: adjoint gradient of the flow-matching loss, GradEP's
convergence orders in beta, and the dQ/dt identity (Euler relation)."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn.analysis.conservation import invariant_q, invariant_q_rate
from circuitlearn.analysis.flow import q_rate_identity
from circuitlearn.learning.flow import FlowField, flow_layout, flow_network
from circuitlearn.learning.flowdata import flow_velocities
from circuitlearn.learning.rules import make_rule
from circuitlearn.learning.tasks import make_dataset
from circuitlearn.solver.equilibrium import adjoint_gradient
from circuitlearn.solver.problem import make_problem

BETAS = np.array([1e-1, 1e-2, 1e-3, 1e-4])


def _setup():
    """3-D network with 2 hidden nodes, bias rails and a time source; the last edge
    to the time source is fixed; OT-paired flow data."""
    circuit, inputs, outputs = flow_network(3, hidden=2, lam=1.0, rails=(-2.0, 3.0),
                                            time=True, seed=5)
    layout = flow_layout(make_problem(circuit, inputs, outputs))
    mask = np.ones(circuit.num_resistors, bool)
    mask[layout.springs] = False
    mask[-1] = False
    problem = make_problem(circuit, inputs, outputs, trainable=mask)
    k = circuit.conductance * np.random.default_rng(0).uniform(1, 5, circuit.num_resistors)
    k[layout.springs] = 1.0
    data = make_dataset(problem, "flow", capacitance=0.5, time=True, n_train=32, n_test=8,
                        mean=[0.5, -0.3, 0.2], seed=3)
    return problem, k, data


def _fm_loss(problem, k, capacitance, data):
    field = FlowField(problem, k, capacitance)
    xt, u, t = flow_velocities(field.layout, data.info, data.x_train, data.y_train)
    return field.loss(xt, u, t)


def test_adjoint_gradient_of_the_flow_matching_loss_matches_finite_differences():
    problem, k, data = _setup()
    cap = data.info["capacitance"]
    rate2 = (1.0 / cap) ** 2
    grad = rate2 * adjoint_gradient(problem, k, data.x_train, data.y_train, path="states")
    fd = np.empty_like(k)
    for e in range(len(k)):
        h = 1e-6 * k[e]
        kp, km = k.copy(), k.copy()
        kp[e] += h
        km[e] -= h
        if e in flow_layout(problem).springs:  # the loss changes lam: other test
            fd[e] = grad[e]
            continue
        fd[e] = (_fm_loss(problem, kp, cap, data) - _fm_loss(problem, km, cap, data)) / (2 * h)
    assert np.abs(grad - fd).max() <= 1e-7 * np.abs(grad).max()


@pytest.mark.parametrize("path", ["moments", "states"])
def test_gradep_converges_to_the_adjoint_gradient_with_slope_2_centered_1_one_sided(path):
    problem, k, data = _setup()
    x, y = data.x_train, data.y_train
    exact = -adjoint_gradient(problem, k, x, y, path="states")
    exact[flow_layout(problem).springs] = 0.0
    exact[~problem.trainable] = 0.0
    slopes = {}
    for nudging in ("centered", "positive", "negative"):
        errors = [np.linalg.norm(make_rule(problem, "gradep", beta=b, nudging=nudging,
                                           path=path)(k, x, y) - exact)
                  for b in BETAS]
        slopes[nudging] = np.polyfit(np.log(BETAS), np.log(errors), 1)[0]
        assert errors[-1] < 1e-3 * np.linalg.norm(exact)
    assert slopes["centered"] == pytest.approx(2.0, abs=0.02)
    assert slopes["positive"] == pytest.approx(1.0, abs=0.03)
    assert slopes["negative"] == pytest.approx(1.0, abs=0.03)
    current = make_rule(problem, "gradep", beta=0.5, nudge="current", path=path)(k, x, y)
    assert np.linalg.norm(current - exact) <= 1e-12 * np.linalg.norm(exact)


def test_gradep_holds_the_springs_fixed():
    circuit, inputs, outputs = flow_network(2, hidden=1, rails=(-1.0, 1.0))
    problem = make_problem(circuit, inputs, outputs)  # every edge "trainable"
    data = make_dataset(problem, "flow", capacitance=1.0, n_train=16, n_test=4)
    rate = make_rule(problem, "gradep", beta=1e-3)(circuit.conductance, data.x_train,
                                                    data.y_train)
    springs = flow_layout(problem).springs
    assert np.all(rate[springs] == 0.0)
    assert np.all(rate[np.setdiff1d(np.arange(len(rate)), springs)] != 0.0)
    grad = make_rule(problem, "gradient")(circuit.conductance, data.x_train, data.y_train)
    assert np.all(grad[springs] != 0.0)  # the plain gradient would train them


def test_q_rate_identity_and_what_the_naive_guess_misses():
    problem, k, data = _setup()
    cap, alpha = data.info["capacitance"], 0.7
    field = FlowField(problem, k, cap)
    xt, u, t = flow_velocities(field.layout, data.info, data.x_train, data.y_train)
    terms = q_rate_identity(field, xt, u, t, alpha)
    # dQ/dt of the gradient flow of the flow-matching loss (alpha_V = alpha (lam/C)^2)
    flow = make_rule(problem, "gradient", alpha=alpha * field.rate ** 2, path="states")
    direct = invariant_q_rate(k, flow(k, data.x_train, data.y_train), problem.trainable)
    assert terms["direct"] == pytest.approx(direct, rel=1e-12)
    assert terms["identity"] == pytest.approx(direct, rel=1e-10)
    assert abs(terms["fixed"]) > 1e-3 * abs(direct)  # the fixed time edge counts
    # lam dL/dlam at fixed velocity targets u, by finite differences of the springs
    springs = field.layout.springs
    losses = []
    for s in (1 + 1e-6, 1 - 1e-6):
        ks = k.copy()
        ks[springs] *= s
        losses.append(FlowField(problem, ks, cap).loss(xt, u, t))
    lam_dl = (losses[0] - losses[1]) / 2e-6
    assert 2 * alpha * lam_dl + terms["readout"] == pytest.approx(terms["springs"], rel=1e-6)
    identity_at_u = 2 * alpha * lam_dl + terms["fixed"] + terms["readout"]
    assert identity_at_u == pytest.approx(direct, rel=1e-6)
    naive = 2 * alpha * lam_dl  # the guess "dQ/dt = 2 alpha lam dL/dlam"
    assert abs(naive - direct) > 0.1 * abs(direct)


def test_q_identity_integrated_along_the_gradient_flow():
    problem, k0, data = _setup()
    cap, alpha = data.info["capacitance"], 0.01
    flow = make_rule(problem, "gradient", alpha=alpha / cap ** 2, path="states")
    x, y = data.x_train, data.y_train

    def identity(k):
        field = FlowField(problem, k, cap)
        xt, u, t = flow_velocities(field.layout, data.info, x, y)
        return q_rate_identity(field, xt, u, t, alpha)["identity"]

    def rhs(state):
        return np.r_[flow(state[:-1], x, y), identity(state[:-1])]

    state, h = np.r_[k0, 0.0], 0.05
    for _ in range(10):  # RK4 on (k, integral of the identity) to t = 0.5 s
        a = rhs(state)
        b = rhs(state + h / 2 * a)
        c = rhs(state + h / 2 * b)
        d = rhs(state + h * c)
        state = state + h / 6 * (a + 2 * b + 2 * c + d)
    change = invariant_q(state[:-1], problem.trainable) - invariant_q(k0, problem.trainable)
    assert abs(change) > 1e-3 * invariant_q(k0, problem.trainable)
    assert state[:-1].min() > 0
    assert state[-1] == pytest.approx(change, rel=1e-7)  # RK4 truncation: 8e-9
