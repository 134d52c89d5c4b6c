"""`circuitlearn sensitivity`: adjoint dV/dR against ngspice's own `.sens` analysis.

ngspice differentiates each resistor by a forward difference with relative step
1e-6, so its `rX` is the exact derivative / (1 + 1e-6): the raw values differ by
-1.0000e-6 on every resistor, and by roundoff (measured <= 3e-10 of the largest
derivative here) once corrected.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from circuitlearn.cli import main
from circuitlearn.netlist import load
from circuitlearn.solver.examples import SOURCE_CASES, random_circuit
from circuitlearn.spice import available_backends
from circuitlearn.spice.sens import SENS_RTOL, SENS_STEP, sensitivity_report

REPO = Path(__file__).resolve().parents[2]
BACKENDS = available_backends()
CASES = [("bridge.cir", ("a", "b")), ("bridge.cir", ("b", "0")), ("divider.cir", ("mid", "0")),
         ("allostery.cir", ("n18", "n46")), ("disordered.cir", ("n17", "0"))]


def need(backend: str) -> None:
    if backend not in BACKENDS:
        pytest.skip(f"ngspice backend {backend} not available")


def _check(report) -> None:
    ours, spice = report.ours, report.spice
    big = np.abs(ours) > 1e-6 * np.abs(ours).max()
    ratio = spice[big] / ours[big] - 1
    # The forward-difference bias, the same on every resistor: -1e-6 / (1 + 1e-6).
    np.testing.assert_allclose(ratio, -SENS_STEP / (1 + SENS_STEP), rtol=0, atol=1e-9)
    assert report.raw_error == pytest.approx(SENS_STEP, rel=1e-3)
    assert report.corrected_error <= SENS_RTOL and report.passed


@pytest.mark.parametrize("backend", ["pyspice", "batch"])
@pytest.mark.parametrize("netlist, output", CASES, ids=[f"{n}:{','.join(o)}" for n, o in CASES])
def test_bundled_netlists_match_ngspice_sens(netlist, output, backend):
    need(backend)
    report = sensitivity_report(load(REPO / "netlists" / netlist), output, backend=backend)
    assert report.backend == backend
    _check(report)


@pytest.mark.parametrize("name", sorted(SOURCE_CASES))
def test_random_networks_match_ngspice_sens(name):
    need("batch")
    circuit = random_circuit(4, num_nodes=20, extra_edges=30, sources=SOURCE_CASES[name],
                             k_range=(1e-2, 1e2))
    _check(sensitivity_report(circuit, ("n5", "n9"), backend="batch"))


def test_sensitivity_command(capsys):
    divider = str(REPO / "netlists" / "divider.cir")
    assert main(["sensitivity", divider, "--output", "mid", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    # V(mid) = 10 R2/(R1+R2) - 1 mA R1 R2/(R1+R2) with R1 = 1k, R2 = 3k.
    r1, r2, i1 = 1e3, 3e3, 1e-3
    exact = [-(10 * r2 + i1 * r2**2) / (r1 + r2) ** 2, (10 * r1 - i1 * r1**2) / (r1 + r2) ** 2]
    assert [r["resistor"] for r in rows] == ["r1", "r2"]
    np.testing.assert_allclose([r["dv_dr"] for r in rows], exact, rtol=1e-13)
    if BACKENDS:
        assert main(["sensitivity", divider, "--output", "mid,0", "--check"]) == 0
        assert "PASS" in capsys.readouterr().out


@pytest.mark.parametrize("output", ["nowhere", "mid,,x", ","])
def test_bad_output_exits_2(output, capsys):
    assert main(["sensitivity", str(REPO / "netlists" / "divider.cir"), "--output",
                 output]) == 2
    assert "error:" in capsys.readouterr().err
