"""The reproduction scripts in their reduced mode (what CI runs): the drift orders of
the conservation law and the data-symmetry comparison."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "reproduce"


def _run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(SCRIPTS / script), "--quick", *args],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_conservation_quick_slopes(tmp_path):
    out = _run("conservation.py", "--out", str(tmp_path), "--networks", "3")
    slopes = {m[1]: (float(m[2]), int(m[3])) for m in
              re.finditer(r"^slope (\w+): ([-\d.]+) \(expected (\d)\)$", out, re.M)}
    assert set(slopes) == {"cl", "ep_positive", "ep_negative", "ep_centered"}
    for family, (slope, expected) in slopes.items():
        assert slope == pytest.approx(expected, abs=0.1), family
    drift = float(re.search(r"gradient flow: max \|Q_j\(t\)/Q_j\(0\) - 1\| = (\S+)", out)[1])
    assert drift < 1e-9  # conserved to rounding (and RK4 error)
    assert "laws under cl: component approximate O(1.00)" in out
    data = json.loads((tmp_path / "conservation.json").read_text())
    assert data["reliability"]["networks"] == 3
    for name in ("drift", "orders", "reliability"):
        assert (tmp_path / f"conservation_{name}.png").stat().st_size > 10_000


def test_data_symmetry_quick(tmp_path):
    out = _run("data_symmetry.py", "--out", str(tmp_path))
    matches, total = map(int, re.search(r"matches: (\d+)/(\d+)", out).groups())
    assert matches == total > 20  # every discovered count as predicted
    assert re.search(r"augmented data sets with new laws: 0/\d+", out)
    assert "r1 - r2" in out  # x1 = x2 on the demo network: a Norton law appears
