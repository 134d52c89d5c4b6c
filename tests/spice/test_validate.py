"""`circuitlearn validate`: netlists and experiment states against ngspice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import circuitlearn.spice.validation as validate_module
from circuitlearn.cli import main
from circuitlearn.solver.dc import solve
from circuitlearn.solver.equilibrium import EquilibriumSolver
from circuitlearn.spice import INSTALL_HINT, available_backends
from circuitlearn.spice.states import augmented_circuit
from circuitlearn.training.experiment import load_experiment
from circuitlearn.training.setup import build

REPO = Path(__file__).resolve().parents[2]
NETLISTS = sorted((REPO / "netlists").glob("*.cir"))
EXPERIMENTS = sorted((REPO / "netlists" / "experiments").glob("*.toml"))
BACKENDS = available_backends()


def need_ngspice(backend: str | None = None) -> None:
    if not BACKENDS or (backend is not None and backend not in BACKENDS):
        pytest.skip(f"ngspice backend {backend or 'any'} not available; {INSTALL_HINT}")


@pytest.mark.parametrize("backend", ["pyspice", "batch"])
@pytest.mark.parametrize("netlist", NETLISTS, ids=[p.name for p in NETLISTS])
def test_bundled_netlists_agree_with_ngspice(netlist, backend, capsys):
    need_ngspice(backend)
    assert main(["validate", str(netlist), "--backend", backend, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["max_error"] <= 1e-9
    assert report["checks"][0]["missing"] == []


def test_disagreement_exits_1_and_is_reported(monkeypatch, capsys):
    need_ngspice()

    def perturbed(circuit):
        op = solve(circuit)
        return type(op)(circuit, op.node_voltages * (1 + 1e-6), op.source_currents, op.method)

    monkeypatch.setattr(validate_module, "solve", perturbed)
    assert main(["validate", str(REPO / "netlists" / "divider.cir")]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "mid" in out


def test_missing_ngspice_gives_install_hint_and_exit_2(monkeypatch, capsys):
    from circuitlearn.spice import api

    monkeypatch.setattr(api.shared, "find_library", lambda: None)
    monkeypatch.setattr(api.batch, "find_executable", lambda: None)
    assert main(["validate", str(REPO / "netlists" / "divider.cir")]) == 2
    err = capsys.readouterr().err
    assert "apt-get install ngspice libngspice0" in err
    assert "pip install circuitlearn[spice]" in err


def test_bad_netlist_exits_2_before_ngspice(tmp_path, capsys):
    bad = tmp_path / "bad.cir"
    bad.write_text("t\nV1 1 0 1\nR1 1 2 1\nR2 3 4 1\n")
    assert main(["validate", str(bad)]) == 2
    assert "bad.cir:4" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["clamped", "nudged"])
def test_augmented_circuits_reproduce_the_learning_states(kind):
    """The clamp/nudge elements written for ngspice give, under circuitlearn's own
    general solver, exactly the equilibrium solver's clamped and nudged states."""
    setup = build(load_experiment(REPO / "netlists" / "experiments" / "regression.toml"))
    problem, data = setup.problem, setup.dataset
    k = setup.circuit.conductance * np.random.default_rng(0).uniform(0.5, 2, len(
        setup.circuit.conductance))
    x, y = data.x_train[:3], data.y_train[:3]
    es = EquilibriumSolver(problem, k)
    beta, eta = 0.3, 0.4
    ours = es.clamped(x, y, eta) if kind == "clamped" else es.nudged(x, y, beta)
    out_free = es.outputs(es.free(x))
    values = out_free + eta * (y - out_free) if kind == "clamped" else y
    circuit, added = augmented_circuit(problem, k, kind, beta)
    n = problem.circuit.num_nodes
    for i in range(len(x)):
        v = circuit.vsource_values.copy()
        for name, value in [*zip(problem.inputs, x[i], strict=True),
                            *zip(added, values[i], strict=True)]:
            v[circuit.vsource_names.index(name)] = value
        op = solve(circuit.with_sources(vsource_values=v))
        assert np.allclose(op.node_voltages[:n], ours[i], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=[p.name for p in EXPERIMENTS])
def test_experiment_states_agree_with_ngspice(experiment, tmp_path, capsys, monkeypatch):
    need_ngspice()
    monkeypatch.chdir(tmp_path)  # no run folder here: initial conductances only
    args = ["validate", str(experiment), "--samples", "2", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    labels = " ".join(c["label"] for c in report["checks"])
    assert "free" in labels and "clamped" in labels and "nudged" in labels
    assert report["max_error"] <= 1e-9


def test_experiment_checkpoint_is_validated_too(tmp_path, capsys):
    need_ngspice()
    exp = REPO / "netlists" / "experiments" / "regression.toml"
    assert main(["train", str(exp), "--out", str(tmp_path), "--max-steps", "40",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["validate", str(exp), "--samples", "1", "--run", str(tmp_path), "--json"]) == 0
    labels = [c["label"] for c in json.loads(capsys.readouterr().out)["checks"]]
    assert any(label.startswith("checkpoint step 40") for label in labels)


def test_written_netlists_run_unchanged_in_ngspice(conformance_dir):
    """write(load(case)) flattens subcircuits into ngspice-named elements; ngspice
    must read it as is and return the same operating point under the same names."""
    need_ngspice()
    from circuitlearn.netlist import load, write
    from circuitlearn.spice import run_op
    from circuitlearn.spice.validation import compare

    for case in sorted(conformance_dir.glob("*/circuit.cir")):
        circuit = load(case)
        check = compare(case.parent.name, solve(circuit).to_dict(), run_op(write(circuit)))
        assert check.missing == [] and check.max_error <= 1e-9, (case, check.missing)


def test_a_node_missing_on_either_side_fails_the_check():
    from circuitlearn.spice import SpiceResult
    from circuitlearn.spice.validation import compare

    ours = {"node_voltages": {"a": 1.0, "b": 0.5}, "source_currents": {}}
    spice = SpiceResult({"a": 1.0, "b_renamed": 0.5}, {}, [], "batch")
    check = compare("renamed node", ours, spice)
    assert check.max_error == float("inf")
    assert any("b (no ngspice value)" in m for m in check.missing)
    assert any("b_renamed (no circuitlearn value)" in m for m in check.missing)
    nan = compare("nan", ours, SpiceResult({"a": float("nan"), "b": 0.5}, {}, [], "batch"))
    assert nan.max_error == float("inf")


def test_run_folder_without_checkpoint_is_an_error(tmp_path, capsys):
    exp = REPO / "netlists" / "experiments" / "regression.toml"
    assert main(["validate", str(exp), "--run", str(tmp_path / "typo")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--samples", "0"], ["--rtol", "-1"], ["--rtol", "nan"]])
def test_bad_validate_options_exit_2(args):
    with pytest.raises(SystemExit) as info:
        main(["validate", str(REPO / "netlists" / "divider.cir"), *args])
    assert info.value.code == 2
