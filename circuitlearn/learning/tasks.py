r"""Learning tasks: data sets of input voltages and target output voltages.

A task feeds input voltages :math:`x` (V) to the input sources of a learning
problem and asks for output voltages :math:`V_O` (node voltages, or differences
:math:`V_a - V_b` across node pairs) close to targets :math:`y` (V); the loss is
:math:`L = \tfrac12 \langle \lVert V_O - y \rVert^2 \rangle_b`.

``teacher_regression``
    Inputs uniform in ``input_range`` (default :math:`[-1, 1]` V, independent per
    source). Targets are the outputs of a *teacher*: the same network with the
    trainable conductances redrawn as :math:`k^T_e = \bar k\, u_e`,
    :math:`u_e \sim U[s_{lo}, s_{hi}]`, :math:`\bar k` the mean trainable
    conductance (non-trainable edges keep theirs). The student can therefore reach
    zero loss exactly (at :math:`k = k^T`).
``allostery``
    One example: the inputs held at their netlist values (or given values) and
    target voltage differences across chosen node pairs, either given in volts
    or as ``ratio`` times the untrained network's response.
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
    voltage (accuracy = fraction with ``argmax V_O`` equal to the label).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.solver.dc import solve

IRIS_PATH = Path(__file__).resolve().parents[2] / "netlists" / "data" / "iris.csv"
"""The bundled Iris data (Fisher 1936; 150 rows, 4 features in cm, 3 species)."""
IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


class ProblemLike(Protocol):
    """What tasks need of a learning problem (``equilibrium.LearningProblem``)."""

    circuit: Circuit
    inputs: tuple[str, ...]
    outputs: tuple[tuple[int, int], ...]
    trainable: np.ndarray


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


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose largest output is the labelled class."""
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


# ------------------------------------------------------------------ linear map
def _source_index(circuit: Circuit, names: tuple[str, ...]) -> np.ndarray:
    lookup = {n: i for i, n in enumerate(circuit.vsource_names)}
    try:
        return np.array([lookup[n.lower()] for n in names], dtype=np.int64)
    except KeyError as exc:
        raise KeyError(f"no voltage source named {exc.args[0]!r}") from None


def _outputs(v: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    return v[pairs[:, 0]] - v[pairs[:, 1]]


def linear_response(circuit: Circuit, inputs: tuple[str, ...],
                    outputs: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    r"""Affine input-output map of a linear network: :math:`V_O = T x + c`.

    Other sources keep their values. Costs ``n_inputs + 1`` DC solves.

    Returns
    -------
    T : ndarray, shape (n_outputs, n_inputs)
        Dimensionless transfer matrix.
    c : ndarray, shape (n_outputs,)
        Output voltages with all inputs at 0 V.
    """
    src = _source_index(circuit, inputs)
    pairs = np.asarray(outputs, dtype=np.int64).reshape(-1, 2)
    base = circuit.vsource_values.copy()
    base[src] = 0.0
    c = _outputs(solve(circuit.with_sources(base)).node_voltages, pairs)
    cols = []
    for s in src:
        values = base.copy()
        values[s] = 1.0
        cols.append(_outputs(solve(circuit.with_sources(values)).node_voltages, pairs) - c)
    t = np.array(cols).T.reshape(len(pairs), len(src))
    return t, c


def network_outputs(problem: ProblemLike, k: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Free-state outputs (V), shape (B, n_outputs), for inputs ``x`` (B, n_inputs)."""
    t, c = linear_response(problem.circuit.with_conductance(k), problem.inputs, problem.outputs)
    return np.atleast_2d(x) @ t.T + c


# --------------------------------------------------------------------- teacher
def teacher_conductances(problem: ProblemLike, *, spread: tuple[float, float] = (0.5, 2.0),
                         seed: int | np.random.Generator | None = None) -> np.ndarray:
    r"""Teacher conductances (S): :math:`\bar k\,U[s_{lo}, s_{hi}]` on trainable edges."""
    k = np.array(problem.circuit.conductance, dtype=float)
    mask = np.asarray(problem.trainable, bool)
    if not 0 < spread[0] <= spread[1]:
        raise ValueError(f"teacher spread must satisfy 0 < low <= high, got {spread}")
    rng = np.random.default_rng(seed)
    k[mask] = k[mask].mean() * rng.uniform(spread[0], spread[1], size=int(mask.sum()))
    return k


def teacher_regression(problem: ProblemLike, *, n_train: int = 20, n_test: int = 50,
                       seed: int = 0, input_range: tuple[float, float] = (-1.0, 1.0),
                       spread: tuple[float, float] = (0.5, 2.0)) -> Dataset:
    """Regression on the outputs of a random teacher network (realizable exactly)."""
    if n_train < 1 or n_test < 1:
        raise ValueError("n_train and n_test must be at least 1")
    rng = np.random.default_rng(seed)
    k_teacher = teacher_conductances(problem, spread=spread, seed=rng)
    lo, hi = input_range
    x = rng.uniform(lo, hi, size=(n_train + n_test, len(problem.inputs)))
    y = network_outputs(problem, k_teacher, x)
    info = {"n_train": n_train, "n_test": n_test, "input_range": [lo, hi],
            "teacher_spread": list(spread), "teacher_conductance": k_teacher.tolist()}
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], "regression", info=info)


# ------------------------------------------------------------------- allostery
def allostery(problem: ProblemLike, *, targets: list[float] | None = None,
              ratio: float | None = None, input_values: list[float] | None = None) -> Dataset:
    """Allosteric task: drive the inputs, ask for given voltage drops at output pairs.

    Exactly one of ``targets`` (V, one per output) or ``ratio`` (targets are
    ``ratio`` times the untrained network's outputs) must be given. The inputs are
    ``input_values`` (V) or the sources' netlist values. Train and test sets are
    the same single example.
    """
    if (targets is None) == (ratio is None):
        raise ValueError("give exactly one of targets and ratio")
    circuit = problem.circuit
    if input_values is None:
        x = circuit.vsource_values[_source_index(circuit, problem.inputs)]
    else:
        x = np.asarray(input_values, float)
    x = x.reshape(1, -1)
    if targets is not None:
        y = np.asarray(targets, float).reshape(1, -1)
        if y.shape[1] != len(problem.outputs):
            raise ValueError(f"{y.shape[1]} targets for {len(problem.outputs)} outputs")
    else:
        y = ratio * network_outputs(problem, circuit.conductance, x)
    info = {"inputs": x[0].tolist(), "targets": y[0].tolist(), "ratio": ratio}
    return Dataset(x, y, x.copy(), y.copy(), "allostery", info=info)


# ------------------------------------------------------------------ CSV files
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
                target_columns: list[str] | None = None, label_column: str | None = None,
                test_fraction: float = 0.3, seed: int = 0,
                input_range: tuple[float, float] = (0.0, 1.0), signed: bool = False,
                target_low: float = 0.0, target_high: float = 0.5) -> Dataset:
    """Data set from a CSV file: regression (``target_columns``, volts, unscaled) or
    classification (``label_column``, one-hot targets ``target_low``/``target_high``)."""
    if (target_columns is None) == (label_column is None):
        raise ValueError("give exactly one of target_columns and label_column")
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


def iris(*, path: str | Path | None = None, test_fraction: float = 0.3, seed: int = 0,
         input_range: tuple[float, float] = (0.0, 1.0), signed: bool = False,
         target_low: float = 0.0, target_high: float = 0.5) -> Dataset:
    """The Iris classification task (4 features, 3 classes; bundled CSV by default)."""
    return csv_dataset(path or IRIS_PATH, input_columns=list(IRIS_FEATURES),
                       label_column="species", test_fraction=test_fraction, seed=seed,
                       input_range=input_range, signed=signed, target_low=target_low,
                       target_high=target_high)
