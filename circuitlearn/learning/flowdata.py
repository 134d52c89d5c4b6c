r"""Flow-matching data for a GradEP circuit: source and target samples, pairing, targets.

Straight-line (rectified-flow) interpolation between a source sample ``x_0`` and a
target sample ``x_1``, ``t ~ U[0, 1]``:

.. math:: x_t = (1 - t)\, x_0 + t\, x_1, \qquad u = x_1 - x_0, \qquad
          L = \tfrac12 \langle \lVert v(x_t, t) - u \rVert^2 \rangle .

The source is ``N(0, s^2 I)``; the target a Gaussian ``N(mu, Sigma)`` or the 8x8
digits of scikit-learn (``2 pixel/16 - 1`` in ``[-1, 1]^64``, extra ``digits``).
Pairing ``independent`` keeps the draws as they come; ``ot`` pairs them within each
batch by the exact optimal-transport plan for the squared distance, which for equal
batches with uniform weights is a permutation (the assignment problem, as
FlowEqProp pairs its batches).

Because ``v = (lam/C)(V_vis - x)``, the loss is output-voltage regression,

.. math:: L = \Big(\frac{\lambda}{C}\Big)^2 \tfrac12
          \langle \lVert V_{vis} - y \rVert^2 \rangle, \qquad y = x_t + \frac{C}{\lambda}\, u ,

so the data set holds inputs ``x`` (the source values of ``x_t``, then ``t`` when the
network has a time source) and voltage targets ``y``; ``info["loss_scale"] =
(lam/C)^2`` turns the MSE of the run's curves into this loss (``info["loss_unit"]``,
V^2/s^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuitlearn.errors import ParameterError
from circuitlearn.learning.data import Dataset, split_indices
from circuitlearn.learning.flow import FlowLayout, flow_layout
from circuitlearn.solver.problem import LearningProblem

TARGETS = ("gaussian", "digits")
PAIRINGS = ("independent", "ot")
DIGITS_DIM = 64


def _fail(key: str, message: str) -> ParameterError:
    return ParameterError("data kind 'flow'", key, message)


def load_digits_pixels() -> np.ndarray:
    """The 1797 8x8 digits of scikit-learn as ``2 pixel/16 - 1`` (1797, 64), V.

    Raises
    ------
    ParameterError
        scikit-learn is not installed (``pip install 'circuitlearn[digits]'``).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise _fail("target", "'digits' needs scikit-learn: pip install "
                              "'circuitlearn[digits]'") from None
    return 2.0 * load_digits().data / 16.0 - 1.0


@dataclass(frozen=True, eq=False)
class FlowTarget:
    """A target distribution: Gaussian (``samples`` None) or a finite data set.

    Attributes
    ----------
    name : str
    mean : ndarray (d,), V
    covariance : ndarray (d, d), V^2 (of the training split for a data set)
    samples : tuple of two arrays or None
        Training and test points of a data set.
    """

    name: str
    mean: np.ndarray
    covariance: np.ndarray
    samples: tuple[np.ndarray, np.ndarray] | None = None

    def sample(self, rng: np.random.Generator, n: int, split: str = "train") -> np.ndarray:
        """``n`` points (n, d): Gaussian draws, or points of the split in random order
        (each used once before any repeats)."""
        if self.samples is None:
            w, q = np.linalg.eigh(self.covariance)
            root = q * np.sqrt(np.clip(w, 0.0, None))
            return self.mean + rng.standard_normal((n, len(self.mean))) @ root.T
        pool = self.samples[0 if split == "train" else 1]
        order = np.concatenate([rng.permutation(len(pool)) for _ in range(-(-n // len(pool)))])
        return pool[order[:n]]


def make_target(target: str, dim: int, *, mean: list[float] | None = None,
                covariance: list[float] | None = None, test_fraction: float = 0.2,
                seed: int = 0) -> FlowTarget:
    """The target of ``[task.data]``: ``gaussian`` (``mean`` default 0, ``covariance``
    row-major d x d, default I) or ``digits`` (train/test split ``test_fraction``)."""
    if target == "digits":
        if mean is not None or covariance is not None:
            raise _fail("mean" if mean is not None else "covariance",
                        "the digits target takes no mean or covariance")
        if dim != DIGITS_DIM:
            raise _fail("target", f"digits have {DIGITS_DIM} pixels, the network has {dim} "
                                  "outputs")
        pixels = load_digits_pixels()
        tr, te = split_indices(len(pixels), test_fraction, seed)
        train = pixels[tr]
        return FlowTarget("digits", train.mean(0), np.cov(train.T), (train, pixels[te]))
    mu = np.zeros(dim) if mean is None else np.asarray(mean, float)
    if mu.shape != (dim,):
        raise _fail("mean", f"needs {dim} values (one per output), got {mu.size}")
    cov = np.eye(dim) if covariance is None else np.asarray(covariance, float)
    if cov.size != dim * dim:
        raise _fail("covariance", f"needs {dim * dim} values (row-major {dim}x{dim}), "
                                  f"got {cov.size}")
    cov = cov.reshape(dim, dim)
    if not np.allclose(cov, cov.T) or np.linalg.eigvalsh(cov)[0] < -1e-12 * np.abs(cov).max():
        raise _fail("covariance", "must be symmetric positive semidefinite")
    return FlowTarget("gaussian", mu, cov)


def ot_pairing(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Permutation ``p`` minimising ``sum_i ||x0_i - x1_p(i)||^2`` (exact OT plan of two
    equal, uniformly weighted batches).

    >>> ot_pairing(np.array([[0.0], [1.0]]), np.array([[1.1], [0.1]])).tolist()
    [1, 0]
    """
    from scipy.optimize import linear_sum_assignment

    cost = np.sum((x0[:, None, :] - x1[None, :, :]) ** 2, axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return cols[np.argsort(rows)]


def flow_pairs(rng: np.random.Generator, x0: np.ndarray, x1: np.ndarray, pairing: str,
               batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x_t, u, t)``: pairs (OT-matched within batches of ``batch`` for ``"ot"``),
    ``t ~ U[0, 1]``, ``x_t = (1 - t) x0 + t x1``, ``u = x1 - x0``."""
    x1 = x1.copy()
    if pairing == "ot":
        for start in range(0, len(x0), batch):
            part = slice(start, start + batch)
            x1[part] = x1[part][ot_pairing(x0[part], x1[part])]
    t = rng.random(len(x0))
    return (1 - t)[:, None] * x0 + t[:, None] * x1, x1 - x0, t


def flow_dataset(problem: LearningProblem, *, capacitance: float, target: str,
                 mean: list[float] | None, covariance: list[float] | None,
                 source_std: float, pairing: str, batch: int, time: bool, n_train: int,
                 n_test: int, test_fraction: float, seed: int) -> Dataset:
    """Flow-matching pairs for the GradEP circuit ``problem`` (parameters and units:
    ``DATA_KINDS["flow"]``). ``lam`` is read from the springs of the netlist."""
    from circuitlearn.errors import ProblemError

    try:
        layout = flow_layout(problem, time)
    except ProblemError as exc:
        raise _fail("time", str(exc)) from None
    lam = layout.spring_conductance(problem.circuit.conductance)
    goal = make_target(target, layout.dim, mean=mean, covariance=covariance,
                       test_fraction=test_fraction, seed=seed)
    rng = np.random.default_rng(seed)
    sets = []
    for n, split in ((n_train, "train"), (n_test, "test")):
        x0 = source_std * rng.standard_normal((n, layout.dim))
        xt, u, t = flow_pairs(rng, x0, goal.sample(rng, n, split), pairing, batch)
        sets += [layout.inputs(xt, t), xt + (capacitance / lam) * u]
    info = {"dimension": layout.dim, "encoding": layout.encoding, "time": layout.time,
            "lam": lam, "capacitance": capacitance, "loss_scale": (lam / capacitance) ** 2,
            "loss_unit": "V^2/s^2",
            "target": target, "source_std": source_std, "pairing": pairing, "batch": batch,
            "n_train": n_train, "n_test": n_test}
    return Dataset(*sets, kind="flow", info=info)


def flow_velocities(layout: FlowLayout, info: dict, x: np.ndarray, y: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(x_t, u, t)`` back from a flow data set's inputs ``x`` and targets ``y``."""
    xt = layout.data_points(x)
    t = np.asarray(x, float)[:, -1] if layout.time else None
    return xt, (info["lam"] / info["capacitance"]) * (np.asarray(y, float) - xt), t
