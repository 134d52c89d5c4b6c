r"""The training run loop: integrate the learning flow, record, checkpoint, resume.

A run integrates :math:`dk/dt = m \odot r(k, X, Y)` (:mod:`circuitlearn.training_setup`)
with the integrator of ``[train]`` and records, every ``record_every`` steps,

* ``train_loss``, ``test_loss``: :math:`L = \tfrac12 \langle \lVert V_O - y \rVert^2
  \rangle_b` over the training and test sets (V^2),
* ``accuracy``: fraction of test rows with ``argmax V_O`` equal to the label
  (classification only),
* ``invariant_q``: :math:`Q = \sum_{e\ \mathrm{trainable}} k_e^2` (S^2); the
  gradient flow of a voltage-driven network conserves it exactly, because the
  outputs are homogeneous of degree 0 in ``k`` (:math:`k \cdot \nabla L = 0`),
* ``power``: free-state dissipated power averaged over the training set (W).

Output folder: ``curves.csv``, ``curves.png``, ``summary.json``,
``checkpoint.npz`` (every ``checkpoint_every`` steps, at the end and on Ctrl-C)
and ``trained.cir`` (the network with the trained conductances). A run resumed
from a checkpoint reproduces the uninterrupted run exactly for fixed-step
integrators (and for the adaptive ones, whose macro steps restart the step-size
control from scratch).
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn import __version__
from circuitlearn.errors import CircuitLearnError, ExperimentError
from circuitlearn.learning.integrate import IntegrationError, iterate, make_integrator, num_steps
from circuitlearn.learning.tasks import accuracy
from circuitlearn.training.experiment import Experiment, comparable
from circuitlearn.training.io import (
    CHECKPOINT,
    Checkpoint,
    Progress,
    curves_dict,
    load_checkpoint,
    save_checkpoint,
    write_curves,
    write_json,
)
from circuitlearn.training.setup import Counter, Setup, build, make_rate


def invariant_q(k: np.ndarray, mask: np.ndarray) -> float:
    r""":math:`Q = \sum_{e \in T} k_e^2` over trainable edges ``T`` (S^2)."""
    kt = np.asarray(k)[np.asarray(mask, bool)]
    return float(kt @ kt)


def evaluate(setup: Setup, k: np.ndarray) -> tuple[float, ...]:
    """Metrics at conductances ``k``: ``(train_loss, test_loss, accuracy, Q, power)``."""
    from circuitlearn.solver.equilibrium import EquilibriumSolver

    data = setup.dataset
    solver = EquilibriumSolver(setup.problem, k)
    out_train = solver.outputs(solver.free(data.x_train))
    out_test = solver.outputs(solver.free(data.x_test))
    acc = accuracy(out_test, data.labels_test) if data.is_classification else math.nan
    power = float(np.mean(solver.power(data.x_train)))
    return (_loss(out_train, data.y_train), _loss(out_test, data.y_test), acc,
            invariant_q(k, setup.mask), power)


def _loss(outputs: np.ndarray, targets: np.ndarray) -> float:
    return float(0.5 * np.mean(np.sum((outputs - targets) ** 2, axis=1)))


@dataclass
class _Last:
    """The last consistent state: after step ``step``, with ``nrows`` rows recorded."""

    step: int
    t: float
    k: np.ndarray
    rng_states: dict[str, Any]
    nrows: int


class Run:
    """One training run writing into ``folder``.

    Parameters
    ----------
    experiment : Experiment
    folder : Path
        Output folder (created).
    resume : bool
        Continue from ``folder/checkpoint.npz``.
    progress : bool, optional
        Force the progress bar on or off (default: on a terminal outside CI).
    """

    def __init__(self, experiment: Experiment, folder: Path, *, resume: bool = False,
                 progress: bool | None = None):
        self.exp = experiment
        self.folder = Path(folder)
        self.cfg = experiment.config["train"]
        self.setup = build(experiment)
        self.fingerprint = self.setup.fingerprint()
        self.total = num_steps(self.cfg["t_end"], self.cfg["dt"])
        self.progress_flag = progress
        self.ckpt = self._resume_state() if resume else self._fresh_state()
        self.rate, self.before_step = make_rate(self.setup)
        self.counter = Counter(self.rate, self.ckpt.nfev)

    # ------------------------------------------------------------------ state
    def _fresh_state(self) -> Checkpoint:
        self.folder.mkdir(parents=True, exist_ok=True)
        k0 = np.array(self.setup.circuit.conductance, dtype=float)
        return Checkpoint(0, 0.0, k0, [], self.setup.rng_states(), self.exp.config,
                          fingerprint=self.fingerprint)

    def _resume_state(self) -> Checkpoint:
        if not (self.folder / CHECKPOINT).is_file():
            raise ExperimentError(f"{self.folder}: no {CHECKPOINT} to resume from")
        ckpt = load_checkpoint(self.folder)
        if comparable(ckpt.config) != comparable(_json_roundtrip(self.exp.config)):
            raise ExperimentError(f"{self.exp.path}: the experiment differs from the one "
                                  f"checkpointed in {self.folder}; cannot resume")
        self._check_fingerprint(ckpt)
        if len(ckpt.k) != self.setup.circuit.num_resistors:
            raise ExperimentError(f"{self.folder}: checkpoint has {len(ckpt.k)} "
                                  "conductances, the network has "
                                  f"{self.setup.circuit.num_resistors}")
        self.setup.set_rng_states(ckpt.rng_states)
        return ckpt

    def _check_fingerprint(self, ckpt: Checkpoint) -> None:
        """Refuse to resume when the network or the data set differ from the checkpoint's.

        The experiment file can be unchanged while the netlist it names (or a file
        that one includes) or the CSV data were edited; a checkpoint without a
        fingerprint (written by an older version) cannot be verified and is refused.
        """
        if ckpt.fingerprint is None:
            raise ExperimentError(
                f"{self.folder / CHECKPOINT}: the checkpoint has no fingerprint of the "
                "network and data set (written by an older circuitlearn), so it cannot be "
                "checked against them; cannot resume: start a fresh run without --resume")
        network = self.exp.config["network"]
        data = self.exp.config["task"]["data"]
        from_file = "netlist" in network
        changes = (("network", "network", "netlist" if from_file else "generator",
                    f"the {'network netlist' if from_file else 'generated network'} "
                    "changed since the checkpoint"),
                   ("data", "task.data", "path" if data.get("path") else "kind",
                    "the data set changed since the checkpoint"))
        for part, table, key, what in changes:
            if ckpt.fingerprint.get(part) != self.fingerprint[part]:
                raise ExperimentError(f"{self.exp.path}: [{table}] {key}: {what} in "
                                      f"{self.folder}; cannot resume")

    # -------------------------------------------------------------------- run
    def run(self, max_steps: int | None = None) -> dict[str, Any]:
        """Integrate to ``t_end`` (or ``max_steps`` steps in all); write every output.

        A ``KeyboardInterrupt`` writes a checkpoint of the last completed step and
        the curves so far, then propagates.

        Returns
        -------
        dict
            The summary (also written to ``summary.json``).
        """
        start = time.perf_counter()
        rows = list(self.ckpt.rows)
        if not rows:
            rows.append((0, 0.0, *evaluate(self.setup, self.ckpt.k)))
        self.last = _Last(self.ckpt.step, self.ckpt.t, self.ckpt.k, self.ckpt.rng_states,
                          len(rows))
        bar = Progress(self.total, start=self.last.step, enabled=self.progress_flag)
        try:
            self._loop(rows, bar, max_steps, start)
        except KeyboardInterrupt:
            bar.close()
            last = self.last
            self._save(last, rows, start)
            write_curves(self.folder / "curves.csv", rows[:last.nrows])
            print(f"interrupted at step {last.step}; checkpoint in {self.folder}; continue "
                  f"with --resume {self.folder}", file=sys.stderr)
            raise
        except (CircuitLearnError, IntegrationError) as exc:
            bar.close()
            self._save(self.last, rows, start)
            raise ExperimentError(
                f"{self.exp.path}: training failed after step {self.last.step}: {exc} "
                "(conductances must stay positive and finite: check [train] bounds, dt and "
                "the learning rate)") from None
        bar.close()
        self._save(self.last, rows, start)
        return self._finish(self.last, rows[:self.last.nrows], start)

    def _loop(self, rows: list, bar: Progress, max_steps: int | None, start: float) -> None:
        """Step to the end, keeping :attr:`last` (the last consistent state) current."""
        cfg = self.cfg
        stop = self.total if max_steps is None else min(self.total, max_steps)
        if self.last.step >= stop:
            return
        integrator = make_integrator(cfg["integrator"], rtol=cfg["rtol"], atol=cfg["atol"])
        states = iterate(self.counter, self.last.k, t_end=cfg["t_end"], dt=cfg["dt"],
                         bounds=self.setup.bounds, start_step=self.last.step,
                         before_step=self.before_step, integrator=integrator)
        for n, t, k in states:
            rng = self.setup.rng_states()
            if n % cfg["record_every"] == 0 or n == self.total:
                rows.append((n, t, *evaluate(self.setup, k)))
            bar.update(n, f"t={t:.4g}s train={rows[-1][2]:.3e} test={rows[-1][3]:.3e}",
                       force=n >= stop)
            self.last = _Last(n, t, k, rng, len(rows))
            if n % cfg["checkpoint_every"] == 0 and n < stop:
                self._save(self.last, rows, start)
            if n >= stop:
                break

    def _save(self, last: _Last, rows: list, start: float) -> None:
        ckpt = Checkpoint(last.step, last.t, last.k, rows[:last.nrows], last.rng_states,
                          _json_roundtrip(self.exp.config),
                          self.ckpt.wall_s + time.perf_counter() - start, self.counter.count,
                          self.fingerprint)
        save_checkpoint(self.folder, ckpt)

    # ----------------------------------------------------------------- outputs
    def _finish(self, last: _Last, rows: list, start: float) -> dict[str, Any]:
        from circuitlearn import netlist

        write_curves(self.folder / "curves.csv", rows)
        trained = self.setup.circuit.with_conductance(last.k)
        netlist.write_file(trained, self.folder / "trained.cir")
        summary = self._summary(last, rows, self.ckpt.wall_s + time.perf_counter() - start)
        if np.min(last.k) <= 0:
            print(f"warning: some trained conductances are not positive (min "
                  f"{np.min(last.k):.3g} S): set [train] bounds to keep the network "
                  "passive", file=sys.stderr)
        _plot(self.folder / "curves.png", rows, self.exp.path.stem)
        write_json(self.folder / "summary.json", summary)
        return summary

    def _summary(self, last: _Last, rows: list, wall: float) -> dict[str, Any]:
        curves = curves_dict(rows)
        first, final = _metrics(rows[0]), _metrics(rows[-1])
        q = curves["invariant_q"]
        drift = (q - q[0]) / q[0] if q[0] != 0 else np.zeros_like(q)
        return {
            "status": "completed" if last.step >= self.total else "stopped",
            "experiment": str(self.exp.path), "version": __version__,
            "steps": last.step, "total_steps": self.total, "t": last.t,
            "initial": first, "final": final,
            "train_loss_reduction": _ratio(first["train_loss"], final["train_loss"]),
            "test_loss_reduction": _ratio(first["test_loss"], final["test_loss"]),
            "q_relative_drift": float(drift[-1]),
            "q_max_abs_relative_drift": float(np.max(np.abs(drift))),
            "wall_time_s": wall, "rate_evaluations": self.counter.count,
            "factorization_backend": _backend(self.setup),
            "trainable_edges": int(self.setup.mask.sum()),
            "conductance_range": [float(np.min(last.k)), float(np.max(last.k))],
            "bounds": [_finite_or_none(np.min(self.setup.bounds.lower)),
                       _finite_or_none(np.max(self.setup.bounds.upper))],
            "dataset": {k: v for k, v in self.setup.dataset.info.items()
                        if k != "teacher_conductance"},
            "config": self.exp.config,
        }


def _finite_or_none(x: float) -> float | None:
    """``x`` as a float, or ``None`` for an infinite bound (JSON has no infinity)."""
    return float(x) if np.isfinite(x) else None


def _metrics(row: tuple[float, ...]) -> dict[str, float | None]:
    names = ("train_loss", "test_loss", "accuracy", "invariant_q", "power")
    return {n: (None if math.isnan(v) else float(v)) for n, v in zip(names, row[2:], strict=True)}


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _backend(setup: Setup) -> str:
    from circuitlearn.solver.equilibrium import EquilibriumSolver
    from circuitlearn.solver.factor import default_backend

    solver = EquilibriumSolver(setup.problem, setup.circuit.conductance)
    return str(getattr(solver, "backend", None) or default_backend())


def _json_roundtrip(config: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(config))


def _plot(path: Path, rows: list, title: str) -> None:
    from circuitlearn.training.plotting import plot_curves

    plot_curves(curves_dict(rows), path, title=title)


def train(experiment: Experiment | str | Path, folder: str | Path | None = None, *,
          resume: bool = False, max_steps: int | None = None,
          progress: bool | None = None) -> dict[str, Any]:
    """Run (or resume) ``experiment`` (an :class:`Experiment` or the path of its TOML
    file) writing into ``folder`` (default: its ``[output] folder``).

    Returns the summary dictionary (see ``summary.json``).
    """
    if not isinstance(experiment, Experiment):
        from circuitlearn.training.experiment import load_experiment

        experiment = load_experiment(experiment)
    run = Run(experiment, Path(folder) if folder else experiment.output, resume=resume,
              progress=progress)
    return run.run(max_steps=max_steps)
