"""Pieces of the ngspice backends that need no ngspice: messages, names, netlist prep."""

from __future__ import annotations

from circuitlearn.spice import batch as batch_backend
from circuitlearn.spice.common import result_from_vectors, triage_messages
from circuitlearn.spice.deck import plan_alterations, read_netlist


def test_batch_messages_are_split_at_markers():
    stderr = "\n".join(
        [
            "Warning: early",
            "Warning from checkvalid: vector circuitlearn_marker_0 is not available",
            "Warning: first point",
            "Warning from checkvalid: vector circuitlearn_marker_1 is not available",
            "Trying gmin =   1.0E-03 Warning: second point",
            "Warning from checkvalid: vector circuitlearn_marker_2 is not available",
            "Warning: after all points",
        ]
    )
    before, per_point, found = batch_backend._split_by_marker(stderr, 2)
    assert found
    assert before == ["Warning: early", "Warning: after all points"]
    assert per_point == [
        ["Warning: first point"],
        ["Trying gmin =   1.0E-03 Warning: second point"],
    ]


def test_triage_sorts_ngspice_messages():
    lines = [
        ("stdout", "Note: No compatibility mode selected!"),
        ("stdout", "Circuit: netlistError test"),
        ("stderr", "Warning: singular matrix:  check node 2"),
        ("stderr", "Trying gmin =   1.0000E-03 Note: One successful gmin step"),
        ("stderr", "Trying gmin =   1.0000E-04 Warning: singular matrix:  check node 2"),
        ("stderr", "Note: Starting dynamic gmin stepping"),
        ("stderr", "Using SPARSE 1.3 as Direct Linear Solver"),
        ("stderr", "Error on line 4 or its substitute:"),
        ("stderr", "  q1 1 2"),
        ("stderr", "could not find a valid modelname"),
        ("stdout", "Doing analysis at TEMP = 27.000000 and TNOM = 27.000000"),
    ]
    triage = triage_messages(lines)
    assert triage.warnings == [
        "Warning: singular matrix: check node 2",
        "Note: Starting dynamic gmin stepping",
    ]
    assert triage.errors == [
        "Error on line 4 or its substitute: | q1 1 2 | could not find a valid modelname"
    ]


def test_vector_names_map_to_result_names():
    shared_style = [
        ("V(1)", "voltage", 1.0),
        ("x1.mid", "voltage", 0.5),
        ("v1#branch", "current", -1e-3),
        ("v.x1.v2#branch", "current", 2e-3),
        ("@r1[i]", "current", 9.0),
    ]
    raw_style = [
        ("v(1)", "voltage", 1.0),
        ("v(x1.mid)", "voltage", 0.5),
        ("i(v1)", "current", -1e-3),
        ("i(v.x1.v2)", "current", 2e-3),
        ("circuitlearn_pad_vector", "notype", 0.0),
    ]
    for vectors in (shared_style, raw_style):
        result = result_from_vectors(vectors, [], "test")
        assert result.node_voltages == {"1": 1.0, "x1.mid": 0.5}
        assert result.source_currents == {"v1": -1e-3, "v.x1.v2": 2e-3}


def test_titles_and_convergence_aids():
    quiet = triage_messages([("stdout", "Circuit: Error: Warning: odd title")])
    assert quiet.errors == [] and quiet.warnings == []
    assert not quiet.needed_convergence_aid
    aided = triage_messages([("stderr", "Note: Starting dynamic gmin stepping")])
    assert aided.needed_convergence_aid


def test_alteration_plan_restores_omitted_sources():
    plan = plan_alterations([{"V1": 0.5}, {"i1": 2e-3}, {}, {"v1": -1, "I1": 0}])
    assert plan.setup == [
        "let circuitlearn_orig_0 = @v1[dc]",
        "let circuitlearn_orig_1 = @i1[dc]",
    ]
    assert plan.steps == [
        ["alter v1 dc = 0.5"],
        ["alter v1 dc = circuitlearn_orig_0", "alter i1 dc = 0.002"],
        ["alter i1 dc = circuitlearn_orig_1"],
        ["alter v1 dc = -1.0", "alter i1 dc = 0.0"],
    ]
    assert plan.fresh_steps[2] == [] and plan.fresh_steps[1] == ["alter i1 dc = 0.002"]


def test_netlist_preparation(tmp_path):
    path = tmp_path / "n.cir"
    path.write_text("title\nV1 1 0 1\n.control\nop\n.endc\nR1 1 0 1\n.END\nR2 1 0 1\n")
    deck = read_netlist(path)
    assert deck.lines == ["title", "V1 1 0 1", "R1 1 0 1"]
    assert deck.base_dir == tmp_path.resolve() and deck.origin == str(path)
    assert deck.notes and "lines 3-5" in deck.notes[0]
    text = read_netlist("t\nV1 1 0 1\n", cwd=tmp_path)
    assert text.base_dir == tmp_path.resolve() and text.origin == "<netlist text>"
    assert text.with_control(["op"]).endswith(".control\nop\n.endc\n.end\n")
