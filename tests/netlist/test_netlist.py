"""Netlist reading: ngspice syntax edge cases, scoping, includes, round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuitlearn.circuit import Circuit
from circuitlearn.netlist import load, parse, write
from circuitlearn.solver.dc import solve


def resistances(text: str) -> dict[str, float]:
    c = parse(text)
    return dict(zip(c.resistor_names, c.resistance.tolist(), strict=True))


def test_first_line_is_always_the_title():
    c = parse("R1 1 0 5\nV1 1 0 1\nR2 1 0 5\n")
    assert c.title == "R1 1 0 5"
    assert c.resistor_names == ("r2",)


def test_everything_after_end_is_ignored_and_end_is_optional():
    c = parse("t\nV1 1 0 1\nR1 1 0 2\n.end\nR2 1 0 C1 garbage\n")
    assert c.resistor_names == ("r1",)
    assert parse("t\nV1 1 0 1\nR1 1 0 2").resistor_names == ("r1",)


@pytest.mark.parametrize(("text", "ohms"), [
    ("1", 1.0), ("2.5k", 2500.0), ("2.5K", 2500.0), ("1meg", 1e6), ("1MEG", 1e6),
    ("3m", 3e-3), ("3M", 3e-3), ("4u", 4e-6), ("5n", 5e-9), ("6p", 6e-12), ("7f", 7e-15),
    ("2T", 2e12), ("3G", 3e9), ("1mil", 25.4e-6), ("10kOhm", 1e4), ("1e3", 1e3),
    ("1.5e-3k", 1.5), ("1a", 1.0), (".5", 0.5), ("47Ohm", 47.0)])
def test_engineering_suffixes_as_ngspice_reads_them(text, ohms):
    assert resistances(f"t\nV1 1 0 1\nR1 1 0 {text}\n")["r1"] == pytest.approx(ohms, rel=1e-15)


def test_comments_of_every_kind():
    text = ("t\n* full line comment\n   * indented comment\nV1 1 0 1 ; semicolon\n"
            "R1 1 2 1k // slashes\nR2 2 0 1k $ dollar after blank\n\n\nR3 2 0 2k$notcomment\n")
    assert resistances(text) == {"r1": 1e3, "r2": 1e3, "r3": 2e3}


def test_continuation_lines_join_fields():
    text = "t\nV1 1 0\n+ DC 2\nR1 1\n   + 0\n+ 4k\n"
    c = parse(text)
    assert c.vsource_values.tolist() == [2.0]
    assert c.resistance.tolist() == [4e3]
    assert c.origins["r1"].line == 4


def test_separators_commas_equals_parentheses():
    c = parse("t\nV1 (1, 0) DC=3\nR1 1 0 r=2k\n")
    assert c.vsource_values.tolist() == [3.0]
    assert c.resistance.tolist() == [2e3]


def test_names_are_case_insensitive_and_gnd_is_ground():
    c = parse("t\nVIN In GND 1\nRa IN 00 1\nRB 00 gnd 1\n")
    assert c.nodes == ("0", "in", "00")
    assert c.vsource_names == ("vin",)
    assert solve(c).voltage("00") == pytest.approx(0.5)


def test_params_expressions_and_functions():
    text = ("t\n.param a=2 b={a*3}\n.param c='b + 1'\n.func twice(x) {2*x}\n"
            ".param half(y)={y/2}\nV1 1 0 {c}\nR1 1 0 {twice(a)+half(4)}\nR2 1 0 'b'\n")
    c = parse(text)
    assert c.vsource_values.tolist() == [7.0]
    assert c.resistance.tolist() == [6.0, 6.0]


def test_param_defined_after_use_and_last_definition_wins():
    c = parse("t\nV1 1 0 {v}\nR1 1 0 1\n.param v=1\n.param v=3\n")
    assert c.vsource_values.tolist() == [3.0]


def test_subcircuit_scoping_and_ngspice_names():
    text = """t
.param r0=10
.subckt inner a b params: ri=1
Rx a m {ri}
Ry m b {r0}
.ends
.subckt outer p q params: ro=5
X1 p mid inner ri={ro*2}
Rz mid q 1
V1 vq 0 1
.ends outer
X1 n1 0 outer ro=3
Xb n2 0 outer
Vs n1 0 1
Vt n2 0 2
"""
    c = parse(text)
    r = dict(zip(c.resistor_names, c.resistance.tolist(), strict=True))
    assert r == {"r.x1.x1.rx": 6.0, "r.x1.x1.ry": 10.0, "r.x1.rz": 1.0,
                 "r.xb.x1.rx": 10.0, "r.xb.x1.ry": 10.0, "r.xb.rz": 1.0}
    assert {"x1.mid", "x1.x1.m", "xb.mid", "x1.vq"} <= set(c.nodes)
    assert "v.x1.v1" in c.vsource_names


def test_instance_parameters_override_body_params_and_see_earlier_actuals():
    text = """t
.subckt s a b params: p1=1 p2=1
.param p3=100
R1 a b {p1+p2+p3}
.ends
X1 1 0 s p1=2 p2='p1*10' p3=7
V1 1 0 1
"""
    assert parse(text).resistance.tolist() == [2 + 20 + 7]


def test_global_nodes_are_not_prefixed():
    text = "t\n.global vdd\n.subckt load a\nR1 a vdd 1\n.ends\nX1 n load\nV1 vdd 0 1\nR2 n 0 1\n"
    c = parse(text)
    assert "vdd" in c.nodes and "x1.vdd" not in c.nodes


def test_include_and_lib_resolve_relative_to_the_netlist(tmp_path):
    sub = tmp_path / "lib"
    sub.mkdir()
    (sub / "parts.inc").write_text("* parts\n.param rr=2k\nR2 1 0 {rr}\n")
    (sub / "models.lib").write_text(".lib typ\nR3 1 0 3k\n.endl\n.lib fast\nR3 1 0 1\n.endl\n")
    (tmp_path / "top.cir").write_text(
        "top\nV1 1 0 1\n.include lib/parts.inc\n.lib 'lib/models.lib' typ\n")
    c = load(tmp_path / "top.cir")
    assert dict(zip(c.resistor_names, c.resistance.tolist(), strict=True)) == {
        "r2": 2e3, "r3": 3e3}
    assert c.origins["r2"].path.endswith("parts.inc") and c.origins["r2"].line == 3


def test_analysis_lines_and_control_blocks_are_ignored():
    text = ("t\nV1 1 0 1\nR1 1 0 1\n.op\n.dc V1 0 1 0.1\n.tran 1n 1u\n.print dc v(1)\n"
            ".options reltol=1e-6\n.save all\n.control\nrun\nquit\n.endc\n")
    assert parse(text).num_resistors == 1


def test_source_value_forms():
    c = parse("t\nV1 1 0 DC 1 AC 1 0\nV2 2 0 SIN(0.5 1 1k 0 0 90)\nV3 3 0 PULSE(0.2 1 1n)\n"
              "V4 4 0 PWL(0 0.3 1 1)\nV5 5 0 AC 1\nV6 6 0 dc 1 dc 2\nI1 0 7 dc=4mA\n"
              "R1 1 0 1\nR2 2 0 1\nR3 3 0 1\nR4 4 0 1\nR5 5 0 1\nR6 6 0 1\nR7 7 0 1\n")
    assert c.vsource_values.tolist() == pytest.approx([1, 1.5, 0.2, 0.3, 0.0, 2.0])
    assert c.isource_values.tolist() == pytest.approx([4e-3])


def test_resistor_multiplier_model_and_temperature_coefficients():
    c = parse("t\nV1 1 0 1\n.model rmod r r=5\nR1 1 0 2 m=2\nR2 1 0 rmod\n"
              "R3 1 0 2 tc1=0.1 dtemp=10\nR4 1 0 2 tc1=0.1\n")
    assert c.conductance.tolist() == pytest.approx([1.0, 0.2, 0.25, 0.5])


def write_roundtrip(circuit: Circuit) -> Circuit:
    return parse(write(circuit))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(1e-9, 1e9) | st.floats(-1e9, -1e-9), min_size=1, max_size=30),
       st.lists(st.floats(-1e3, 1e3, allow_subnormal=False), min_size=1, max_size=3))
def test_writer_round_trip_is_exact_to_one_ulp(conductances, volts):
    n = len(conductances)
    c = Circuit(nodes=("0",) + tuple(f"x1.n{i}" for i in range(1, n + 1)),
                resistor_names=tuple(f"r.x1.r{i}" for i in range(n)),
                resistor_edges=[(i + 1, i) for i in range(n)], conductance=conductances,
                vsource_names=tuple(f"v{i}" for i in range(len(volts))),
                vsource_edges=[(1, 0)] * len(volts), vsource_values=volts,
                isource_names=("i1",), isource_edges=[(0, n)], isource_values=[1e-3],
                title="round trip")
    back = write_roundtrip(c)
    assert back == c
    assert np.array_equal(back.vsource_values, c.vsource_values)
    ulp = np.spacing(np.abs(c.conductance))
    assert np.all(np.abs(back.conductance - c.conductance) <= ulp)


def test_round_trip_of_a_parsed_netlist_with_subcircuits(tmp_path):
    c = parse("t\n.subckt h a b\nR1 a m 1.1k\nR2 m b 3.3\n.ends\nX1 1 0 h\nX2 1 2 h\n"
              "V1 1 0 1.7\nI1 2 0 3m\n")
    assert write_roundtrip(c) == c
    assert np.allclose(solve(write_roundtrip(c)).node_voltages, solve(c).node_voltages)


def test_networkx_round_trip():
    c = parse("t\nV1 a 0 1\nR1 a b 2\nR2 b 0 3\nR3 a b 4\nI1 b 0 1m\n")
    g = c.to_networkx()
    assert g.number_of_edges() == 5
    assert g.edges["a", "b", "r3"]["conductance"] == 0.25
    assert Circuit.from_networkx(g) == c


def test_from_plain_networkx_graph_defaults_to_unit_conductors():
    import networkx as nx

    g = nx.path_graph(["0", "a", "b"])
    c = Circuit.from_networkx(g)
    assert c.num_resistors == 2 and c.conductance.tolist() == [1.0, 1.0]


def test_circuit_equality_detects_a_changed_conductance():
    c = parse("t\nV1 a 0 1\nR1 a 0 2\n")
    assert c != c.with_conductance(c.conductance * (1 + 1e-12))
    assert c != c.with_sources(vsource_values=[1.0 + 1e-15])


def test_continuation_skips_comment_lines_in_between():
    # ngspice joins "+ m=4" to R1 across the comment: four 1k resistors in parallel.
    c = parse("t\nV1 in 0 1\nR1 in 0 1k\n* a comment\n   * another\n+ m=4\n")
    assert c.conductance.tolist() == pytest.approx([4e-3])


def test_continuation_of_the_title_is_dropped():
    c = parse("* title\n* comment\n+ R9 a b 1\nV1 in 0 1\nR1 in 0 1k\n")
    assert c.resistor_names == ("r1",)


def test_end_inside_an_included_file_is_ignored(tmp_path):
    (tmp_path / "part.inc").write_text("R2 in 0 1k\n.end\nR3 in 0 1k\n")
    (tmp_path / "top.cir").write_text(
        "t\nV1 in 0 1\n.include part.inc\nR4 in 0 1k\n.end\nR5 x 0 1\n")
    assert load(tmp_path / "top.cir").resistor_names == ("r2", "r3", "r4")


def test_tab_after_directive_keyword():
    c = parse("t\n.param\trv=2k\nV1 in 0 1\nR1 in 0 {rv}\n")
    assert c.resistance.tolist() == [2e3]


@pytest.mark.parametrize(("cards", "ohms"), [
    # dT = temp - tnom; R = R0 (1 + tc1 dT + tc2 dT^2), or R0 * 1.01^(tce dT)
    (".options temp=77 tnom=30\nR1 in 0 1k tc1=0.01", 1e3 * (1 + 0.01 * 47)),
    (".temp 40\nR1 in 0 1k tc1=0.01 temp=50", 1e3 * (1 + 0.01 * 23)),
    (".temp 40\nR1 in 0 1k tc1=0.01 tc2=1e-3 dtemp=10", 1e3 * (1 + 0.01 * 23 + 1e-3 * 23**2)),
    (".temp 40\n.model rt R (tce=2 tnom=50)\nR1 in 0 rt 1k", 1e3 * 1.01 ** (2 * -10)),
    (".options temp=77\n.model rt R (tc1=0.02 tnom=50)\nR1 in 0 rt 1k", 1e3 * (1 + 0.02 * 27)),
    ("R1 in 0 1k tc1=0.01", 1e3),  # 27 deg C = tnom: no change
])
def test_resistor_temperature_like_ngspice(cards, ohms):
    # each expected value was also checked with ngspice 39 (.op, current through V1)
    c = parse(f"t\nV1 in 0 1\n{cards}\n")
    assert c.resistance.tolist() == pytest.approx([ohms], rel=1e-12)
