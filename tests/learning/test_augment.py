"""Data augmentation by a finite group: group orders, actions on inputs and targets,
the [task.data] key, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn.errors import ExperimentError, ParameterError
from circuitlearn.learning.augment import group
from circuitlearn.learning.tasks import make_dataset
from circuitlearn.solver.examples import random_problem
from circuitlearn.training.experiment import parse_experiment


@pytest.mark.parametrize("generators, orbit, order", [
    (["permute"], None, 6), (["flip"], None, 2), (["negate", "permute"], None, 12),
    (["orbit"], [1, 2, 0], 3), (["orbit", "flip"], [1, 0, 2], 4), ([], None, 1),
])
def test_group_orders(generators, orbit, order):
    elements = group(3, 2, generators, orbit=orbit)
    assert len(elements) == order == len(set(elements))
    assert elements[0] == ((0, 1, 2), 1.0, (0, 1), 1.0)


def test_teacher_data_augmented_by_permutations_and_negation():
    problem = random_problem(0)[0]
    raw = make_dataset(problem, "teacher", n_train=5, n_test=3, seed=2)
    data = make_dataset(problem, "teacher", n_train=5, n_test=3, seed=2,
                        augment=["permute", "negate"])
    assert data.x_train.shape == (20, 2) and data.info["augment"]["group_order"] == 4
    np.testing.assert_array_equal(data.x_test, raw.x_test)  # the test set is left alone
    swapped = raw.x_train[:, ::-1]
    rows = {tuple(r) for r in np.hstack([data.x_train, data.y_train])}
    for xs, ys in ((raw.x_train, raw.y_train), (-raw.x_train, -raw.y_train),
                   (swapped, raw.y_train), (-swapped, -raw.y_train)):
        assert {tuple(r) for r in np.hstack([xs, ys])} <= rows


def test_orbit_acts_on_equivariant_targets():
    problem = random_problem(0)[0]
    raw = make_dataset(problem, "teacher", n_train=4, n_test=2)
    data = make_dataset(problem, "teacher", n_train=4, n_test=2, augment="orbit",
                        orbit=[1, 0], orbit_outputs=[1, 0])
    np.testing.assert_array_equal(data.x_train[4:], raw.x_train[:, ::-1])
    np.testing.assert_array_equal(data.y_train[4:], raw.y_train[:, ::-1])


@pytest.mark.parametrize("params, message", [
    ({"augment": "rotate"}, "unknown generator 'rotate'"),
    ({"augment": "orbit"}, "needs orbit"),
    ({"augment": "orbit", "orbit": [0, 0]}, "permutation of 0..1"),
])
def test_bad_augmentation(params, message):
    problem = random_problem(0)[0]
    with pytest.raises((ParameterError, ValueError), match=message):
        make_dataset(problem, "teacher", n_train=4, n_test=2, **params)


def test_experiment_file_accepts_augment(tmp_path):
    table = {"network": {"generator": "square", "rows": 3, "cols": 3},
             "task": {"data": {"kind": "teacher", "augment": ["flip"]}},
             "rule": {"name": "gradient"}, "train": {"t_end": 1.0, "dt": 0.1}}
    exp = parse_experiment(table, tmp_path / "e.toml")
    assert exp.task.data["augment"] == ["flip"]
    table["task"]["data"]["augment"] = 3
    with pytest.raises(ExperimentError, match=r"\[task.data\] augment"):
        parse_experiment(table, tmp_path / "e.toml")
