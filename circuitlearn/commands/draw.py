"""``circuitlearn draw NETLIST|EXP.toml|RUN_DIR [--out FILE.png|.svg]``: draw a network."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = ("draw a network (netlist, experiment or run folder): conductances on the edges, "
        "free-state potentials on the nodes; a run shows initial, trained and the change")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", type=Path, metavar="NETLIST|EXP.toml|RUN_DIR",
                        help="SPICE netlist, experiment file or training-run folder")
    parser.add_argument("--out", type=Path, metavar="FILE.png|.svg",
                        help="picture to write (default: RUN_DIR/network.png, else "
                             "./NAME.png)")


def run(args: argparse.Namespace) -> int:
    from circuitlearn.errors import CircuitLearnError
    from circuitlearn.training.draw import draw

    if not args.source.exists():
        raise CircuitLearnError(f"{args.source}: no such file or folder")
    print(draw(args.source, args.out))
    return 0
