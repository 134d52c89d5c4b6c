"""``circuitlearn bench``: time a full-batch training step against its floor, peers and
ngspice (see :mod:`circuitlearn.bench`)."""

from __future__ import annotations

import argparse

from circuitlearn.bench import SECTIONS

HELP = ("benchmark a full-batch training step against one sparse factorization, "
        "per-example solves and ngspice; print a table, optionally write JSON")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (CI smoke test, under a minute)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--sections", type=_sections, default=list(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--ngspice-timeout", type=float, default=None, metavar="S",
                        help="stop an ngspice run after S seconds and report '>S' "
                             "(default 200, quick 30)")


def _sections(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown sections {unknown or [text]} "
                                         f"(known: {', '.join(SECTIONS)})")
    return names


def run(args: argparse.Namespace) -> int:
    from circuitlearn.bench.sections import format_table, run_benchmark, write_json

    result = run_benchmark(quick=args.quick, sections=args.sections,
                           ngspice_timeout=args.ngspice_timeout)
    print(format_table(result))
    if args.json:
        write_json(result, args.json)
    return 0
