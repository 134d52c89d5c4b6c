"""Topology checks: is the DC operating point of a circuit uniquely defined?

A linear R/V/I circuit has a unique DC solution only if

1. no voltage source is shorted (``n+ == n-``) and voltage sources form no loop
   (their graph is a forest), and
2. every node has a DC path to ground through resistors and voltage sources.
   Current sources carry no DC path: a sub-network joined to the rest only by
   current sources (a current-source cut set) has an undefined potential, and a
   node fed only by current sources violates KCL unless the currents cancel.

ngspice "solves" several of these by gmin stepping and prints a guess; we stop and
name the elements, nodes and lines instead.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components

from circuitlearn.circuit import Circuit
from circuitlearn.errors import TopologyError

MAX_LISTED = 8


def _where(circuit: Circuit, name: str) -> str:
    loc = circuit.origins.get(name)
    return f"{loc}: " if loc is not None else ""


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def check_voltage_sources(circuit: Circuit) -> None:
    """Raise :class:`TopologyError` for a shorted voltage source or a loop of them."""
    parent = list(range(circuit.num_nodes))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for s, (name, (a, b)) in enumerate(zip(circuit.vsource_names,
                                          circuit.vsource_edges.tolist(), strict=True)):
        node = circuit.nodes[a]
        if a == b:
            raise TopologyError(f"{_where(circuit, name)}{name}: voltage source is shorted "
                                f"(both terminals on node {node})", (node,), (name,))
        ra, rb = root(a), root(b)
        if ra == rb:
            loop = _source_path(circuit, s, a, b)
            raise TopologyError(
                f"{_where(circuit, name)}{name}: voltage sources {_names(loop)} form a loop "
                f"through nodes {circuit.nodes[a]} and {circuit.nodes[b]}: their KVL either "
                "contradicts itself or leaves the loop current undetermined",
                (circuit.nodes[a], circuit.nodes[b]), tuple(loop))
        parent[ra] = rb


def _source_path(circuit: Circuit, s: int, a: int, b: int) -> list[str]:
    """Names of the voltage sources on the loop closed by source ``s``."""
    edges = circuit.vsource_edges[:s]
    n = circuit.num_nodes
    adj = sp.coo_matrix((np.arange(1, s + 1, dtype=float), (edges[:, 0], edges[:, 1])),
                        shape=(n, n)).tocsr()
    adj = adj + adj.T
    _, pred = breadth_first_order(adj, a, directed=False, return_predecessors=True)
    path, node = [circuit.vsource_names[s]], b
    while node != a and node >= 0:
        prev = pred[node]
        idx = int(adj[prev, node]) - 1
        path.append(circuit.vsource_names[idx])
        node = prev
    return path


def check_dc_paths(circuit: Circuit) -> None:
    """Raise :class:`TopologyError` if some node has no DC path to ground.

    The DC graph has the resistors and voltage sources as edges; every connected
    component must contain ground.
    """
    n = circuit.num_nodes
    edges = np.concatenate([circuit.resistor_edges, circuit.vsource_edges])
    graph = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    floating = np.flatnonzero(label != label[0])
    if floating.size == 0:
        return
    comp = floating[label[floating] == label[floating[0]]]
    in_comp = np.zeros(n, bool)
    in_comp[comp] = True
    nodes = [circuit.nodes[i] for i in comp]
    touching = _elements_touching(circuit, in_comp)
    feeders = [name for name, (a, b) in zip(circuit.isource_names,
                                            circuit.isource_edges.tolist(), strict=True)
               if in_comp[a] != in_comp[b]]
    first = touching[0] if touching else (feeders[0] if feeders else None)
    where = _where(circuit, first) if first else ""
    if not touching:
        msg = (f"{where}node {_names(nodes)} is connected only to current sources "
               f"{_names(feeders)}: no DC path to ground (current-source cut set)")
    elif feeders:
        msg = (f"{where}sub-network of {_names(touching)} (nodes {_names(nodes)}) is joined "
               f"to the rest only through current sources {_names(feeders)}: no DC path "
               "to ground (current-source cut set)")
    else:
        msg = (f"{where}sub-network of {_names(touching)} (nodes {_names(nodes)}) is "
               "floating: no DC path to ground")
    raise TopologyError(msg, tuple(nodes), tuple(touching + feeders))


def _elements_touching(circuit: Circuit, in_comp: np.ndarray) -> list[str]:
    out = []
    for names, edges in ((circuit.resistor_names, circuit.resistor_edges),
                         (circuit.vsource_names, circuit.vsource_edges)):
        hit = in_comp[edges[:, 0]] | in_comp[edges[:, 1]] if len(edges) else np.zeros(0, bool)
        out.extend(names[i] for i in np.flatnonzero(hit))
    return out


def check_topology(circuit: Circuit) -> None:
    """Run every check; raise :class:`TopologyError` on the first problem found."""
    check_voltage_sources(circuit)
    check_dc_paths(circuit)



def source_forest(num_nodes: int, vsource_edges: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
    """Representatives and offset map of the voltage-source forest.

    Parameters
    ----------
    num_nodes : int
        ``N``, ground (index 0) included.
    vsource_edges : ndarray of int, shape (S_v, 2)
        ``(n+, n-)`` of each voltage source; ``V(n+) - V(n-) = s``. Must be a forest.

    Returns
    -------
    rep : ndarray of int, shape (N,)
        Representative node of each node (itself when no source touches it).
    offsets : csr_matrix, shape (N, S_v)
        ``Q`` with ``V_n - V_rep(n) = (Q s_v)_n`` (dimensionless, entries +-1).
    """
    n, s = num_nodes, len(vsource_edges)
    rep = np.arange(n)
    if s == 0:
        return rep, sp.csr_matrix((n, 0))
    a, b = vsource_edges[:, 0], vsource_edges[:, 1]
    graph = sp.coo_matrix((np.ones(s), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    root = np.full(label.max() + 1, n)
    np.minimum.at(root, label, np.arange(n))  # ground (index 0) roots its own tree
    rep = root[label]
    rows = _tree_offsets(n, a.tolist(), b.tolist(), np.unique(rep[np.unique(vsource_edges)]))
    r, c, v = zip(*rows, strict=True) if rows else ((), (), ())
    return rep, sp.csr_matrix((v, (r, c)), shape=(n, s))


def _tree_offsets(n: int, a: list[int], b: list[int], roots: np.ndarray) -> list[tuple]:
    """Breadth-first walk of each source tree: ``(node, source, sign)`` triples of ``Q``.

    Structural, run once per problem (a loop over sources, not over edges).
    """
    adj: dict[int, list[tuple[int, int, float]]] = {}
    for s, (p, m) in enumerate(zip(a, b, strict=True)):
        adj.setdefault(p, []).append((m, s, -1.0))  # V(n-) = V(n+) - s
        adj.setdefault(m, []).append((p, s, +1.0))  # V(n+) = V(n-) + s
    offset: dict[int, dict[int, float]] = {}
    for root in roots.tolist():
        offset[root] = {}
        queue = deque([root])
        while queue:
            node = queue.popleft()
            for other, s, sign in adj.get(node, ()):
                if other not in offset:
                    offset[other] = {**offset[node], s: sign}
                    queue.append(other)
    return [(node, s, sign) for node, terms in offset.items() for s, sign in terms.items()]
