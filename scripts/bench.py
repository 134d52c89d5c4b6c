#!/usr/bin/env python3
"""Benchmark a full-batch training step: ``python scripts/bench.py [--quick] [--json FILE]``.

A thin wrapper around ``circuitlearn bench`` (:mod:`circuitlearn.bench`); see
``--help`` for the options.
"""

from __future__ import annotations

import sys

from circuitlearn.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
