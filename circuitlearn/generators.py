r"""Network generators: lattices, random regular graphs and disordered networks.

Every generator returns a :class:`~circuitlearn.circuit.Circuit` of resistors only,
with nodes ``n1 .. nN`` and the ground node ``"0"`` not yet connected; resistors are
named ``r1 .. rE``. Conductances are drawn independently from the uniform
distribution :math:`k_e \sim U[k_{lo}, k_{hi}]` (S) with a seeded generator.

To make a learning network, ground one node (:func:`ground_node`), attach grounded
voltage sources ``vin1, vin2, ...`` at input nodes (:func:`attach_inputs`) and choose
output nodes; :func:`learning_network` does all three with distinct random nodes.
``circuitlearn.netlist.write_file`` writes the result as a SPICE netlist.

The mean degree of a network with ``N`` nodes and ``E`` edges is
:math:`\langle z \rangle = 2E / N`.

Edges come from one set of builders shared by every caller (the generators, the
benchmark networks and the test problems): :func:`lattice_edges`,
:func:`delaunay_edges` (2D or 3D points) and :func:`prune_connected`. The
generators are declared once in :data:`GENERATORS` (name, parameters, ranges).

>>> c = square_lattice(3, 4, seed=0)
>>> c.num_nodes, c.num_resistors
(13, 17)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from circuitlearn.circuit import GROUND, Circuit
from circuitlearn.registry import Param, Registry, at_least, positive, positive_range

Conductance = tuple[float, float]
Seed = int | np.random.Generator | None


# ------------------------------------------------------------------ edge builders
def lattice_edges(rows: int, cols: int, *, diagonals: bool = False) -> np.ndarray:
    """Nearest-neighbour edges ``(i, j)`` of a ``rows x cols`` lattice, node ``(r, c)``
    numbered ``r * cols + c``: horizontal, then vertical, then (``diagonals``) one
    diagonal per plaquette (a triangular lattice)."""
    idx = np.arange(rows * cols).reshape(rows, cols)
    pairs = [(idx[:, :-1], idx[:, 1:]), (idx[:-1, :], idx[1:, :])]
    if diagonals:
        pairs.append((idx[:-1, :-1], idx[1:, 1:]))
    return np.concatenate([np.stack([a.ravel(), b.ravel()], axis=1) for a, b in pairs]
                          ).astype(np.int64)


def delaunay_edges(points: np.ndarray) -> np.ndarray:
    """Sorted unique edges ``(i, j)``, ``i < j``, of the Delaunay triangulation of
    ``points`` (n, d), d = 2 (triangles) or 3 (tetrahedra)."""
    from scipy.spatial import Delaunay

    s = Delaunay(points).simplices
    d = s.shape[1]
    pairs = np.concatenate([s[:, [i, j]] for i in range(d) for j in range(i + 1, d)])
    return np.unique(np.sort(pairs, axis=1).astype(np.int64), axis=0)


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
    weights = rng.random(len(edges)) + 1e-3  # positive: a stored zero would drop the edge
    lo, hi = np.minimum(edges[:, 0], edges[:, 1]), np.maximum(edges[:, 0], edges[:, 1])
    tree = minimum_spanning_tree(sp.csr_matrix((weights, (lo, hi)),
                                               shape=(num_nodes, num_nodes))).tocoo()
    key = lo * num_nodes + hi
    order = np.argsort(key, kind="stable")
    tree_key = (np.minimum(tree.row, tree.col).astype(np.int64) * num_nodes
                + np.maximum(tree.row, tree.col))
    in_tree = np.zeros(len(edges), bool)
    in_tree[order[np.searchsorted(key[order], tree_key)]] = True
    if in_tree.sum() != num_nodes - 1:
        raise ValueError(f"the {len(edges)} edges do not connect all {num_nodes} nodes")
    rest = np.flatnonzero(~in_tree)
    extra = rng.choice(rest, size=keep - num_nodes + 1, replace=False) if len(rest) else rest
    return edges[np.sort(np.concatenate([np.flatnonzero(in_tree), extra]))]


# -------------------------------------------------------------------- networks
def sample_conductances(n: int, *, conductance: Conductance, seed: Seed) -> np.ndarray:
    """``n`` conductances uniform in ``[k_lo, k_hi]`` (S), shape (n,)."""
    lo, hi = conductance
    return np.random.default_rng(seed).uniform(lo, hi, size=n)


def from_edges(num_nodes: int, edges: np.ndarray, k: np.ndarray, title: str = "") -> Circuit:
    """Resistor circuit on nodes ``n1 .. n{num_nodes}`` from 0-based ``edges`` (E, 2)."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    nodes = (GROUND, *(f"n{i + 1}" for i in range(num_nodes)))
    names = tuple(f"r{i + 1}" for i in range(len(edges)))
    return Circuit(nodes=nodes, resistor_names=names, resistor_edges=edges + 1,
                   conductance=k, title=title)


def _lattice(diagonals: bool):
    def build(rows: int, cols: int, *, conductance: Conductance, seed: Seed) -> Circuit:
        if rows * cols < 2:
            raise ValueError(f"lattice needs at least 2 nodes, got {rows}x{cols}")
        edges = lattice_edges(rows, cols, diagonals=diagonals)
        k = sample_conductances(len(edges), conductance=conductance, seed=seed)
        kind = "triangular" if diagonals else "square"
        return from_edges(rows * cols, edges, k, f"{kind} lattice {rows}x{cols}")
    return build


def _random_regular(nodes: int, degree: int, *, conductance: Conductance, seed: Seed,
                    max_tries: int = 100) -> Circuit:
    import networkx as nx

    if degree >= nodes or (nodes * degree) % 2:
        raise ValueError(f"no {degree}-regular graph on {nodes} nodes")
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        g = nx.random_regular_graph(degree, nodes, seed=int(rng.integers(2**31)))
        if nx.is_connected(g):
            edges = np.array(sorted(tuple(sorted(e)) for e in g.edges()))
            k = sample_conductances(len(edges), conductance=conductance, seed=rng)
            return from_edges(nodes, edges, k, f"random {degree}-regular graph, {nodes} nodes")
    raise ValueError(f"no connected {degree}-regular graph on {nodes} nodes found")


def _delaunay(nodes: int, mean_degree: float, *, conductance: Conductance, seed: Seed,
              dimension: int) -> Circuit:
    if nodes < dimension + 1:
        raise ValueError(f"a {dimension}D Delaunay network needs at least {dimension + 1} nodes")
    rng = np.random.default_rng(seed)
    edges = delaunay_edges(_points(rng, nodes, dimension))
    keep = round(mean_degree * nodes / 2)
    if not nodes - 1 <= keep <= len(edges):
        raise ValueError(f"mean degree {mean_degree} is out of reach for {nodes} nodes "
                         f"(between {2 * (nodes - 1) / nodes:.3f} and "
                         f"{2 * len(edges) / nodes:.3f})")
    kept = prune_connected(nodes, edges, keep, rng)
    k = sample_conductances(len(kept), conductance=conductance, seed=rng)
    return from_edges(nodes, kept, k, f"disordered network, {nodes} nodes, mean degree "
                      f"{2 * len(kept) / nodes:.3f}")


def _points(rng: np.random.Generator, nodes: int, dimension: int) -> np.ndarray:
    """The random points of a Delaunay network: the first draw of its generator."""
    return rng.random((nodes, dimension))


def _two_or_three(d: int) -> str | None:
    return None if d in (2, 3) else f"must be 2 or 3, got {d}"


_COMMON = (Param("conductance", "range", [0.5, 1.5], check=positive_range,
                 doc="uniform initial conductances [low, high] (S)"),
           Param("seed", "int", 0, check=at_least(0), doc="random seed"))
_SIZE = (Param("rows", "int", check=at_least(1), doc="lattice rows (nodes)"),
         Param("cols", "int", check=at_least(1), doc="lattice columns (nodes)"))

GENERATORS = Registry("network generator")
GENERATORS.add("square", _lattice(False), *_SIZE, *_COMMON,
               doc="square lattice, nearest neighbours")
GENERATORS.add("triangular", _lattice(True), *_SIZE, *_COMMON,
               doc="square lattice plus one diagonal per plaquette")
GENERATORS.add("random_regular", _random_regular,
               Param("nodes", "int", check=at_least(2), doc="node count"),
               Param("degree", "int", check=at_least(1), doc="degree of every node"),
               *_COMMON, doc="connected random regular graph")
GENERATORS.add("delaunay", _delaunay,
               Param("nodes", "int", check=at_least(3), doc="node count"),
               Param("mean_degree", check=positive, doc="2E/N after pruning"),
               Param("dimension", "int", 2, check=_two_or_three,
                     doc="random points in the unit square (2) or cube (3)"),
               *_COMMON, doc="pruned Delaunay triangulation of random points")


def generate(name: str, **params: Any) -> Circuit:
    """The network of generator ``name`` of :data:`GENERATORS`, ``params`` checked there."""
    return GENERATORS.build(name, **params)


def square_lattice(rows: int, cols: int, **params: Any) -> Circuit:
    """Square lattice of ``rows x cols`` nodes; node ``(i, j)`` is ``n{i * cols + j + 1}``;
    ``rows (cols - 1) + cols (rows - 1)`` resistors. Options ``conductance``, ``seed``."""
    return generate("square", rows=rows, cols=cols, **params)


def triangular_lattice(rows: int, cols: int, **params: Any) -> Circuit:
    """Triangular lattice: the square lattice plus one diagonal per plaquette
    (interior degree 6). Options ``conductance``, ``seed``."""
    return generate("triangular", rows=rows, cols=cols, **params)


def random_regular(nodes: int, degree: int, **params: Any) -> Circuit:
    """Connected random ``degree``-regular graph (networkx), redrawn until connected;
    ``nodes * degree`` even, ``degree < nodes``. Options ``conductance``, ``seed``."""
    return generate("random_regular", nodes=nodes, degree=degree, **params)


def delaunay_network(nodes: int, mean_degree: float, **params: Any) -> Circuit:
    r"""Disordered network: pruned Delaunay triangulation of ``nodes`` random points
    in the unit square (``dimension=3``: cube); edges are removed at random keeping
    the graph connected (:func:`prune_connected`) until
    :math:`E = \mathrm{round}(z N / 2)` remain. Options ``conductance``, ``seed``."""
    return generate("delaunay", nodes=nodes, mean_degree=mean_degree, **params)


def node_positions(name: str, **params: Any) -> np.ndarray | None:
    """Coordinates (N, d) of the nodes ``n1 .. nN`` that generator ``name`` places
    with ``params``: lattice node ``(r, c)`` at ``(c, -r)``, Delaunay nodes at their
    random points; None for random regular graphs (no geometry).

    >>> node_positions("square", rows=2, cols=2).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, -1.0], [1.0, -1.0]]
    """
    p = GENERATORS.resolve(name, params)
    name = GENERATORS.entry(name).name
    if name in ("square", "triangular"):
        r, c = np.divmod(np.arange(p["rows"] * p["cols"]), p["cols"])
        return np.stack([c, -r], axis=1).astype(float)
    if name == "delaunay":
        return _points(np.random.default_rng(p["seed"]), p["nodes"], p["dimension"])
    return None


# ---------------------------------------------------------------- inspection
def is_connected(circuit: Circuit) -> bool:
    """True if the resistors connect all nodes (ground included once it is used)."""
    used_ground = bool(np.any(circuit.resistor_edges == 0) or np.any(circuit.vsource_edges == 0))
    n, e = circuit.num_nodes, circuit.resistor_edges
    _, label = connected_components(
        sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)), directed=False)
    nodes = label if used_ground else label[1:]
    return bool(len(nodes) and np.all(nodes == nodes[0]))


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
    picked = np.random.default_rng(seed).choice(pool, size=n, replace=False)
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
    rng = np.random.default_rng(seed)
    per_output = 2 if pairs else 1
    chosen = pick_nodes(circuit, 1 + n_inputs + per_output * n_outputs, seed=rng)
    ground, ins, outs = chosen[0], chosen[1:1 + n_inputs], chosen[1 + n_inputs:]
    net = attach_inputs(ground_node(circuit, ground), ins, values=input_voltage)
    names = list(net.vsource_names[-n_inputs:]) if n_inputs else []
    if pairs:
        return net, names, [(outs[2 * i], outs[2 * i + 1]) for i in range(n_outputs)]
    return net, names, outs
