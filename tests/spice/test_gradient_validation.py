"""`validate --gradient`: the loss gradient from ngspice's free, adjoint and
current-nudged networks against circuitlearn's, on every bundled experiment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from circuitlearn.cli import main
from circuitlearn.netlist import write
from circuitlearn.solver.adjoint import current_nudged_network
from circuitlearn.solver.dc import solve
from circuitlearn.solver.equilibrium import EquilibriumSolver
from circuitlearn.solver.examples import SOURCE_CASES, random_problem
from circuitlearn.spice import available_backends, run_op_batch
from circuitlearn.spice.gradient import compare_gradients, gradient_checks

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((REPO / "netlists" / "experiments").glob("*.toml"))
BACKENDS = available_backends()


def need(backend: str) -> None:
    if backend not in BACKENDS:
        pytest.skip(f"ngspice backend {backend} not available")


@pytest.mark.parametrize("backend", ["pyspice", "batch"])
@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_gradient_from_ngspice_networks_agrees(experiment, backend, tmp_path, capsys,
                                               monkeypatch):
    need(backend)
    monkeypatch.chdir(tmp_path)  # no run folder here: initial conductances only
    args = ["validate", str(experiment), "--gradient", "--samples", "3", "--backend", backend,
            "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["backend"] == backend
    labels = " ".join(c["label"] for c in report["checks"])
    assert "free network" in labels and "adjoint network" in labels
    assert "current-nudged network" in labels
    assert len(report["gradients"]) == 2
    for g in report["gradients"]:
        assert g["max_relative_error"] <= 1e-9 and abs(1 - g["cosine"]) <= 1e-12


def test_trained_conductances_are_validated_too(tmp_path, capsys):
    need("batch")
    exp = REPO / "netlists" / "experiments" / "regression.toml"
    assert main(["train", str(exp), "--out", str(tmp_path), "--max-steps", "40",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["validate", str(exp), "--gradient", "--samples", "2", "--run", str(tmp_path),
                 "--backend", "batch", "--beta", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "checkpoint step 40" in out and "current nudge beta=0.5 S" in out
    assert "PASS" in out


@pytest.mark.parametrize("name", ["v-bias", "floating"])
def test_random_networks_with_bias_and_current_sources(name):
    """Bias voltage sources, floating sources and current sources must all be off in
    the adjoint deck: the gradient from ngspice matches to rounding."""
    need("batch")
    problem, k, x, y = random_problem(5, num_nodes=16, sources=SOURCE_CASES[name],
                                      pair_outputs=True, batch=3)
    checks, gradients = gradient_checks(problem, k, x, y, label="random", beta=0.8,
                                        backend="batch")
    assert max(c.max_error for c in checks) <= 1e-12
    assert all(g.max_relative_error <= 1e-9 for g in gradients)


def test_current_nudged_deck_runs_in_ngspice():
    need("batch")
    problem, k, x, y = random_problem(2, num_nodes=12, sources=SOURCE_CASES["floating"])
    circuit = current_nudged_network(problem, k, x[0], y[0], 0.5)
    spice = run_op_batch(write(circuit), [{}], backend="batch")[0]
    ours = solve(circuit).node_voltages
    assert max(abs(spice.node_voltages[n] - v) for n, v in
               zip(circuit.nodes[1:], ours[1:], strict=True)) < 1e-12


def test_a_wrong_gradient_fails_the_check():
    names = ("r1", "r2", "r3")
    g = np.array([1.0, -2.0, 0.5])
    check = compare_gradients("wrong", names, g * np.array([1, 1, 1 + 1e-6]), g)
    assert check.max_relative_error == pytest.approx(0.25e-6) and check.worst_edge == "r3"


def test_gradient_needs_an_experiment(capsys):
    assert main(["validate", str(REPO / "netlists" / "bridge.cir"), "--gradient"]) == 2
    assert "experiment file" in capsys.readouterr().err


def test_near_a_perfect_fit_the_errors_cancel_and_the_check_says_so():
    """With targets 1e-11 V from the outputs, the errors ``C V_F - y`` keep ~5 digits:
    the raw gradients of two exact solvers differ by ~|C V_F|/|e| x 1e-16, while the
    adjoint solve compared with the same errors still agrees to rounding."""
    need("batch")
    problem, k, x, _ = random_problem(5, num_nodes=16, sources=SOURCE_CASES["grounded-v"],
                                      batch=3)
    es = EquilibriumSolver(problem, k)
    y = es.outputs(es.free(x)) + 1e-11 * np.random.default_rng(0).uniform(-1, 1, (3, 2))
    _, (adjoint, ep) = gradient_checks(problem, k, x, y, label="fit", beta=0.5,
                                       backend="batch")
    assert adjoint.amplification > 1e9
    assert adjoint.max_relative_error > 1e-9  # the raw check cannot hold here
    assert adjoint.same_errors < 1e-12 and adjoint.normalized_error < 1e-9
    assert ep.nudge_amplification > 1e9 and ep.normalized_error < 1e-9
