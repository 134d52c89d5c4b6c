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
``csv`` / ``iris``
    Rows of a CSV file (:mod:`circuitlearn.learning.data`).
``flow``
    Flow-matching pairs for a GradEP circuit: inputs ``x_t`` (and ``t``), voltage
    targets ``y = x_t + (C/lam) u`` (:mod:`circuitlearn.learning.flowdata`).

Every kind is declared once in :data:`DATA_KINDS` (name, parameters, ranges); the
experiment reader and :func:`make_dataset` both check parameters there. Every kind
also takes ``augment`` (:mod:`circuitlearn.learning.augment`): the training set
replaced by its orbit under a finite group acting on the inputs.

>>> from circuitlearn.solver.examples import random_problem
>>> problem = random_problem(0)[0]
>>> data = make_dataset(problem, "teacher", n_train=5, n_test=3)
>>> data.x_train.shape, data.y_test.shape
((5, 2), (3, 2))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from circuitlearn.learning.augment import AUGMENT_PARAMS, augmented
from circuitlearn.learning.data import IRIS_PATH, SCALINGS, Dataset, csv_dataset, iris
from circuitlearn.learning.flowdata import PAIRINGS, TARGETS, flow_dataset
from circuitlearn.learning.metrics import predict
from circuitlearn.registry import (
    Param,
    Registry,
    at_least,
    exactly_one,
    finite_positive,
    positive_range,
    unit_fraction,
)
from circuitlearn.solver.problem import LearningProblem

__all__ = ["DATA_KINDS", "IRIS_PATH", "Dataset", "allostery", "make_dataset",
           "teacher_conductances", "teacher_regression"]


def _netlist_inputs(problem: LearningProblem) -> np.ndarray:
    """Netlist values of the input sources (V or A), shape (n_in,)."""
    c = problem.circuit
    values = dict(zip(c.vsource_names + c.isource_names,
                      np.r_[c.vsource_values, c.isource_values], strict=True))
    return np.array([values[name] for name in problem.inputs], float)


def teacher_conductances(problem: LearningProblem, *,
                         teacher_spread: tuple[float, float] = (0.5, 2.0),
                         seed: int | np.random.Generator | None = None) -> np.ndarray:
    r"""Teacher conductances (S): :math:`\bar k\,U[s_{lo}, s_{hi}]` on trainable edges."""
    k = np.array(problem.circuit.conductance, dtype=float)
    mask = np.asarray(problem.trainable, bool)
    low, high = teacher_spread
    rng = np.random.default_rng(seed)
    k[mask] = k[mask].mean() * rng.uniform(low, high, size=int(mask.sum()))
    return k


def teacher_regression(problem: LearningProblem, *, n_train: int, n_test: int, seed: int,
                       input_range: tuple[float, float],
                       teacher_spread: tuple[float, float]) -> Dataset:
    """Regression on the outputs of a random teacher network (realizable exactly)."""
    rng = np.random.default_rng(seed)
    k_teacher = teacher_conductances(problem, teacher_spread=teacher_spread, seed=rng)
    lo, hi = input_range
    x = rng.uniform(lo, hi, size=(n_train + n_test, len(problem.inputs)))
    y = predict(problem, k_teacher, x)
    info = {"n_train": n_train, "n_test": n_test, "input_range": [lo, hi],
            "teacher_spread": list(teacher_spread), "teacher_conductance": k_teacher.tolist()}
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], "regression", info=info)


def allostery(problem: LearningProblem, *, targets: list[float] | None,
              ratio: float | None, input_values: list[float] | None) -> Dataset:
    """Allosteric task: drive the inputs, ask for given voltage drops at output pairs.

    Exactly one of ``targets`` (V, one per output) or ``ratio`` (targets are
    ``ratio`` times the untrained network's outputs) is given. The inputs are
    ``input_values`` (V) or the sources' netlist values. Train and test sets are
    the same single example.
    """
    x = _netlist_inputs(problem) if input_values is None else np.asarray(input_values, float)
    x = x.reshape(1, -1)
    if targets is not None:
        y = np.asarray(targets, float).reshape(1, -1)
        if y.shape[1] != len(problem.outputs):
            raise ValueError(f"{y.shape[1]} targets for {len(problem.outputs)} outputs")
    else:
        y = ratio * predict(problem, problem.circuit.conductance, x)
    info = {"inputs": x[0].tolist(), "targets": y[0].tolist(), "ratio": ratio}
    return Dataset(x, y, x.copy(), y.copy(), "allostery", info=info)


def _table(read: Any) -> Any:
    """A CSV data kind as a registry constructor (the problem is not needed)."""
    def build(problem: LearningProblem, **params: Any) -> Dataset:
        return read(**params)
    build.__doc__ = read.__doc__
    return build


_SEED = Param("seed", "int", 0, check=at_least(0), doc="random seed")
_TABLE = (Param("test_fraction", default=None, check=unit_fraction,
                doc="share of rows held out (0.3; 0 with test_path: no test set)"),
          Param("test_path", "path", None, doc="CSV file of the test set (same columns)"),
          _SEED, Param("scaling", "str", "minmax", choices=SCALINGS,
                       doc="minmax: features onto input_range; none: volts as given"),
          Param("input_range", "range", None, doc="minmax range (V), default [0, 1]"),
          Param("signed", "bool", False, doc="each feature drives +x and -x sources"),
          Param("target_low", default=0.0, doc="target of the other classes (V)"),
          Param("target_high", default=0.5, doc="target of the labelled class (V)"))

DATA_KINDS = Registry("data kind")
DATA_KINDS.add("teacher", teacher_regression,
               Param("n_train", "int", 20, check=at_least(1), doc="training examples"),
               Param("n_test", "int", 50, check=at_least(1), doc="test examples"), _SEED,
               Param("input_range", "range", [-1.0, 1.0], doc="uniform inputs (V or A)"),
               Param("teacher_spread", "range", [0.5, 2.0], check=positive_range,
                     doc="teacher conductances relative to the mean"),
               doc="a random teacher network of the same topology (realizable)")
DATA_KINDS.add("allostery", allostery,
               Param("targets", "list[float]", None, doc="target output values (V)"),
               Param("ratio", default=None, doc="targets = ratio x untrained outputs"),
               Param("input_values", "list[float]", None, doc="inputs (default: netlist)"),
               checks=(exactly_one("targets", "ratio"),),
               doc="one example: given responses at output pairs")
DATA_KINDS.add("csv", _table(csv_dataset),
               Param("path", "path", doc="CSV file with a header row"),
               Param("input_columns", "list[str]", doc="columns driving the input sources"),
               Param("target_columns", "list[str]", None, doc="regression targets (V)"),
               Param("label_column", "str", None, doc="class labels (classification)"),
               *_TABLE, checks=(exactly_one("target_columns", "label_column"),),
               doc="rows of a CSV file")
DATA_KINDS.add("iris", _table(iris), Param("path", "path", None, doc="default: bundled"),
               *_TABLE, doc="Iris classification (4 features, 3 classes)")
DATA_KINDS.add("flow", flow_dataset,
               Param("capacitance", check=finite_positive,
                     doc="C (F) at each data node: targets y = x_t + (C/lam) u"),
               Param("target", "str", "gaussian", choices=TARGETS, doc="target distribution"),
               Param("mean", "list[float]", None, doc="Gaussian target mean (V), default 0"),
               Param("covariance", "list[float]", None,
                     doc="Gaussian target covariance (V^2), row-major d x d, default I"),
               Param("source_std", default=1.0, check=finite_positive,
                     doc="source N(0, s^2 I): s (V)"),
               Param("pairing", "str", "ot", choices=PAIRINGS,
                     doc="independent draws, or exact OT within each batch"),
               Param("batch", "int", 256, check=at_least(1), doc="OT pairing batch size"),
               Param("time", "bool", False, doc="the last input is a time source at t (V)"),
               Param("n_train", "int", 1024, check=at_least(1), doc="training pairs"),
               Param("n_test", "int", 1024, check=at_least(1), doc="test pairs"),
               Param("test_fraction", default=0.2, check=unit_fraction,
                     doc="digits held out for the test pairs"), _SEED,
               doc="flow matching: source to target pairs for a GradEP circuit")

# Every kind accepts [task.data] augment (learning.augment): re-declared with those
# parameters, its constructor followed by the augmentation.
for _entry in [DATA_KINDS.entry(_name) for _name in DATA_KINDS.names()]:
    DATA_KINDS.add(_entry.name, augmented(_entry.build), *_entry.params, *AUGMENT_PARAMS,
                   doc=_entry.doc, aliases=_entry.aliases, checks=_entry.checks)


def make_dataset(problem: LearningProblem, kind: str, **params: Any) -> Dataset:
    """The data set of kind ``kind`` of :data:`DATA_KINDS` for ``problem``.

    Raises
    ------
    ParameterError
        Unknown kind or parameter, or a value out of its declared range.
    ValueError, OSError
        Data that cannot be read or does not fit.
    """
    return DATA_KINDS.build(kind, problem, **params)
