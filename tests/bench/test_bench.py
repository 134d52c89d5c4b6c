"""The benchmark's quick mode runs and reports every metric (no timing thresholds)."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from circuitlearn.bench.sections import SECTIONS, format_table, run_benchmark, write_json
from circuitlearn.cli import main
from circuitlearn.solver import factor

EXPECTED = ["floor_ratio", "peak_rss_gb", "batch_ratio", "peer_speedup", "euler_wall_s",
            "assembly_speedup"]


def _positive_finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    result = run_benchmark(quick=True, log=lambda line: None)
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    write_json(result, path)
    return result, json.loads(path.read_text())


def test_quick_json_has_every_metric(quick):
    _, data = quick
    expected = list(EXPECTED)
    if factor.default_backend() != "splu":
        expected.append("floor_ratio_splu")
    if shutil.which("ngspice"):
        expected.append("ngspice_ratio")
    else:
        assert "skipped" in data["ngspice"]
    summary = data["summary"]
    for key in expected:
        assert key in summary, key
        assert _positive_finite(summary[key]), (key, summary[key])
    assert data["mode"] == "quick"
    assert data["environment"]["default_backend"] == factor.default_backend()


def test_quick_rows_are_complete(quick):
    _, data = quick
    backends = {row["backend"] for row in data["floor"]}
    assert backends == set(factor.available_backends())
    kinds = {row["kind"] for row in data["floor"]}
    assert kinds == {"lattice2d", "disordered3d"}
    for row in data["floor"]:
        for key in ("step_ms", "factor_ms", "solve_ms", "floor_ms", "floor_ratio",
                    "peak_rss_gb"):
            assert _positive_finite(row[key]), (key, row)
    for row in data["peer"]:
        assert row["max_rel_diff"] < 1e-8  # the peer baseline computes the same rate
    for row in data["euler"]:
        assert row["loss_end"] < row["loss_start"]  # coupled learning trains


def test_table_names_every_section(quick):
    result, _ = quick
    table = format_table(result)
    for word in ("floor_ratio", "batch_ratio", "peer_speedup", "ngspice_ratio", "Euler",
                 "assembly", "summary"):
        assert word in table


def test_cli_subset_writes_json(tmp_path, capsys):
    path = tmp_path / "out.json"
    assert main(["bench", "--quick", "--sections", "batch", "--json", str(path)]) == 0
    data = json.loads(path.read_text())
    assert set(data["summary"]) == {"batch_ratio"}
    assert "batch_ratio" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown"):
        run_benchmark(quick=True, sections=["nope"])
    assert set(SECTIONS) >= {"floor", "batch", "peer", "ngspice", "euler", "assembly"}
