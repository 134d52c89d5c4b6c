"""DC solutions of circuits with closed-form answers, through the netlist parser."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn.netlist import parse
from circuitlearn.solver.dc import _solve_mna, solve


def op_of(text: str):
    return solve(parse(text))


def test_divider_with_load_current():
    op = op_of("div\nV1 in 0 10\nR1 in mid 1k\nR2 mid 0 3k\nI1 mid 0 1m\n")
    # superposition: 10 * 3/4 - 1 mA * (1k || 3k)
    assert op.voltage("mid") == pytest.approx(7.5 - 1e-3 * 750, rel=1e-13)
    # source delivers (10 - 6.75) / 1k, SPICE sign is negative
    assert op.source_currents[0] == pytest.approx(-(10 - 6.75) / 1e3, rel=1e-13)
    assert op.method == "reduced"


@pytest.mark.parametrize(("r1", "r2", "r3", "r4", "rg"), [
    (1e3, 2e3, 3e3, 4e3, 5e2), (100.0, 100.0, 100.0, 100.0, 1.0), (1.0, 7.0, 2.5, 0.3, 1e6)])
def test_wheatstone_bridge_thevenin(r1, r2, r3, r4, rg):
    vs = 5.0
    op = op_of(f"bridge\nVs s 0 {vs}\nR1 s a {r1}\nR2 a 0 {r2}\nR3 s b {r3}\nR4 b 0 {r4}\n"
               f"Rg a b {rg}\n")
    # Thevenin equivalent seen by the galvanometer Rg
    vth = vs * (r2 / (r1 + r2) - r4 / (r3 + r4))
    rth = r1 * r2 / (r1 + r2) + r3 * r4 / (r3 + r4)
    ig = vth / (rth + rg)
    assert op.resistor_currents()[-1] == pytest.approx(ig, rel=1e-12, abs=1e-18)


def test_balanced_bridge_carries_no_current():
    op = op_of("b\nVs s 0 9\nR1 s a 1k\nR2 a 0 2k\nR3 s b 3k\nR4 b 0 6k\nRg a b 10\n")
    assert abs(op.resistor_currents()[-1]) < 1e-15


@pytest.mark.parametrize("stages", [1, 4, 12])
def test_r2r_ladder_halves_voltage_per_stage(stages):
    # R-2R ladder terminated in 2R: every node sees R_eq = 2R to its right, so the
    # voltage halves from one rung to the next.
    lines = ["ladder", "V1 n0 0 8"]
    for i in range(stages):
        lines += [f"Rs{i} n{i} n{i + 1} 1k", f"Rp{i} n{i + 1} 0 2k"]
    lines[-1] = f"Rp{stages - 1} n{stages} 0 1k"  # last rung: 2k || 2k termination
    op = op_of("\n".join(lines))
    for i in range(stages + 1):
        assert op.voltage(f"n{i}") == pytest.approx(8 / 2**i, rel=1e-12)


@pytest.mark.parametrize("path", [solve, _solve_mna], ids=["reduced", "mna"])
def test_floating_source_closed_form(path):
    op = path(parse("float\nV1 a b 5\nR1 a 0 1k\nR2 b 0 4k\n"))
    # series loop: I = 5 / 5k flows a -> R1 -> 0 -> R2 -> b -> source -> a
    assert op.method == ("reduced" if path is solve else "mna")
    assert op.voltage("a") == pytest.approx(1.0, rel=1e-13)
    assert op.voltage("b") == pytest.approx(-4.0, rel=1e-13)
    assert op.source_currents[0] == pytest.approx(-1e-3, rel=1e-13)


def test_series_sources_to_ground_are_on_the_fast_path():
    op = op_of("series\nV1 a 0 2\nV2 b a 3\nR1 b 0 10\nR2 a 0 4\n")
    assert op.method == "reduced"
    assert op.voltage("b") == pytest.approx(5.0)
    # KCL: V2 carries R1's current (0.5 A) from b side; V1 carries both.
    assert op.source_currents[1] == pytest.approx(-0.5, rel=1e-13)
    assert op.source_currents[0] == pytest.approx(-0.5 - 0.5, rel=1e-13)


def test_negative_resistance_is_solved_on_the_general_path():
    # 1 ohm in series with -0.5 ohm: total 0.5 ohm, I = 2 A, V(b) = 2 A * -0.5 ohm
    op = op_of("neg\nV1 a 0 1\nR1 a b 1\nR2 b 0 -0.5\n")
    assert op.method == "mna"
    assert op.voltage("b") == pytest.approx(-1.0, rel=1e-13)
    assert op.source_currents[0] == pytest.approx(-2.0, rel=1e-13)


def test_current_source_into_resistor_sign_convention():
    # I1 0 1 1m drives 1 mA from node 0 through the source into node 1.
    op = op_of("i\nI1 0 1 1m\nR1 1 0 2k\n")
    assert op.voltage("1") == pytest.approx(2.0, rel=1e-13)


def test_resistor_power_sums_to_source_power():
    op = op_of("p\nV1 a 0 3\nR1 a b 1\nR2 b 0 2\nR3 b 0 6\nI1 0 b 0.25\n")
    delivered = -op.source_currents @ op.circuit.vsource_values
    e = op.circuit.isource_edges[0]
    delivered += op.circuit.isource_values[0] * (op.node_voltages[e[1]] - op.node_voltages[e[0]])
    assert op.resistor_power().sum() == pytest.approx(delivered, rel=1e-13)
    assert np.all(op.resistor_power() >= 0)
