"""``circuitlearn draw`` and ``circuitlearn evaluate`` on the bundled experiments."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from circuitlearn import generators, netlist
from circuitlearn.cli import main
from circuitlearn.learning.data import IRIS_PATH
from circuitlearn.learning.metrics import mse_loss, predict
from circuitlearn.training.checkpoint import load_checkpoint
from circuitlearn.training.draw import _figure, picture
from circuitlearn.training.experiment import load_experiment
from circuitlearn.training.layout import layout, netlist_positions
from circuitlearn.training.setup import build

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "netlists" / "experiments"


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "iris"
    assert main(["train", str(EXAMPLES / "iris.toml"), "--out", str(out), "--max-steps", "300",
                 "--no-progress"]) == 0
    return out


@pytest.mark.parametrize("name", ["regression", "allostery", "iris"])
def test_draw_bundled_experiments(tmp_path, capsys, name):
    out = tmp_path / f"{name}.png"
    assert main(["draw", str(EXAMPLES / f"{name}.toml"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    image = mpimg.imread(out)
    assert image.shape[0] > 500 and image.shape[1] > 500 and image[..., :3].std() > 0.05
    pic = picture(EXAMPLES / f"{name}.toml")
    setup = build(load_experiment(EXAMPLES / f"{name}.toml"))
    assert pic.inputs == list(setup.problem.inputs)
    # nodes sit at the coordinates the netlist records (the generator's random points)
    exp_netlist = load_experiment(EXAMPLES / f"{name}.toml").network.netlist
    known = netlist_positions(exp_netlist.read_text())
    assert len(known) == setup.circuit.num_nodes
    xy = layout(setup.circuit, known)
    assert all(np.array_equal(xy[setup.circuit.node_index(n)], p) for n, p in known.items())


def test_draw_a_run_shows_initial_trained_and_change(tmp_path, iris_run):
    pic = picture(iris_run)
    ckpt = load_checkpoint(iris_run)
    (_, before), (_, after) = pic.circuits
    assert np.array_equal(before.conductance, ckpt.k0)
    assert np.array_equal(after.conductance, ckpt.k)
    fig = _figure(pic)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["initial", "trained: step 300, t = 15 s", "change of each conductance"]
    labels = {ax.get_xlabel() for ax in fig.axes}  # horizontal colour bars
    assert {"conductance k (S)", "$\\log_{10}(k / k_0)$ (red: grew, blue: shrank)"} <= labels
    assert main(["draw", str(iris_run)]) == 0
    assert (iris_run / "network.png").read_bytes()[:4] == b"\x89PNG"


def test_draw_places_generated_networks_on_their_lattice(tmp_path):
    exp = tmp_path / "grid.toml"
    exp.write_text('[network]\ngenerator = "square"\nrows = 3\ncols = 4\n[task.data]\n'
                   'kind = "teacher"\n[rule]\nname = "cl"\neta = 0.1\n[train]\nt_end = 1.0\n'
                   "dt = 0.1\n")
    pic = picture(exp)
    circuit = pic.circuits[0][1]
    xy = layout(circuit, pic.positions)
    grid = generators.node_positions("square", rows=3, cols=4)
    for i, name in enumerate(circuit.nodes[1:], start=1):
        assert np.array_equal(xy[i], grid[int(name[1:]) - 1])
    assert set(map(tuple, xy.tolist())) <= set(map(tuple, grid.tolist()))  # ground too


def test_draw_errors_exit_2(tmp_path, capsys):
    assert main(["draw", str(tmp_path / "missing.cir")]) == 2
    assert main(["draw", str(tmp_path)]) == 2  # a folder that holds no run
    assert main(["draw", str(REPO / "netlists" / "bridge.cir"), "--out",
                 str(tmp_path / "x.txt")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "not a run folder" in err and ".png, .svg" in err


def test_evaluate_reproduces_the_run_and_a_csv(tmp_path, capsys, iris_run):
    summary = json.loads((iris_run / "summary.json").read_text())
    assert main(["evaluate", str(iris_run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    train, test = result["sets"]["train"], result["sets"]["test"]
    assert (train["examples"], test["examples"]) == (105, 45)
    assert train["loss"] == summary["final"]["train_loss"]
    assert test["accuracy"] == summary["final"]["test_accuracy"]
    assert {"x", "target", "output", "label", "predicted"} == set(test["predictions"][0])
    # the whole Iris file, scaled with the run's training statistics
    assert main(["evaluate", str(iris_run), "--data", str(IRIS_PATH), "--json"]) == 0
    everything = json.loads(capsys.readouterr().out)["sets"]["data"]
    assert everything["examples"] == 150
    correct = train["accuracy"] * 105 + test["accuracy"] * 45
    assert everything["accuracy"] * 150 == pytest.approx(correct, abs=1e-9)
    assert main(["evaluate", str(iris_run), "--limit", "2"]) == 0
    table = capsys.readouterr().out
    assert "train: 105 examples" in table and "... 103 more" in table


def test_evaluate_generated_data_on_a_csv_of_source_and_output_names(tmp_path, capsys):
    out = tmp_path / "allo"
    assert main(["train", str(EXAMPLES / "allostery.toml"), "--out", str(out), "--max-steps",
                 "50", "--no-progress"]) == 0
    setup = build(load_experiment(EXAMPLES / "allostery.toml"))
    k = load_checkpoint(out).k
    x = np.array([[1.0], [0.5], [-2.0]])
    y = np.array([[0.2, -0.2], [0.1, -0.1], [0.0, 0.3]])
    rows = ["vin1,n18-n46,n10-n8"] + [f"{a[0]},{b[0]},{b[1]}" for a, b in zip(x, y, strict=True)]
    (tmp_path / "new.csv").write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data", str(tmp_path / "new.csv"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["sets"]["data"]
    expected = predict(setup.problem, k, x)
    assert np.allclose([r["output"] for r in data["predictions"]], expected, rtol=1e-12)
    assert data["loss"] == pytest.approx(mse_loss(expected, y), rel=1e-12)
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert netlist.load(out / "trained.cir").num_resistors == len(k)
