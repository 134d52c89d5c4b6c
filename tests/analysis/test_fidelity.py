"""`circuitlearn fidelity`: rules against the exact gradient, and their measured orders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from circuitlearn.analysis.fidelity import fit_order, rule_fidelity
from circuitlearn.cli import main
from circuitlearn.solver.examples import delaunay_problem

REPO = Path(__file__).resolve().parents[2]
REGRESSION = REPO / "netlists" / "experiments" / "regression.toml"


def test_fidelity_command_json_plot_and_orders(tmp_path, capsys):
    out, plot = tmp_path / "fidelity.json", tmp_path / "fidelity.png"
    args = ["fidelity", str(REGRESSION), "--eta", "1e-4,1e-3,1e-2", "--beta",
            "1e-4,1e-3,1e-2", "--json", str(out), "--plot", str(plot)]
    assert main(args) == 0
    assert "fitted orders" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["conductances"] == "initial" and report["examples"] == 40
    rows = report["rows"]
    assert len(rows) == 1 + 3 + 2 * 3 * 3
    assert {r["rule"] for r in rows} == {"gradient", "cl", "ep_positive", "ep_negative",
                                         "ep_centered"}
    for r in rows:
        assert {"cosine_to_gradient", "relative_error_to_gradient", "dq_dt_over_q"} <= set(r)
        assert ("eta" in r and "cosine_to_limit" in r) == (r["rule"] == "cl")
        assert ("beta" in r and r.get("nudge") in ("conductance", "current")) == (
            r["rule"].startswith("ep_"))
    orders = report["orders"]
    assert orders["cl"] == pytest.approx(1, abs=0.05)
    for nudging in ("positive", "negative"):
        assert orders[f"ep_{nudging}/conductance"] == pytest.approx(1, abs=0.1)
        assert orders[f"ep_{nudging}/current"] == pytest.approx(1, abs=1e-6)
    assert orders["ep_centered/conductance"] == pytest.approx(2, abs=0.1)
    assert orders["ep_centered/current"] == "exact"
    gradient = next(r for r in rows if r["rule"] == "gradient")
    assert gradient["relative_error_to_gradient"] < 1e-12
    # Voltage-driven network: the gradient flow keeps Q, CL lowers it (~ eta).
    assert abs(gradient["dq_dt_over_q"]) < 1e-15
    assert all(r["dq_dt_over_q"] < 0 for r in rows if r["rule"] == "cl")
    assert plot.stat().st_size > 10_000


@pytest.mark.parametrize("seed", [0, 1])
def test_orders_on_delaunay_networks(seed):
    """The orders of the issue on 64-node Delaunay networks, default grids."""
    problem, k, x, y = delaunay_problem(seed, num_nodes=64)
    orders = rule_fidelity(problem, k, x, y).orders
    assert orders["cl"] == pytest.approx(1, abs=0.05)
    assert orders["ep_positive/conductance"] == pytest.approx(1, abs=0.1)
    assert orders["ep_negative/conductance"] == pytest.approx(1, abs=0.1)
    assert orders["ep_centered/conductance"] == pytest.approx(2, abs=0.1)
    assert orders["ep_centered/current"] == "exact"


def test_fit_order():
    sizes = np.logspace(-3, -1, 5)
    assert fit_order(sizes, 3 * sizes**2) == pytest.approx(2)
    assert fit_order(sizes, np.full(5, 1e-15)) == "exact"
    assert fit_order(sizes[:1], sizes[:1]) is None


def test_fidelity_at_a_checkpoint(tmp_path, capsys):
    assert main(["train", str(REGRESSION), "--out", str(tmp_path), "--max-steps", "20",
                 "--no-progress"]) == 0
    capsys.readouterr()
    out = tmp_path / "f.json"
    assert main(["fidelity", str(REGRESSION), "--run", str(tmp_path), "--eta", "0.01",
                 "--beta", "0.01", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["conductances"].startswith("checkpoint step 20")
    assert report["orders"]["cl"] is None


@pytest.mark.parametrize("args", [["--eta", "2"], ["--beta", "-1"], ["--eta", "a,b"]])
def test_bad_grids_exit_2(args):
    with pytest.raises(SystemExit) as info:
        main(["fidelity", str(REGRESSION), *args])
    assert info.value.code == 2


def test_missing_run_folder_exits_2(tmp_path, capsys):
    assert main(["fidelity", str(REGRESSION), "--run", str(tmp_path / "none")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
