#!/usr/bin/env python3
"""Run circuitlearn on every conformance case folder and compare with ngspice's results.

Usage: ``python scripts/conformance.py DIR [--rtol 1e-9] [--verbose]``

Each case folder holds ``circuit.cir`` and ``expected.json`` (``node_voltages`` and
``source_currents`` computed by ngspice). A case passes when every node voltage and
source current agrees within ``rtol * max(1, |reference|)``. Cases that are
ill-posed under circuitlearn's rules (where ngspice returns a guess) are listed in
``KNOWN_ILL_POSED`` with the reason and count as passed when circuitlearn refuses
them with a clear error. Prints ``N passed, M failed``; exit status 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from circuitlearn.errors import CircuitLearnError
from circuitlearn.netlist import load
from circuitlearn.solver.dc import solve

KNOWN_ILL_POSED: dict[str, str] = {}


def compare(expected: dict, actual: dict, rtol: float) -> list[str]:
    """Differences beyond ``rtol * max(1, |ref|)`` and names missing on either side."""
    problems = []
    for group in ("node_voltages", "source_currents"):
        ref, got = expected.get(group, {}), actual.get(group, {})
        for name in sorted(set(ref) | set(got)):
            if name not in got or name not in ref:
                side = "circuitlearn" if name not in got else "reference"
                problems.append(f"{group}: {name} missing from {side}")
                continue
            err = abs(got[name] - ref[name])
            if err > rtol * max(1.0, abs(ref[name])):
                problems.append(f"{group}: {name} = {got[name]!r}, ngspice {ref[name]!r} "
                                f"(|diff| {err:.3g})")
    return problems


def run_case(case: Path, rtol: float) -> list[str]:
    expected = json.loads((case / "expected.json").read_text())
    try:
        actual = solve(load(case / "circuit.cir")).to_dict()
    except CircuitLearnError as exc:
        if case.name in KNOWN_ILL_POSED:
            return []
        return [f"error: {exc}"]
    if case.name in KNOWN_ILL_POSED:
        return [f"expected an error ({KNOWN_ILL_POSED[case.name]}) but it solved"]
    return compare(expected, actual, rtol)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--rtol", type=float, default=1e-9)
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    cases = sorted(p.parent for p in args.directory.glob("*/expected.json"))
    if not cases:
        print(f"no case folders (*/expected.json) under {args.directory}", file=sys.stderr)
        return 2
    failed = 0
    for case in cases:
        problems = run_case(case, args.rtol)
        failed += bool(problems)
        if problems or args.verbose:
            print(f"{'FAIL' if problems else 'ok  '} {case.name}")
        for p in problems:
            print(f"     {p}")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
