r"""Data sets: train and test examples of input source values and output targets.

``csv_dataset`` / ``iris``
    Rows of a CSV file, split into train and test sets (stratified by class for
    classification; ``test_fraction = 0``: no test set), or a second CSV file as
    the test set (``test_path``). Every cell is checked when the file is read: a
    number as CSV writes it (``5_1`` is not one), finite (``data.csv:12: column
    'x0': not a finite number: 'nan'``). Input scaling ``"minmax"`` (default):
    every feature is mapped affinely to ``input_range`` (default :math:`[0, 1]` V)
    using the *training* minimum and maximum, :math:`x' = v_{lo} + (v_{hi} -
    v_{lo}) (x - \min_{train}) / (\max_{train} - \min_{train})` (test rows may
    fall slightly outside); ``"none"``: the cells are the source values (V). With
    ``signed=True`` each feature drives two sources, :math:`+x'` and :math:`-x'`,
    so a passive network can realize weights of either sign. Class ``c`` of ``C``
    is encoded by one output per class, target ``target_high`` on output ``c``
    and ``target_low`` elsewhere; the prediction is the output with the largest
    voltage (:func:`circuitlearn.learning.metrics.accuracy`).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn.errors import DataError

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

    @property
    def has_test(self) -> bool:
        """False when there is no test set (``test_fraction = 0``)."""
        return len(self.x_test) > 0

    @property
    def num_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return len(self.info.get("classes", ())) if self.is_classification else 0


NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
"""A number as CSV files write them: digits, one decimal point, an optional exponent
(no ``_`` separators, no ``nan``/``inf``; Python's ``float`` is more lenient)."""


class Columns(dict):
    """Columns of a CSV file, ``{name: [cell, ...]}``; :attr:`lines` holds the file line
    of every row (for messages) and :attr:`path` the file."""

    def __init__(self, path: str | Path, header: list[str], body: list[list[str]],
                 lines: list[int]):
        super().__init__({h: [r[j].strip() for r in body] for j, h in enumerate(header)})
        self.path = str(path)
        self.lines = lines

    def numbers(self, name: str) -> np.ndarray:
        """Column ``name`` as finite floats; a :class:`DataError` names ``file:line``,
        the column and the cell otherwise."""
        if name not in self:
            raise DataError(f"{self.path}: no column {name!r} (columns: {', '.join(self)})")
        out = np.empty(len(self[name]))
        for i, cell in enumerate(self[name]):
            out[i] = self._number(cell, name, self.lines[i])
        return out

    def _number(self, cell: str, name: str, line: int) -> float:
        where = f"{self.path}:{line}: column {name!r}"
        if NUMBER.fullmatch(cell):
            value = float(cell)
            if math.isfinite(value):
                return value
            raise DataError(f"{where}: not a finite number: {cell!r} (out of range)")
        try:
            value = float(cell)
        except ValueError:
            value = 0.0
        if not math.isfinite(value):
            raise DataError(f"{where}: not a finite number: {cell!r}")
        raise DataError(f"{where}: not a number: {cell!r}")


def read_csv(path: str | Path) -> Columns:
    """Columns of a CSV file with a header row: ``{name: [cell, ...]}`` (UTF-8; blank
    lines skipped). Raises :class:`DataError` naming the file and line."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            rows, lines = [], []
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append(row)
                    lines.append(reader.line_num)
    except OSError as exc:
        raise DataError(f"{path}: cannot read data file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file (byte {exc.object[exc.start]:#04x} "
                        f"at offset {exc.start})") from None
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: {exc}") from None
    if not rows:
        raise DataError(f"{path}: empty CSV file")
    header = [h.strip() for h in rows[0]]
    for row, line in zip(rows[1:], lines[1:], strict=True):
        if len(row) != len(header):
            raise DataError(f"{path}:{line}: {len(row)} cells, header has {len(header)}")
    return Columns(path, header, rows[1:], lines[1:])


def split_indices(n: int, test_fraction: float, seed: int = 0,
                  labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test split of ``range(n)``; stratified by ``labels`` if given.

    Each class (or the whole set) contributes ``round(test_fraction * n_c)`` test
    rows; ``test_fraction = 0`` keeps every row for training (no test set). Returns
    sorted index arrays ``(train, test)``.
    """
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c)
                                                    for c in np.unique(labels)]
    test = [np.zeros(0, np.int64)]
    for g in groups:
        perm = rng.permutation(g)
        test.append(perm[:round(test_fraction * len(g))])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(n), test_idx)
    if len(train_idx) == 0 or (test_fraction > 0 and len(test_idx) == 0):
        raise ValueError(f"test_fraction {test_fraction} leaves an empty split of {n} rows")
    return train_idx, test_idx


SCALINGS = ("minmax", "none")


def scale_inputs(x_train: np.ndarray, x_test: np.ndarray,
                 input_range: tuple[float, float] | None = (0.0, 1.0),
                 signed: bool = False, scaling: str = "minmax",
                 ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Scale features with training statistics: ``"minmax"`` maps them affinely onto
    ``input_range`` (V), ``"none"`` keeps them as given (V).

    With ``signed`` the columns ``[x', -x']`` are returned (two sources per feature).
    The returned ``info`` (JSON-able) holds the map: :func:`apply_scaling` applies it
    to other rows.
    """
    info: dict[str, Any] = {"scaling": scaling, "signed": signed, "input_range": None}
    if scaling == "minmax":
        lo, hi = input_range if input_range is not None else (0.0, 1.0)
        info.update(input_range=[lo, hi], feature_min=x_train.min(axis=0).tolist(),
                    feature_max=x_train.max(axis=0).tolist())
    return apply_scaling(x_train, info), apply_scaling(x_test, info), info


def apply_scaling(x: np.ndarray, info: dict[str, Any]) -> np.ndarray:
    """Features ``x`` (B, F) as source values (V) by the map recorded in ``info``."""
    x = np.asarray(x, float)
    if info.get("scaling", "minmax") == "minmax":
        lo, hi = info["input_range"]
        mn, mx = np.asarray(info["feature_min"]), np.asarray(info["feature_max"])
        x = lo + (hi - lo) * (x - mn) / np.where(mx > mn, mx - mn, 1.0)
    return np.concatenate([x, -x], axis=1) if info.get("signed") else x


def _labels(train: list[str], test: list[str], path: str | Path
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classes (sorted training labels) and the integer labels of both sets."""
    classes = np.unique(np.array(train))
    index = {c: i for i, c in enumerate(classes.tolist())}
    unknown = sorted(set(test) - set(index))
    if unknown:
        raise DataError(f"{path}: test labels {unknown} are not among the training "
                        f"classes {classes.tolist()}")
    return classes, np.array([index[c] for c in train], int), np.array([index[c] for c in test],
                                                                        int)


def csv_dataset(path: str | Path, *, input_columns: list[str],
                target_columns: list[str] | None, label_column: str | None,
                test_fraction: float | None, test_path: str | Path | None, seed: int,
                scaling: str, input_range: tuple[float, float] | None,
                signed: bool, target_low: float, target_high: float) -> Dataset:
    """Data set from a CSV file: regression (``target_columns``, volts, unscaled) or
    classification (``label_column``, one-hot targets ``target_low``/``target_high``).

    The test set is ``test_path`` (a second CSV with the same columns) or a random
    ``test_fraction`` of the rows (default 0.3; 0: no test set). Inputs are scaled
    by :func:`scale_inputs` (``scaling``). Parameters and defaults:
    ``DATA_KINDS["csv"]`` (:mod:`circuitlearn.learning.tasks`).
    """
    if test_path is not None and test_fraction:
        raise ValueError("give test_path or test_fraction, not both")
    if scaling == "none" and input_range is not None:
        raise ValueError('input_range applies to scaling = "minmax", not "none"')
    fraction = (0.0 if test_path is not None else 0.3) if test_fraction is None \
        else test_fraction
    table = read_csv(path)
    tables = [table] if test_path is None else [table, read_csv(test_path)]
    xs = [np.column_stack([t.numbers(c) for c in input_columns]) for t in tables]
    if label_column is not None:
        for t in tables:
            if label_column not in t:
                raise DataError(f"{t.path}: no column {label_column!r}")
        if test_path is None:
            classes, labels = np.unique(np.array(table[label_column]), return_inverse=True)
            lab_test = None
        else:
            classes, labels, lab_test = _labels(table[label_column],
                                                tables[1][label_column], test_path)
        ys = [target_low + (target_high - target_low) * np.eye(len(classes))[labels]]
    else:
        ys = [np.column_stack([t.numbers(c) for c in target_columns or []]) for t in tables]
        labels = lab_test = classes = None
    if test_path is None:
        tr, te = split_indices(len(xs[0]), fraction, seed, labels)
        x_tr, x_te, y_tr, y_te = xs[0][tr], xs[0][te], ys[0][tr], ys[0][te]
        if labels is not None:
            labels, lab_test = labels[tr], labels[te]
    else:
        x_tr, x_te, y_tr = xs[0], xs[1], ys[0]
        y_te = ys[1] if labels is None else \
            target_low + (target_high - target_low) * np.eye(len(classes))[lab_test]
    x_tr, x_te, info = scale_inputs(x_tr, x_te, input_range, signed, scaling)
    info.update(path=str(path), test_path=None if test_path is None else str(test_path),
                rows=len(xs[0]) + (len(xs[1]) if test_path is not None else 0),
                n_train=len(x_tr), n_test=len(x_te), test_fraction=fraction)
    if labels is None:
        return Dataset(x_tr, y_tr, x_te, y_te, "regression", info=info)
    info.update(classes=[str(c) for c in classes], target_low=target_low,
                target_high=target_high)
    return Dataset(x_tr, y_tr, x_te, y_te, "classification", labels, lab_test, info)


def iris(*, path: str | Path | None, **params: Any) -> Dataset:
    """The Iris classification task (4 features, 3 classes; bundled CSV by default);
    ``params`` as :func:`csv_dataset`'s."""
    return csv_dataset(path or IRIS_PATH, input_columns=list(IRIS_FEATURES),
                       target_columns=None, label_column="species", **params)
