"""The GradEP circuit's velocity field: closed forms, representability, generation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from circuitlearn.analysis.flow import (
    affine_flow_map,
    empirical_w2,
    gaussian_w2,
    kron_field,
    least_squares_field,
    realizing_laplacian,
)
from circuitlearn.errors import ParameterError, ProblemError
from circuitlearn.learning.flow import FlowField, flow_layout, flow_network, integrate_flow
from circuitlearn.learning.flowdata import flow_velocities, ot_pairing
from circuitlearn.learning.tasks import make_dataset
from circuitlearn.netlist import parse
from circuitlearn.solver.problem import make_problem


def _field(dim=3, hidden=2, *, time=False, differential=False, seed=0, capacitance=0.7,
           lam=1.3, rails=(-2.0, 3.0)):
    circuit, inputs, outputs = flow_network(dim, hidden=hidden, lam=lam, rails=rails,
                                            time=time, differential=differential, seed=seed)
    problem = make_problem(circuit, inputs, outputs)
    k = circuit.conductance * np.random.default_rng(seed).uniform(5, 50, circuit.num_resistors)
    k[flow_layout(problem).springs] = lam
    return FlowField(problem, k, capacitance)


def test_one_visible_node_by_hand():
    # v1 -- g -- rail b, spring lam to x: V* = (lam x + g b)/(lam + g)
    lam, g, b, cap = 2.0, 0.5, 3.0, 0.25
    circuit = parse(f"hand\nvx1 x1 0 0\nrs1 x1 v1 {1 / lam}\nrk1 v1 r {1 / g}\nvb r 0 {b}\n")
    field = FlowField(make_problem(circuit, ["vx1"], ["v1"]), circuit.conductance, cap)
    x = np.array([[-1.0], [0.0], [2.5]])
    expected = (lam / cap) * ((lam * x + g * b) / (lam + g) - x)
    assert np.allclose(field.velocity(x), expected, rtol=1e-14)
    a, c0, c1 = field.affine()
    assert a[0, 0] == pytest.approx(-lam * g / (cap * (lam + g)), rel=1e-14)
    assert c0[0] == pytest.approx(lam * g * b / (cap * (lam + g)), rel=1e-14)
    assert c1[0] == 0.0


@pytest.mark.parametrize("time,differential", itertools.product((False, True), repeat=2))
def test_velocity_is_the_kron_reduced_affine_field(time, differential):
    field = _field(time=time, differential=differential)
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(7, 3)), rng.random(7)
    a, c0, c1 = field.affine()
    v = field.velocity(x, t if time else None)
    assert np.allclose(v, x @ a.T + c0 + (t[:, None] * c1 if time else 0), rtol=0,
                       atol=1e-13 * np.abs(v).max())
    kron = kron_field(field)
    assert np.allclose(kron.A, a, rtol=0, atol=1e-13 * np.abs(a).max())
    assert np.allclose(kron.c0, c0, rtol=0, atol=1e-13 * np.abs(c0).max())
    assert np.allclose(kron.c1, c1, rtol=0, atol=1e-13 * max(np.abs(c1).max(), 1e-300))
    assert (np.abs(c1).max() > 0) == time


@pytest.mark.parametrize("seed", range(5))
def test_single_ended_field_is_symmetric_contracting_and_metzler(seed):
    field = _field(seed=seed, hidden=seed % 3)
    a = field.affine()[0]
    eig = np.linalg.eigvalsh(a)
    assert np.abs(a - a.T).max() <= 1e-14 * np.abs(a).max()
    assert eig.max() <= 0 and eig.min() > -field.rate
    assert (a - np.diag(np.diag(a))).min() >= 0          # Metzler: couplings of one sign
    assert a.sum(axis=1).max() <= 1e-14 * np.abs(a).max()  # A 1 <= 0
    s, ok = realizing_laplacian(a, field.lam, field.capacitance)
    assert ok
    # the Kron-reduced S (hidden nodes eliminated) is that realising Laplacian
    assert np.allclose(s, kron_field(field).S, rtol=1e-10, atol=1e-12)


def test_a_representable_field_is_realised_without_hidden_nodes():
    field = _field(hidden=3, seed=7)
    a = field.affine()[0]
    s, _ = realizing_laplacian(a, field.lam, field.capacitance)
    lines = ["direct", *(f"vx{i} x{i} 0 0" for i in (1, 2, 3)),
             *(f"rs{i} x{i} v{i} {1 / field.lam!r}" for i in (1, 2, 3))]
    for i, j in itertools.combinations(range(3), 2):
        lines.append(f"rk{i}{j} v{i + 1} v{j + 1} {-1 / float(s[i, j])!r}")
    lines += [f"rg{i} v{i + 1} 0 {1 / float(s[i].sum())!r}" for i in range(3)]
    direct = parse("\n".join(lines) + "\n")
    problem = make_problem(direct, ["vx1", "vx2", "vx3"], ["v1", "v2", "v3"])
    other = FlowField(problem, direct.conductance, field.capacitance)
    assert np.allclose(other.affine()[0], a, rtol=1e-10, atol=1e-13)


def test_fields_of_the_wrong_sign_are_not_representable():
    lam, cap = 1.0, 0.1
    a = np.array([[-3.0, -1.0], [-1.0, -3.0]])              # negative coupling
    assert not realizing_laplacian(a, lam, cap)[1]
    assert not realizing_laplacian(np.diag([-1.0, 0.5]), lam, cap)[1]  # expanding
    assert not realizing_laplacian(np.diag([-1.0, -11.0]), lam, cap)[1]  # below -lam/C
    assert realizing_laplacian(np.array([[-3.0, 1.0], [1.0, -3.0]]), lam, cap)[1]
    # most symmetric contracting Jacobians are not circuit fields (d = 3)
    rng = np.random.default_rng(0)
    passed = 0
    for _ in range(400):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        a = q @ np.diag(-rng.uniform(0, lam / cap, 3)) @ q.T
        passed += realizing_laplacian(a, lam, cap)[1]
    assert 0 < passed < 40


def test_flow_layout_errors():
    circuit, inputs, outputs = flow_network(2, hidden=1, rails=(1.0,))
    with pytest.raises(ProblemError, match="needs 2 \\+ 1 \\(time\\) inputs"):
        flow_layout(make_problem(circuit, inputs, outputs), time=True)
    with pytest.raises(ProblemError, match="joined only by one resistor"):
        flow_layout(make_problem(circuit, inputs[::-1], outputs))
    current = parse("current input\nix1 0 x1 0\nrs1 x1 v1 1\nrk1 v1 0 1\n")
    with pytest.raises(ProblemError, match="must be a voltage source"):
        flow_layout(make_problem(current, ["ix1"], ["v1"]))
    k = circuit.conductance.copy()
    k[flow_layout(make_problem(circuit, inputs, outputs)).springs[0]] = 2.0
    with pytest.raises(ProblemError, match="share one positive conductance"):
        FlowField(make_problem(circuit, inputs, outputs), k, 1.0)


@pytest.mark.parametrize("time", [False, True])
def test_rk4_generation_matches_the_matrix_exponential(time):
    field = _field(time=time, seed=2)
    x0 = np.random.default_rng(3).normal(size=(5, 3))
    times = np.array([0.0, 0.3, 1.0, 1.7])
    phi, shift = affine_flow_map(*field.affine(), times[-1])
    exact = x0 @ phi.T + shift
    errors = []
    for n in (8, 16, 32):  # equal steps of h = 1.7 s / n, h lam/C = 0.4 .. 0.1
        x = integrate_flow(field, x0, times[[0, -1]], max_step=times[-1] / n)
        errors.append(np.abs(x[-1] - exact).max() / np.abs(exact).max())
    order = np.log2(errors[0] / errors[1]), np.log2(errors[1] / errors[2])
    assert all(3.7 < o < 4.3 for o in order), (errors, order)
    x = integrate_flow(field, x0, times)  # default step 0.02 C/lam
    assert np.abs(x[-1] - exact).max() <= 1e-9 * np.abs(exact).max()
    phi, shift = affine_flow_map(*field.affine(), times[1])
    assert np.abs(x[1] - (x0 @ phi.T + shift)).max() <= 1e-9 * np.abs(x[1]).max()


def test_rk4_step_matrix_is_the_four_stage_rk4():
    field = _field(time=True, seed=4)
    a, c0, c1 = field.affine()
    x = np.random.default_rng(5).normal(size=(2, 3))
    h, t = 0.1, 0.25
    ours = integrate_flow(field, x, [t, t + 3 * h], max_step=h)[-1]

    def v(t, x):
        return x @ a.T + c0 + t * c1

    for i in range(3):
        s = t + i * h
        k1 = v(s, x)
        k2 = v(s + h / 2, x + h / 2 * k1)
        k3 = v(s + h / 2, x + h / 2 * k2)
        k4 = v(s + h, x + h * k3)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    assert np.allclose(ours, x, rtol=0, atol=1e-14 * np.abs(x).max())


def test_ot_pairing_is_the_cheapest_permutation():
    rng = np.random.default_rng(4)
    x0, x1 = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1
    p = ot_pairing(x0, x1)
    costs = {perm: np.sum((x0 - x1[list(perm)]) ** 2)
             for perm in itertools.permutations(range(6))}
    assert np.sum((x0 - x1[p]) ** 2) == pytest.approx(min(costs.values()), rel=1e-12)
    assert empirical_w2(x0, x1) == pytest.approx(np.sqrt(min(costs.values()) / 6), rel=1e-12)
    assert empirical_w2(x0, x0 + [3.0, 4.0]) == pytest.approx(5.0, rel=1e-12)


def test_gaussian_w2_closed_form():
    m1, m2 = np.array([1.0, 2.0]), np.array([0.0, -1.0])
    s1, s2 = np.diag([4.0, 0.25]), np.diag([1.0, 9.0])
    expected = np.sqrt(np.sum((m1 - m2) ** 2) + (2 - 1) ** 2 + (0.5 - 3) ** 2)
    assert gaussian_w2(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-13)
    r = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    assert gaussian_w2(m1, r @ s1 @ r.T, m1, r @ s1 @ r.T) == pytest.approx(0, abs=1e-7)


@pytest.mark.parametrize("differential", [False, True])
def test_flow_data_targets_make_the_mse_the_flow_matching_loss(differential):
    field = _field(dim=2, hidden=1, time=True, differential=differential, capacitance=0.2)
    data = make_dataset(field.problem, "flow", capacitance=0.2, time=True, n_train=64,
                        n_test=16, mean=[1.0, -1.0], covariance=[0.5, 0.1, 0.1, 0.3])
    assert data.info["lam"] == pytest.approx(field.lam, rel=1e-15)
    xt, u, t = flow_velocities(field.layout, data.info, data.x_train, data.y_train)
    assert t.min() >= 0 and t.max() <= 1
    out = field.solver.outputs(field.solver.free(data.x_train))
    mse = 0.5 * np.mean(np.sum((out - data.y_train) ** 2, axis=1))
    assert data.info["loss_scale"] * mse == pytest.approx(field.loss(xt, u, t), rel=1e-12)
    # the unconstrained least-squares field is a lower bound on the network's loss
    assert least_squares_field(xt, u, t)[3] <= field.loss(xt, u, t)


def test_ot_pairing_shortens_the_paths():
    field = _field(dim=2, hidden=0)
    common = {"capacitance": 1.0, "n_train": 256, "n_test": 1, "mean": [2.0, 0.0]}
    lengths = {}
    for pairing in ("independent", "ot"):
        data = make_dataset(field.problem, "flow", pairing=pairing, **common)
        u = flow_velocities(field.layout, data.info, data.x_train, data.y_train)[1]
        lengths[pairing] = np.mean(np.sum(u ** 2, axis=1))
    # E||x1 - x0||^2 = |mu|^2 + 2 d for independent pairs; OT pairs are much shorter
    assert lengths["independent"] == pytest.approx(4 + 2 * 2, rel=0.15)
    assert lengths["ot"] < 0.7 * lengths["independent"]


def test_flow_data_errors():
    field = _field(dim=2, hidden=0)
    with pytest.raises(ParameterError, match="mean: needs 2 values"):
        make_dataset(field.problem, "flow", capacitance=1.0, mean=[1.0])
    with pytest.raises(ParameterError, match="covariance: must be symmetric positive"):
        make_dataset(field.problem, "flow", capacitance=1.0, covariance=[1, 2, 2, 1])
    with pytest.raises(ParameterError, match="time"):
        make_dataset(field.problem, "flow", capacitance=1.0, time=True)
    with pytest.raises(ParameterError, match="capacitance"):
        make_dataset(field.problem, "flow", capacitance=0.0)
