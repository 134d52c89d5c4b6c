r"""Network generators: lattices, random regular graphs and disordered networks.

Every generator returns a :class:`~circuitlearn.circuit.Circuit` of resistors only,
with nodes ``n1 .. nN`` and the ground node ``"0"`` not yet connected; resistors are
named ``r1 .. rE``. Conductances are drawn independently from the uniform
distribution :math:`k_e \sim U[k_{lo}, k_{hi}]` (S) with a seeded generator.

To make a learning network, ground one node (:func:`ground_node`), attach grounded
voltage sources ``vin1, vin2, ...`` at input nodes (:func:`attach_inputs`) and choose
output nodes; :func:`learning_network` does all three with distinct random nodes.
A circuit can then be written as a SPICE netlist with
``circuitlearn.netlist.write`` (:func:`write_netlist`).

The mean degree of a network with ``N`` nodes and ``E`` edges is
:math:`\langle z \rangle = 2E / N`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.spatial import Delaunay

from circuitlearn.circuit import GROUND, Circuit

Conductance = tuple[float, float]
DEFAULT_CONDUCTANCE: Conductance = (0.5, 1.5)


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return np.random.default_rng(seed)


def sample_conductances(n: int, *, conductance: Conductance = DEFAULT_CONDUCTANCE,
                        seed: int | np.random.Generator | None = None) -> np.ndarray:
    """``n`` conductances uniform in ``[k_lo, k_hi]`` (S), shape (n,)."""
    lo, hi = conductance
    if not 0 < lo <= hi:
        raise ValueError(f"conductance range must satisfy 0 < low <= high, got {conductance}")
    return _rng(seed).uniform(lo, hi, size=n)


def from_edges(num_nodes: int, edges: np.ndarray, k: np.ndarray, title: str = "") -> Circuit:
    """Resistor circuit on nodes ``n1 .. n{num_nodes}`` from 0-based ``edges`` (E, 2)."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    nodes = (GROUND, *(f"n{i + 1}" for i in range(num_nodes)))
    names = tuple(f"r{i + 1}" for i in range(len(edges)))
    return Circuit(nodes=nodes, resistor_names=names, resistor_edges=edges + 1,
                   conductance=k, title=title)


def _build(num_nodes: int, edges: np.ndarray, title: str, conductance: Conductance,
           seed: int | np.random.Generator | None) -> Circuit:
    k = sample_conductances(len(edges), conductance=conductance, seed=seed)
    return from_edges(num_nodes, edges, k, title)


def square_lattice(rows: int, cols: int, *, conductance: Conductance = DEFAULT_CONDUCTANCE,
                   seed: int | np.random.Generator | None = None) -> Circuit:
    """Square lattice of ``rows x cols`` nodes with nearest-neighbour resistors.

    Node ``(i, j)`` is ``n{i * cols + j + 1}``; there are
    ``rows (cols - 1) + cols (rows - 1)`` resistors.
    """
    _check_size(rows, cols)
    idx = np.arange(rows * cols).reshape(rows, cols)
    horiz = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1)
    vert = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1)
    edges = np.concatenate([horiz, vert])
    return _build(rows * cols, edges, f"square lattice {rows}x{cols}", conductance, seed)


def triangular_lattice(rows: int, cols: int, *,
                       conductance: Conductance = DEFAULT_CONDUCTANCE,
                       seed: int | np.random.Generator | None = None) -> Circuit:
    """Triangular lattice: the square lattice plus one diagonal per plaquette.

    Interior nodes have degree 6; node numbering as in :func:`square_lattice`.
    """
    _check_size(rows, cols)
    idx = np.arange(rows * cols).reshape(rows, cols)
    pairs = [(idx[:, :-1], idx[:, 1:]), (idx[:-1, :], idx[1:, :]), (idx[:-1, :-1], idx[1:, 1:])]
    edges = np.concatenate([np.stack([a.ravel(), b.ravel()], axis=1) for a, b in pairs])
    return _build(rows * cols, edges, f"triangular lattice {rows}x{cols}", conductance, seed)


def _check_size(rows: int, cols: int) -> None:
    if rows < 1 or cols < 1 or rows * cols < 2:
        raise ValueError(f"lattice needs at least 2 nodes, got {rows}x{cols}")


def random_regular(nodes: int, degree: int, *, conductance: Conductance = DEFAULT_CONDUCTANCE,
                   seed: int | np.random.Generator | None = None,
                   max_tries: int = 100) -> Circuit:
    """Connected random ``degree``-regular graph on ``nodes`` nodes.

    Drawn with :func:`networkx.random_regular_graph`, redrawn until connected.
    ``nodes * degree`` must be even and ``degree < nodes``.
    """
    if degree < 1 or degree >= nodes or (nodes * degree) % 2:
        raise ValueError(f"no {degree}-regular graph on {nodes} nodes")
    rng = _rng(seed)
    for _ in range(max_tries):
        g = nx.random_regular_graph(degree, nodes, seed=int(rng.integers(2**31)))
        if nx.is_connected(g):
            edges = np.array(sorted(tuple(sorted(e)) for e in g.edges()))
            return _build(nodes, edges, f"random {degree}-regular graph, {nodes} nodes",
                          conductance, rng)
    raise ValueError(f"no connected {degree}-regular graph on {nodes} nodes found")


def delaunay_edges(points: np.ndarray) -> np.ndarray:
    """Sorted unique edges ``(i, j)``, ``i < j``, of the Delaunay triangulation."""
    tri = Delaunay(points)
    s = tri.simplices
    e = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    return np.unique(np.sort(e, axis=1), axis=0)


def prune_connected(num_nodes: int, edges: np.ndarray, keep: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Remove random edges, keeping ``keep`` of them and the graph connected.

    A random spanning tree (minimum spanning tree under i.i.d. uniform weights) is
    always kept; the other ``keep - (N - 1)`` edges are a uniform random subset of
    the rest. Returns the kept edges in their original order.
    """
    if not num_nodes - 1 <= keep <= len(edges):
        raise ValueError(f"cannot keep {keep} of {len(edges)} edges connected on "
                         f"{num_nodes} nodes (need between {num_nodes - 1} and {len(edges)})")
    g = nx.Graph()
    g.add_nodes_from(range(num_nodes))
    weights = rng.random(len(edges))
    for i, ((a, b), w) in enumerate(zip(edges.tolist(), weights, strict=True)):
        g.add_edge(a, b, weight=w, index=i)
    tree = {d["index"] for _, _, d in nx.minimum_spanning_edges(g, data=True)}
    rest = np.array(sorted(set(range(len(edges))) - tree), dtype=np.int64)
    extra = rng.choice(rest, size=keep - len(tree), replace=False) if len(rest) else rest
    kept = np.sort(np.concatenate([np.array(sorted(tree), dtype=np.int64), extra]))
    return edges[kept]


def delaunay_network(nodes: int, mean_degree: float, *,
                     conductance: Conductance = DEFAULT_CONDUCTANCE,
                     seed: int | np.random.Generator | None = None) -> Circuit:
    r"""Disordered network: pruned Delaunay triangulation of random points.

    ``nodes`` points uniform in the unit square are triangulated; Delaunay edges
    are then removed at random, keeping the graph connected
    (:func:`prune_connected`), until :math:`E = \mathrm{round}(z N / 2)` remain
    for the requested mean degree ``z`` (at least 2 (N - 1) / N, at most the
    triangulation's, about 6).
    """
    if nodes < 3:
        raise ValueError("a Delaunay network needs at least 3 nodes")
    rng = _rng(seed)
    edges = delaunay_edges(rng.random((nodes, 2)))
    keep = round(mean_degree * nodes / 2)
    if not nodes - 1 <= keep <= len(edges):
        raise ValueError(f"mean degree {mean_degree} is out of reach for {nodes} nodes "
                         f"(between {2 * (nodes - 1) / nodes:.3f} and "
                         f"{2 * len(edges) / nodes:.3f})")
    kept = prune_connected(nodes, edges, keep, rng)
    return _build(nodes, kept, f"disordered network, {nodes} nodes, mean degree "
                  f"{2 * len(kept) / nodes:.3f}", conductance, rng)


# ---------------------------------------------------------------- inspection
def _graph(circuit: Circuit, include_ground: bool) -> nx.Graph:
    g = nx.Graph()
    nodes = range(circuit.num_nodes) if include_ground else range(1, circuit.num_nodes)
    g.add_nodes_from(nodes)
    g.add_edges_from(circuit.resistor_edges.tolist())
    return g


def is_connected(circuit: Circuit) -> bool:
    """True if the resistors connect all nodes (ground included once it is used)."""
    used_ground = bool(np.any(circuit.resistor_edges == 0) or np.any(circuit.vsource_edges == 0))
    return nx.is_connected(_graph(circuit, used_ground))


def mean_degree(circuit: Circuit) -> float:
    """Mean resistor degree :math:`2E/N` over the nodes that resistors touch."""
    used = np.unique(circuit.resistor_edges)
    return 2 * circuit.num_resistors / len(used)


# ----------------------------------------------------- learning-network helpers
def pick_nodes(circuit: Circuit, n: int, *, seed: int | np.random.Generator | None = None,
               exclude: Sequence[str] = ()) -> list[str]:
    """``n`` distinct random node names, never ground nor one in ``exclude``."""
    banned = {circuit.node_index(x) for x in exclude} | {0}
    pool = [i for i in range(circuit.num_nodes) if i not in banned]
    if n > len(pool):
        raise ValueError(f"cannot pick {n} distinct nodes out of {len(pool)}")
    picked = _rng(seed).choice(pool, size=n, replace=False)
    return [circuit.nodes[i] for i in picked]


def ground_node(circuit: Circuit, node: str) -> Circuit:
    """Merge ``node`` into ground ``"0"`` (its elements now end at ground)."""
    g = circuit.node_index(node)
    if g == 0:
        return circuit
    remap = np.arange(circuit.num_nodes)
    remap[g] = 0
    remap[g + 1:] -= 1
    nodes = tuple(n for i, n in enumerate(circuit.nodes) if i != g)
    return Circuit(nodes=nodes, resistor_names=circuit.resistor_names,
                   resistor_edges=remap[circuit.resistor_edges],
                   conductance=circuit.conductance, vsource_names=circuit.vsource_names,
                   vsource_edges=remap[circuit.vsource_edges],
                   vsource_values=circuit.vsource_values, isource_names=circuit.isource_names,
                   isource_edges=remap[circuit.isource_edges],
                   isource_values=circuit.isource_values, title=circuit.title)


def attach_inputs(circuit: Circuit, nodes: Sequence[str], *, values: float | Sequence[float] = 1.0,
                  prefix: str = "vin") -> Circuit:
    """Add grounded voltage sources ``{prefix}1, {prefix}2, ...`` (V) at ``nodes``.

    Source ``i`` imposes ``V(nodes[i]) - V(0) = values[i]``.
    """
    idx = [circuit.node_index(n) for n in nodes]
    vals = np.broadcast_to(np.asarray(values, float), (len(idx),))
    start = len(circuit.vsource_names)
    names = tuple(f"{prefix}{start + i + 1}" for i in range(len(idx)))
    edges = np.array([[i, 0] for i in idx], dtype=np.int64).reshape(-1, 2)
    return Circuit(nodes=circuit.nodes, resistor_names=circuit.resistor_names,
                   resistor_edges=circuit.resistor_edges, conductance=circuit.conductance,
                   vsource_names=circuit.vsource_names + names,
                   vsource_edges=np.concatenate([circuit.vsource_edges, edges]),
                   vsource_values=np.concatenate([circuit.vsource_values, vals]),
                   isource_names=circuit.isource_names, isource_edges=circuit.isource_edges,
                   isource_values=circuit.isource_values, title=circuit.title)


def learning_network(circuit: Circuit, *, n_inputs: int, n_outputs: int,
                     pairs: bool = False, input_voltage: float = 1.0,
                     seed: int | np.random.Generator | None = None,
                     ) -> tuple[Circuit, list[str], list[str] | list[tuple[str, str]]]:
    """Ground a random node, drive ``n_inputs`` others and choose outputs.

    All chosen nodes are distinct. Returns ``(circuit, inputs, outputs)`` where
    ``inputs`` are the source names ``vin1 ..`` (each set to ``input_voltage``
    volts) and ``outputs`` are node names, or ``(a, b)`` node pairs when ``pairs``
    (output ``V(a) - V(b)``).
    """
    rng = _rng(seed)
    per_output = 2 if pairs else 1
    chosen = pick_nodes(circuit, 1 + n_inputs + per_output * n_outputs, seed=rng)
    ground, ins, outs = chosen[0], chosen[1:1 + n_inputs], chosen[1 + n_inputs:]
    net = attach_inputs(ground_node(circuit, ground), ins, values=input_voltage)
    names = list(net.vsource_names[-n_inputs:]) if n_inputs else []
    if pairs:
        return net, names, [(outs[2 * i], outs[2 * i + 1]) for i in range(n_outputs)]
    return net, names, outs


def write_netlist(circuit: Circuit, path: str | Path) -> Path:
    """Write ``circuit`` as a SPICE netlist (``circuitlearn.netlist.write_file``)."""
    from circuitlearn import netlist

    netlist.write_file(circuit, path)
    return Path(path)
