"""Tasks: realizable teacher, allostery targets, CSV/Iris data, splits and scaling."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn import generators
from circuitlearn.learning import data as datasets
from circuitlearn.learning import tasks
from circuitlearn.learning.metrics import accuracy, mse_loss, predict
from circuitlearn.solver.dc import solve
from circuitlearn.solver.equilibrium import make_problem


@pytest.fixture(scope="module")
def problem():
    net = generators.delaunay_network(25, 3.5, seed=11)
    net, inputs, outputs = generators.learning_network(net, n_inputs=3, n_outputs=2, seed=12)
    return make_problem(net, inputs, outputs)


def test_teacher_is_realizable(problem):
    data = tasks.make_dataset(problem, "teacher", n_train=15, n_test=30, seed=2)
    k_teacher = np.array(data.info["teacher_conductance"])
    assert data.x_train.shape == (15, 3) and data.y_test.shape == (30, 2)
    assert mse_loss(predict(problem, k_teacher, data.x_train), data.y_train) < 1e-25
    assert mse_loss(predict(problem, k_teacher, data.x_test), data.y_test) < 1e-25
    assert mse_loss(predict(problem, problem.circuit.conductance, data.x_test), data.y_test) > 1e-6
    assert np.all((data.x_train >= -1) & (data.x_train <= 1))


def test_teacher_keeps_non_trainable_edges(problem):
    mask = np.arange(problem.num_edges) % 3 == 0
    masked = make_problem(problem.circuit, problem.inputs, problem.output_names, mask)
    data = tasks.make_dataset(masked, "teacher", n_train=5, n_test=5, seed=3)
    k_teacher = np.array(data.info["teacher_conductance"])
    assert np.array_equal(k_teacher[~mask], problem.circuit.conductance[~mask])
    assert not np.allclose(k_teacher[mask], problem.circuit.conductance[mask])
    assert mse_loss(predict(masked, k_teacher, data.x_train), data.y_train) < 1e-25


def test_teacher_is_seeded(problem):
    a = tasks.make_dataset(problem, "teacher", n_train=4, n_test=4, seed=9)
    b = tasks.make_dataset(problem, "teacher", n_train=4, n_test=4, seed=9)
    assert np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_train, tasks.make_dataset(
        problem, "teacher", n_train=4, n_test=4, seed=10).y_train)


def test_predict_matches_dc_solves(problem):
    x = np.array([[0.3, -0.7, 0.1], [1.0, 0.0, -0.5]])
    out = predict(problem, problem.circuit.conductance, x)
    for xb, ob in zip(x, out, strict=True):
        v = solve(problem.with_inputs(xb)).node_voltages
        expected = [v[a] - v[b] for a, b in problem.outputs]
        assert np.allclose(ob, expected, atol=1e-12)


def test_allostery_targets_and_ratio():
    net = generators.delaunay_network(30, 4.0, seed=1)
    net, inputs, pairs = generators.learning_network(net, n_inputs=1, n_outputs=2,
                                                     pairs=True, seed=2)
    problem = make_problem(net, inputs, pairs)
    data = tasks.make_dataset(problem, "allostery", targets=[0.2, -0.1])
    assert data.x_train.tolist() == [[1.0]] and data.y_train.tolist() == [[0.2, -0.1]]
    halved = tasks.make_dataset(problem, "allostery", ratio=0.5)
    free = predict(problem, net.conductance, [[1.0]])
    assert np.allclose(halved.y_train, 0.5 * free)
    with pytest.raises(ValueError):
        tasks.make_dataset(problem, "allostery", targets=[0.1])
    with pytest.raises(ValueError):
        tasks.make_dataset(problem, "allostery")


def test_iris_has_150_rows_and_3_classes():
    cols = datasets.read_csv(datasets.IRIS_PATH)
    assert len(cols["species"]) == 150
    assert sorted(set(cols["species"])) == ["setosa", "versicolor", "virginica"]
    assert all(cols["species"].count(s) == 50 for s in set(cols["species"]))
    means = [np.mean([float(v) for v in cols[f]]) for f in datasets.IRIS_FEATURES]
    assert np.allclose(means, [5.8433, 3.0573, 3.7580, 1.1993], atol=1e-4)


def test_iris_split_scaling_and_targets():
    data = tasks.make_dataset(None, "iris", test_fraction=0.3, seed=4, target_low=0.1,
                              target_high=0.4)
    assert data.is_classification and data.kind == "classification"
    assert len(data.x_train) == 105 and len(data.x_test) == 45
    assert np.all(np.bincount(data.labels_test) == 15)
    assert np.allclose(data.x_train.min(axis=0), 0) and np.allclose(data.x_train.max(axis=0), 1)
    assert set(np.unique(data.y_train)) == {0.1, 0.4}
    assert np.array_equal(np.argmax(data.y_train, axis=1), data.labels_train)
    signed = tasks.make_dataset(None, "iris", seed=4, signed=True,
                                input_range=(0.0, 2.0))
    assert signed.x_train.shape[1] == 8
    assert np.allclose(signed.x_train[:, 4:], -signed.x_train[:, :4])
    assert signed.x_train.max() == pytest.approx(2.0)


def test_split_indices():
    train, test = datasets.split_indices(20, 0.25, seed=1)
    assert len(test) == 5 and len(train) == 15
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(20))
    again = datasets.split_indices(20, 0.25, seed=1)
    assert np.array_equal(again[1], test)
    with pytest.raises(ValueError):
        datasets.split_indices(10, 1.0)


def test_csv_regression_dataset(tmp_path):
    path = tmp_path / "d.csv"
    rows = ["a,b,y"] + [f"{i},{2 * i},{0.1 * i}" for i in range(10)]
    path.write_text("\n".join(rows) + "\n")
    data = tasks.make_dataset(None, "csv", path=str(path), input_columns=["a", "b"],
                              target_columns=["y"], test_fraction=0.2, seed=0,
                              input_range=(-1.0, 1.0))
    assert data.kind == "regression" and not data.is_classification
    assert data.x_train.shape == (8, 2) and data.y_test.shape == (2, 1)
    assert data.x_train.min() == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="no column"):
        tasks.make_dataset(None, "csv", path=str(path), input_columns=["zz"],
                           target_columns=["y"])


def test_accuracy():
    out = np.array([[0.1, 0.5, 0.2], [0.9, 0.0, 0.1]])
    assert accuracy(out, np.array([1, 2])) == 0.5
