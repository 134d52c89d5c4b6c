"""Benchmarks: ratios measured in one run (``scripts/bench.py``, ``circuitlearn bench``).

``networks`` (2D lattices and 3D disordered networks), ``measure`` (timings, memory,
environment), ``sections`` (what is measured), ``report`` (the table and the targets).
"""

SECTIONS = ("floor", "batch", "peer", "ngspice", "euler", "assembly")
