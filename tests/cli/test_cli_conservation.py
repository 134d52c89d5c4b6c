"""`circuitlearn conservation`: table, JSON schema, survival under CL and EP, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from circuitlearn.cli import main

REPO = Path(__file__).resolve().parents[2]
COMPONENTS = REPO / "netlists" / "experiments" / "components.toml"


def test_json_schema_and_table(tmp_path, capsys):
    out = tmp_path / "laws.json"
    assert main(["conservation", str(COMPONENTS), "--samples", "200", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "rs1^3 - rs2^3" in table and "rp1 - rp2" in table and "series" in table
    doc = json.loads(out.read_text())
    assert doc["rule"] == "gradient" and doc["degree"] == 3 and doc["basis"] == "separable"
    assert len(doc["singular_values"]) == 3 * (32 - 7)
    assert doc["frozen_edges"] == ["rd", "rdd", "rc1", "rc2", "rc3", "rc4", "rc5"]
    laws = doc["laws"]
    assert [law["terms"] for law in laws if len(law["terms"]) == 2] == [
        {"rp1": 1.0, "rp2": -1.0}, {"rs1^3": 1.0, "rs2^3": -1.0}]
    for law in laws:
        assert all(name == name.lower() for name in law["terms"])
        assert max(abs(c) for c in law["terms"].values()) == 1.0
        assert 0 <= law["max_relative_drift"] < 1e-10


def test_cl_reports_which_gradient_laws_survive(tmp_path, capsys):
    out = tmp_path / "laws.json"
    assert main(["conservation", str(COMPONENTS), "--rule", "cl", "--samples", "200",
                 "--degree", "3", "--json", str(out)]) == 0
    assert "under cl" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    status = {law["explained_by"]: law["survival"]["cl"] for law in doc["laws"]}
    assert status["series"]["status"] == status["parallel"]["status"] == "exact"
    assert status["component"]["status"] == "approximate"
    assert status["component"]["order"] == pytest.approx(1.0, abs=0.1)
    assert status["component"]["eta"] == [1e-3, 1e-2, 1e-1]


def test_the_experiments_own_rule_is_the_default_flow(tmp_path):
    exp = tmp_path / "cl.toml"
    exp.write_text(_with_modifier(COMPONENTS, "decay", "rate = 0.0").replace(
        'name = "gradient"', 'name = "cl"\neta = 0.1'))
    out = tmp_path / "laws.json"
    assert main(["conservation", str(exp), "--samples", "200", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["rule"] == "cl" and doc["parameters"]["eta"] == 0.1
    assert sorted(law["explained_by"] for law in doc["laws"]) == ["parallel", "series"]
    assert [c["outputs"] for c in doc["components"]] == [["a2", "a4"], ["b4", "b1,b3"], []]


def test_preconditioned_experiment_finds_log_laws(tmp_path):
    exp = tmp_path / "pre.toml"
    exp.write_text(_with_modifier(COMPONENTS, "precondition", "power = 2.0"))
    out = tmp_path / "laws.json"
    assert main(["conservation", str(exp), "--samples", "200", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["powers"] == [-1.0, 0.0, 1.0]
    terms = [law["terms"] for law in doc["laws"]]
    assert {"rs1": 1.0, "rs2": -1.0} in terms and {"rp1^-1": 1.0, "rp2^-1": -1.0} in terms
    assert any("log(ra1)" in t for t in terms)


def _with_modifier(path: Path, name: str, body: str) -> str:
    text = path.read_text().replace('netlist = "../components.cir"',
                                    f'netlist = "{REPO}/netlists/components.cir"')
    return text.replace("[train]", f"[rule.{name}]\n{body}\n\n[train]")


def test_unknown_rule_exits_2(capsys):
    assert main(["conservation", str(COMPONENTS), "--rule", "nope"]) == 2
    assert "unknown name 'nope'" in capsys.readouterr().err


def test_too_few_samples_exit_2(capsys):
    assert main(["conservation", str(COMPONENTS), "--samples", "20"]) == 2
    assert "20 usable samples for 75 candidate terms" in capsys.readouterr().err


def test_degree_below_one_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["conservation", str(COMPONENTS), "--degree", "0"])
    assert exc.value.code == 2 and "at least 1" in capsys.readouterr().err


def test_random_modifier_is_refused(tmp_path, capsys):
    exp = tmp_path / "noisy.toml"
    exp.write_text(_with_modifier(COMPONENTS, "noise", "sigma = 0.1"))
    assert main(["conservation", str(exp)]) == 2
    assert "[rule.noise]" in capsys.readouterr().err
