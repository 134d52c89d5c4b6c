"""Network generators: node counts, connectivity, degrees, learning helpers, netlists."""

from __future__ import annotations

import numpy as np
import pytest

from circuitlearn import generators as g
from circuitlearn import netlist
from circuitlearn.solver.dc import solve


def _degrees(circuit) -> np.ndarray:
    return np.bincount(circuit.resistor_edges.ravel(), minlength=circuit.num_nodes)[1:]


def test_square_lattice_counts():
    c = g.square_lattice(3, 4, seed=0)
    assert c.num_nodes == 1 + 12 and c.nodes[0] == "0"
    assert c.num_resistors == 3 * 3 + 4 * 2
    assert g.is_connected(c)
    assert sorted(set(_degrees(c))) == [2, 3, 4]
    assert g.mean_degree(c) == pytest.approx(2 * 17 / 12)


def test_triangular_lattice_counts():
    c = g.triangular_lattice(4, 4, seed=0)
    assert c.num_nodes == 17
    assert c.num_resistors == 4 * 3 + 4 * 3 + 3 * 3
    assert g.is_connected(c)
    assert _degrees(c).max() == 6


def test_random_regular_degrees():
    c = g.random_regular(20, 3, seed=1)
    assert c.num_nodes == 21
    assert np.all(_degrees(c) == 3)
    assert g.is_connected(c)
    with pytest.raises(ValueError):
        g.random_regular(7, 3)


@pytest.mark.parametrize("nodes,z", [(30, 3.0), (60, 4.2), (100, 2.5)])
def test_delaunay_mean_degree_and_connectivity(nodes, z):
    c = g.delaunay_network(nodes, z, seed=nodes)
    assert c.num_nodes == nodes + 1
    assert c.num_resistors == round(z * nodes / 2)
    assert g.mean_degree(c) == pytest.approx(z, abs=1 / nodes)
    assert g.is_connected(c)
    assert np.all(c.resistor_edges[:, 0] != c.resistor_edges[:, 1])
    assert len({tuple(sorted(e)) for e in c.resistor_edges.tolist()}) == c.num_resistors


def test_delaunay_rejects_unreachable_degree():
    with pytest.raises(ValueError, match="mean degree"):
        g.delaunay_network(20, 1.0, seed=0)
    with pytest.raises(ValueError, match="mean degree"):
        g.delaunay_network(20, 7.5, seed=0)


def test_seeded_conductances():
    a = g.delaunay_network(25, 3.0, seed=7, conductance=(0.2, 0.4))
    b = g.delaunay_network(25, 3.0, seed=7, conductance=(0.2, 0.4))
    assert a == b
    assert np.all((a.conductance >= 0.2) & (a.conductance <= 0.4))
    assert a != g.delaunay_network(25, 3.0, seed=8, conductance=(0.2, 0.4))


def test_prune_keeps_spanning_tree():
    rng = np.random.default_rng(0)
    edges = g.delaunay_edges(rng.random((40, 2)))
    kept = g.prune_connected(40, edges, 39, rng)
    assert len(kept) == 39
    assert g.is_connected(g.from_edges(40, kept, np.ones(39)))


def test_learning_network_helpers():
    c = g.square_lattice(4, 4, seed=2)
    net, inputs, outputs = g.learning_network(c, n_inputs=3, n_outputs=2, seed=5)
    assert inputs == ["vin1", "vin2", "vin3"]
    assert net.num_nodes == c.num_nodes - 1  # one node merged into ground
    driven = {net.nodes[i] for i in net.vsource_edges[:, 0]}
    assert len(driven) == 3 and not driven & set(outputs)
    assert np.all(net.vsource_edges[:, 1] == 0)
    assert np.all(net.vsource_values == 1.0)
    op = solve(net)
    assert np.all((op.node_voltages >= -1e-12) & (op.node_voltages <= 1 + 1e-12))
    _, _, pairs = g.learning_network(c, n_inputs=1, n_outputs=2, pairs=True, seed=5)
    assert len({n for p in pairs for n in p}) == 4


def test_pick_nodes_distinct_and_excluding():
    c = g.square_lattice(3, 3, seed=0)
    picked = g.pick_nodes(c, 8, seed=1, exclude=["n5"])
    assert len(set(picked)) == 8 and "n5" not in picked and "0" not in picked
    with pytest.raises(ValueError):
        g.pick_nodes(c, 10)


def test_ground_node_and_attach_inputs():
    c = g.square_lattice(2, 2, seed=0)
    grounded = g.ground_node(c, "n1")
    assert "n1" not in grounded.nodes and grounded.num_nodes == 4
    assert np.sum(grounded.resistor_edges == 0) == 2
    driven = g.attach_inputs(grounded, ["n4", "n2"], values=[0.3, -0.2])
    assert driven.vsource_names == ("vin1", "vin2")
    op = solve(driven)
    assert op.voltage("n4") == pytest.approx(0.3) and op.voltage("n2") == pytest.approx(-0.2)


@pytest.mark.parametrize("make", [lambda: g.square_lattice(3, 3, seed=1),
                                  lambda: g.triangular_lattice(3, 4, seed=1),
                                  lambda: g.random_regular(10, 4, seed=1),
                                  lambda: g.delaunay_network(30, 3.2, seed=1)])
def test_written_netlists_parse_back(tmp_path, make):
    net, _, _ = g.learning_network(make(), n_inputs=2, n_outputs=1, seed=3)
    path = tmp_path / "net.cir"
    netlist.write_file(net, path)
    back = netlist.load(path)
    assert back == net
    assert back.resistor_names == net.resistor_names
    assert np.allclose(back.conductance, net.conductance, rtol=1e-15, atol=0)
    assert np.allclose(solve(back).node_voltages[1:].sum(), solve(net).node_voltages[1:].sum())
