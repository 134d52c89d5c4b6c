"""``circuitlearn train EXP.toml [--out DIR] [--resume DIR]``: run a learning experiment.

Writes ``curves.csv``, ``curves.png``, ``summary.json``, ``checkpoint.npz`` and
``trained.cir`` into the output folder (``--out``, else ``[output] folder``).
``--resume DIR`` continues the interrupted run checkpointed in ``DIR`` (into ``DIR``)
with the same result as an uninterrupted run. Ctrl-C writes a checkpoint and exits
with status 130.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from circuitlearn.errors import ExperimentError

HELP = "train a self-learning network as described by an experiment file (TOML)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``circuitlearn train``."""
    parser.add_argument("experiment", type=Path, metavar="EXP.toml",
                        help="experiment file (see docs/experiments.md)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder (default: [output] folder of the experiment)")
    parser.add_argument("--resume", type=Path, metavar="DIR",
                        help="continue the run checkpointed in DIR (writes into DIR)")
    parser.add_argument("--max-steps", type=int, metavar="N",
                        help="stop after N steps in all, with a checkpoint (resume later)")
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show the progress bar")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never show the progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the experiment; return 0 (interruptions propagate as KeyboardInterrupt)."""
    from circuitlearn.training.experiment import load_experiment
    from circuitlearn.training.run import train

    exp = load_experiment(args.experiment)
    if args.resume is not None and args.out is not None and \
            args.out.resolve() != args.resume.resolve():
        raise ExperimentError("--out and --resume name different folders; --resume DIR "
                              "continues the run in DIR")
    if args.max_steps is not None and args.max_steps < 0:
        raise ExperimentError(f"--max-steps must be non-negative, got {args.max_steps}")
    folder = args.resume or args.out or exp.output
    summary = train(exp, folder, resume=args.resume is not None, max_steps=args.max_steps,
                    progress=args.progress)
    final = summary["final"]
    acc = f", test accuracy {final['accuracy']:.3f}" if final["accuracy"] is not None else ""
    reduction = summary["test_loss_reduction"]
    red = f" ({reduction:.3g}x lower)" if reduction else ""
    print(f"{summary['status']}: step {summary['steps']}/{summary['total_steps']}, "
          f"t = {summary['t']:.6g} s, test loss {final['test_loss']:.4g}{red}{acc}, "
          f"Q drift {summary['q_relative_drift']:.2e}, {summary['wall_time_s']:.1f} s; "
          f"results in {folder}")
    return 0
