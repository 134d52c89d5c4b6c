"""`circuitlearn simulate`: table and JSON output, in-process and as a console script."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from circuitlearn.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_simulate_json_schema(capsys):
    assert main(["simulate", str(REPO / "netlists" / "divider.cir"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"node_voltages", "source_currents"}
    assert data["node_voltages"]["mid"] == pytest.approx(6.75, rel=1e-12)
    assert data["source_currents"] == {"v1": pytest.approx(-3.25e-3, rel=1e-12)}


def test_simulate_json_resistors(capsys):
    assert main(["simulate", str(REPO / "netlists" / "divider.cir"), "--json",
                 "--resistors"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"node_voltages", "source_currents", "resistors"}
    r1, r2 = data["resistors"]["r1"], data["resistors"]["r2"]
    # R1 = 1k carries the source current 3.25 mA; R2 = 3k drops 6.75 V: P = V^2 / R
    assert r1["current"] == pytest.approx(3.25e-3, rel=1e-12)
    assert r1["power"] == pytest.approx(1e3 * 3.25e-3 ** 2, rel=1e-12)
    assert r2["power"] == pytest.approx(6.75 ** 2 / 3e3, rel=1e-12)


def test_simulate_table_lists_nodes_sources_and_resistors(capsys):
    assert main(["simulate", str(REPO / "netlists" / "bridge.cir"), "--resistors"]) == 0
    out = capsys.readouterr().out
    assert "supply" in out and "vs" in out and "r.xleft.ru" in out and "power (W)" in out


def test_console_script_runs():
    exe = shutil.which("circuitlearn")
    if exe is None:
        pytest.skip("circuitlearn console script not installed (pip install -e .)")
    proc = subprocess.run([exe, "simulate", str(REPO / "netlists" / "divider.cir")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "6.75" in proc.stdout


def test_conformance_cases_agree_with_ngspice_references(conformance_dir):
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import conformance
    finally:
        sys.path.pop(0)
    cases = sorted(p.parent for p in conformance_dir.glob("*/expected.json"))
    assert cases
    failures = {c.name: conformance.run_case(c, 1e-9) for c in cases}
    assert {k: v for k, v in failures.items() if v} == {}
