"""Flow matching from the command line: train a GradEP experiment, generate samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from circuitlearn.cli import main
from circuitlearn.learning.flowdata import flow_velocities
from circuitlearn.training.experiment import load_experiment
from circuitlearn.training.generate import generate_run, load_flow_run
from circuitlearn.training.io import read_curves
from circuitlearn.training.setup import build

EXAMPLES = Path(__file__).resolve().parents[2] / "netlists" / "experiments"
GAUSSIAN = EXAMPLES / "flow_gaussian.toml"


@pytest.fixture(scope="module")
def gaussian_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("flow") / "run"
    assert main(["train", str(GAUSSIAN), "--out", str(folder), "--max-steps", "300",
                 "--no-progress"]) == 0
    return folder


def test_curves_are_the_flow_matching_loss(gaussian_run):
    curves = read_curves(gaussian_run / "curves.csv")
    assert curves["train_loss"][-1] < 0.05 * curves["train_loss"][0]
    run = load_flow_run(gaussian_run)
    setup = build(load_experiment(GAUSSIAN))
    data = setup.dataset
    for split in ("train", "test"):
        xt, u, _ = flow_velocities(run.field.layout, data.info, getattr(data, f"x_{split}"),
                                   getattr(data, f"y_{split}"))
        assert curves[f"{split}_loss"][-1] == pytest.approx(run.field.loss(xt, u), rel=1e-9)
    k0 = setup.circuit.conductance
    k = run.field.solver.k
    springs = run.field.layout.springs
    assert np.array_equal(k[springs], k0[springs])  # the springs did not train
    assert not np.allclose(np.delete(k, springs), np.delete(k0, springs))


def test_generate_writes_samples_and_a_figure(gaussian_run, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["generate", str(gaussian_run), "--samples", "300", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "w2_gaussian" in text and str(out) in text
    lines = out.read_text().splitlines()
    assert lines[0] == "x1,x2" and len(lines) == 301
    assert out.with_suffix(".png").stat().st_size > 10_000
    samples = np.array([[float(v) for v in row.split(",")] for row in lines[1:]])
    gen = generate_run(gaussian_run, 300)
    assert np.array_equal(samples, gen.samples)  # exact decimals, same seed
    npz = tmp_path / "s.npz"
    assert main(["generate", str(gaussian_run), "--samples", "50", "--t-end", "1.2",
                 "--out", str(npz), "--seed", "3"]) == 0
    with np.load(npz) as f:
        assert f["samples"].shape == (50, 2) and float(f["t_end"]) == 1.2
        assert np.allclose(f["samples"], generate_run(gaussian_run, 50, t_end=1.2,
                                                      seed=3).samples, rtol=0, atol=0)


def test_generation_moves_the_source_toward_the_target(gaussian_run):
    gen = generate_run(gaussian_run, 2000)
    start = np.sqrt(np.sum((gen.x0.mean(0) - [1.5, -1.0]) ** 2))
    assert np.sqrt(np.sum((gen.samples.mean(0) - [1.5, -1.0]) ** 2)) < 0.2 * start
    assert gen.metrics["w2_gaussian"] < 0.5


def test_generate_errors(gaussian_run, tmp_path, capsys):
    assert main(["generate", str(tmp_path / "nowhere"), "--samples", "5"]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["generate", str(gaussian_run), "--out", str(tmp_path / "s.txt")]) == 2
    assert ".csv or .npz" in capsys.readouterr().err
    assert main(["generate", str(gaussian_run), "--samples", "0"]) == 2
    other = tmp_path / "allostery"
    assert main(["train", str(EXAMPLES / "allostery.toml"), "--out", str(other),
                 "--max-steps", "1", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["generate", str(other)]) == 2
    assert "not a flow run" in capsys.readouterr().err


def test_flow_experiment_errors_name_the_table(tmp_path, capsys):
    text = GAUSSIAN.read_text().replace("../flow_gaussian.cir",
                                        str(EXAMPLES.parent / "flow_gaussian.cir"))
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('outputs = ["v1", "v2"]', 'outputs = ["v1", "h1"]'))
    assert main(["train", str(bad), "--max-steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "[task.data] kind" in err and "joined only by one resistor" in err
    bad.write_text(text.replace("mean = [1.5, -1.0]", "mean = [1.5]"))
    assert main(["train", str(bad), "--max-steps", "1"]) == 2
    assert "mean: needs 2 values" in capsys.readouterr().err


def test_digits_experiment_trains_and_generates_an_image_grid(tmp_path, capsys):
    folder = tmp_path / "digits"
    assert main(["train", str(EXAMPLES / "flow_digits.toml"), "--out", str(folder),
                 "--max-steps", "25", "--no-progress"]) == 0  # one curves row
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["final"]["train_loss"] < summary["initial"]["train_loss"]
    assert main(["generate", str(folder), "--samples", "40"]) == 0
    assert "w2_gaussian_fit" in capsys.readouterr().out
    assert (folder / "samples.png").stat().st_size > 10_000
    run = load_flow_run(folder)
    assert run.field.layout.dim == 64 and run.target.samples[1].shape == (359, 64)
