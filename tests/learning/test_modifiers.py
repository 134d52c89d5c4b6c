"""Modifiers: bounds, quantization, noise, partial updates; explicit state; chains."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn.errors import ParameterError
from circuitlearn.learning.modifiers import (
    MODIFIERS,
    Bounds,
    KeyState,
    chain,
    desynchronous,
    noise,
    quantize,
)
from circuitlearn.learning.rules import make_rule
from circuitlearn.solver.examples import SourceSpec, random_problem
from circuitlearn.solver.problem import make_problem

VOLTAGE = SourceSpec(v_inputs=2, v_bias=1)


def _apply(modifier, rate, k, seed=0):
    """One call of ``modifier`` from its initial state (key ``(seed, 0)``)."""
    return modifier.update(rate, k, modifier.init((seed, 0)))[0]


def test_bounds_rate_and_projection():
    k = np.array([0.1, 0.1, 1.0, 2.0, 2.0, 3.0])
    rate = np.array([-1.0, 1.0, -1.0, 1.0, -1.0, 5.0])
    b = Bounds(0.1, 2.0)
    np.testing.assert_array_equal(_apply(b, rate, k), [0.0, 1.0, -1.0, 0.0, -1.0, 0.0])
    np.testing.assert_array_equal(b.project(k), [0.1, 0.1, 1.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(Bounds(0.5, 1.5).project(k), [0.5, 0.5, 1.0, 1.5, 1.5, 1.5])
    for low, high in ((2.0, 1.0), (1.0, 1.0), (-1.0, 2.0), (np.inf, np.inf)):
        with pytest.raises(ParameterError):
            Bounds(low, high)


def test_bounded_training_stays_in_bounds():
    problem, k, x, y = random_problem(9, sources=VOLTAGE)
    rule = chain(make_rule(problem, "gradient", alpha=5.0), Bounds(0.8, 1.6))
    k = rule.project(k)
    for _ in range(40):
        k = rule.project(k + 0.2 * rule(k, x, y))
    assert k.min() >= 0.8 and k.max() <= 1.6
    assert np.any(np.isin(k, [0.8, 1.6]))
    assert np.all(rule(k, x, y)[k == 0.8] >= 0) and np.all(rule(k, x, y)[k == 1.6] <= 0)


def test_quantize_levels():
    rate = np.linspace(-3, 3, 101)
    q = _apply(quantize(5, range=2.0), rate, rate)
    np.testing.assert_array_equal(np.unique(q), [-2.0, -1.0, 0.0, 1.0, 2.0])
    assert np.max(np.abs(q - np.clip(rate, -2, 2))) <= 0.5 + 1e-12
    q_step = _apply(quantize(3, step=0.5), rate, rate)
    np.testing.assert_array_equal(np.unique(q_step), [-0.5, 0.0, 0.5])
    adaptive = _apply(quantize(4), rate, rate)
    np.testing.assert_allclose(np.unique(adaptive), [-3.0, -1.0, 1.0, 3.0])
    np.testing.assert_array_equal(_apply(quantize(3), np.zeros(4), np.zeros(4)), 0.0)
    for bad in ({"levels": 1}, {"levels": 3, "step": 1.0, "range": 1.0},
                {"levels": 3, "step": -1.0}):
        with pytest.raises(ParameterError):
            quantize(**bad)


def test_noise_is_keyed_and_has_the_right_statistics():
    rate = np.linspace(-1, 1, 20_000)
    m = noise(0.1)
    first, state = m.update(rate, rate, m.init((4, 0)))
    np.testing.assert_array_equal(first, _apply(m, rate, rate, seed=4))  # same key
    assert not np.array_equal(first, _apply(m, rate, rate, seed=5))
    assert state == KeyState((4, 0), 1)
    assert not np.array_equal(first, m.update(rate, rate, state)[0])  # fresh draws
    np.testing.assert_array_equal(_apply(noise(0.3), np.zeros(5), rate[:5]), 0.0)
    rel = (first - rate)[rate != 0] / rate[rate != 0]
    assert np.std(rel) == pytest.approx(0.1, rel=0.05)
    add = _apply(noise(0.02, kind="additive"), np.zeros(20_000), rate)
    assert np.std(add) == pytest.approx(0.02, rel=0.05) and abs(np.mean(add)) < 1e-3
    with pytest.raises(ParameterError):
        noise(0.1, kind="pink")


def test_desynchronous_updates_a_fraction():
    rate = np.arange(1.0, 101.0)
    m = desynchronous(0.3)
    first, state = m.update(rate, rate, m.init((2, 0)))
    assert np.count_nonzero(first) == 30
    np.testing.assert_array_equal(first[first != 0], rate[first != 0])
    np.testing.assert_array_equal(first, _apply(m, rate, rate, seed=2))
    assert not np.array_equal(first, m.update(rate, rate, state)[0])
    scaled = _apply(desynchronous(0.25, rescale=True), rate, rate)
    np.testing.assert_allclose(scaled[scaled != 0], 4 * rate[scaled != 0])
    with pytest.raises(ParameterError):
        desynchronous(0.0)


def test_chain_applies_modifiers_in_order_then_the_mask_once():
    problem, k, x, y = random_problem(3, sources=VOLTAGE)
    mask = np.arange(problem.num_edges) % 2 == 0
    masked = make_problem(problem.circuit, problem.inputs, problem.output_names, mask)
    base = make_rule(masked, "cl", eta=0.5)
    rule = chain(base, noise(0.01, kind="additive"), seed=1)
    rate = rule(k, x, y)
    np.testing.assert_array_equal(rate[~mask], 0.0)  # additive noise cannot move frozen edges
    xi = np.random.default_rng([1, 0, 0]).standard_normal(len(k))  # key (seed, position), call 0
    reference = base.rate_and_loss(k, x, y, masked=False)[0] + 0.01 * xi
    np.testing.assert_allclose(rate[mask], reference[mask], rtol=1e-12)
    np.testing.assert_array_equal(rule.project(k), k)


def test_chain_state_round_trips_and_replays():
    rule = chain(lambda k, x, y: np.ones(50), noise(0.5), desynchronous(0.5), seed=7)
    rule(np.ones(50), None)
    saved = rule.state_dict()
    assert saved == [{"key": [7, 0], "count": 1}, {"key": [7, 1], "count": 1}]
    ahead = rule(np.ones(50), None)
    rule.load_state(saved)
    np.testing.assert_array_equal(rule(np.ones(50), None), ahead)
    with pytest.raises(ParameterError):
        chain(lambda k, x, y: k, seed=-1)


def test_modifier_registry_declares_parameters():
    assert set(MODIFIERS.names()) == {"noise", "quantize", "desynchronous", "precondition", "decay"}
    assert MODIFIERS.resolve("noise", {"sigma": 1}) == {"sigma": 1.0, "kind": "multiplicative"}
    with pytest.raises(ParameterError, match="sigma: missing"):
        MODIFIERS.resolve("noise", {})


def test_precondition_and_decay_modifiers():
    k, rate = np.array([0.5, 2.0]), np.array([1.0, -1.0])
    pre = MODIFIERS.build("precondition", power=2.0)
    np.testing.assert_array_equal(pre.update(rate, k, None)[0], [0.25, -4.0])
    dec = MODIFIERS.build("decay", rate=0.1)
    np.testing.assert_allclose(dec.update(rate, k, None)[0], [0.95, -1.2])
    with pytest.raises(ParameterError, match="rate: must not be negative"):
        MODIFIERS.build("decay", rate=-1.0)
