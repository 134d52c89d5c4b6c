"""Integrators: convergence order, adaptive tolerance, bounds, invariant Q, resumption."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn import generators
from circuitlearn.analysis.conservation import invariant_q
from circuitlearn.learning import tasks
from circuitlearn.learning.integrate import (
    MAX_STEPS,
    RK4,
    Adaptive,
    Euler,
    ExampleSchedule,
    integrate,
    iterate,
    make_integrator,
    num_steps,
)
from circuitlearn.learning.modifiers import Bounds, chain, quantize
from circuitlearn.learning.rules import make_rule
from circuitlearn.solver.equilibrium import make_problem

NEVER = 10**9  # record_every that records only the first and last states


def _slope(dts: list[float], errors: list[float]) -> float:
    return float(np.polyfit(np.log(dts), np.log(errors), 1)[0])


@pytest.fixture(scope="module")
def flow():
    """A small voltage-driven learning problem with a realizable teacher task."""
    net = generators.delaunay_network(12, 3.5, seed=3)
    net, inputs, outputs = generators.learning_network(net, n_inputs=2, n_outputs=2, seed=4)
    problem = make_problem(net, inputs, outputs)
    data = tasks.make_dataset(problem, "teacher", n_train=8, n_test=8, seed=5)
    return problem, data


def _rate(problem, data, name, **params):
    rule = make_rule(problem, name, **params)
    return lambda t, k: rule(k, data.x_train, data.y_train)


# ------------------------------------------------------------- closed form
def test_logistic_ode_orders():
    # dk/dt = k (1 - k):  k(t) = 1 / (1 + (1/k0 - 1) e^-t)
    def rate(t, k):
        return k * (1 - k)

    k0 = np.array([0.1, 0.5, 2.0])
    exact = 1 / (1 + (1 / k0 - 1) * np.exp(-3.0))
    dts = [0.2, 0.1, 0.05, 0.025]
    for method, order in (("euler", 1), ("rk4", 4)):
        errs = [np.max(np.abs(integrate(rate, k0, t_end=3.0, dt=h, method=method,
                                        record_every=NEVER).k[-1] - exact)) for h in dts]
        assert _slope(dts, errs) == pytest.approx(order, abs=0.15), errs


@pytest.mark.parametrize("method", ["rk45", "dop853"])
def test_adaptive_within_tolerance_closed_form(method):
    traj = integrate(lambda t, k: -k, np.array([1.0, 2.0]), t_end=3.0, dt=1.0,
                     method=method, rtol=1e-8, atol=1e-12)
    assert np.allclose(traj.t, [0, 1, 2, 3])
    exact = np.array([1.0, 2.0]) * np.exp(-traj.t)[:, None]
    assert np.max(np.abs(traj.k - exact) / exact) < 1e-6


# --------------------------------------------------------------- learning flow
@pytest.mark.parametrize("rule,params", [("gradient", {"alpha": 20.0}),
                                         ("cl", {"eta": 0.1, "alpha": 20.0})])
def test_convergence_order_on_training_flow(flow, rule, params):
    problem, data = flow
    rate = _rate(problem, data, rule, **params)
    k0 = problem.circuit.conductance
    ref = integrate(rate, k0, t_end=1.0, dt=1 / 256, method="rk4", record_every=NEVER).k[-1]
    assert np.max(np.abs(ref - k0)) > 0.1  # the flow moves the conductances
    dts = [1 / 8, 1 / 16, 1 / 32]
    for method, order in (("euler", 1), ("rk4", 4)):
        errs = [np.max(np.abs(integrate(rate, k0, t_end=1.0, dt=h, method=method,
                                        record_every=NEVER).k[-1] - ref)) for h in dts]
        assert _slope(dts, errs) == pytest.approx(order, abs=0.3), errs


def test_adaptive_within_tolerance_on_training_flow(flow):
    problem, data = flow
    rate = _rate(problem, data, "gradient", alpha=20.0)
    k0 = problem.circuit.conductance
    ref = integrate(rate, k0, t_end=1.0, dt=1 / 128, method="rk4", record_every=NEVER).k[-1]
    for method in ("rk45", "dop853"):
        k = integrate(rate, k0, t_end=1.0, dt=0.5, method=method, rtol=1e-8,
                      atol=1e-10).k[-1]
        assert np.max(np.abs(k - ref)) < 1e-6


def test_gradient_flow_conserves_q_under_rk4(flow):
    problem, data = flow
    assert problem.voltage_driven
    rate = _rate(problem, data, "gradient", alpha=20.0)
    k0 = problem.circuit.conductance
    traj = integrate(rate, k0, t_end=1.0, dt=1 / 64, method="rk4", record_every=4)
    q = np.array([invariant_q(k, problem.trainable) for k in traj.k])
    assert np.max(np.abs(traj.k[-1] - k0)) > 0.1
    assert np.max(np.abs(q / q[0] - 1)) < 1e-8


# ---------------------------------------------------------------- constraints
def test_bounds_restrict_and_project():
    b = Bounds(0.5, 2.0)
    k = np.array([0.5, 0.5, 1.0, 2.0, 2.0])
    rate = np.array([-1.0, 1.0, -1.0, 1.0, -1.0])
    assert np.array_equal(b.restrict(rate, k), [0.0, 1.0, -1.0, 0.0, -1.0])
    assert np.array_equal(b.project(np.array([0.1, 1.0, 3.0])), [0.5, 1.0, 2.0])
    with pytest.raises(ValueError):
        Bounds(2.0, 1.0)


def test_bounds_respected_in_run():
    def rate(t, k):
        return np.array([-1.0, 1.0, 0.3])

    seen = []
    traj = integrate(rate, np.ones(3), t_end=3.0, dt=0.07, method="rk4",
                     bounds=Bounds(0.2, 1.5), callback=lambda n, t, k: seen.append(k))
    assert np.all(traj.k >= 0.2) and np.all(traj.k <= 1.5)
    assert np.array_equal(traj.k[-1], [0.2, 1.5, 1.5])
    assert len(seen) == num_steps(3.0, 0.07) + 1


def test_quantization_and_mask_respected_in_run(flow):
    problem, data = flow
    mask = np.zeros(problem.num_edges, bool)
    mask[::2] = True
    masked = make_problem(problem.circuit, problem.inputs, problem.output_names, mask)
    step = 0.05  # S/s between quantization levels
    rule = chain(make_rule(masked, "cl", eta=0.1, alpha=20.0), quantize(9, step=step))
    dt = 0.01
    traj = integrate(lambda t, k: rule(k, data.x_train, data.y_train),
                     masked.circuit.conductance, t_end=0.5, dt=dt, method="euler")
    updates = np.diff(traj.k, axis=0) / (dt * step)
    assert np.allclose(updates, np.round(updates), atol=1e-6)
    assert np.max(np.abs(updates)) <= 4 + 1e-9
    assert np.any(updates != 0)
    assert np.array_equal(traj.k[:, ~mask], np.broadcast_to(traj.k[0, ~mask],
                                                             traj.k[:, ~mask].shape))


# ------------------------------------------------------------------ mechanics
def test_integrators_step_classes():
    def rate(t, k):
        return 2 * k

    assert Euler().step(rate, 0.0, np.array([1.0]), 0.1)[0] == pytest.approx(1.2)
    assert RK4().step(rate, 0.0, np.array([1.0]), 0.1)[0] == pytest.approx(np.exp(0.2), rel=1e-5)
    ad = Adaptive("DOP853", rtol=1e-10, atol=1e-12)
    assert ad.step(rate, 0.0, np.array([1.0]), 1.0)[0] == pytest.approx(np.exp(2.0), rel=1e-8)
    assert ad.nfev > 0
    assert make_integrator("RK45").name == "rk45"
    with pytest.raises(ValueError):
        make_integrator("leapfrog")


def test_time_grid_ends_exactly():
    traj = integrate(lambda t, k: np.ones_like(k), np.zeros(1), t_end=1.0, dt=0.3,
                     method="euler")
    assert list(traj.steps) == [0, 1, 2, 3, 4]
    assert traj.t[-1] == 1.0
    assert traj.k[-1, 0] == pytest.approx(1.0)


def test_iterate_resumes_bit_for_bit():
    rng = np.random.default_rng(1)
    start = rng.bit_generator.state

    def rate(t, k):
        return -k * np.sin(t) + 0.1 * rng.standard_normal(k.shape)

    k0 = np.linspace(1, 2, 5)
    full = list(iterate(rate, k0, t_end=2.0, dt=0.1, method="rk4"))
    rng.bit_generator.state = start
    head = []
    for state in iterate(rate, k0, t_end=2.0, dt=0.1, method="rk4"):
        head.append(state)
        if state[0] == 7:
            break  # "interrupted" after step 7; rng holds the state to checkpoint
    tail = list(iterate(rate, head[-1][2], t_end=2.0, dt=0.1, method="rk4", start_step=7))
    assert [n for n, _, _ in head + tail] == [n for n, _, _ in full]
    for (_, ta, ka), (_, tb, kb) in zip(head + tail, full, strict=True):
        assert ta == tb and np.array_equal(ka, kb)


def test_example_schedule_is_a_permutation_per_epoch():
    s = ExampleSchedule(5, tau=0.5, seed=3)
    first = [s.example(0.5 * w + 0.25) for w in range(5)]
    second = [s.example(0.5 * w + 0.25) for w in range(5, 10)]
    assert sorted(first) == sorted(second) == list(range(5))
    assert first != second or first == sorted(first)
    again = ExampleSchedule(5, tau=0.5, seed=3)
    assert [again.example(0.5 * w + 0.25) for w in range(10)] == first + second
    assert s.window(1.0) == 2 and s.window(0.9999999) == 1


def test_num_steps_rejects_non_finite_times_and_absurd_step_counts():
    assert num_steps(MAX_STEPS * 0.5, 0.5) == MAX_STEPS
    for t_end, dt in ((np.inf, 0.1), (np.nan, 0.1), (1.0, np.inf), (1.0, np.nan), (1.0, 0.0),
                      (1.0, 1e-300), (1e300, 1.0), (MAX_STEPS * 0.5 + 1.0, 0.5)):
        with pytest.raises(ValueError):
            num_steps(t_end, dt)
    with pytest.raises(ValueError, match="finite"):
        list(iterate(lambda t, k: k, np.ones(1), t_end=np.inf, dt=0.1))
