r"""Generation from a trained flow-matching run: integrate ``dx/dt = v(x, t)``.

A run of a ``[task.data] kind = "flow"`` experiment leaves ``trained.cir`` (the
network), ``checkpoint.npz`` (its exact trained conductances) and ``summary.json``
(the inputs, outputs and data parameters). :func:`generate_run` rebuilds the field
``v = (lam/C)(V_vis* - x)`` (:class:`~circuitlearn.learning.flow.FlowField`),
draws ``N`` source points ``x_0 ~ N(0, s^2 I)`` and integrates to ``t_end`` with
RK4 (:func:`~circuitlearn.learning.flow.integrate_flow`; ``t_end > 1`` continues
the same field past the training horizon, as FlowEqProp does).

Measured against the target (2-Wasserstein, V): ``w2_samples``, the empirical
distance of the samples to as many target points (exact assignment, on the first
:data:`W2_POINTS` samples at most; for digits the held-out test digits, repeated
when there are more samples); for a Gaussian target also ``w2_gaussian``, the closed
form between the exactly pushed-forward Gaussian ``N(Phi m + shift, Phi S Phi^T)``
and the target; for digits ``w2_gaussian_fit``, the empirical distance of as many
draws from the Gaussian fitted to the training digits: the best any linear field
can generate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn.analysis.flow import affine_flow_map, empirical_w2, gaussian_w2
from circuitlearn.errors import ExperimentError, RunFolderError
from circuitlearn.learning.flow import FlowField, integrate_flow
from circuitlearn.learning.flowdata import FlowTarget, make_target
from circuitlearn.solver.problem import make_problem
from circuitlearn.training.evaluation import read_run

W2_POINTS = 2000
"""Largest point clouds compared by exact assignment (O(N^3) time, O(N^2) memory)."""


@dataclass(frozen=True, eq=False)
class FlowRun:
    """A trained flow run: its field, target and data parameters."""

    folder: Path
    field: FlowField
    target: FlowTarget
    data: dict[str, Any]


def load_flow_run(folder: str | Path) -> FlowRun:
    """The field of a flow run in ``folder``: the wiring of ``trained.cir``, the exact
    conductances of ``checkpoint.npz``, the task of ``summary.json``.

    Raises
    ------
    RunFolderError
        Not a run folder, or not a flow run.
    """
    folder = Path(folder)
    config, ckpt, trained = read_run(folder)
    task = config["task"]
    data = dict(task["data"])
    if data.pop("kind") != "flow":
        raise RunFolderError(f"{folder}: not a flow run ([task.data] kind is not 'flow')")
    outputs = [o if isinstance(o, str) else tuple(o) for o in task["outputs"]]
    problem = make_problem(trained, task["inputs"], outputs)
    flow_field = FlowField(problem, ckpt.k, data["capacitance"])
    target = make_target(data["target"], flow_field.layout.dim, mean=data.get("mean"),
                         covariance=data.get("covariance"),
                         test_fraction=data["test_fraction"], seed=data["seed"])
    return FlowRun(folder, flow_field, target, data)


@dataclass(frozen=True, eq=False)
class Generation:
    """Source points ``x0`` (N, d), samples at ``t_end`` (N, d), target points for
    comparison (N, d), draws of the fitted Gaussian (data-set targets only) and the
    distances (V) in :attr:`metrics`."""

    x0: np.ndarray
    samples: np.ndarray
    reference: np.ndarray
    t_end: float
    target: str
    metrics: dict[str, float] = field(default_factory=dict)
    fit: np.ndarray | None = None


def generate_run(run: FlowRun | str | Path, samples: int, *, t_end: float = 1.0,
                 seed: int = 0) -> Generation:
    """Generate ``samples`` points from the trained run (see the module docstring).

    >>> from circuitlearn.training.run import train
    >>> folder = getfixture("tmp_path")
    >>> _ = train("netlists/experiments/flow_gaussian.toml", folder, max_steps=5,
    ...           progress=False)
    >>> gen = generate_run(folder, 50, t_end=1.0)
    >>> gen.samples.shape, sorted(gen.metrics)
    ((50, 2), ['w2_gaussian', 'w2_samples'])
    """
    run = run if isinstance(run, FlowRun) else load_flow_run(run)
    if samples < 1 or not np.isfinite(t_end) or t_end <= 0:
        raise ExperimentError(f"need samples >= 1 and a positive t_end, got {samples}, "
                              f"{t_end}")
    rng = np.random.default_rng(seed)
    d, s = run.field.layout.dim, run.data["source_std"]
    x0 = s * rng.standard_normal((samples, d))
    x_end = integrate_flow(run.field, x0, [0.0, t_end])[-1]
    goal = run.target
    reference = goal.sample(rng, samples, "test")
    n = min(samples, W2_POINTS)
    metrics = {"w2_samples": empirical_w2(x_end[:n], reference[:n])}
    fit = None
    if goal.samples is None:
        phi, shift = affine_flow_map(*run.field.affine(), t_end)
        metrics["w2_gaussian"] = gaussian_w2(shift, s ** 2 * phi @ phi.T, goal.mean,
                                             goal.covariance)
    else:
        fit = FlowTarget("gaussian fit", goal.mean, goal.covariance).sample(rng, samples)
        metrics["w2_gaussian_fit"] = empirical_w2(fit[:n], reference[:n])
    return Generation(x0, x_end, reference, float(t_end), goal.name, metrics, fit)


def write_generation(gen: Generation, out: str | Path) -> tuple[Path, Path]:
    """Write the samples to ``out`` (``.csv``: columns ``x1..xd``, V; ``.npz``: arrays
    ``x0``, ``samples``, ``reference``, ``t_end``) and a figure next to it (``.png``):
    the samples against the target (2-D) or an image grid (digits). Returns both paths.
    """
    out = Path(out)
    d = gen.samples.shape[1]
    if out.suffix == ".npz":
        np.savez(out, x0=gen.x0, samples=gen.samples, reference=gen.reference,
                 t_end=gen.t_end)
    elif out.suffix == ".csv":
        rows = [",".join(f"x{i + 1}" for i in range(d))]
        rows += [",".join(repr(float(v)) for v in row) for row in gen.samples]
        out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    else:
        raise ExperimentError(f"{out}: samples are written as .csv or .npz")
    from circuitlearn.training.flowplot import plot_generation

    return out, plot_generation(gen, out.with_suffix(".png"))
