"""Learning rules: batch paths, the invariant Q = sum k^2, rule factory, modifiers."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn.analysis.conservation import invariant_q, invariant_q_rate
from circuitlearn.errors import CircuitLearnError, ParameterError
from circuitlearn.learning import rules as rule_registry
from circuitlearn.learning.rules import make_rule
from circuitlearn.solver.equilibrium import (
    BatchMoments,
    EquilibriumSolver,
    adjoint_gradient,
    make_problem,
)
from circuitlearn.solver.examples import SourceSpec, random_problem

RULES = [("cl", {"eta": 0.3}), ("ep", {"beta": 0.2}),
         ("ep", {"beta": 0.2, "nudging": "negative"}),
         ("ep", {"beta": 0.2, "nudging": "centered"}), ("gradient", {})]
RULE_IDS = ["cl", "ep+", "ep-", "ep0", "gradient"]
VOLTAGE = SourceSpec(v_inputs=2, v_bias=1)
FLOATING = SourceSpec(v_inputs=1, floating_inputs=1, v_bias=1)
MIXED = SourceSpec(v_inputs=1, floating_inputs=1, i_inputs=1, i_bias=1)
SCALES = np.logspace(-4, -1, 7)


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


def _slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(np.abs(y)), 1)[0])


def _q_rate(rule, k, x, y) -> float:
    return invariant_q_rate(k, rule(k, x, y), rule.problem.trainable)


@pytest.mark.parametrize("pairs", [False, True], ids=["nodes", "pairs"])
@pytest.mark.parametrize("name, params", RULES, ids=RULE_IDS)
def test_moment_path_equals_state_path(name, params, pairs):
    problem, k, x, y = random_problem(21, num_nodes=14, sources=MIXED, pair_outputs=pairs)
    fast = make_rule(problem, name, **params)
    slow = make_rule(problem, name, path="states", **params)
    moments = BatchMoments.from_batch(x, y)
    assert _rel(fast(k, x, y), slow(k, x, y)) < 1e-10
    assert _rel(fast(k, moments), slow(k, x, y)) < 1e-10
    assert _rel(fast(k, x[3], y[3]), slow(k, x[3:4], y[3:4])) < 1e-10
    rate, loss = fast.rate_and_loss(k, x, y)
    assert loss == pytest.approx(slow.rate_and_loss(k, x, y)[1], rel=1e-12)


@pytest.mark.parametrize("name, params", RULES, ids=RULE_IDS)
def test_rules_are_zero_on_fixed_edges(name, params):
    problem, k, x, y = random_problem(2, num_nodes=14, sources=VOLTAGE)
    mask = np.random.default_rng(0).random(problem.num_edges) < 0.6
    masked = make_problem(problem.circuit, problem.inputs, problem.output_names, mask)
    full = make_rule(problem, name, **params)(k, x, y)
    rate = make_rule(masked, name, **params)(k, x, y)
    np.testing.assert_array_equal(rate[~mask], 0.0)
    np.testing.assert_allclose(rate[mask], full[mask], rtol=1e-12)


def test_gradient_flow_is_minus_alpha_gradient():
    problem, k, x, y = random_problem(4, sources=MIXED)
    rate = make_rule(problem, "gradient", alpha=0.3)(k, x, y)
    np.testing.assert_allclose(rate, -0.3 * adjoint_gradient(problem, k, x, y), rtol=1e-12)


# ------------------------------------------------------------------ invariant Q
@pytest.mark.parametrize("spec, pairs", [(VOLTAGE, False), (VOLTAGE, True), (FLOATING, True)])
def test_gradient_flow_conserves_q_when_voltage_driven(spec, pairs):
    """``V(c k) = V(k)`` => ``k . dL/dk = 0`` => ``dQ/dt = 0`` (to rounding)."""
    problem, k, x, y = random_problem(13, num_nodes=16, sources=spec, pair_outputs=pairs)
    assert problem.voltage_driven
    rate = make_rule(problem, "gradient")(k, x, y)
    scale = 2 * np.linalg.norm(k) * np.linalg.norm(rate)
    assert abs(invariant_q_rate(k, rate)) < 1e-10 * scale


def test_gradient_flow_changes_q_with_current_input_or_fixed_edge():
    problem, k, x, y = random_problem(13, num_nodes=16, sources=SourceSpec(1, i_inputs=1))
    assert not problem.voltage_driven
    rate = make_rule(problem, "gradient")(k, x, y)
    assert abs(invariant_q_rate(k, rate)) > 1e-3 * 2 * np.linalg.norm(k) * np.linalg.norm(rate)
    problem, k, x, y = random_problem(13, num_nodes=16, sources=VOLTAGE)
    mask = np.ones(problem.num_edges, bool)
    mask[np.argmax(np.abs(adjoint_gradient(problem, k, x, y)))] = False
    fixed = make_problem(problem.circuit, problem.inputs, problem.output_names, mask)
    rule = make_rule(fixed, "gradient")
    rate = rule(k, x, y)
    assert abs(_q_rate(rule, k, x, y)) > 1e-3 * 2 * np.linalg.norm(k) * np.linalg.norm(rate)
    assert invariant_q(k, mask) == pytest.approx(np.sum(k**2) - np.sum(k[~mask] ** 2))


@pytest.mark.parametrize("pairs", [False, True], ids=["nodes", "pairs"])
def test_cl_drifts_q_down_linearly_in_eta(pairs):
    """``k . dk/dt = (alpha/eta)(E_F - E_C)`` and ``E_C - E_F = (eta^2/2) e^T S e``, so
    ``dQ/dt = -alpha eta mean_b e_b^T S e_b < 0`` exactly."""
    problem, k, x, y = random_problem(17, num_nodes=16, sources=VOLTAGE, pair_outputs=pairs)
    sol = EquilibriumSolver(problem, k)
    e = sol.outputs(sol.free(x)) - y
    exact = -np.mean(np.einsum("bo,op,bp->b", e, sol.output_conductance, e))
    dq = np.array([_q_rate(make_rule(problem, "cl", eta=s, alpha=2.0), k, x, y)
                   for s in SCALES])
    assert np.all(dq < 0)
    np.testing.assert_allclose(dq, 2.0 * SCALES * exact, rtol=1e-9)
    assert abs(_slope(SCALES, dq) - 1) < 0.01


@pytest.mark.parametrize("nudging, sign, order",
                         [("positive", -1, 1), ("negative", 1, 1), ("centered", 1, 2)])
def test_ep_drifts_q(nudging, sign, order):
    """Positive nudging: ``dQ/dt = -(2 alpha/beta)(E_beta - E_F) < 0`` ~ beta; negative
    nudging the mirror image; centered ``~ +2 alpha beta^2 e^T R^2 e``."""
    problem, k, x, y = random_problem(17, num_nodes=16, sources=VOLTAGE, pair_outputs=True)
    dq = np.array([_q_rate(make_rule(problem, "ep", beta=s, nudging=nudging), k, x, y)
                   for s in SCALES])
    slope = _slope(SCALES, dq)
    print(f"EP {nudging}: dQ/dt slope {slope:.3f}")
    assert np.all(np.sign(dq) == sign)
    assert abs(slope - order) < (0.1 if order == 1 else 0.3)
    if nudging == "centered":
        sol = EquilibriumSolver(problem, k)
        e = sol.outputs(sol.free(x)) - y
        r = sol.output_resistance
        leading = 2 * np.mean(np.einsum("bo,op,bp->b", e, r @ r, e)) * SCALES[0] ** 2
        assert dq[0] == pytest.approx(leading, rel=1e-3)


# ---------------------------------------------------------------- rule factory
def test_make_rule_names_and_errors():
    problem, k, x, y = random_problem(1)
    for alias in ("cl", "coupled_learning"):
        assert make_rule(problem, alias, eta=0.5).eta == 0.5
    for alias in ("ep", "equilibrium_propagation"):
        assert make_rule(problem, alias, beta=0.1, nudging="centered").nudging == "centered"
    for alias in ("gradient", "adjoint", "gradient_flow"):
        np.testing.assert_allclose(make_rule(problem, alias, alpha=2.0)(k, x, y),
                                   -2.0 * adjoint_gradient(problem, k, x, y), rtol=1e-12)
    bad = [("sgd", {}), ("cl", {}), ("cl", {"eta": 0.0}), ("ep", {"beta": -0.1}),
           ("ep", {"beta": 0.1, "nudging": "sideways"}), ("ep", {"beta": 0.1, "eta": 1}),
           ("gradient", {"path": "fast"})]
    for name, params in bad:
        with pytest.raises(ParameterError):
            make_rule(problem, name, **params)
    assert issubclass(ParameterError, CircuitLearnError)
    with pytest.raises(ParameterError):
        make_rule(problem, "ep", beta=0.1, nudge="voltage")
    assert set(rule_registry.RULES.names()) == {"cl", "ep", "gradep", "gradient", "dual"}


@pytest.mark.parametrize("name, params", RULES, ids=RULE_IDS)
def test_full_batch_step_costs_one_factorization(name, params, monkeypatch):
    """One factorization and n_in + 1 + n_out solved columns, whatever the batch size."""
    import circuitlearn.solver.equilibrium as eq

    counts = {"factor": 0, "columns": 0}

    class Counting(eq.Factorization):
        def __init__(self, *args, **kwargs):
            counts["factor"] += 1
            super().__init__(*args, **kwargs)

        def solve(self, b):
            counts["columns"] += 1 if np.ndim(b) == 1 else np.shape(b)[1]
            return super().solve(b)

    monkeypatch.setattr(eq, "Factorization", Counting)
    problem, k, _, _ = random_problem(5, sources=MIXED, num_outputs=2)
    rng = np.random.default_rng(0)
    for batch in (1, 500):
        counts.update(factor=0, columns=0)
        x = rng.uniform(-1, 1, (batch, problem.num_inputs))
        make_rule(problem, name, **params)(k, x, rng.uniform(-1, 1, (batch, 2)))
        assert counts == {"factor": 1, "columns": problem.num_inputs + 1 + 2}
