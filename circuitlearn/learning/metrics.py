r"""What training measures: predictions, the loss and the classification accuracy.

Loss convention (everywhere in circuitlearn)
    .. math:: L = \tfrac12 \operatorname{mean}_b \lVert V_O(x_b) - y_b \rVert^2
              = \tfrac12 \operatorname{tr} \Sigma_{ee} \quad (\mathrm{V}^2),

    a sum over outputs and a mean over the batch, with output errors
    ``e_b = V_O(x_b) - y_b`` and their second moment ``Sigma_ee = mean_b e_b e_b^T``.
Accuracy
    The fraction of examples whose largest output voltage is the labelled class.

>>> mse_loss(np.array([[1.0, 0.0], [0.0, 0.0]]), np.zeros((2, 2)))
0.25
>>> accuracy(np.array([[0.1, 0.4], [0.3, 0.2]]), np.array([1, 1]))
0.5
"""

from __future__ import annotations

import numpy as np

from circuitlearn.solver.equilibrium import EquilibriumSolver
from circuitlearn.solver.problem import LearningProblem


def mse_loss(outputs: np.ndarray, targets: np.ndarray) -> float:
    """``L = (1/2) mean_b ||outputs_b - targets_b||^2`` (V^2); arrays (B, n_out)."""
    e = np.asarray(outputs, float) - np.asarray(targets, float)
    return 0.5 * float(np.mean(np.sum(e.reshape(len(e), -1) ** 2, axis=1))) if len(e) else np.nan


def mse_loss_from_moments(error_moment: np.ndarray) -> float:
    """The same loss from ``Sigma_ee = mean_b e_b e_b^T`` (n_out, n_out): ``tr/2`` (V^2)."""
    return 0.5 * float(np.trace(error_moment))


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose largest output is the class in ``labels``: integers (B,),
    or one-hot targets (B, n_out) read by their argmax."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = np.argmax(labels, axis=1)
    return float(np.mean(np.argmax(outputs, axis=1) == labels)) if len(labels) else np.nan


def predict(problem: LearningProblem, k: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Free-state outputs ``V_O(x)`` (B, n_out), V, at conductances ``k`` (S).

    >>> from circuitlearn.solver.examples import random_problem
    >>> problem, k, x, y = random_problem(0)
    >>> predict(problem, k, x).shape
    (6, 2)
    """
    return EquilibriumSolver(problem, k).free_outputs(x)


def least_squares_accuracy(x_train: np.ndarray, y_train: np.ndarray, labels_train: np.ndarray,
                           x_test: np.ndarray, labels_test: np.ndarray) -> tuple[float, float]:
    """Train and test accuracy of the affine least-squares readout ``y = [x, 1] W``
    fitted on the training set: the best MSE map of the same inputs that any linear
    network (whose outputs are affine in ``x``) could realize, a baseline for a
    linear network trained on the MSE (NaN for an empty set).

    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.eye(2)[[0, 0, 1, 1]]
    >>> least_squares_accuracy(x, y, np.array([0, 0, 1, 1]), x[:0], np.zeros(0, int))[0]
    1.0
    """
    def drive(x: np.ndarray) -> np.ndarray:
        return np.hstack([x, np.ones((len(x), 1))])

    w = np.linalg.lstsq(drive(x_train), y_train, rcond=None)[0]
    return (accuracy(drive(x_train) @ w, labels_train), accuracy(drive(x_test) @ w, labels_test))
