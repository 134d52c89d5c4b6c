"""Bad input is named, never guessed: file, line, element and node in every message."""

from __future__ import annotations

import pytest

from circuitlearn.cli import main
from circuitlearn.errors import CircuitLearnError, NetlistError, TopologyError
from circuitlearn.netlist import load
from circuitlearn.solver.dc import solve

# (case id, netlist body after the title, error class, fragments the message must contain)
CASES = [
    ("floating", "V1 1 0 1\nR1 1 0 1\nR2 a b 1\n", TopologyError,
     ["bad.cir:4", "r2", "nodes a, b", "no DC path to ground"]),
    ("current_fed_only", "V1 1 0 1\nR1 1 0 1\nI1 0 x 1m\n", TopologyError,
     ["bad.cir:4", "node x", "only to current sources i1", "cut set"]),
    ("current_cut_set", "V1 1 0 1\nR1 1 0 1\nI1 1 a 1m\nR2 a b 1\nI2 b 1 1m\n", TopologyError,
     ["bad.cir:5", "r2", "current sources i1, i2", "cut set"]),
    ("source_loop", "V1 1 0 1\nV2 2 1 1\nV3 2 0 3\nR1 2 0 1\n", TopologyError,
     ["bad.cir:4", "v3", "v1", "v2", "loop"]),
    ("parallel_sources", "V1 1 0 1\nV2 1 0 1\nR1 1 0 1\n", TopologyError,
     ["bad.cir:3", "v2", "v1", "loop"]),
    ("shorted_source", "V1 1 0 1\nR1 1 0 1\nV2 a a 1\nR2 a 0 1\n", TopologyError,
     ["bad.cir:4", "v2", "shorted", "node a"]),
    ("zero_resistance", "V1 1 0 1\nR1 1 0 0\n", NetlistError,
     ["bad.cir:3", "r1", "zero resistance"]),
    ("missing_value", "V1 1 0 1\nR1 1 0\n", NetlistError,
     ["bad.cir:3", "r1", "missing resistance value"]),
    ("missing_source_value", "V1 1 0\nR1 1 0 1\n", NetlistError,
     ["bad.cir:2", "v1", "missing source value"]),
    ("non_numeric", "V1 1 0 1\nR1 1 0 abc\n", NetlistError,
     ["bad.cir:3", "r1", "'abc'"]),
    ("undefined_param", "V1 1 0 1\nR1 1 0 {rload*2}\n", NetlistError,
     ["bad.cir:3", "r1", "undefined parameter 'rload'"]),
    ("param_cycle", ".param a={b}\n.param b={a+1}\nV1 1 0 {a}\nR1 1 0 1\n", NetlistError,
     ["bad.cir:", "cycle"]),
    ("unknown_subckt", "V1 1 0 1\nX1 1 0 nosuch\n", NetlistError,
     ["bad.cir:3", "x1", "unknown subcircuit 'nosuch'"]),
    ("wrong_node_count", ".subckt two a b\nR1 a b 1\n.ends\nV1 1 0 1\nX1 1 0 2 two\n",
     NetlistError, ["bad.cir:6", "x1", "2 ports (a b) but 3 nodes"]),
    ("unsupported_element", "V1 1 0 1\nR1 1 0 1\nC1 1 0 1u\n", NetlistError,
     ["bad.cir:4", "c1", "capacitor"]),
    ("unsupported_in_subckt", ".subckt s a\nL1 a 0 1m\n.ends\nV1 1 0 1\nR1 1 0 1\nX1 1 s\n",
     NetlistError, ["bad.cir:3", "l1", "inductor", "in instance x1 at", "bad.cir:7"]),
    ("unterminated_subckt", ".subckt s a\nR1 a 0 1\nV1 1 0 1\n", NetlistError,
     ["bad.cir:2", "without a matching .ends"]),
    ("missing_include", "V1 1 0 1\n.include nothere.inc\nR1 1 0 1\n", NetlistError,
     ["bad.cir:3", "nothere.inc", "cannot read"]),
    ("duplicate_name", "V1 1 0 1\nR1 1 0 1\nR1 1 0 2\n", NetlistError,
     ["bad.cir:4", "r1", "duplicate", "bad.cir:3"]),
    ("unsupported_directive", "V1 1 0 1\nR1 1 0 1\n.hdl foo.va\n", NetlistError,
     ["bad.cir:4", ".hdl"]),
    ("singular_negative", "V1 1 0 1\nR1 1 2 1\nR2 2 0 1\nR3 2 0 -0.5\n", TopologyError,
     ["singular", "bad.cir:5: r3"]),
    # 1/1k - 1/1.5k - 1/3k is zero, but rounds to about 1e-19 S in either order
    ("cancelling_conductances", "I1 0 b 1m\nR4 b 0 1k\nR3 b 0 -1.5k\nR2 b 0 -3k\n",
     TopologyError, ["singular", "cancel", "bad.cir:4: r3", "bad.cir:5: r2"]),
    ("cancelling_reordered", "I1 0 b 1m\nR2 b 0 -3k\nR4 b 0 1k\nR3 b 0 -1.5k\n",
     TopologyError, ["singular", "cancel"]),
    ("tiny_resistance", "V1 a 0 1\nR1 a 0 1e-320\n", NetlistError,
     ["bad.cir:3", "r1", "not a finite nonzero"]),
    ("overflowing_multiplier", "V1 a 0 1\nR1 a 0 1e-10 m=1e300\n", NetlistError,
     ["bad.cir:3", "r1", "not a finite nonzero"]),
    ("infinite_source", "V1 a 0 1e400\nR1 a 0 1\n", NetlistError,
     ["bad.cir:2", "v1", "not finite"]),
    ("params_to_paramless_subckt", ".subckt s a b\nR1 a b 1\n.ends\nV1 1 0 1\nX1 1 0 s r=2\n",
     NetlistError, ["bad.cir:6", "x1", "declares no parameters"]),
]


@pytest.mark.parametrize(("body", "error", "fragments"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_a_named_error(tmp_path, body, error, fragments):
    path = tmp_path / "bad.cir"
    path.write_text("title line\n" + body)
    with pytest.raises(error) as info:
        solve(load(path))
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


@pytest.mark.parametrize("body", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_cli_exits_2_without_traceback(tmp_path, capsys, body):
    path = tmp_path / "bad.cir"
    path.write_text("title line\n" + body)
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_unreadable_netlist_file(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "missing.cir")]) == 2
    assert "missing.cir" in capsys.readouterr().err
    with pytest.raises(CircuitLearnError, match="cannot read netlist"):
        load(tmp_path / "missing.cir")


def test_deep_subcircuit_nesting_is_an_error_not_a_crash(tmp_path):
    depth = 3000
    lines = ["deep", "V1 n 0 1", "X0 n 0 s0"]
    for i in range(depth):
        lines += [f".subckt s{i} a b", f"X1 a b s{i + 1}", ".ends"]
    lines += [f".subckt s{depth} a b", "R1 a b 1", ".ends"]
    path = tmp_path / "deep.cir"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(NetlistError, match="nested too deeply"):
        load(path)
