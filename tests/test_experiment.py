"""Experiment files: schema, defaults, errors naming the file and the key, building."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from circuitlearn.errors import ExperimentError
from circuitlearn.experiment import comparable, load_experiment
from circuitlearn.training_setup import build, make_rate, trainable_mask

EXAMPLES = Path(__file__).resolve().parents[1] / "netlists" / "experiments"

GENERATED = """
[network]
generator = "delaunay"
nodes = 20
mean_degree = 3.5
seed = 4
inputs = 2
outputs = 2

[task.data]
kind = "teacher"
n_train = 6
n_test = 6

[rule]
name = "cl"
eta = 0.2

[train]
t_end = 1.0
dt = 0.1
"""


def _write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ExperimentError) as info:
        build(load_experiment(path))
    message = str(info.value)
    assert str(path) in message
    return message


@pytest.mark.parametrize("name", ["regression", "allostery", "iris"])
def test_bundled_examples_load_and_build(name):
    exp = load_experiment(EXAMPLES / f"{name}.toml")
    setup = build(exp)
    assert setup.circuit.num_resistors > 50
    assert setup.dataset.x_train.shape[1] == len(setup.problem.inputs)
    rate, _ = make_rate(setup)
    assert rate(0.0, setup.circuit.conductance).shape == (setup.circuit.num_resistors,)


def test_defaults_are_resolved(tmp_path):
    exp = load_experiment(_write(tmp_path, GENERATED))
    train = exp.config["train"]
    assert train["integrator"] == "euler" and train["mode"] == "full-batch"
    assert train["record_every"] == 1 and train["checkpoint_every"] == 10
    assert train["trainable"] == "all" and train["bounds"] is None
    assert exp.config["output"]["folder"] == "runs/exp"
    assert exp.config["network"]["conductance"] == [0.5, 1.5]
    assert "output" not in comparable(exp.config)


def test_generated_network_defaults_inputs_and_outputs(tmp_path):
    setup = build(load_experiment(_write(tmp_path, GENERATED)))
    assert setup.problem.inputs == ("vin1", "vin2")
    assert len(setup.problem.outputs) == 2
    assert setup.dataset.x_train.shape == (6, 2)


def test_unknown_key_names_file_and_key(tmp_path):
    message = _error(tmp_path, GENERATED.replace("dt = 0.1", "dt = 0.1\nstep_size = 3"))
    assert "[train] step_size" in message and "unknown key" in message


def test_wrong_type_names_file_and_key(tmp_path):
    message = _error(tmp_path, GENERATED.replace("t_end = 1.0", 't_end = "long"'))
    assert "[train] t_end" in message and "number" in message


def test_bool_is_not_an_int(tmp_path):
    message = _error(tmp_path, GENERATED.replace("n_train = 6", "n_train = true"))
    assert "[task.data] n_train" in message


def test_bad_choice_and_value(tmp_path):
    assert "[train] integrator" in _error(
        tmp_path, GENERATED.replace("dt = 0.1", 'dt = 0.1\nintegrator = "leapfrog"'))
    assert "[train] dt" in _error(tmp_path, GENERATED.replace("dt = 0.1", "dt = -1.0"))
    assert "[rule] name" in _error(tmp_path, GENERATED.replace('"cl"', '"hebb"'))
    assert "[rule] beta" in _error(tmp_path, GENERATED.replace("eta = 0.2", "beta = 0.2"))


def test_missing_section_and_key(tmp_path):
    assert "[train]: missing section" in _error(tmp_path, GENERATED.split("[train]")[0])
    text = GENERATED.replace("t_end = 1.0\n", "")
    assert "[train] t_end: missing" in _error(tmp_path, text)
    assert "[extra]: unknown section" in _error(tmp_path, GENERATED + "\n[extra]\na = 1\n")


def test_invalid_toml(tmp_path):
    assert "invalid TOML" in _error(tmp_path, GENERATED + "\n[train\n")


def test_online_mode_needs_tau(tmp_path):
    text = GENERATED.replace("dt = 0.1", 'dt = 0.1\nmode = "online"')
    assert "[train] tau: missing" in _error(tmp_path, text)
    exp = load_experiment(_write(tmp_path, text.replace('"online"', '"online"\ntau = 0.2')))
    setup = build(exp)
    rate, before = make_rate(setup)
    before(0, 0.0, 0.1)
    assert rate(0.0, setup.circuit.conductance).shape == (setup.circuit.num_resistors,)


def test_modifier_parameters_checked(tmp_path):
    ok = GENERATED + "\n[rule.noise]\nsigma = 0.1\nkind = \"additive\"\n"
    setup = build(load_experiment(_write(tmp_path, ok)))
    assert set(setup.rngs) == {"noise"}
    bad = GENERATED + "\n[rule.quantize]\nlevels = 5\nwidth = 2.0\n"
    assert "[rule.quantize] width" in _error(tmp_path, bad)
    assert "[rule.quantize] levels: missing" in _error(
        tmp_path, GENERATED + "\n[rule.quantize]\nstep = 0.1\n")


def test_netlist_path_relative_to_file(tmp_path):
    (tmp_path / "nets").mkdir()
    net = (EXAMPLES.parent / "disordered.cir").read_text()
    (tmp_path / "nets" / "d.cir").write_text(net)
    sub = tmp_path / "exps"
    sub.mkdir()
    text = (EXAMPLES / "regression.toml").read_text().replace("../disordered.cir",
                                                             "../nets/d.cir")
    setup = build(load_experiment(_write(sub, text)))
    assert setup.circuit.num_resistors == 112
    assert "[network] netlist" in _error(tmp_path, text.replace("../nets/d.cir", "nope.cir"))


def test_unknown_output_and_input_names(tmp_path):
    text = (EXAMPLES / "regression.toml").read_text().replace(
        "../disordered.cir", str(EXAMPLES.parent / "disordered.cir"))
    assert "[task] outputs" in _error(tmp_path, text.replace('"n17"', '"nowhere"'))
    assert "[task] inputs" in _error(tmp_path, text.replace('"vin3"]', '"vin9"]'))


def test_trainable_globs(tmp_path):
    text = GENERATED.replace("dt = 0.1", 'dt = 0.1\ntrainable = ["r1", "r2?"]')
    setup = build(load_experiment(_write(tmp_path, text)))
    names = np.array(setup.circuit.resistor_names)
    assert sorted(names[setup.mask]) == sorted(["r1"] + [f"r2{i}" for i in range(10)
                                                         if f"r2{i}" in names])
    assert "[train] trainable" in _error(tmp_path, text.replace('"r1"', '"q*"'))


def test_trainable_mask_helper():
    from circuitlearn.generators import square_lattice

    c = square_lattice(2, 3, seed=0)
    assert trainable_mask(c, "all").all()
    assert trainable_mask(c, "R[12]").tolist() == [True, True] + [False] * 5
    with pytest.raises(ValueError):
        trainable_mask(c, ["r99"])


def test_iris_input_count_mismatch(tmp_path):
    text = (EXAMPLES / "iris.toml").read_text().replace(
        "../iris.cir", str(EXAMPLES.parent / "iris.cir")).replace("signed = true",
                                                                  "signed = false")
    assert "[task] inputs" in _error(tmp_path, text)
