"""Runs that fail loudly, stop when done and report the last step taken."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import circuitlearn as cl
from circuitlearn.cli import main
from circuitlearn.errors import TrainingInterrupted
from circuitlearn.learning.integrate import ExampleSchedule
from circuitlearn.training import run as training
from circuitlearn.training.checkpoint import load_checkpoint
from circuitlearn.training.experiment import load_experiment
from circuitlearn.training.flow import AUTO_CHANGE
from circuitlearn.training.io import read_curves
from circuitlearn.training.setup import build
from circuitlearn.training.summary import measure

# A 3x3 grid of 1 kOhm resistors: alpha = 1 S^2/(V^2 s) with dt = 0.1 s moves every
# conductance by about 1e3 times its value in the first step.
GRID = """
[network]
generator = "square"
rows = 3
cols = 3
conductance = [0.001, 0.001]
[task.data]
kind = "teacher"
n_train = 8
n_test = 8
[rule]
name = "{rule}"
{rule_params}
[train]
t_end = {t_end}
dt = {dt}
{train}
"""

SMALL = """
[network]
generator = "delaunay"
nodes = 20
mean_degree = 3.5
seed = 2
outputs = 2
[task.data]
kind = "teacher"
n_train = 10
n_test = 10
[rule]
name = "cl"
eta = 0.1
alpha = 20.0
[train]
t_end = 4.0
dt = 0.1
bounds = [0.3, 3.0]
{train}
"""


def _write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _grid(tmp_path: Path, rule: str = "gradient", rule_params: str = "alpha = 1.0",
          t_end: float = 10.0, dt: str = "0.1", train: str = "") -> Path:
    return _write(tmp_path, GRID.format(rule=rule, rule_params=rule_params, t_end=t_end,
                                        dt=dt, train=train))


def _run(*argv: object) -> int:
    return main(["train", *map(str, argv), "--no-progress"])


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def test_a_diverging_run_stops_with_status_1_and_suggests_a_step(tmp_path, capsys):
    exp = _grid(tmp_path)
    assert _run(exp, "--out", tmp_path / "run") == 1
    err = capsys.readouterr().err
    summary = _summary(tmp_path / "run")
    assert summary["status"] == "diverged" and summary["steps"] == 1
    assert "diverged at step 1 (t = 0.1 s)" in err and "Q = sum k^2 grew" in err
    suggested = float(err.split("try dt = ")[1].split()[0])
    assert summary["reason"] in err and 0 < suggested < 0.01
    curves = read_curves(tmp_path / "run" / "curves.csv")
    assert curves["step"].tolist() == [0, 1]  # the final row is the step that diverged
    # the suggested step trains the same network without diverging
    slow = _grid(tmp_path, t_end=50 * suggested, dt=repr(suggested))
    assert _run(slow, "--out", tmp_path / "slow") == 0
    assert _summary(tmp_path / "slow")["q_max_abs_relative_drift"] < 0.05


def test_non_finite_conductances_are_a_divergence(tmp_path, capsys):
    exp = _grid(tmp_path, rule="cl", rule_params="eta = 0.5\nalpha = 1e300",
                train="bounds = [0.0, inf]")
    assert _run(exp, "--out", tmp_path / "run") == 1
    summary = _summary(tmp_path / "run")
    assert summary["status"] == "diverged" and "finite" in summary["reason"]
    assert "singular" not in capsys.readouterr().err
    assert summary["steps"] <= 1 and json.loads((tmp_path / "run" / "summary.json").read_text(),
                                                 parse_constant=float.fromhex)
    text = (tmp_path / "run" / "trained.cir").read_text()
    assert "left out" in text or summary["steps"] == 0


def test_dt_auto_bounds_the_first_relative_change(tmp_path):
    exp = load_experiment(_grid(tmp_path, rule="cl", rule_params="eta = 0.5\nalpha = 1e-4",
                                dt='"auto"', t_end=1.0))
    assert exp.train.dt == "auto" and exp.train.record_every is None
    setup = build(exp)
    k0 = setup.circuit.conductance
    rate = setup.rule.rule(k0, setup.dataset.x_train, setup.dataset.y_train)
    dt = setup.train.dt
    assert np.max(np.abs(dt * rate) / k0) == pytest.approx(AUTO_CHANGE, rel=1e-12)
    assert setup.train.record_every == max(1, setup.train.total_steps // 200)
    result = cl.train(exp, tmp_path / "run", progress=False)
    assert result.status == "completed" and result.summary["dt"] == dt
    assert result.summary["config"]["train"]["dt"] == dt
    assert load_checkpoint(tmp_path / "run").dt == dt


def test_stop_loss_ends_the_run_as_converged(tmp_path):
    exp = _write(tmp_path, SMALL.format(train="record_every = 2\nstop_loss = 5e-4")
                 .replace("t_end = 4.0", "t_end = 10.0"))
    result = cl.train(exp, tmp_path / "run", progress=False)
    loss = result.curves["train_loss"]
    assert result.status == "converged" and "stop_loss" in result.reason
    assert loss[-1] <= 5e-4 < loss[-2]
    assert result.summary["steps"] == result.curves["step"][-1] < 100


def test_stop_tolerance_ends_a_plateau(tmp_path):
    exp = _write(tmp_path, SMALL.format(train="record_every = 2\nstop_tolerance = 0.05\n"
                                              "stop_window = 6").replace("t_end = 4.0",
                                                                         "t_end = 50.0"))
    result = cl.train(exp, tmp_path / "run", progress=False)
    steps, loss = result.curves["step"], result.curves["train_loss"]
    assert result.status == "converged" and result.summary["steps"] < 500
    n = int(steps[-1])
    old = loss[np.flatnonzero(steps <= n - 6)[-1]]
    assert (old - loss[-1]) / old < 0.05  # the criterion held at the stop ...
    for i in range(1, len(steps) - 1):  # ... and at no earlier row
        if steps[i] >= 6:
            before = loss[np.flatnonzero(steps <= steps[i] - 6)[-1]]
            assert (before - loss[i]) / before >= 0.05


def test_final_metrics_are_those_of_the_last_step_with_max_steps(tmp_path, capsys):
    exp = _write(tmp_path, SMALL.format(train="record_every = 20"))
    assert _run(exp, "--out", tmp_path / "run", "--max-steps", "10") == 0
    summary = _summary(tmp_path / "run")
    assert summary["status"] == "stopped" and summary["steps"] == 10
    ckpt = load_checkpoint(tmp_path / "run")
    setup = build(load_experiment(exp))
    expected = measure(setup, ckpt.k)
    assert summary["final"]["train_loss"] == expected[0] != summary["initial"]["train_loss"]
    assert "step 10/40" in capsys.readouterr().out
    assert [row[0] for row in ckpt.rows] == [0]  # the checkpoint keeps regular rows only
    assert read_curves(tmp_path / "run" / "curves.csv")["step"].tolist() == [0, 10]


def test_ctrl_c_writes_partial_outputs_and_says_interrupted_once(tmp_path, monkeypatch, capsys):
    exp = _write(tmp_path, SMALL.format(train="record_every = 3"))
    real = training.make_rate

    def interrupting(setup):
        rate, hook = real(setup)
        calls = [0]

        def wrapped(t, k):
            calls[0] += 1
            if calls[0] == 8:
                raise KeyboardInterrupt
            return rate(t, k)

        return wrapped, hook

    monkeypatch.setattr(training, "make_rate", interrupting)
    assert _run(exp, "--out", tmp_path / "cut") == 130
    err = capsys.readouterr().err
    assert err.count("interrupted") == 1 and "interrupted at step 7" in err
    summary = _summary(tmp_path / "cut")
    assert summary["status"] == "interrupted" and summary["steps"] == 7
    assert (tmp_path / "cut" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert read_curves(tmp_path / "cut" / "curves.csv")["step"].tolist() == [0, 3, 6, 7]
    with pytest.raises(TrainingInterrupted) as info:
        cl.train(exp, tmp_path / "cut2", progress=False)
    assert info.value.result.status == "interrupted" and info.value.result.summary["steps"] == 7


def test_minibatch_schedule_and_bit_identical_resume(tmp_path):
    s = ExampleSchedule(10, tau=0.1, seed=4, batch_size=4)
    epoch = [s.batch(0.1 * w + 0.05) for w in range(3)]
    assert [len(b) for b in epoch] == [4, 4, 2]
    assert sorted(np.concatenate(epoch).tolist()) == list(range(10))
    nxt = np.concatenate([s.batch(0.1 * w + 0.05) for w in range(3, 6)])
    assert sorted(nxt.tolist()) == list(range(10)) and not np.array_equal(
        nxt, np.concatenate(epoch))
    exp = _write(tmp_path, SMALL.format(train='mode = "minibatch"\nbatch_size = 3\n'
                                              "record_every = 3\ncheckpoint_every = 5"))
    assert _run(exp, "--out", tmp_path / "full") == 0
    assert _run(exp, "--out", tmp_path / "part", "--max-steps", "13") == 0
    assert _run(exp, "--resume", tmp_path / "part") == 0
    for name in ("curves.csv", "trained.cir", "best.cir"):
        assert (tmp_path / "full" / name).read_bytes() == (tmp_path / "part" / name).read_bytes()
    config = _summary(tmp_path / "full")["config"]["train"]
    assert config["tau"] == 0.1 and config["batch_size"] == 3


def test_minibatch_step_is_the_rule_on_the_batch(tmp_path):
    exp = load_experiment(_write(tmp_path, SMALL.format(
        train='mode = "minibatch"\nbatch_size = 4')))
    setup = build(exp)
    from circuitlearn.training.flow import make_rate

    rate, before = make_rate(setup)
    k = setup.circuit.conductance
    rows = ExampleSchedule(10, 0.1, 0, 4).batch(0.25)
    before(2, 0.2, 0.1)
    expected = setup.rule.rule(k, setup.dataset.x_train[rows], setup.dataset.y_train[rows])
    assert np.array_equal(rate(0.2, k), expected)


def test_best_state_is_written_with_its_step(tmp_path):
    exp = _write(tmp_path, SMALL.format(train="record_every = 4"))
    result = cl.train(exp, tmp_path / "run", progress=False)
    test = result.curves["test_loss"][result.curves["step"] % 4 == 0]
    assert result.best.loss == test.min()
    text = (tmp_path / "run" / "best.cir").read_text()
    assert f"at step {result.best.step}," in text
    assert cl.load(tmp_path / "run" / "best.cir") == result.best_circuit
    assert result.summary["best"]["step"] == result.best.step
    assert not math.isnan(result.summary["best"]["test_loss"])
