"""Experiment files: schema, defaults, errors naming the file and the key, building."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from circuitlearn.errors import ExperimentError
from circuitlearn.training.experiment import comparable, load_experiment
from circuitlearn.training.flow import make_rate
from circuitlearn.training.setup import build, select_trainable

EXAMPLES = Path(__file__).resolve().parents[2] / "netlists" / "experiments"

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
    train = exp.train
    assert train.integrator == "euler" and train.mode == "full-batch"
    assert train.record_every == 1 and train.checkpoint_every == 10
    assert train.trainable == "all" and train.bounds is None
    assert str(exp.output) == "runs/exp"
    assert exp.network.params["conductance"] == [0.5, 1.5]
    config = exp.to_dict()
    assert config["rule"] == {"name": "cl", "eta": 0.2, "alpha": 1.0, "path": "moments",
                              "modifiers": {}}  # every default used, stated
    assert "output" not in comparable(config)


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
    assert setup.rule.state_dict() == [{"key": [0, 0], "count": 0}]
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


def test_select_trainable_helper():
    from circuitlearn.generators import square_lattice

    c = square_lattice(2, 3, seed=0)
    assert select_trainable(c, "all").all()
    assert select_trainable(c, "R[12]").tolist() == [True, True] + [False] * 5
    with pytest.raises(ValueError):
        select_trainable(c, ["r99"])


def test_iris_input_count_mismatch(tmp_path):
    text = (EXAMPLES / "iris.toml").read_text().replace(
        "../iris.cir", str(EXAMPLES.parent / "iris.cir")).replace("signed = true",
                                                                  "signed = false")
    assert "[task] inputs" in _error(tmp_path, text)


def test_numbers_must_be_finite_and_step_count_capped(tmp_path):
    message = _error(tmp_path, GENERATED.replace("t_end = 1.0", "t_end = inf"))
    assert "[train] t_end" in message and "finite" in message
    assert "[train] dt" in _error(tmp_path, GENERATED.replace("dt = 0.1", "dt = nan"))
    for text in (GENERATED.replace("dt = 0.1", "dt = 1e-300"),
                 GENERATED.replace("t_end = 1.0", "t_end = 1e300")):
        message = _error(tmp_path, text)
        assert "[train] dt" in message and "t_end / dt" in message and "1e+08" in message
    assert "[rule] alpha" in _error(tmp_path, GENERATED.replace("eta = 0.2",
                                                                "eta = 0.2\nalpha = inf"))
    assert "[task.data] input_range" in _error(
        tmp_path, GENERATED.replace("n_test = 6", "n_test = 6\ninput_range = [-1.0, inf]"))
    assert "[network] conductance" in _error(
        tmp_path, GENERATED.replace("seed = 4", "seed = 4\nconductance = [0.5, inf]"))
    online = GENERATED.replace("dt = 0.1", 'dt = 0.1\nmode = "online"\ntau = inf')
    assert "[train] tau" in _error(tmp_path, online)


@pytest.mark.parametrize("old,new,key", [
    ("eta = 0.2", "eta = 1.5", "[rule] eta"),
    ("eta = 0.2", "eta = 0.0", "[rule] eta"),
    ("eta = 0.2", "eta = 0.2\nalpha = 0.0", "[rule] alpha"),
    ('name = "cl"\neta = 0.2', 'name = "ep"\nbeta = -0.1', "[rule] beta"),
    ('name = "cl"\neta = 0.2', 'name = "ep"\nbeta = 0.1\nnudging = "sideways"',
     "[rule] nudging"),
    ("eta = 0.2", 'eta = 0.2\npath = "shortcut"', "[rule] path"),
])
def test_rule_parameter_ranges(tmp_path, old, new, key):
    assert key in _error(tmp_path, GENERATED.replace(old, new))


def test_eta_one_is_allowed(tmp_path):
    exp = load_experiment(_write(tmp_path, GENERATED.replace("eta = 0.2", "eta = 1.0")))
    assert exp.rule.params["eta"] == 1.0


@pytest.mark.parametrize("table,key", [
    ("[rule.noise]\nsigma = 0.1\nkind = \"loud\"", "[rule.noise] kind"),
    ("[rule.noise]\nkind = \"additive\"\nsigma = -0.1", "[rule.noise] sigma"),
    ("[rule.desynchronous]\nfraction = 1.5", "[rule.desynchronous] fraction"),
    ("[rule.quantize]\nstep = 0.1\nlevels = 1", "[rule.quantize] levels"),
    ("[rule.quantize]\nlevels = 5\nstep = -0.1", "[rule.quantize] step"),
])
def test_modifier_parameter_ranges_name_the_key(tmp_path, table, key):
    assert key in _error(tmp_path, GENERATED + "\n" + table + "\n")


def test_inputs_and_outputs_must_not_be_empty(tmp_path):
    for key in ("inputs", "outputs"):
        text = GENERATED.replace("[task.data]", f"[task]\n{key} = []\n\n[task.data]")
        message = _error(tmp_path, text)
        assert f"[task] {key}" in message and "at least one" in message


def test_repeated_input_source_names_inputs(tmp_path):
    text = (EXAMPLES / "regression.toml").read_text().replace(
        "../disordered.cir", str(EXAMPLES.parent / "disordered.cir"))
    message = _error(tmp_path, text.replace('"vin2"', '"VIN1"'))
    assert "[task] inputs" in message and "twice" in message


@pytest.mark.parametrize("bounds,words", [
    ("[-1e9, 1e9]", "passive network"),
    ("[-0.1, 2.0]", "passive network"),
    ("[-inf, 2.0]", "finite"),
    ("[0.5, 0.5]", "k_min < k_max"),
    ("[inf, inf]", "finite"),
])
def test_bad_bounds(tmp_path, bounds, words):
    message = _error(tmp_path, GENERATED.replace("dt = 0.1", f"dt = 0.1\nbounds = {bounds}"))
    assert "[train] bounds" in message and words in message


def test_bounds_zero_floor_and_open_top(tmp_path):
    text = GENERATED.replace("dt = 0.1", "dt = 0.1\nbounds = [0.0, inf]")
    exp = load_experiment(_write(tmp_path, text))
    assert exp.to_dict()["train"]["bounds"] == [0.0, None]  # JSON-able, no Infinity
    setup = build(exp)
    assert setup.bounds.k_min == 0.0 and setup.bounds.k_max == np.inf
    default = build(load_experiment(_write(tmp_path, GENERATED, "default.toml")))
    k0 = default.circuit.conductance
    assert default.bounds.k_min == pytest.approx(1e-3 * k0.min())
    assert default.bounds.k_max == np.inf
