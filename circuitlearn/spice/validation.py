"""Cross-check circuitlearn's solutions against ngspice, node by node.

:func:`validate_netlist` solves a netlist with :func:`circuitlearn.solver.solve` and
with ngspice (:mod:`circuitlearn.spice`) and compares every node voltage and
voltage-source current. :func:`validate_experiment` does the same for the free,
clamped and nudged states of sampled training examples of an experiment
(:mod:`circuitlearn.validate_states` writes them as ordinary netlists), at the
initial conductances and at the run's saved checkpoint.

A value agrees when ``|ours - ngspice| <= rtol * max(1, |ngspice|)``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from circuitlearn.netlist import load
from circuitlearn.solver.dc import solve
from circuitlearn.spice import SpiceResult, run_op


@dataclass(frozen=True)
class Difference:
    """One compared quantity: circuitlearn's value and ngspice's (V or A)."""

    name: str
    ours: float
    spice: float

    @property
    def error(self) -> float:
        """Disagreement ``|ours - spice| / max(1, |spice|)``: relative above 1 V or 1 A,
        absolute below; ``inf`` when either value is not finite."""
        err = abs(self.ours - self.spice) / max(1.0, abs(self.spice))
        return err if math.isfinite(err) else math.inf


@dataclass
class Check:
    """Comparison of one circuit: node voltages, source currents, ngspice's warnings."""

    label: str
    backend: str = ""
    nodes: list[Difference] = field(default_factory=list)
    sources: list[Difference] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def max_error(self) -> float:
        """Largest relative disagreement (``inf`` if a quantity is missing on a side)."""
        if self.missing:
            return float("inf")
        return max((d.error for d in self.nodes + self.sources), default=0.0)


@dataclass
class ValidationReport:
    """All checks of one validation run. Differences are ``|d| / max(1, |x|)``: relative
    for values above 1 V or 1 A, absolute below (the tolerance of the conformance
    cases)."""

    target: str
    rtol: float
    checks: list[Check] = field(default_factory=list)

    @property
    def backend(self) -> str:
        """The ngspice backend(s) that produced the references."""
        return ", ".join(sorted({c.backend for c in self.checks})) or "none"

    @property
    def max_error(self) -> float:
        return max((c.max_error for c in self.checks), default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_error <= self.rtol

    def format(self, *, limit: int = 20) -> str:
        """Text report: the ``limit`` worst nodes and sources of a single check (of each
        failing check, and of the worst one, when there are several), one line per
        other check, ngspice's warnings, then the maximum."""
        out = [f"validating {self.target} against ngspice ({self.backend} backend), "
               f"rtol {self.rtol:g}"]
        worst = max(self.checks, key=lambda c: c.max_error, default=None)
        for check in self.checks:
            if check is worst or check.max_error > self.rtol:
                out += _format_check(check, limit)
            else:
                out.append(f"   {check.label}: max relative difference {check.max_error:.3g}")
                out += [f"     ngspice warning: {w}" for w in check.warnings]
        verdict = "PASS" if self.passed else "FAIL"
        out.append(f"{verdict}: max difference {self.max_error:.3g} over "
                   f"{len(self.checks)} circuit(s) (tolerance {self.rtol:g})")
        return "\n".join(out)

    def to_dict(self) -> dict:
        """JSON-able summary."""
        return {"target": self.target, "backend": self.backend, "rtol": self.rtol,
                "max_error": self.max_error, "passed": self.passed,
                "checks": [{"label": c.label, "max_error": c.max_error,
                            "missing": c.missing, "warnings": c.warnings} for c in self.checks]}


def _format_check(check: Check, limit: int) -> list[str]:
    out = ["", f"== {check.label}: max relative difference {check.max_error:.3g}"]
    for title, diffs, unit in (("node", check.nodes, "V"), ("source", check.sources, "A")):
        if not diffs:
            continue
        worst = sorted(diffs, key=lambda d: -d.error)[:limit]
        shown = f" ({limit} worst of {len(diffs)})" if len(diffs) > limit else ""
        out.append(f"  {title + shown:<28} {'circuitlearn (' + unit + ')':>22} "
                   f"{'ngspice (' + unit + ')':>22} {'|d|/max(1,|x|)':>14}")
        out += [f"  {d.name:<28} {d.ours:>22.15g} {d.spice:>22.15g} {d.error:>14.2g}"
                for d in worst]
    out += [f"  missing: {name}" for name in check.missing]
    out += [f"  ngspice warning: {w}" for w in check.warnings]
    return out


def compare(label: str, ours: dict[str, dict[str, float]], spice: SpiceResult) -> Check:
    """Compare ``ours`` (``{"node_voltages": .., "source_currents": ..}``) with ngspice."""
    check = Check(label, spice.backend, warnings=list(spice.warnings))
    for group, theirs, diffs in (("node_voltages", spice.node_voltages, check.nodes),
                                 ("source_currents", spice.source_currents, check.sources)):
        mine = ours.get(group, {})
        for name in mine:
            if name in theirs:
                diffs.append(Difference(name, float(mine[name]), float(theirs[name])))
            else:
                check.missing.append(f"{name} (no ngspice value)")
        check.missing += [f"{name} (no circuitlearn value)" for name in theirs
                          if name not in mine and group == "node_voltages"]
    return check


def validate_netlist(path: str | os.PathLike[str], *, backend: str = "auto",
                     rtol: float = 1e-9) -> ValidationReport:
    """Solve the netlist at ``path`` with circuitlearn and with ngspice and compare.

    ngspice reads the very same file. Bad input raises
    :class:`~circuitlearn.errors.CircuitLearnError` before ngspice runs.

    >>> report = validate_netlist("netlists/bridge.cir", backend="batch")
    >>> report.passed, report.max_error < 1e-9
    (True, True)
    """
    ours = solve(load(path)).to_dict()
    spice = run_op(Path(path), backend=backend)
    report = ValidationReport(str(path), rtol)
    report.checks.append(compare("operating point", ours, spice))
    return report


def node_dict(nodes: tuple[str, ...], v: np.ndarray) -> dict[str, dict[str, float]]:
    """``{"node_voltages": {name: V}}`` for non-ground nodes of one state ``v`` (N,)."""
    return {"node_voltages": {n: float(x) for n, x in zip(nodes[1:], v[1:], strict=True)}}
