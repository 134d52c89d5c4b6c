"""``circuitlearn evaluate RUN_DIR [--data FILE.csv] [--json]``: how a trained network does."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = ("loss, accuracy and per-example outputs of a run's trained network on its train and "
        "test sets, or on another CSV file")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, metavar="RUN_DIR", help="folder of a training run")
    parser.add_argument("--data", type=Path, metavar="FILE.csv",
                        help="evaluate on this CSV instead (the run's input and target or "
                             "label columns; for generated data: source and output names)")
    parser.add_argument("--json", action="store_true",
                        help="print everything, every example included, as JSON")
    parser.add_argument("--limit", type=int, default=10, metavar="N",
                        help="examples listed per set in the table (default 10)")


def run(args: argparse.Namespace) -> int:
    from circuitlearn.training.evaluation import evaluate_run
    from circuitlearn.training.io import json_text

    result = evaluate_run(args.run, args.data)
    print(json_text(result) if args.json else format_table(result, args.limit))
    return 0


def _numbers(values: list[float]) -> str:
    return " ".join(f"{v:9.4g}" for v in values)


def format_table(result: dict[str, Any], limit: int = 10) -> str:
    """Per set: size, loss and accuracy, then the first ``limit`` examples."""
    lines = [f"run {result['run']}: step {result['step']}, t = {result['t']:.6g} s"]
    for name, s in result["sets"].items():
        if not s["examples"]:
            lines.append(f"{name}: no examples")
            continue
        acc = f", accuracy {s['accuracy']:.4f}" if s["accuracy"] is not None else ""
        lines.append(f"{name}: {s['examples']} examples, loss {s['loss']:.6g} V^2{acc}")
        for i, row in enumerate(s["predictions"][:max(limit, 0)]):
            label = (f"  label {row['label']} -> {row['predicted']}" if "label" in row else "")
            lines.append(f"  {i:5d}  output {_numbers(row['output'])}  target "
                         f"{_numbers(row['target'])}{label}")
        if s["examples"] > limit > 0:
            lines.append(f"  ... {s['examples'] - limit} more (--json lists every example)")
    return "\n".join(lines)
