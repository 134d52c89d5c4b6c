"""Adjoint gradient vs finite differences; EP and CL against the gradients they approach."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from circuitlearn.learning.metrics import mse_loss, predict
from circuitlearn.learning.rules import make_rule
from circuitlearn.solver.equilibrium import (
    BatchMoments,
    adjoint_gradient,
    as_batch,
    output_conductance,
)
from circuitlearn.solver.examples import (
    SOURCE_CASES,
    delaunay_problem,
    random_problem,
)

CASES = SOURCE_CASES
PARAMS = [(c, pairs) for c in CASES for pairs in (False, True)]
IDS = [f"{c}-{'pairs' if p else 'nodes'}" for c, p in PARAMS]


def _problem(name: str, pairs: bool, seed: int = 11):
    return random_problem(seed, num_nodes=14, sources=CASES[name], pair_outputs=pairs, batch=5)


def _central_differences(f, k: np.ndarray, h: float = 1e-5) -> np.ndarray:
    eye = np.eye(len(k))
    return np.array([(f(k + h * d) - f(k - h * d)) / (2 * h) for d in eye])


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def loss(problem, k, x, y=None, path="moments") -> float:
    """The MSE loss from explicit states, or from the batch moments (a rule's loss)."""
    if path == "states":
        return mse_loss(predict(problem, k, x), as_batch(y, problem.num_outputs, "y"))
    return make_rule(problem, "gradient").rate_and_loss(k, x, y)[1]


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


@pytest.mark.parametrize("name, pairs", PARAMS, ids=IDS)
def test_adjoint_gradient_matches_finite_differences(name, pairs):
    problem, k, x, y = _problem(name, pairs)
    grad = adjoint_gradient(problem, k, x, y)
    fd = _central_differences(lambda kk: loss(problem, kk, x, y, path="states"), k)
    assert _rel(grad, fd) < 1e-6


@pytest.mark.parametrize("name, pairs", PARAMS, ids=IDS)
def test_batch_independent_path_equals_per_example_path(name, pairs):
    problem, k, x, y = _problem(name, pairs)
    moments = BatchMoments.from_batch(x, y)
    for xb, yb in ((x, y), (x[:1], y[:1]), (x[2], y[2])):
        by_states = loss(problem, k, xb, yb, path="states")
        assert loss(problem, k, xb, yb) == pytest.approx(by_states, rel=1e-10)
        grad = adjoint_gradient(problem, k, xb, yb, path="states")
        assert _rel(adjoint_gradient(problem, k, xb, yb), grad) < 1e-10
    assert loss(problem, k, moments) == pytest.approx(loss(problem, k, x, y), rel=1e-10)
    assert _rel(adjoint_gradient(problem, k, moments), adjoint_gradient(problem, k, x, y)) < 1e-10


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), nodes=st.integers(9, 24),
       name=st.sampled_from(sorted(CASES)), pairs=st.booleans())
def test_gradient_is_the_directional_derivative(seed, nodes, name, pairs):
    """Property: ``g . d = dL(k + h d)/dh`` for a random direction; both paths agree."""
    problem, k, x, y = random_problem(seed, num_nodes=nodes, sources=CASES[name],
                                      pair_outputs=pairs, batch=3)
    grad = adjoint_gradient(problem, k, x, y)
    # Outputs that no conductance can move (e.g. held by the input sources through a
    # dangling branch) have a gradient of rounding noise: no relative comparison.
    assume(np.linalg.norm(grad) > 1e-12 * np.linalg.norm(k))
    assert _rel(adjoint_gradient(problem, k, x, y, path="states"), grad) < 1e-10
    d = np.random.default_rng(seed).standard_normal(len(k))
    h = 1e-5
    fd = (loss(problem, k + h * d, x, y) - loss(problem, k - h * d, x, y)) / (2 * h)
    assert abs(fd - grad @ d) < 1e-7 * np.linalg.norm(grad) * np.linalg.norm(d)


def test_loss_is_half_mean_squared_error_summed_over_outputs():
    problem, k, x, y = _problem("grounded-v", False)
    e = predict(problem, k, x) - y
    assert loss(problem, k, x, y) == pytest.approx(0.5 * np.sum(e**2) / len(x), rel=1e-12)


BETAS = np.logspace(-4, -1, 7)


@pytest.mark.parametrize("pairs", [False, True], ids=["nodes", "pairs"])
@pytest.mark.parametrize("nudging, order", [("positive", 1), ("negative", 1), ("centered", 2)])
def test_ep_error_scales_as_power_of_beta(nudging, order, pairs):
    """One-sided EP = -dL/dk + O(beta); centered EP = -dL/dk + O(beta^2)."""
    problem, k, x, y = _problem("v-bias", pairs, seed=5)
    grad = adjoint_gradient(problem, k, x, y)
    err = np.array([_rel(make_rule(problem, "ep", beta=b, nudging=nudging)(k, x, y),
                         -grad) for b in BETAS])
    slope = _slope(BETAS, err)
    print(f"EP {nudging} ({'pairs' if pairs else 'nodes'}): slope {slope:.3f}, "
          f"error at beta=1e-4: {err[0]:.2e}")
    assert abs(slope - order) < (0.2 if order == 1 else 0.3)
    assert err[0] < 1e-3


@pytest.mark.parametrize("name, pairs", [("v-bias", False), ("floating", True)])
def test_cl_converges_to_conductance_weighted_gradient(name, pairs):
    """CL -> -grad C_w, C_w = (1/2) mean e^T S e with S frozen (finite differences);
    the error is linear in eta."""
    problem, k, x, y = _problem(name, pairs, seed=3)
    s_out = output_conductance(problem, k)

    def weighted(kk):
        e = predict(problem, kk, x) - y
        return 0.5 * float(np.mean(np.einsum("bo,op,bp->b", e, s_out, e)))

    target = -_central_differences(weighted, k)
    etas = np.logspace(-4, -1, 7)
    rates = [make_rule(problem, "cl", eta=eta)(k, x, y) for eta in etas]
    err = np.array([_rel(r, target) for r in rates])
    assert _cos(rates[0], target) > 1 - 1e-6
    assert np.linalg.norm(rates[0]) / np.linalg.norm(target) == pytest.approx(1, abs=1e-3)
    assert abs(_slope(etas, err) - 1) < 0.1


def test_cl_with_one_output_is_scaled_mse_gradient():
    """With a single output S is a scalar: CL -> -S dL/dk, parallel to the gradient."""
    problem, k, x, y = random_problem(8, num_nodes=14, num_outputs=1)
    s_out = output_conductance(problem, k)[0, 0]
    rate = make_rule(problem, "cl", eta=1e-6)(k, x, y)
    grad = adjoint_gradient(problem, k, x, y)
    assert _cos(rate, -grad) > 1 - 1e-9
    assert _rel(rate, -s_out * grad) < 1e-5


def test_cl_is_not_the_mse_gradient():
    """Several outputs: the weight S tilts CL away from the MSE gradient."""
    cosines = []
    for seed in range(6):
        problem, k, x, y = delaunay_problem(seed, num_nodes=64, num_inputs=5)
        rate = make_rule(problem, "cl", eta=1e-4)(k, x, y)
        cosines.append(_cos(rate, -adjoint_gradient(problem, k, x, y)))
    print("cos(CL, -grad MSE) on 64-node Delaunay, 2 outputs:", np.round(cosines, 4))
    assert cosines[4] < 0.999  # 0.925 for this seed
    assert min(cosines) < 0.99
