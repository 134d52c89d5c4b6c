r"""Training from arrays, without an experiment file: :func:`fit`.

``fit`` reads its rule and training arguments with the same declarations as the
``[rule]`` and ``[train]`` tables of an experiment file (an argument ``dt=-1``
fails as ``fit(): dt: must be positive``), runs the same loop and returns the
same :class:`~circuitlearn.training.result.TrainingResult` as
:func:`~circuitlearn.training.run.train`.

Learning-rate conventions
    circuitlearn integrates :math:`\dot k = \frac{\alpha}{\eta}\,\tfrac12
    \langle dV_F^2 - dV_C^2\rangle` (coupled learning). An explicit Euler step
    ``dt`` changes ``k`` by ``alpha dt / (2 eta) <dV_F^2 - dV_C^2>``. Codes that
    write the discrete update ``k += lr (dV_F^2 - dV_C^2) / eta`` (no 1/2) are the
    same with ``alpha = 2 lr`` and ``dt = 1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.errors import ParameterError
from circuitlearn.learning.data import Dataset
from circuitlearn.solver.factor import default_backend
from circuitlearn.solver.moments import as_batch
from circuitlearn.solver.problem import make_problem
from circuitlearn.training.experiment import (
    Experiment,
    NetworkSpec,
    TaskSpec,
    rule_spec,
    train_spec,
)
from circuitlearn.training.folder import RunFolder
from circuitlearn.training.layout import netlist_positions
from circuitlearn.training.result import TrainingResult
from circuitlearn.training.resume import fresh_checkpoint
from circuitlearn.training.run import Run
from circuitlearn.training.schema import Section
from circuitlearn.training.setup import assemble, select_trainable

WHERE = "fit()"


class _Arguments(Section):
    """The keyword arguments of :func:`fit` read like a TOML table."""

    def error(self, key: str | None, message: str) -> ParameterError:
        return ParameterError(WHERE, key, message)


def _array(name: str, value: Any, width: int) -> np.ndarray:
    try:
        arr = as_batch(value, width, name)
    except (ValueError, TypeError) as exc:
        raise ParameterError(WHERE, name, str(exc)) from None
    bad = np.argwhere(~np.isfinite(arr))
    if len(bad):
        raise ParameterError(WHERE, name, f"row {bad[0][0]}, column {bad[0][1]}: not a finite "
                             f"number ({arr[tuple(bad[0])]})")
    return arr


def _dataset(x: Any, y: Any, x_test: Any, y_test: Any, n_in: int, n_out: int,
             classification: bool) -> Dataset:
    xs, ys = _array("x", x, n_in), _array("y", y, n_out)
    if (x_test is None) != (y_test is None):
        raise ParameterError(WHERE, "x_test", "give x_test and y_test together")
    xt = np.zeros((0, n_in)) if x_test is None else _array("x_test", x_test, n_in)
    yt = np.zeros((0, n_out)) if y_test is None else _array("y_test", y_test, n_out)
    for a, b, names in ((xs, ys, "x and y"), (xt, yt, "x_test and y_test")):
        if len(a) != len(b):
            raise ParameterError(WHERE, names.split()[0], f"{names} have {len(a)} and "
                                 f"{len(b)} rows")
    info: dict[str, Any] = {"n_train": len(xs), "n_test": len(xt)}
    if not classification:
        return Dataset(xs, ys, xt, yt, "regression", info=info)
    info["classes"] = [str(c) for c in range(n_out)]
    return Dataset(xs, ys, xt, yt, "classification", np.argmax(ys, axis=1),
                   np.argmax(yt, axis=1), info)


def fit(circuit: Circuit | str | Path, *, inputs: Sequence[str],
        outputs: Sequence[str | tuple[str, str]], x: Any, y: Any, t_end: float,
        dt: float | str, rule: str = "cl", integrator: str = "euler",
        bounds: tuple[float, float] | None = None, x_test: Any = None, y_test: Any = None,
        classification: bool = False, trainable: str | Sequence[str] = "all",
        mode: str = "full-batch", batch_size: int | None = None, tau: float | None = None,
        seed: int = 0, record_every: int | None = None, checkpoint_every: int | None = None,
        stop_loss: float | None = None, stop_tolerance: float | None = None,
        stop_window: int | None = None, modifiers: Mapping[str, Mapping[str, Any]] | None = None,
        rtol: float = 1e-6, atol: float = 1e-9, folder: str | Path | None = None,
        force: bool = False, max_steps: int | None = None, progress: bool | None = False,
        **rule_params: Any) -> TrainingResult:
    """Train the conductances of ``circuit`` on arrays ``x`` (B, n_in) and ``y`` (B, n_out).

    Parameters
    ----------
    circuit : Circuit or path
        The network (a netlist file is read; its ``* pos`` comments give drawing
        coordinates).
    inputs, outputs : sequence
        Input source names (column ``j`` of ``x`` drives ``inputs[j]``, V or A);
        output node names or ``(a, b)`` pairs for ``V(a) - V(b)`` (targets ``y``, V).
    x, y, x_test, y_test : array-like
        Training set and optional test set (no test set: test curves are NaN).
    t_end, dt : float
        End time and step (s); ``dt="auto"`` (see :mod:`circuitlearn.training.flow`).
    rule : str
        ``"cl"``, ``"ep"`` or ``"gradient"``; its parameters (``eta``, ``alpha``,
        ``beta``, ``nudging``, ``path``) as keyword arguments.
    classification : bool
        ``y`` holds one-hot targets (one output per class): accuracies are recorded.
    modifiers : mapping, optional
        ``{"noise": {"sigma": 0.1}, ...}``, applied in order (as ``[rule.noise]``).
    folder : path, optional
        Write the run's files there (as ``circuitlearn train``); None: in memory.
    Other arguments are the keys of ``[train]`` (docs/experiments.md).

    Returns
    -------
    TrainingResult

    Examples
    --------
    A two-resistor divider learns to output half its input:

    >>> import circuitlearn as cl
    >>> net = cl.parse("divider\\nV1 in 0 1\\nR1 in out 1\\nR2 out 0 3\\n")
    >>> x = np.array([[0.5], [1.0], [2.0]])
    >>> result = cl.fit(net, inputs=["v1"], outputs=["out"], x=x, y=0.5 * x,
    ...                 rule="gradient", alpha=1.0, t_end=20.0, dt=0.1)
    >>> result.status, round(float(result.k[0] / result.k[1]), 3)  # R1 = R2
    ('completed', 1.0)
    >>> bool(result.curves["train_loss"][-1] < 1e-6 * result.curves["train_loss"][0])
    True
    """
    backend = default_backend()
    if isinstance(circuit, str | Path):
        from circuitlearn import netlist

        path = Path(circuit)
        circuit = netlist.load(path)
        positions = netlist_positions(path.read_text(errors="replace"))
    else:
        positions = {}
    where = Path(WHERE)
    train = {"integrator": integrator, "t_end": t_end, "dt": dt, "rtol": rtol, "atol": atol,
             "bounds": None if bounds is None else list(bounds), "seed": seed,
             "trainable": trainable if isinstance(trainable, str) else list(trainable),
             "mode": mode, "batch_size": batch_size, "tau": tau, "record_every": record_every,
             "checkpoint_every": checkpoint_every, "stop_loss": stop_loss,
             "stop_tolerance": stop_tolerance, "stop_window": stop_window}
    exp = Experiment(
        where, NetworkSpec(None, None, {}, circuit=circuit.title or "circuit"),
        TaskSpec(tuple(inputs), tuple(o if isinstance(o, str) else tuple(o) for o in outputs),
                 "arrays", {"classification": classification}),
        rule_spec(_Arguments(where, "rule", {"name": rule, **rule_params, **(modifiers or {})})),
        train_spec(_Arguments(where, "train", {k: v for k, v in train.items()
                                              if v is not None})),
        Path(folder) if folder is not None else Path())
    try:
        mask = select_trainable(circuit, exp.train.trainable)
    except ValueError as exc:
        raise ParameterError(WHERE, "trainable", str(exc)) from None
    problem = make_problem(circuit, list(inputs), list(exp.task.outputs), trainable=mask)
    data = _dataset(x, y, x_test, y_test, problem.num_inputs, problem.num_outputs,
                    classification)
    setup = assemble(exp, circuit, problem, data)
    setup.positions = positions
    run_folder = None if folder is None else RunFolder(folder, force=force)
    ckpt = fresh_checkpoint(setup, setup.fingerprint(), backend)
    return Run(setup, run_folder, ckpt, progress=progress, backend=backend).run(max_steps)
