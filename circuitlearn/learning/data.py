r"""Data sets: train and test examples of input source values and output targets.

``csv_dataset`` / ``iris``
    Rows of a CSV file, split into train and test sets (stratified by class for
    classification). Input scaling: every feature is mapped affinely to
    ``input_range`` (default :math:`[0, 1]` V) using the *training* minimum and
    maximum, :math:`x' = v_{lo} + (v_{hi} - v_{lo}) (x - \min_{train}) /
    (\max_{train} - \min_{train})` (test rows may fall slightly outside). With
    ``signed=True`` each feature drives two sources, :math:`+x'` and :math:`-x'`,
    so a passive network can realize weights of either sign. Class ``c`` of ``C``
    is encoded by one output per class, target ``target_high`` on output ``c``
    and ``target_low`` elsewhere; the prediction is the output with the largest
    voltage (:func:`circuitlearn.learning.metrics.accuracy`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

IRIS_PATH = Path(__file__).resolve().parents[2] / "netlists" / "data" / "iris.csv"
"""The bundled Iris data (Fisher 1936; 150 rows, 4 features in cm, 3 species)."""
IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test examples.

    Attributes
    ----------
    x_train, x_test : ndarray, shape (n, n_inputs)
        Input source voltages (V).
    y_train, y_test : ndarray, shape (n, n_outputs)
        Target output voltages (V).
    labels_train, labels_test : ndarray of int or None
        Class labels (classification only).
    kind : str
        ``"regression"``, ``"allostery"`` or ``"classification"``.
    info : dict
        JSON-able description (sizes, scaling, teacher conductances, ...).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    kind: str
    labels_train: np.ndarray | None = None
    labels_test: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def is_classification(self) -> bool:
        return self.labels_test is not None


def read_csv(path: str | Path) -> dict[str, list[str]]:
    """Columns of a CSV file with a header row: ``{name: [cell, ...]}``."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(line for line in fh if line.strip()))
    if not rows:
        raise ValueError(f"{path}: empty CSV file")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{i}: {len(row)} cells, header has {len(header)}")
    return {h: [r[j].strip() for r in body] for j, h in enumerate(header)}


def _numeric(columns: dict[str, list[str]], names: list[str], path: str | Path) -> np.ndarray:
    out = []
    for name in names:
        if name not in columns:
            raise ValueError(f"{path}: no column {name!r} (columns: {', '.join(columns)})")
        try:
            out.append([float(v) for v in columns[name]])
        except ValueError:
            raise ValueError(f"{path}: column {name!r} is not numeric") from None
    return np.array(out, dtype=float).T


def split_indices(n: int, test_fraction: float, seed: int = 0,
                  labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test split of ``range(n)``; stratified by ``labels`` if given.

    Each class (or the whole set) contributes ``round(test_fraction * n_c)`` test
    rows. Returns sorted index arrays ``(train, test)``.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c)
                                                    for c in np.unique(labels)]
    test = []
    for g in groups:
        perm = rng.permutation(g)
        test.append(perm[:round(test_fraction * len(g))])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(n), test_idx)
    if len(train_idx) == 0 or len(test_idx) == 0:
        raise ValueError(f"test_fraction {test_fraction} leaves an empty split of {n} rows")
    return train_idx, test_idx


def scale_inputs(x_train: np.ndarray, x_test: np.ndarray,
                 input_range: tuple[float, float] = (0.0, 1.0),
                 signed: bool = False) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Min-max scale features to ``input_range`` (V) with training statistics.

    With ``signed`` the columns ``[x', -x']`` are returned (two sources per feature).
    """
    lo, hi = input_range
    mn, mx = x_train.min(axis=0), x_train.max(axis=0)
    width = np.where(mx > mn, mx - mn, 1.0)

    def f(x: np.ndarray) -> np.ndarray:
        s = lo + (hi - lo) * (x - mn) / width
        return np.concatenate([s, -s], axis=1) if signed else s

    info = {"input_range": [lo, hi], "feature_min": mn.tolist(), "feature_max": mx.tolist(),
            "signed": signed}
    return f(x_train), f(x_test), info


def csv_dataset(path: str | Path, *, input_columns: list[str],
                target_columns: list[str] | None, label_column: str | None,
                test_fraction: float, seed: int, input_range: tuple[float, float],
                signed: bool, target_low: float, target_high: float) -> Dataset:
    """Data set from a CSV file: regression (``target_columns``, volts, unscaled) or
    classification (``label_column``, one-hot targets ``target_low``/``target_high``).
    Parameters and defaults: ``DATA_KINDS["csv"]`` (:mod:`circuitlearn.learning.tasks`)."""
    columns = read_csv(path)
    x = _numeric(columns, list(input_columns), path)
    labels, classes = None, None
    if label_column is not None:
        if label_column not in columns:
            raise ValueError(f"{path}: no column {label_column!r}")
        classes, labels = np.unique(np.array(columns[label_column]), return_inverse=True)
        y = target_low + (target_high - target_low) * np.eye(len(classes))[labels]
    else:
        y = _numeric(columns, list(target_columns or []), path)
    tr, te = split_indices(len(x), test_fraction, seed, labels)
    x_tr, x_te, info = scale_inputs(x[tr], x[te], input_range, signed)
    info.update(path=str(path), rows=len(x), n_train=len(tr), n_test=len(te),
                test_fraction=test_fraction)
    if labels is None:
        return Dataset(x_tr, y[tr], x_te, y[te], "regression", info=info)
    info.update(classes=[str(c) for c in classes], target_low=target_low,
                target_high=target_high)
    return Dataset(x_tr, y[tr], x_te, y[te], "classification", labels[tr], labels[te], info)


def iris(*, path: str | Path | None, test_fraction: float, seed: int,
         input_range: tuple[float, float], signed: bool, target_low: float,
         target_high: float) -> Dataset:
    """The Iris classification task (4 features, 3 classes; bundled CSV by default)."""
    return csv_dataset(path or IRIS_PATH, input_columns=list(IRIS_FEATURES),
                       target_columns=None, label_column="species",
                       test_fraction=test_fraction, seed=seed,
                       input_range=input_range, signed=signed, target_low=target_low,
                       target_high=target_high)
