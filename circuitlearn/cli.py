"""Command-line interface: ``circuitlearn {simulate,validate,train,evaluate,draw,...} ...``.

Each sub-command lives in :mod:`circuitlearn.commands` as a module with ``HELP``
(one line), ``add_arguments(parser)`` and ``run(args) -> int``. Bad input
(:class:`~circuitlearn.errors.CircuitLearnError`) prints ``error: ...`` on stderr and
exits with status 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from circuitlearn._version import __version__
from circuitlearn.errors import CircuitLearnError

COMMANDS = ("simulate", "validate", "train", "evaluate", "draw", "bench", "sensitivity",
            "fidelity", "conservation", "generate")


def _load(name: str):
    try:
        return importlib.import_module(f"circuitlearn.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"circuitlearn.commands.{name}":
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="circuitlearn",
        description="Simulate and train self-learning resistor networks from SPICE netlists.")
    parser.add_argument("--version", action="version", version=f"circuitlearn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = _load(name)
        if module is None:
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args))
    except CircuitLearnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # a TrainingInterrupted says where the run stopped
        print(str(exc) or "interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:
        print(f"error: out of memory: {exc or 'an allocation failed'}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
