"""``fit`` (arrays in), ``train`` (TOML in) and a dense NumPy reference loop agree."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import circuitlearn as cl
from circuitlearn import generators, netlist
from circuitlearn.errors import ParameterError

ETA, LR, STEPS = 0.1, 0.4, 150
EXPERIMENT = """
[network]
netlist = "grid.cir"
[task]
inputs = ["vin1", "vin2"]
outputs = ["n5", "n7"]
[task.data]
kind = "csv"
path = "data.csv"
input_columns = ["x1", "x2"]
target_columns = ["y1", "y2"]
test_fraction = 0
scaling = "none"
[rule]
name = "cl"
eta = {eta}
alpha = {alpha}
[train]
t_end = {steps}
dt = 1.0
"""


def _grid() -> cl.Circuit:
    """A 3x3 lattice, ground at n9, grounded sources vin1 at n1 and vin2 at n3."""
    net = generators.square_lattice(3, 3, seed=5)
    return generators.attach_inputs(generators.ground_node(net, "n9"), ["n1", "n3"])


def _data(circuit: cl.Circuit) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in volts and targets from a teacher network of the same wiring."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1.0, 2.0, size=(12, 2))
    teacher = circuit.with_conductance(rng.uniform(0.5, 1.5, circuit.num_resistors))
    return x, _reference_outputs(teacher, teacher.conductance, x)


def _dense_states(circuit: cl.Circuit, k: np.ndarray, x: np.ndarray,
                  clamp: np.ndarray | None = None) -> np.ndarray:
    """Node potentials (B, N) by dense Kirchhoff solves, one per example: ground and
    the input nodes fixed, and the output nodes too when ``clamp`` (B, 2) is given."""
    n = circuit.num_nodes
    b = np.zeros((circuit.num_resistors, n))
    rows = np.arange(circuit.num_resistors)
    b[rows, circuit.resistor_edges[:, 0]] += 1.0
    b[rows, circuit.resistor_edges[:, 1]] -= 1.0
    lap = b.T @ (k[:, None] * b)
    inputs = [circuit.node_index(name) for name in ("n1", "n3")]
    outputs = [circuit.node_index(name) for name in ("n5", "n7")]
    fixed = [0, *inputs] + (outputs if clamp is not None else [])
    free = [i for i in range(n) if i not in fixed]
    v = np.zeros((len(x), n))
    v[:, inputs] = x
    if clamp is not None:
        v[:, outputs] = clamp
    v[:, free] = -np.linalg.solve(lap[np.ix_(free, free)], lap[np.ix_(free, fixed)]
                                  @ v[:, fixed].T).T
    return v


def _reference_outputs(circuit: cl.Circuit, k: np.ndarray, x: np.ndarray) -> np.ndarray:
    v = _dense_states(circuit, k, x)
    return v[:, [circuit.node_index("n5"), circuit.node_index("n7")]]


def _reference_loss(circuit: cl.Circuit, x: np.ndarray, y: np.ndarray) -> float:
    """The peer codes' coupled-learning loop: k += lr (dV_F^2 - dV_C^2) / eta, mean over
    the batch, for STEPS steps; the final loss 1/2 mean ||V_O - y||^2."""
    k = circuit.conductance.copy()
    edges = circuit.resistor_edges
    for _ in range(STEPS):
        free = _dense_states(circuit, k, x)
        out = free[:, [circuit.node_index("n5"), circuit.node_index("n7")]]
        clamped = _dense_states(circuit, k, x, clamp=out + ETA * (y - out))
        drop_f = free[:, edges[:, 0]] - free[:, edges[:, 1]]
        drop_c = clamped[:, edges[:, 0]] - clamped[:, edges[:, 1]]
        k = k + LR * np.mean(drop_f ** 2 - drop_c ** 2, axis=0) / ETA
    e = _reference_outputs(circuit, k, x) - y
    return 0.5 * float(np.mean(np.sum(e ** 2, axis=1)))


def test_toml_fit_and_dense_reference_reach_the_same_loss(tmp_path):
    circuit = _grid()
    x, y = _data(circuit)
    (tmp_path / "grid.cir").write_text(netlist.write(circuit))
    rows = ["x1,x2,y1,y2"] + [",".join(repr(float(v)) for v in row) for row in np.hstack([x, y])]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    exp = tmp_path / "fixed.toml"
    exp.write_text(EXPERIMENT.format(eta=ETA, alpha=2 * LR, steps=float(STEPS)))

    from_toml = cl.train(exp, tmp_path / "run", progress=False)
    from_arrays = cl.fit(circuit, inputs=["vin1", "vin2"], outputs=["n5", "n7"], x=x, y=y,
                         rule="cl", eta=ETA, alpha=2 * LR, t_end=float(STEPS), dt=1.0)
    reference = _reference_loss(circuit, x, y)

    initial = from_arrays.curves["train_loss"][0]
    assert reference < 0.05 * initial  # the problem really trains (40x lower)
    for result in (from_toml, from_arrays):
        assert result.status == "completed" and result.summary["steps"] == STEPS
        assert result.final["train_loss"] == pytest.approx(reference, rel=1e-10)
        assert result.final["test_loss"] is None  # no test set, and nothing pretends
        assert np.all(np.isnan(result.curves["test_loss"]))
    # the netlist file holds resistances: its conductances agree to 1 ulp
    assert np.allclose(from_toml.k, from_arrays.k, rtol=1e-12, atol=0)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["dataset"]["n_test"] == 0 and summary["config"]["task"]["data"][
        "scaling"] == "none"


def test_fit_result_object(tmp_path):
    circuit = _grid()
    x, y = _data(circuit)
    result = cl.fit(circuit, inputs=["vin1", "vin2"], outputs=["n5", "n7"], x=x[:8], y=y[:8],
                    x_test=x[8:], y_test=y[8:], eta=ETA, alpha=0.2, t_end=40.0, dt=1.0,
                    record_every=7, folder=tmp_path / "fit")
    assert isinstance(result, cl.TrainingResult) and result.folder == tmp_path / "fit"
    steps = result.curves["step"]
    assert steps.tolist() == [0, 7, 14, 21, 28, 35, 40]
    assert result.circuit == circuit.with_conductance(result.k)
    assert result.initial == circuit
    frame = result.to_pandas()
    assert list(frame.index) == steps.astype(int).tolist()
    assert np.array_equal(frame["test_loss"].to_numpy(), result.curves["test_loss"])
    best = result.best
    losses = dict(zip(steps.astype(int), result.curves["test_loss"], strict=True))
    assert best.loss == min(losses.values()) == losses[best.step]
    assert netlist.load(tmp_path / "fit" / "best.cir") == result.best_circuit
    assert result.summary["experiment"] is None
    assert result.summary["config"]["network"] == {"circuit": circuit.title}


def test_fit_names_bad_arguments():
    circuit = _grid()
    x, y = _data(circuit)
    args = {"inputs": ["vin1", "vin2"], "outputs": ["n5", "n7"], "x": x, "y": y,
            "t_end": 1.0, "dt": 0.1, "eta": 0.1}
    cases = [({"dt": -1.0}, "fit(): dt: must be positive"),
             ({"eta": None}, "fit(): eta: missing"),
             ({"seed": -2}, "fit(): seed: must be at least 0"),
             ({"trainable": []}, "fit(): trainable: lists no resistor"),
             ({"x": np.where(x > 1.5, np.nan, x)}, "fit(): x: row"),
             ({"y": y[:3]}, "fit(): x: x and y have 12 and 3 rows"),
             ({"modifiers": {"noise": {"sigma": -1}}}, "fit(): sigma"),
             ({"mode": "minibatch"}, "fit(): batch_size: required")]
    for change, message in cases:
        kwargs = {k: v for k, v in {**args, **change}.items() if v is not None}
        with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
            cl.fit(circuit, **kwargs)


def test_fit_classification_records_accuracy_and_reads_netlist_files(tmp_path):
    circuit = _grid()
    path = tmp_path / "grid.cir"
    path.write_text(netlist.write(circuit).replace("\n", "\n* pos n5 0.5 0.5\n", 1))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(20, 2))
    labels = (x[:, 0] > x[:, 1]).astype(int)
    y = 0.1 + 0.3 * np.eye(2)[labels]
    result = cl.fit(path, inputs=["vin1", "vin2"], outputs=["n5", "n7"], x=x, y=y,
                    classification=True, eta=0.5, alpha=1.0, t_end=30.0, dt=0.5,
                    folder=tmp_path / "cls")
    acc = result.curves["train_accuracy"]
    assert np.all((acc >= 0) & (acc <= 1)) and np.all(np.isnan(result.curves["test_accuracy"]))
    assert result.summary["baselines"]["chance"] == 0.5
    trained = (tmp_path / "cls" / "trained.cir").read_text()
    assert "* pos n5 0.5 0.5" in trained and netlist.load(tmp_path / "cls" / "trained.cir") \
        == result.circuit


def test_fit_without_folder_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    circuit = _grid()
    x, y = _data(circuit)
    cl.fit(circuit, inputs=["vin1", "vin2"], outputs=["n5", "n7"], x=x, y=y, eta=ETA,
           t_end=2.0, dt=1.0)
    assert list(Path(tmp_path).iterdir()) == []
