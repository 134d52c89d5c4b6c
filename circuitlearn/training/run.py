r"""The training run loop: integrate the learning flow, watch it, record, checkpoint.

A run integrates :math:`dk/dt = r(k, X, Y)` (:mod:`circuitlearn.training.flow`)
with the integrator of ``[train]``, records a row of metrics every
``record_every`` steps and at the last step taken
(:mod:`circuitlearn.training.summary`), stops early on divergence or convergence
(:mod:`circuitlearn.training.monitor`) and checkpoints every ``checkpoint_every``
steps (:mod:`circuitlearn.training.checkpoint`). Where it starts, and whether a
checkpoint may be resumed, is decided by :mod:`circuitlearn.training.resume`; the
folder is locked while the run uses it (:mod:`circuitlearn.training.folder`).

Output folder: ``curves.csv``, ``invariants.csv`` (every per-component ``Q_j``,
:mod:`circuitlearn.training.invariants`), ``curves.png``, ``summary.json``,
``checkpoint.npz``, ``trained.cir`` and ``best.cir``
(:mod:`circuitlearn.training.outputs`), also after a divergence, an early stop,
``--max-steps`` or Ctrl-C. A run resumed from a checkpoint reproduces the
uninterrupted run exactly for fixed-step integrators (and for the adaptive ones,
whose macro steps restart the step-size control from scratch).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn.errors import (
    CircuitLearnError,
    ExperimentError,
    IntegrationError,
    ProblemError,
    RunFolderError,
    TrainingInterrupted,
)
from circuitlearn.learning.integrate import iterate, make_integrator
from circuitlearn.solver.factor import default_backend
from circuitlearn.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from circuitlearn.training.experiment import Experiment, load_experiment
from circuitlearn.training.flow import Counter, make_rate, suggestion
from circuitlearn.training.folder import RunFolder
from circuitlearn.training.invariants import InvariantLog
from circuitlearn.training.io import Progress, curves_dict
from circuitlearn.training.monitor import Monitor, Stop
from circuitlearn.training.result import TrainingResult
from circuitlearn.training.resume import (
    check_checkpoint,
    check_config,
    fresh_checkpoint,
    json_roundtrip,
)
from circuitlearn.training.setup import Setup, build
from circuitlearn.training.summary import measure, summarize

_TRAIN, _TEST, _ACC = 2, 3, 5


@dataclass
class _Last:
    """The last consistent state: after step ``step``, with ``nrows`` rows recorded."""

    step: int
    t: float
    k: np.ndarray
    modifier_state: list[Any]
    nrows: int


class Run:
    """One training run of ``setup``, writing into ``folder`` (None: in memory).

    Use :meth:`start` for an experiment file; :func:`~circuitlearn.training.fit.fit`
    builds the setup itself. :meth:`run` returns a
    :class:`~circuitlearn.training.result.TrainingResult`.
    """

    def __init__(self, setup: Setup, folder: RunFolder | None, ckpt: Checkpoint, *,
                 progress: bool | None = False, backend: str):
        self.setup = setup
        self.folder = folder
        self.ckpt = ckpt
        self.cfg = setup.train
        self.total = self.cfg.total_steps
        self.progress_flag = progress
        self.backend = backend
        self.fingerprint = ckpt.fingerprint or setup.fingerprint()
        self.rate, self.before_step = make_rate(setup)
        self.counter = Counter(self.rate, ckpt.nfev)
        self.invariants = InvariantLog(setup.problem)

    @classmethod
    def start(cls, experiment: Experiment, folder: str | Path, *, resume: bool = False,
              force: bool = False, progress: bool | None = None) -> Run:
        """Lock ``folder`` and start (or resume) ``experiment`` there.

        Raises
        ------
        CircuitLearnError
            Bad experiment, data or environment; a folder that is in use, holds
            another run (without ``force``) or a damaged or foreign checkpoint.
        """
        backend = default_backend()
        run_folder = RunFolder(folder, resume=resume, force=force)
        try:
            if resume:
                ckpt = load_checkpoint(run_folder.path)
                check_config(run_folder.path, experiment, ckpt)
                setup = build(experiment, dt=ckpt.dt)
                fingerprint = setup.fingerprint()
                check_checkpoint(run_folder.path, setup, ckpt, fingerprint, backend)
                ckpt.fingerprint, ckpt.backend = fingerprint, backend
            else:
                setup = build(experiment)
                ckpt = fresh_checkpoint(setup, setup.fingerprint(), backend)
        except BaseException:
            run_folder.release()
            raise
        return cls(setup, run_folder, ckpt, progress=progress, backend=backend)

    # ------------------------------------------------------------------ loop
    def run(self, max_steps: int | None = None) -> TrainingResult:
        """Integrate to ``t_end`` (or ``max_steps`` steps in all, or an early stop);
        write every output; release the folder.

        Raises
        ------
        TrainingInterrupted
            On Ctrl-C, after writing the partial outputs and a checkpoint.
        """
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return self._run(max_steps)  # non-finite values are divergence, checked
        finally:
            if self.folder is not None:
                self.folder.release()

    def _run(self, max_steps: int | None) -> TrainingResult:
        start = time.perf_counter()
        rows = list(self.ckpt.rows)
        if not rows:
            rows.append((0, 0.0, *measure(self.setup, self.ckpt.k)))
            self.invariants.record(0, 0.0, self.ckpt.k)
        elif self.folder is not None:
            self.invariants.resume(self.folder.path, [int(r[0]) for r in rows])
        y = self.setup.dataset.y_train
        monitor = Monitor(self.cfg, self.setup.mask, rows[0],
                          0.5 * float(np.mean(np.sum(y ** 2, axis=1))),
                          self.setup.dataset.has_test, self.ckpt.best)
        self.last = _Last(self.ckpt.step, self.ckpt.t, self.ckpt.k, self.ckpt.modifier_state,
                          len(rows))
        stop = (Stop(self.ckpt.status, "") if self.ckpt.status in ("converged", "diverged")
                else None)
        bar = Progress(self.total, start=self.last.step, enabled=self.progress_flag)
        try:
            stop = stop or self._loop(rows, bar, max_steps, monitor)
        except KeyboardInterrupt:
            stop = Stop("interrupted", "")
        except (IntegrationError, ProblemError) as exc:
            stop = Stop("diverged", f"the step failed: {exc}")
        except MemoryError as exc:
            self._save(rows, monitor, "running", start)
            raise RunFolderError(f"{self.setup.experiment.path}: out of memory after step "
                                 f"{self.last.step}: {exc}") from None
        except CircuitLearnError as exc:
            self._save(rows, monitor, "running", start)
            raise ExperimentError(f"{self.setup.experiment.path}: training failed after step "
                                  f"{self.last.step}: {exc}") from None
        finally:
            bar.close()
        return self._finish(rows, monitor, stop, start)

    def _loop(self, rows: list, bar: Progress, max_steps: int | None,
              monitor: Monitor) -> Stop | None:
        """Step to the end, keeping :attr:`last` (the last consistent state) current."""
        cfg = self.cfg
        stop_at = self.total if max_steps is None else min(self.total, max_steps)
        if self.last.step >= stop_at:
            return None
        integrator = make_integrator(cfg.integrator, rtol=cfg.rtol, atol=cfg.atol)
        states = iterate(self.counter, self.last.k, t_end=cfg.t_end, dt=cfg.dt,
                         bounds=self.setup.bounds, start_step=self.last.step,
                         before_step=self.before_step, integrator=integrator)
        for n, t, k in states:
            modifier_state = self.setup.rule.state_dict()
            stop = monitor.after_step(k)
            if stop is None and (n % cfg.record_every == 0 or n == self.total):
                rows.append((n, t, *measure(self.setup, k)))
                self.invariants.record(n, t, k)
                stop = monitor.after_row(rows, k)
            self.last = _Last(n, t, k, modifier_state, len(rows))
            bar.update(n, self._note(rows[-1], t), force=n >= stop_at or stop is not None)
            if stop is not None:
                return stop
            if n % cfg.checkpoint_every == 0 and n < stop_at:
                self._save(rows, monitor, "running", None)
            if n >= stop_at:
                break
        return None

    @staticmethod
    def _note(row: tuple[float, ...], t: float) -> str:
        note = f"t={t:.4g}s train={row[_TRAIN]:.3e}"
        if math.isfinite(row[_TEST]):
            note += f" test={row[_TEST]:.3e}"
        if math.isfinite(row[_ACC]):
            note += f" acc={row[_ACC]:.3f}"
        return note

    # --------------------------------------------------------------- outputs
    def _save(self, rows: list, monitor: Monitor, status: str, start: float | None) -> None:
        if self.folder is None:
            return
        last = self.last
        wall = self.ckpt.wall_s + (time.perf_counter() - start if start is not None else 0.0)
        ckpt = Checkpoint(last.step, last.t, float(self.cfg.dt), last.k, self.ckpt.k0,
                          rows[:last.nrows], last.modifier_state,
                          json_roundtrip(self.setup.experiment.to_dict()), status,
                          self.backend, wall, self.counter.count, self.fingerprint,
                          monitor.best)
        # invariants first: a kill in between leaves them ahead of the checkpoint, and a
        # resume keeps only the checkpoint's rows
        self.invariants.write(self.folder.path, [int(r[0]) for r in rows[:last.nrows]])
        save_checkpoint(self.folder.path, ckpt)

    def _finish(self, rows: list, monitor: Monitor, stop: Stop | None,
                start: float) -> TrainingResult:
        last = self.last
        rows = rows[:last.nrows]
        if int(rows[-1][0]) != last.step:  # the last step taken is always the final row
            rows = [*rows, (last.step, last.t, *measure(self.setup, last.k))]
            self.invariants.record(last.step, last.t, last.k)
        status = stop.status if stop else ("completed" if last.step >= self.total else "stopped")
        reason = self._reason(stop, last) if stop else ""
        wall = self.ckpt.wall_s + time.perf_counter() - start
        summary = summarize(self.setup, status=status, reason=reason, step=last.step, t=last.t,
                            k=last.k, rows=rows, best=monitor.best, wall_s=wall,
                            rate_evaluations=self.counter.count, backend=self.backend)
        summary.update(self.invariants.summary())
        folder = None if self.folder is None else self.folder.path
        if folder is not None:
            from circuitlearn.training.outputs import write_outputs

            self._save(rows, monitor, "running" if status == "interrupted" else status, start)
            write_outputs(folder, self.setup, rows=rows, k=last.k, best=monitor.best,
                          summary=summary)
            self.invariants.write(folder, [int(r[0]) for r in rows])
        result = TrainingResult(status, reason, curves_dict(rows), last.k,
                                self.setup.circuit.with_conductance(last.k), self.setup.circuit,
                                monitor.best, summary, folder)
        if status == "interrupted":
            where = (f"; partial results and a checkpoint in {folder}; continue with "
                     f"--resume {folder}" if folder is not None else "")
            raise TrainingInterrupted(f"interrupted at step {last.step} (t = {last.t:.6g} s)"
                                      + where, result)
        return result

    def _reason(self, stop: Stop, last: _Last) -> str:
        if stop.status != "diverged" or not stop.reason:
            return stop.reason
        dt, alpha = suggestion(self.setup, self.ckpt.k0, float(self.cfg.dt))
        return (f"diverged at step {last.step} (t = {last.t:.6g} s): {stop.reason}; the "
                f"explicit step is too large for this learning rate: try dt = {dt:.2g} s, or "
                f"alpha = {alpha:.2g} (the same alpha * dt), or dt = \"auto\"")


def train(experiment: Experiment | str | Path, folder: str | Path | None = None, *,
          resume: bool = False, force: bool = False, max_steps: int | None = None,
          progress: bool | None = None) -> TrainingResult:
    """Run (or resume) ``experiment`` (an :class:`Experiment` or the path of its TOML
    file) writing into ``folder`` (default: its ``[output] folder``).

    Returns a :class:`~circuitlearn.training.result.TrainingResult` (``status``,
    ``curves``, ``k``, ``circuit``, ``best``, ``summary``; ``to_pandas()``). A
    fresh run refuses a folder that holds a run unless ``force``.

    >>> result = train("netlists/experiments/allostery.toml", getfixture("tmp_path"),
    ...                max_steps=5, progress=False)
    >>> result.status, result.summary["steps"], int(result.curves["step"][-1])
    ('stopped', 5, 5)
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    run = Run.start(experiment, Path(folder) if folder else experiment.output, resume=resume,
                    force=force, progress=progress)
    return run.run(max_steps=max_steps)
