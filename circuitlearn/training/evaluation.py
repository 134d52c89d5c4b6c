"""How a trained network does: loss, accuracy and per-example outputs of a run folder.

:func:`evaluate_run` reads a run folder (``trained.cir`` for the wiring,
``checkpoint.npz`` for the exact conductances, ``summary.json`` for the inputs,
outputs and data set) and solves the free state of every example of

* the run's training and test sets, rebuilt from the recorded configuration and
  checked against the checkpoint's fingerprint, or
* another CSV file (``data``): for ``csv``/``iris`` runs the experiment's columns,
  scaled with the training statistics of the run; otherwise one column per input
  source (its name, V or A) and one per output (the node name, or ``a-b`` for
  ``V(a) - V(b)``, V).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn.errors import RunFolderError
from circuitlearn.learning.data import Dataset, apply_scaling, read_csv
from circuitlearn.learning.metrics import accuracy, mse_loss
from circuitlearn.learning.tasks import DATA_KINDS
from circuitlearn.solver.equilibrium import EquilibriumSolver
from circuitlearn.solver.problem import LearningProblem, make_problem
from circuitlearn.training.checkpoint import load_checkpoint
from circuitlearn.training.setup import data_digest

TABLE_KINDS = ("csv", "iris")


def read_run(folder: Path) -> tuple[dict[str, Any], Any, Any]:
    """``(config, checkpoint, trained circuit)`` of run ``folder`` (RunFolderError if it
    is not one)."""
    from circuitlearn import netlist

    for name in ("summary.json", "trained.cir"):
        if not (folder / name).is_file():
            raise RunFolderError(f"{folder}: not a run folder (no {name})")
    try:
        summary = json.loads((folder / "summary.json").read_text())
        config = summary["config"]
    except (ValueError, KeyError, TypeError) as exc:
        raise RunFolderError(f"{folder / 'summary.json'}: unreadable summary ({exc})") from None
    return config, load_checkpoint(folder), netlist.load(folder / "trained.cir")


def _output_name(out: str | list[str]) -> str:
    return out if isinstance(out, str) else f"{out[0]}-{out[1]}"


def _examples(problem: LearningProblem, k: np.ndarray, x: np.ndarray, y: np.ndarray,
              labels: np.ndarray | None, classes: list[str] | None,
              scale: float = 1.0) -> dict[str, Any]:
    out = EquilibriumSolver(problem, k).free_outputs(x)
    rows = []
    for i in range(len(x)):
        row = {"x": x[i].tolist(), "target": y[i].tolist(), "output": out[i].tolist()}
        if labels is not None and classes is not None:
            row.update(label=classes[int(labels[i])], predicted=classes[int(np.argmax(out[i]))])
        rows.append(row)
    return {"examples": len(x), "loss": scale * mse_loss(out, y) if len(x) else None,
            "accuracy": (accuracy(out, labels) if labels is not None and len(x) else None),
            "predictions": rows}


def _recorded_data(folder: Path, config: dict[str, Any], problem0: LearningProblem,
                   fingerprint: dict[str, str] | None) -> Dataset:
    data = dict(config["task"]["data"])
    kind = data.pop("kind")
    if kind not in DATA_KINDS:
        raise RunFolderError(f"{folder}: the run's data were given as arrays (fit()); "
                             "evaluate them with --data FILE.csv")
    try:
        dataset = DATA_KINDS.build(kind, problem0, **data)
    except (ValueError, OSError) as exc:
        raise RunFolderError(f"{folder}: cannot rebuild the run's {kind} data set: "
                             f"{exc}") from None
    if fingerprint is not None and data_digest(dataset, kind) != fingerprint.get("data"):
        raise RunFolderError(f"{folder}: the run's {kind} data set changed since the run "
                             "(its fingerprint differs); evaluate with --data FILE.csv")
    return dataset


def _file_data(path: Path, config: dict[str, Any], info: dict[str, Any]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    table = read_csv(path)
    data, task = config["task"]["data"], config["task"]
    if data["kind"] not in TABLE_KINDS:
        x = np.column_stack([table.numbers(name) for name in task["inputs"]])
        y = np.column_stack([table.numbers(_output_name(o)) for o in task["outputs"]])
        return x, y, None
    from circuitlearn.learning.data import IRIS_FEATURES

    columns = data.get("input_columns") or list(IRIS_FEATURES)
    x = apply_scaling(np.column_stack([table.numbers(c) for c in columns]), info)
    label = data.get("label_column") or ("species" if data["kind"] == "iris" else None)
    if label is None:
        return x, np.column_stack([table.numbers(c) for c in data["target_columns"]]), None
    classes = info["classes"]
    if label not in table:
        raise RunFolderError(f"{path}: no column {label!r}")
    unknown = sorted(set(table[label]) - set(classes))
    if unknown:
        raise RunFolderError(f"{path}: labels {unknown} are not the run's classes {classes}")
    labels = np.array([classes.index(v) for v in table[label]], int)
    y = info["target_low"] + (info["target_high"] - info["target_low"]) * \
        np.eye(len(classes))[labels]
    return x, y, labels


def evaluate_run(folder: str | Path, data: str | Path | None = None) -> dict[str, Any]:
    """Loss, accuracy and per-example outputs of the trained network of run ``folder``.

    Returns
    -------
    dict
        ``{"run", "step", "t", "sets": {name: {"examples", "loss" (V^2; times the data
        set's ``loss_scale`` as in the curves: V^2/s^2 for flow runs), "accuracy",
        "predictions": [{"x", "target", "output"[, "label", "predicted"]}]}}}`` with
        sets ``train`` and ``test`` (empty without a test set), or ``data``.

    Raises
    ------
    RunFolderError
        Not a run folder, a damaged checkpoint, data that changed or do not fit.
    """
    folder = Path(folder)
    config, ckpt, trained = read_run(folder)
    summary = json.loads((folder / "summary.json").read_text())
    info = summary.get("dataset") or {}
    task = config["task"]
    outputs = [o if isinstance(o, str) else tuple(o) for o in task["outputs"]]
    if len(ckpt.k) != trained.num_resistors:
        raise RunFolderError(f"{folder}: checkpoint.npz and trained.cir do not match")
    problem0 = make_problem(trained.with_conductance(ckpt.k0), task["inputs"], outputs)
    problem = make_problem(trained.with_conductance(ckpt.k), task["inputs"], outputs)
    classes = info.get("classes")
    out: dict[str, Any] = {"run": str(folder), "step": ckpt.step, "t": ckpt.t, "sets": {}}
    if data is not None:
        x, y, labels = _file_data(Path(data), config, info)
        out["sets"]["data"] = _examples(problem, ckpt.k, x, y, labels, classes)
        return out
    d = _recorded_data(folder, config, problem0, ckpt.fingerprint)
    scale = info.get("loss_scale", 1.0)
    out["sets"]["train"] = _examples(problem, ckpt.k, d.x_train, d.y_train, d.labels_train,
                                     classes, scale)
    out["sets"]["test"] = _examples(problem, ckpt.k, d.x_test, d.y_test, d.labels_test,
                                    classes, scale)
    return out
