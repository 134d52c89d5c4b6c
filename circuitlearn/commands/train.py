"""``circuitlearn train EXP.toml [--out DIR] [--resume DIR]``: run a learning experiment.

Writes ``curves.csv``, ``curves.png``, ``summary.json``, ``checkpoint.npz``,
``trained.cir`` and ``best.cir`` into the output folder (``--out``, else
``[output] folder``), which must not hold another run (``--force`` replaces it).
``--resume DIR`` continues the run checkpointed in ``DIR`` with the same result as an
uninterrupted run. Exit status 0 (completed, converged or stopped), 1 (diverged),
2 (bad input), 130 (Ctrl-C, after writing the partial outputs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from circuitlearn.errors import ExperimentError

if TYPE_CHECKING:
    from circuitlearn.training.result import TrainingResult

HELP = "train a self-learning network as described by an experiment file (TOML)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``circuitlearn train``."""
    parser.add_argument("experiment", type=Path, metavar="EXP.toml",
                        help="experiment file (see docs/experiments.md)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder (default: [output] folder of the experiment)")
    parser.add_argument("--resume", type=Path, metavar="DIR",
                        help="continue the run checkpointed in DIR (writes into DIR)")
    parser.add_argument("--force", action="store_true",
                        help="replace the run files already in the output folder")
    parser.add_argument("--max-steps", type=int, metavar="N",
                        help="stop after N steps in all, with a checkpoint (resume later)")
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show the progress bar")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never show the progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the experiment; return 0, or 1 when it diverged (Ctrl-C propagates)."""
    from circuitlearn.training.experiment import load_experiment
    from circuitlearn.training.run import train

    exp = load_experiment(args.experiment)
    if args.resume is not None and args.out is not None and \
            args.out.resolve() != args.resume.resolve():
        raise ExperimentError("--out and --resume name different folders; --resume DIR "
                              "continues the run in DIR")
    if args.resume is not None and args.force:
        raise ExperimentError("--force starts afresh and --resume continues: give one")
    if args.max_steps is not None and args.max_steps < 0:
        raise ExperimentError(f"--max-steps must be non-negative, got {args.max_steps}")
    folder = args.resume or args.out or exp.output
    result = train(exp, folder, resume=args.resume is not None, force=args.force,
                   max_steps=args.max_steps, progress=args.progress)
    print(report(result))
    if result.status == "diverged":
        print(f"error: {result.reason}", file=sys.stderr)
        return 1
    return 0


def report(result: TrainingResult) -> str:
    """The one-line report of a finished run."""
    s = result.summary
    final = s["final"]
    parts = [f"{s['status']}: step {s['steps']}/{s['total_steps']}, t = {s['t']:.6g} s"]
    for name in ("train", "test"):
        loss = final[f"{name}_loss"]
        if loss is not None:
            red = s[f"{name}_loss_reduction"]
            change = "" if not red else f" ({red:.3g}x lower)" if red >= 1 else \
                f" ({1 / red:.3g}x higher)"
            parts.append(f"{name} loss {loss:.4g}{change}")
    if final["test_accuracy"] is not None or final["train_accuracy"] is not None:
        which = "test" if final["test_accuracy"] is not None else "train"
        base = (s["baselines"] or {}).get(f"least_squares_{which}_accuracy")
        parts.append(f"{which} accuracy {final[f'{which}_accuracy']:.3f}"
                     + (f" (least squares {base:.3f})" if base is not None else ""))
    parts.append(f"Q drift {s['q_relative_drift']:.2e}, {s['wall_time_s']:.1f} s")
    best = s["best"]
    if best is not None and best["step"] != s["steps"]:
        on = "test_loss" if "test_loss" in best else "train_loss"
        parts.append(f"best {on.replace('_', ' ')} {best[on]:.4g} at step {best['step']}")
    why = f" ({result.reason})" if result.status == "converged" and result.reason else ""
    where = f"; results in {result.folder}" if result.folder is not None else ""
    return ", ".join(parts) + why + where
