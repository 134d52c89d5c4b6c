"""``circuitlearn train``: output files, resume equals an uninterrupted run, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from circuitlearn import netlist
from circuitlearn.cli import main
from circuitlearn.training import run as training
from circuitlearn.training.checkpoint import load_checkpoint
from circuitlearn.training.experiment import load_experiment
from circuitlearn.training.io import COLUMNS, Progress, progress_enabled
from circuitlearn.training.setup import build

EXAMPLES = Path(__file__).resolve().parents[2] / "netlists" / "experiments"
HEADER = ("step,t,train_loss,test_loss,train_accuracy,test_accuracy,invariant_q,power,"
          "at_bound")
FILES = ("curves.csv", "curves.png", "summary.json", "checkpoint.npz", "trained.cir", "best.cir")

SMALL = """
[network]
generator = "delaunay"
nodes = 24
mean_degree = 3.5
seed = 2
inputs = 2
outputs = 2

[task.data]
kind = "teacher"
n_train = 10
n_test = 10

[rule]
name = "cl"
eta = 0.1
alpha = 20.0
{modifiers}

[train]
integrator = "{integrator}"
t_end = 2.0
dt = 0.1
record_every = 3
checkpoint_every = 5
bounds = [0.3, 3.0]
{train}
"""

NOISY = "[rule.noise]\nsigma = 0.2\n[rule.desynchronous]\nfraction = 0.5"


def _experiment(tmp_path: Path, integrator: str = "euler", modifiers: str = "",
                train: str = "") -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL.format(integrator=integrator, modifiers=modifiers, train=train))
    return path


def _run(*argv: str) -> int:
    return main(["train", *map(str, argv), "--no-progress"])


def _same_run(a: Path, b: Path) -> None:
    assert (a / "curves.csv").read_bytes() == (b / "curves.csv").read_bytes()
    assert (a / "trained.cir").read_bytes() == (b / "trained.cir").read_bytes()
    ka, kb = load_checkpoint(a), load_checkpoint(b)
    assert ka.step == kb.step and np.array_equal(ka.k, kb.k)
    assert ka.modifier_state == kb.modifier_state


def test_cli_writes_every_file(tmp_path):
    exp = _experiment(tmp_path)
    assert _run(exp, "--out", tmp_path / "out") == 0
    out = tmp_path / "out"
    assert all((out / f).is_file() for f in FILES)
    lines = (out / "curves.csv").read_text().splitlines()
    assert lines[0] == HEADER == ",".join(COLUMNS)
    steps = [int(line.split(",")[0]) for line in lines[1:]]
    assert steps == [0, 3, 6, 9, 12, 15, 18, 20]
    assert all(line.split(",")[4:6] == ["", ""] for line in lines[1:])  # regression
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 20
    for key in ("final", "wall_time_s", "config", "factorization_backend", "q_relative_drift"):
        assert key in summary
    assert summary["final"]["test_loss"] < summary["initial"]["test_loss"]
    trained = netlist.load(out / "trained.cir")
    k = load_checkpoint(out).k
    assert np.allclose(trained.conductance, k, rtol=1e-15, atol=0)
    assert np.all((k >= 0.3) & (k <= 3.0))
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("integrator,modifiers", [("euler", NOISY), ("rk4", NOISY),
                                                  ("rk45", "")])
def test_resume_after_max_steps_equals_uninterrupted(tmp_path, integrator, modifiers):
    exp = _experiment(tmp_path, integrator, modifiers, 'mode = "online"\ntau = 0.2')
    assert _run(exp, "--out", tmp_path / "full") == 0
    assert _run(exp, "--out", tmp_path / "part", "--max-steps", "7") == 0
    part = json.loads((tmp_path / "part" / "summary.json").read_text())
    assert part["status"] == "stopped" and load_checkpoint(tmp_path / "part").step == 7
    assert _run(exp, "--resume", tmp_path / "part") == 0
    _same_run(tmp_path / "full", tmp_path / "part")


def test_ctrl_c_mid_step_then_resume_equals_uninterrupted(tmp_path, monkeypatch, capsys):
    exp = _experiment(tmp_path, "rk4", NOISY)
    assert _run(exp, "--out", tmp_path / "full") == 0
    real = training.make_rate
    calls = {"n": 0}

    def interrupting(setup):
        rate, hook = real(setup)

        def wrapped(t, k):
            calls["n"] += 1
            if calls["n"] == 4 * 11 + 3:  # third RK4 stage of step 12
                raise KeyboardInterrupt
            return rate(t, k)

        return wrapped, hook

    monkeypatch.setattr(training, "make_rate", interrupting)
    assert _run(exp, "--out", tmp_path / "cut") == 130
    assert "interrupted at step 11" in capsys.readouterr().err
    assert load_checkpoint(tmp_path / "cut").step == 11
    monkeypatch.setattr(training, "make_rate", real)
    assert _run(exp, "--resume", tmp_path / "cut") == 0
    _same_run(tmp_path / "full", tmp_path / "cut")


def test_resume_with_changed_experiment_fails(tmp_path, capsys):
    exp = _experiment(tmp_path)
    assert _run(exp, "--out", tmp_path / "a", "--max-steps", "4") == 0
    exp.write_text(exp.read_text().replace("eta = 0.1", "eta = 0.2"))
    assert _run(exp, "--resume", tmp_path / "a") == 2
    assert "cannot resume" in capsys.readouterr().err
    assert _run(exp, "--resume", tmp_path / "nothing") == 2


def test_bounds_quantization_and_mask_in_cli_run(tmp_path):
    step = 0.002
    exp = _experiment(tmp_path, "euler", f"[rule.quantize]\nlevels = 201\nstep = {step}",
                      'trainable = ["r1*", "r2*"]')
    assert _run(exp, "--out", tmp_path / "q") == 0
    setup = build(load_experiment(exp))
    k0, k = setup.circuit.conductance, load_checkpoint(tmp_path / "q").k
    names = np.array(setup.circuit.resistor_names)
    mask = np.array([n.startswith(("r1", "r2")) for n in names])
    assert np.array_equal(setup.mask, mask)
    assert np.array_equal(k[~mask], k0[~mask])
    assert np.all((k >= 0.3) & (k <= 3.0))
    inside = mask & (k > 0.3) & (k < 3.0)
    units = (k[inside] - k0[inside]) / (0.1 * step)
    assert np.any(units != 0)
    assert np.allclose(units, np.round(units), atol=1e-6)


def test_bad_toml_exits_2_naming_file_and_key(tmp_path, capsys):
    exp = _experiment(tmp_path, train="speed = 3")
    assert _run(exp) == 2
    err = capsys.readouterr().err
    assert str(exp) in err and "[train] speed" in err
    bad_type = _experiment(tmp_path, integrator="rk4", train='seed = "x"')
    assert _run(bad_type) == 2
    assert "[train] seed" in capsys.readouterr().err
    assert _run(tmp_path / "missing.toml") == 2


def test_regression_example_reduces_test_loss_100x(tmp_path):
    assert _run(EXAMPLES / "regression.toml", "--out", tmp_path / "reg") == 0
    summary = json.loads((tmp_path / "reg" / "summary.json").read_text())
    assert summary["test_loss_reduction"] >= 100


def test_iris_example_records_accuracy(tmp_path):
    assert _run(EXAMPLES / "iris.toml", "--out", tmp_path / "iris", "--max-steps", "400") == 0
    lines = (tmp_path / "iris" / "curves.csv").read_text().splitlines()
    accuracy = [float(line.split(",")[5]) for line in lines[1:]]
    assert all(0 <= a <= 1 for a in accuracy) and accuracy[-1] > 0.5


def test_allostery_example_runs(tmp_path):
    assert _run(EXAMPLES / "allostery.toml", "--out", tmp_path / "allo", "--max-steps",
                "300") == 0
    summary = json.loads((tmp_path / "allo" / "summary.json").read_text())
    assert summary["final"]["train_loss"] < 1e-3 * summary["initial"]["train_loss"]


def test_progress_bar_only_on_terminals(monkeypatch):
    stream = io.StringIO()
    assert not progress_enabled(stream)
    bar = Progress(10, stream=stream)
    bar.update(5, force=True)
    assert stream.getvalue() == ""
    forced = Progress(10, stream=stream, enabled=True)
    forced.update(5, "loss=1", force=True)
    forced.close()
    assert "50.0%" in stream.getvalue() and "loss=1" in stream.getvalue()
    assert " 0:00<0:00 " in stream.getvalue()  # elapsed < time left

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    assert progress_enabled(Tty())
    monkeypatch.setenv("CI", "true")
    assert not progress_enabled(Tty())


def test_default_bounds_keep_conductances_positive(tmp_path, capsys):
    # An aggressive learning rate without [train] bounds would drive conductances
    # negative (an active, non-physical network); the passive default stops at
    # 1e-3 * min(k0). The run diverges (Q explodes) and says so with exit status 1.
    path = tmp_path / "aggressive.toml"
    path.write_text(SMALL.format(integrator="euler", modifiers="", train="")
                    .replace("bounds = [0.3, 3.0]\n", "").replace("alpha = 20.0", "alpha = 1e6"))
    out = tmp_path / "run"
    assert main(["train", str(path), "--out", str(out), "--no-progress"]) == 1
    k0 = build(load_experiment(path)).circuit.conductance
    k = load_checkpoint(out).k
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged"
    assert summary["bounds"] == [pytest.approx(1e-3 * k0.min()), None]
    assert k.min() >= 1e-3 * k0.min() > 0
    assert k.min() == pytest.approx(1e-3 * k0.min())  # the floor was reached
    assert "diverged at step" in capsys.readouterr().err


NETLIST_EXP = """
[network]
netlist = "main.cir"

[task]
inputs = {inputs}
outputs = {outputs}

[task.data]
{data}

[rule]
name = "cl"
eta = 0.1
alpha = 20.0

[train]
t_end = 2.0
dt = 0.1
bounds = [0.3, 3.0]
"""


def _netlist_experiment(tmp_path: Path, data: str) -> tuple[Path, list[str]]:
    """A netlist experiment whose resistors live in ``part.cir``, included by ``main.cir``."""
    from circuitlearn import generators

    net = generators.delaunay_network(16, 3.5, seed=1)
    net, inputs, outputs = generators.learning_network(net, n_inputs=2, n_outputs=2, seed=2)
    lines = netlist.write(net).splitlines()
    resistors = [line for line in lines if line.startswith("r")]
    rest = [line for line in lines[1:] if not line.startswith("r")]
    (tmp_path / "part.cir").write_text("\n".join(resistors) + "\n")
    (tmp_path / "main.cir").write_text("\n".join([lines[0], ".include part.cir", *rest]) + "\n")
    path = tmp_path / "net.toml"
    path.write_text(NETLIST_EXP.format(inputs=json.dumps(list(inputs)),
                                       outputs=json.dumps(list(outputs)), data=data))
    return path, resistors


def test_resume_refuses_an_edited_included_netlist(tmp_path, capsys):
    exp, resistors = _netlist_experiment(tmp_path, 'kind = "teacher"\nn_train = 5\nn_test = 5')
    out = tmp_path / "run"
    assert _run(exp, "--out", out, "--max-steps", "4") == 0
    assert load_checkpoint(out).fingerprint is not None
    name, a, b, _ = resistors[0].split()
    part = tmp_path / "part.cir"
    part.write_text(part.read_text().replace(resistors[0], f"{name} {a} {b} 0.777"))
    capsys.readouterr()
    assert _run(exp, "--resume", out) == 2
    err = capsys.readouterr().err
    assert str(exp) in err and "[network] netlist" in err
    assert "the network netlist changed since the checkpoint" in err and "Traceback" not in err
    part.write_text("\n".join(resistors) + "\n")  # undo the edit: resuming works again
    assert _run(exp, "--resume", out) == 0


def test_resume_refuses_an_edited_data_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = ["x1,x2,y1,y2"] + [",".join(f"{v:.6f}" for v in rng.uniform(0, 1, 4))
                              for _ in range(12)]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    data = ('kind = "csv"\npath = "data.csv"\ninput_columns = ["x1", "x2"]\n'
            'target_columns = ["y1", "y2"]')
    exp, _ = _netlist_experiment(tmp_path, data)
    out = tmp_path / "run"
    assert _run(exp, "--out", out, "--max-steps", "4") == 0
    rows[3] = "0.5,0.5,0.25,0.25"
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    assert _run(exp, "--resume", out) == 2
    err = capsys.readouterr().err
    assert "[task.data] path" in err and "the data set changed since the checkpoint" in err


def test_resume_refuses_a_checkpoint_without_fingerprint(tmp_path, capsys):
    exp = _experiment(tmp_path)
    out = tmp_path / "old"
    assert _run(exp, "--out", out, "--max-steps", "4") == 0
    with np.load(out / "checkpoint.npz") as z:
        old = {k: z[k] for k in z.files if k != "fingerprint"}
    np.savez(out / "checkpoint.npz", **old)  # as written before fingerprints existed
    assert load_checkpoint(out).fingerprint is None
    capsys.readouterr()
    assert _run(exp, "--resume", out) == 2
    err = capsys.readouterr().err
    assert "checkpoint.npz" in err and "no fingerprint" in err and "fresh run" in err


@pytest.mark.parametrize("old,new,key", [
    ("t_end = 2.0", "t_end = inf", "[train] t_end"),
    ("dt = 0.1", "dt = 1e-300", "[train] dt"),
    ("eta = 0.1", "eta = 1.5", "[rule] eta"),
    ("outputs = 2\n", "outputs = 2\n\n[task]\noutputs = []\n", "[task] outputs"),
    ("bounds = [0.3, 3.0]", "bounds = [-1e9, 1e9]", "[train] bounds"),
])
def test_bad_values_exit_2_without_traceback(tmp_path, capsys, old, new, key):
    exp = _experiment(tmp_path)
    exp.write_text(exp.read_text().replace(old, new, 1))
    assert _run(exp, "--out", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {exp}: {key}") and "Traceback" not in err
