"""``circuitlearn generate RUN_DIR --samples N``: samples of a trained flow-matching run.

Integrates ``dx/dt = v(x, t)`` (RK4) from ``N`` source points to ``--t-end``
(default 1 s; larger values continue past the training horizon), writes the
samples (``--out FILE``: ``.csv`` or ``.npz``, default ``RUN_DIR/samples.csv``)
and a figure next to them (``.png``), and prints the 2-Wasserstein distances to
the target. ``--spice M`` also runs the first ``M`` samples as an RC transient in
ngspice and prints the largest relative difference of the trajectories.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from circuitlearn.errors import ExperimentError

HELP = ("generate samples from a trained flow-matching run (integrate the learned "
        "velocity field; optionally as an ngspice transient)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``circuitlearn generate``."""
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="folder of a finished flow run (summary.json, trained.cir)")
    parser.add_argument("--samples", type=int, default=1000, metavar="N",
                        help="number of samples (default 1000)")
    parser.add_argument("--t-end", type=float, default=1.0, metavar="T",
                        help="integration time in s (default 1; > 1 extends the flow)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="samples file, .csv or .npz (default RUN_DIR/samples.csv)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the source draws")
    parser.add_argument("--spice", type=int, default=0, metavar="M",
                        help="also run the first M samples in ngspice .tran and compare")


def run(args: argparse.Namespace) -> int:
    """Generate, write, report; return 0."""
    from circuitlearn.training.generate import generate_run, load_flow_run, write_generation

    if args.samples < 1 or args.spice < 0 or args.seed < 0:
        raise ExperimentError("--samples must be at least 1, --spice and --seed not negative")
    flow_run = load_flow_run(args.run_dir)
    gen = generate_run(flow_run, args.samples, t_end=args.t_end, seed=args.seed)
    out, figure = write_generation(gen, args.out or args.run_dir / "samples.csv")
    metrics = ", ".join(f"{k} {v:.4g} V" for k, v in gen.metrics.items())
    print(f"generated {args.samples} samples at t = {args.t_end:g} s ({gen.target}): "
          f"{metrics}; wrote {out} and {figure}")
    if args.spice:
        from circuitlearn.spice.transient import check_generation

        check = check_generation(flow_run.field, gen.x0[:args.spice], args.t_end)
        print(f"ngspice transient, {min(args.spice, args.samples)} samples, "
              f"{len(check.times)} time points: max relative difference "
              f"{check.max_relative_difference:.2e}")
    return 0
