"""Bad experiment and data files (the fuzzer's findings): exit 2, one line naming the
file and line or the table and key, never a traceback."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from circuitlearn.cli import main
from circuitlearn.learning import tasks
from circuitlearn.learning.data import read_csv
from circuitlearn.solver.examples import random_problem
from circuitlearn.solver.moments import CHUNK_ROWS, ErrorMoments, error_moments
from circuitlearn.training.io import json_text

NETWORK = """
[network]
generator = "square"
rows = 3
cols = 3
{network}
[task.data]
{data}
[rule]
name = "cl"
eta = 0.1
{rule}
[train]
t_end = 1.0
dt = 0.1
{train}
"""
TEACHER = 'kind = "teacher"\nn_train = 6\nn_test = 6'
CSV_DATA = ('kind = "csv"\npath = "data.csv"\ninput_columns = ["x1", "x2"]\n'
            'target_columns = ["y"]\ntest_fraction = 0\nscaling = "none"')


def _exp(tmp_path: Path, network: str = "", data: str = TEACHER, rule: str = "",
         train: str = "") -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(NETWORK.format(network=network, data=data, rule=rule, train=train))
    return path


def _data(tmp_path: Path, cells: list[list[str]]) -> Path:
    rows = ["x1,x2,y"] + [",".join(r) for r in cells]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _fails(capsys, path: Path, *words: str, status: int = 2) -> str:
    assert main(["train", str(path), "--out", str(path.parent / "out"), "--no-progress",
                 "--force"]) == status
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)
    return err


@pytest.mark.parametrize("where", [
    dict(train="seed = -1", rule="[rule.noise]\nsigma = 0.1"),
    dict(train='seed = -1\nmode = "online"\ntau = 0.2'),
    dict(network="seed = -3"),
    dict(data=TEACHER + "\nseed = -2")])
def test_negative_seeds(tmp_path, capsys, where):
    table = {"train": "[train] seed", "network": "[network] seed", "data": "[task.data] seed"}
    key = next(v for k, v in table.items() if "seed" in where.get(k, ""))
    _fails(capsys, _exp(tmp_path, **where), key, "must be at least 0")


def test_deeply_nested_toml_array(tmp_path, capsys):
    path = tmp_path / "exp.toml"
    path.write_text("[train]\nbounds = " + "[" * 50000 + "]" * 50000 + "\n")
    _fails(capsys, path, str(path), "nested too deeply")


@pytest.mark.parametrize("content", [b"[rule]\nname = \"cl\"\neta = 0.1 # \xe9t\xe9\n",
                                     bytes(range(256)) * 4])
def test_toml_that_is_not_utf8_text(tmp_path, capsys, content):
    path = tmp_path / "exp.toml"
    path.write_bytes(content)
    _fails(capsys, path, str(path), "not a UTF-8 text file")


def test_csv_field_over_128_kib(tmp_path, capsys):
    _data(tmp_path, [["1", "2", "3"], ["1", "2" * 200_000, "3"]])
    _fails(capsys, _exp(tmp_path, data=CSV_DATA), "data.csv:3:", "field larger than field limit")


@pytest.mark.parametrize("cell,problem", [("nan", "not a finite number: 'nan'"),
                                          ("-inf", "not a finite number: '-inf'"),
                                          ("1e400", "not a finite number: '1e400'"),
                                          ("5_1", "not a number: '5_1'"),
                                          ("0x10", "not a number: '0x10'")])
def test_data_cells_are_checked_at_load(tmp_path, capsys, cell, problem):
    _data(tmp_path, [["0.1", "0.2", "0.3"]] * 10 + [["0.4", cell, "0.1"]])
    _fails(capsys, _exp(tmp_path, data=CSV_DATA), "[task.data] path",
           "data.csv:12: column 'x2': " + problem)


def test_underscores_are_not_digit_separators(tmp_path):
    path = _data(tmp_path, [["5_1", "1", "2"]])
    assert float("5_1") == 51  # what Python's float would have read
    with pytest.raises(ValueError, match="not a number"):
        read_csv(path).numbers("x1")


def test_summary_is_strict_json_with_extreme_data(tmp_path):
    _data(tmp_path, [["1e300", "0.5", "0.1"]] + [[f"{0.1 * i}", "0.2", "0.1"]
                                                 for i in range(8)])
    exp = _exp(tmp_path, data=CSV_DATA.replace('scaling = "none"', 'scaling = "minmax"'))
    assert main(["train", str(exp), "--out", str(tmp_path / "out"), "--no-progress"]) == 0

    def refuse(name: str) -> float:
        raise AssertionError(f"{name} in summary.json")

    json.loads((tmp_path / "out" / "summary.json").read_text(), parse_constant=refuse)
    assert json_text({"a": math.inf, "b": [math.nan, 1.0]}) == (
        '{\n  "a": null,\n  "b": [\n    null,\n    1.0\n  ]\n}')


def test_absurd_inputs_are_named_before_the_run(tmp_path, capsys):
    _fails(capsys, _exp(tmp_path, data=TEACHER + "\ninput_range = [-1e300, 1e300]"),
           "[task.data]", "too large")
    _fails(capsys, _exp(tmp_path, network="conductance = [1e300, 1e300]"),
           "[network] conductance", "not finite")


def test_empty_trainable_list_is_refused(tmp_path, capsys):
    _fails(capsys, _exp(tmp_path, train="trainable = []"), "[train] trainable",
           "nothing would train")


def test_a_data_set_too_large_for_memory_names_its_size(tmp_path, capsys):
    _fails(capsys, _exp(tmp_path, data=TEACHER.replace("n_train = 6", "n_train = 10000000000")),
           "[task.data] n_train", "not enough memory", "GiB")


def test_csv_test_path_and_no_test_set(tmp_path):
    train = _data(tmp_path, [[f"{i}", f"{2 * i}", f"{0.1 * i}"] for i in range(6)])
    test = tmp_path / "test.csv"
    test.write_text("x1,x2,y\n10,20,1\n11,22,1.1\n")
    common = {"input_columns": ["x1", "x2"], "target_columns": ["y"]}
    data = tasks.make_dataset(None, "csv", path=str(train), test_path=str(test),
                              scaling="none", **common)
    assert data.x_train.shape == (6, 2) and data.x_test.tolist() == [[10, 20], [11, 22]]
    assert data.info["test_fraction"] == 0.0 and data.info["input_range"] is None
    scaled = tasks.make_dataset(None, "csv", path=str(train), test_path=str(test), **common)
    assert scaled.x_train.max() == 1.0 and scaled.x_test[0, 0] == pytest.approx(2.0)
    none = tasks.make_dataset(None, "csv", path=str(train), test_fraction=0.0, **common)
    assert len(none.x_train) == 6 and not none.has_test and none.x_test.shape == (0, 2)
    for bad, words in (({"test_fraction": 0.2, "test_path": str(test)}, "not both"),
                       ({"scaling": "none", "input_range": [0, 1]}, "input_range applies")):
        with pytest.raises(ValueError, match=words):
            tasks.make_dataset(None, "csv", path=str(train), **{**common, **bad})


def test_moments_stream_large_batches_in_chunks():
    """Past CHUNK_ROWS examples the error moments are accumulated chunk by chunk: the
    same moments as one pass, and no array that grows with the batch."""
    import tracemalloc

    problem, k, x, y = random_problem(3)
    from circuitlearn.solver.equilibrium import EquilibriumSolver

    solver = EquilibriumSolver(problem, k)
    rng = np.random.default_rng(0)

    def peak(n: int) -> tuple[int, ErrorMoments, np.ndarray, np.ndarray]:
        xb = rng.uniform(-1, 1, (n, problem.num_inputs))
        yb = rng.uniform(-1, 1, (n, problem.num_outputs))
        tracemalloc.start()
        stats = error_moments(solver, xb, yb)
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size, stats, xb, yb

    small, _, _, _ = peak(2 * CHUNK_ROWS)
    large, stats, xb, yb = peak(8 * CHUNK_ROWS)
    assert large < 1.2 * small  # 4x the batch, the same working memory
    u = np.hstack([xb, np.ones((len(xb), 1))])
    e = u @ solver.outputs(solver.free_map.T) - yb
    assert np.allclose(stats.ue, u.T @ e / len(u), rtol=1e-12, atol=1e-15)
    assert np.allclose(stats.ee, e.T @ e / len(u), rtol=1e-12, atol=1e-15)
