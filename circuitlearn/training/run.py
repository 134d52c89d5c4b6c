r"""The training run loop: integrate the learning flow, record, checkpoint.

A run integrates :math:`dk/dt = r(k, X, Y)` (:mod:`circuitlearn.training.setup`)
with the integrator of ``[train]``, records a row of metrics every
``record_every`` steps (:mod:`circuitlearn.training.summary`) and checkpoints every
``checkpoint_every`` steps (:mod:`circuitlearn.training.io`). Where it starts, and
whether a checkpoint may be resumed, is decided by :mod:`circuitlearn.training.resume`.

Output folder: ``curves.csv``, ``invariants.csv`` (every per-component ``Q_j``,
:mod:`circuitlearn.training.invariants`), ``curves.png``, ``summary.json``,
``checkpoint.npz`` (every ``checkpoint_every`` steps, at the end and on Ctrl-C)
and ``trained.cir`` (the network with the trained conductances). A run resumed
from a checkpoint reproduces the uninterrupted run exactly for fixed-step
integrators (and for the adaptive ones, whose macro steps restart the step-size
control from scratch).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn.errors import CircuitLearnError, ExperimentError
from circuitlearn.learning.integrate import iterate, make_integrator
from circuitlearn.training.experiment import Experiment, load_experiment
from circuitlearn.training.invariants import InvariantLog
from circuitlearn.training.io import (
    Checkpoint,
    Progress,
    curves_dict,
    save_checkpoint,
    write_curves,
    write_json,
)
from circuitlearn.training.resume import fresh_checkpoint, json_roundtrip, resume_checkpoint
from circuitlearn.training.setup import Counter, build, make_rate
from circuitlearn.training.summary import evaluate, summarize


@dataclass
class _Last:
    """The last consistent state: after step ``step``, with ``nrows`` rows recorded."""

    step: int
    t: float
    k: np.ndarray
    modifier_state: list[Any]
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
        self.cfg = experiment.train
        self.setup = build(experiment)
        self.fingerprint = self.setup.fingerprint()
        self.total = self.cfg.total_steps
        self.progress_flag = progress
        if resume:
            self.ckpt = resume_checkpoint(self.folder, self.setup, self.fingerprint)
            self.setup.rule.load_state(self.ckpt.modifier_state)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.ckpt = fresh_checkpoint(self.setup, self.fingerprint)
        self.invariants = InvariantLog(self.setup.problem)
        if resume:
            self.invariants.resume(self.folder, self.ckpt.step)
        self.rate, self.before_step = make_rate(self.setup)
        self.counter = Counter(self.rate, self.ckpt.nfev)

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
            self.invariants.record(0, 0.0, self.ckpt.k)
        self.last = _Last(self.ckpt.step, self.ckpt.t, self.ckpt.k, self.ckpt.modifier_state,
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
        except CircuitLearnError as exc:
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
        integrator = make_integrator(cfg.integrator, rtol=cfg.rtol, atol=cfg.atol)
        states = iterate(self.counter, self.last.k, t_end=cfg.t_end, dt=cfg.dt,
                         bounds=self.setup.bounds, start_step=self.last.step,
                         before_step=self.before_step, integrator=integrator)
        for n, t, k in states:
            modifier_state = self.setup.rule.state_dict()
            if n % cfg.record_every == 0 or n == self.total:
                rows.append((n, t, *evaluate(self.setup, k)))
                self.invariants.record(n, t, k)
            bar.update(n, f"t={t:.4g}s train={rows[-1][2]:.3e} test={rows[-1][3]:.3e}",
                       force=n >= stop)
            self.last = _Last(n, t, k, modifier_state, len(rows))
            if n % cfg.checkpoint_every == 0 and n < stop:
                self._save(self.last, rows, start)
            if n >= stop:
                break

    def _save(self, last: _Last, rows: list, start: float) -> None:
        ckpt = Checkpoint(last.step, last.t, last.k, rows[:last.nrows], last.modifier_state,
                          json_roundtrip(self.exp.to_dict()),
                          self.ckpt.wall_s + time.perf_counter() - start, self.counter.count,
                          self.fingerprint)
        save_checkpoint(self.folder, ckpt)
        self.invariants.write(self.folder, last.step)

    def _finish(self, last: _Last, rows: list, start: float) -> dict[str, Any]:
        from circuitlearn import netlist
        from circuitlearn.training.plotting import plot_curves

        write_curves(self.folder / "curves.csv", rows)
        netlist.write_file(self.setup.circuit.with_conductance(last.k),
                           self.folder / "trained.cir")
        summary = summarize(self.setup, step=last.step, t=last.t, k=last.k, rows=rows,
                            wall_s=self.ckpt.wall_s + time.perf_counter() - start,
                            rate_evaluations=self.counter.count, backend=self._backend())
        if np.min(last.k) <= 0:
            print(f"warning: some trained conductances are not positive (min "
                  f"{np.min(last.k):.3g} S): set [train] bounds to keep the network "
                  "passive", file=sys.stderr)
        summary.update(self.invariants.summary())
        plot_curves(curves_dict(rows), self.folder / "curves.png", title=self.exp.path.stem)
        write_json(self.folder / "summary.json", summary)
        return summary

    def _backend(self) -> str:
        from circuitlearn.solver.equilibrium import EquilibriumSolver

        return EquilibriumSolver(self.setup.problem, self.setup.circuit.conductance).backend


def train(experiment: Experiment | str | Path, folder: str | Path | None = None, *,
          resume: bool = False, max_steps: int | None = None,
          progress: bool | None = None) -> dict[str, Any]:
    """Run (or resume) ``experiment`` (an :class:`Experiment` or the path of its TOML
    file) writing into ``folder`` (default: its ``[output] folder``).

    Returns the summary dictionary (see ``summary.json``).

    >>> summary = train("netlists/experiments/allostery.toml", getfixture("tmp_path"),
    ...                 max_steps=5, progress=False)
    >>> summary["status"], summary["steps"]
    ('stopped', 5)
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    run = Run(experiment, Path(folder) if folder else experiment.output, resume=resume,
              progress=progress)
    return run.run(max_steps=max_steps)
