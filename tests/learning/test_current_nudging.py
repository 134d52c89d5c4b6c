"""Current-nudged EP and the two-networks rule: exact statements, not limits."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn.analysis.conservation import invariant_q_rate
from circuitlearn.learning.rules import make_rule
from circuitlearn.solver.equilibrium import EquilibriumSolver, adjoint_gradient
from circuitlearn.solver.examples import SOURCE_CASES, random_problem

PATHS = ("moments", "states")


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


def _problem(name: str = "floating", pairs: bool = True, seed: int = 3):
    return random_problem(seed, num_nodes=16, sources=SOURCE_CASES[name], pair_outputs=pairs,
                          batch=7)


def _mean_dlambda_squared(problem, k, x, y) -> np.ndarray:
    es = EquilibriumSolver(problem, k)
    lam = es.adjoint(es.outputs(es.free(x)) - y)
    return np.mean(es.drops(lam) ** 2, axis=0)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", sorted(SOURCE_CASES))
def test_centered_current_ep_is_the_gradient_at_beta_one_half(name, path):
    problem, k, x, y = _problem(name)
    alpha = 0.7
    rate = make_rule(problem, "ep", beta=0.5, alpha=alpha, nudging="centered",
                     nudge="current", path=path)(k, x, y)
    assert _rel(rate, -alpha * adjoint_gradient(problem, k, x, y)) < 1e-9
    conductance = make_rule(problem, "ep", beta=0.5, alpha=alpha, nudging="centered",
                            path=path)(k, x, y)
    assert _rel(conductance, -alpha * adjoint_gradient(problem, k, x, y)) > 1e-3


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("nudging, sign", [("positive", -1.0), ("negative", 1.0)])
@pytest.mark.parametrize("beta", [0.05, 0.5])
def test_one_sided_current_ep_error_is_linear_with_the_stated_coefficient(
        nudging, sign, beta, path):
    """``rate_+- = -alpha dL/dk -+ (alpha beta / 2) mean_b dlambda^2``, exactly."""
    problem, k, x, y = _problem()
    alpha = 0.7
    rate = make_rule(problem, "ep", beta=beta, alpha=alpha, nudging=nudging, nudge="current",
                     path=path)(k, x, y)
    measured = (rate + alpha * adjoint_gradient(problem, k, x, y)) / beta
    predicted = sign * 0.5 * alpha * _mean_dlambda_squared(problem, k, x, y)
    assert _rel(measured, predicted) < 1e-9
    # one sign on every edge (edges with dlambda = 0 carry rounding noise only)
    assert np.all(sign * measured >= -1e-9 * np.abs(measured).max())


def test_one_sided_current_ep_drifts_q_by_the_port_power():
    """``sum_e k_e dlambda_e^2 = e^T R e``: for a voltage-driven network
    ``dQ/dt = -+ alpha beta mean_b e^T R e`` exactly."""
    problem, k, x, y = _problem("grounded-v", False)
    assert problem.voltage_driven
    es = EquilibriumSolver(problem, k)
    e = es.outputs(es.free(x)) - y
    power = np.mean(np.einsum("bo,op,bp->b", e, es.output_resistance, e))
    for nudging, sign in (("positive", -1), ("negative", 1)):
        rule = make_rule(problem, "ep", beta=0.3, alpha=2.0, nudging=nudging, nudge="current")
        dq = invariant_q_rate(k, rule(k, x, y))
        assert dq == pytest.approx(sign * 2.0 * 0.3 * power, rel=1e-9)


@pytest.mark.parametrize("path", PATHS)
def test_dual_rule_is_the_product_of_two_networks_and_the_gradient_flow(path):
    problem, k, x, y = _problem()
    rule = make_rule(problem, "dual", alpha=1.5, path=path)
    v_free, lam = rule.networks(k, x, y)
    es = EquilibriumSolver(problem, k)
    product = 1.5 * np.mean(es.drops(v_free) * es.drops(lam), axis=0)
    assert _rel(rule(k, x, y), product) < 1e-10
    assert _rel(rule(k, x, y), -1.5 * adjoint_gradient(problem, k, x, y)) < 1e-10
    for beta in (1e-3, 0.37, 3.0):  # polarization: centered current EP at any beta
        ep = make_rule(problem, "ep", beta=beta, alpha=1.5, nudging="centered",
                       nudge="current", path=path)
        assert _rel(ep(k, x, y), product) < 1e-9


def test_conductance_and_current_nudging_agree_to_first_order():
    """Both nudged states are ``V_F - beta lambda + O(beta^2)``."""
    problem, k, x, y = _problem()
    es = EquilibriumSolver(problem, k)
    gaps = [np.abs(es.nudged(x, y, b) - es.nudged(x, y, b, nudge="current")).max()
            for b in (1e-3, 1e-4)]
    assert gaps[0] / gaps[1] == pytest.approx(100, rel=0.01)
