"""Kirchhoff's laws, Tellegen's theorem and Laplacian structure on random networks."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from circuitlearn.circuit import Circuit
from circuitlearn.solver.dc import _solve_mna, solve
from circuitlearn.solver.laplacian import BlockLaplacian, incidence_matrix, laplacian


def random_circuit(seed: int, n: int, extra_edges: int, n_v: int, n_i: int,
                   floating_v: bool = False) -> Circuit:
    """Connected random network: a random tree plus extra edges, with sources."""
    rng = np.random.default_rng(seed)
    tree = nx.random_labeled_tree(n, seed=seed)
    edges = list(tree.edges()) + [tuple(rng.choice(n, 2, replace=False))
                                  for _ in range(extra_edges)]
    k = 10 ** rng.uniform(-3, 1, len(edges))
    v_nodes = rng.choice(np.arange(1, n), size=n_v, replace=False)
    v_edges = [(a, int(rng.choice(np.setdiff1d(np.arange(1, n), v_nodes))) if floating_v
                else 0) for a in v_nodes]
    i_edges = [tuple(rng.choice(n, 2, replace=False)) for _ in range(n_i)]
    return Circuit(
        nodes=("0",) + tuple(f"n{i}" for i in range(1, n)),
        resistor_names=tuple(f"r{i}" for i in range(len(edges))), resistor_edges=edges,
        conductance=k, vsource_names=tuple(f"v{i}" for i in range(n_v)),
        vsource_edges=np.array(v_edges).reshape(-1, 2), vsource_values=rng.normal(0, 5, n_v),
        isource_names=tuple(f"i{i}" for i in range(n_i)),
        isource_edges=np.array(i_edges).reshape(-1, 2), isource_values=rng.normal(0, 1e-2, n_i))


circuits = st.builds(random_circuit, seed=st.integers(0, 2**31), n=st.integers(2, 40),
                     extra_edges=st.integers(0, 60), n_v=st.integers(0, 1),
                     n_i=st.integers(0, 4))


def delivered_power(op) -> float:
    """Power delivered by all sources (W)."""
    c, v = op.circuit, op.node_voltages
    p_v = -np.dot(op.source_currents, c.vsource_values)
    e = c.isource_edges
    p_i = np.dot(c.isource_values, v[e[:, 1]] - v[e[:, 0]]) if len(e) else 0.0
    return p_v + p_i


@settings(max_examples=60, deadline=None)
@given(circuits)
def test_kcl_residual_vanishes(circuit):
    op = solve(circuit)
    scale = max(1.0, np.abs(op.resistor_currents()).max(initial=0.0))
    assert np.abs(op.kcl_residual()).max(initial=0.0) < 1e-10 * scale


@settings(max_examples=60, deadline=None)
@given(circuits)
def test_tellegen_power_balance(circuit):
    op = solve(circuit)
    absorbed = op.resistor_power().sum()
    assert abs(absorbed - delivered_power(op)) <= 1e-10 * max(1.0, abs(absorbed))


@settings(max_examples=40, deadline=None)
@given(circuits)
def test_fast_path_agrees_with_modified_nodal_analysis(circuit):
    fast, mna = solve(circuit), _solve_mna(circuit)
    assert fast.method == "reduced" and mna.method == "mna"  # two independent paths
    assert np.allclose(fast.node_voltages, mna.node_voltages, rtol=1e-9, atol=1e-9)
    assert np.allclose(fast.source_currents, mna.source_currents, rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(3, 30))
def test_floating_sources_satisfy_kvl_and_kcl(seed, n):
    circuit = random_circuit(seed, n, n, n_v=1, n_i=2, floating_v=True)
    op = solve(circuit)
    a, b = circuit.vsource_edges[0]
    kvl = op.node_voltages[a] - op.node_voltages[b] - circuit.vsource_values[0]
    assert abs(kvl) < 1e-10 * max(1.0, np.abs(op.node_voltages).max())
    assert np.abs(op.kcl_residual()).max() < 1e-10 * max(1, np.abs(op.resistor_currents()).max())


@settings(max_examples=40, deadline=None)
@given(circuits)
def test_laplacian_is_symmetric_with_zero_row_sums(circuit):
    lap = laplacian(circuit.resistor_edges, circuit.conductance, circuit.num_nodes).toarray()
    assert np.array_equal(lap, lap.T)
    assert np.abs(lap.sum(axis=1)).max() < 1e-12 * max(1, np.abs(lap).max())
    b = incidence_matrix(circuit.resistor_edges, circuit.num_nodes).toarray()
    assert np.allclose(lap, b.T @ np.diag(circuit.conductance) @ b, rtol=0, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(circuits, st.integers(0, 2**31))
def test_block_laplacian_matches_dense_blocks_after_update(circuit, seed):
    fixed = np.unique(np.concatenate([[0], circuit.vsource_edges.ravel()])).astype(int)
    blocks = BlockLaplacian(circuit.resistor_edges, circuit.num_nodes, fixed)
    k2 = np.random.default_rng(seed).uniform(0.1, 2.0, circuit.num_resistors)
    for k in (circuit.conductance, k2):
        lap = laplacian(circuit.resistor_edges, k, circuit.num_nodes).toarray()
        assert np.allclose(blocks.ff(k).toarray(), lap[np.ix_(blocks.free, blocks.free)])
        assert np.allclose(blocks.fd(k).toarray(), lap[np.ix_(blocks.free, blocks.fixed)])
