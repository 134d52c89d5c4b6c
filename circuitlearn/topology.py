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

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components

from .circuit import Circuit
from .errors import TopologyError

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


def grounded_source_potentials(circuit: Circuit) -> dict[int, float] | None:
    """Potentials fixed by voltage sources connected (through other sources) to ground.

    Returns ``{node index: volts}`` (ground included) when every voltage source lies
    in a source tree rooted at ground, so that those nodes are Dirichlet nodes of
    the grounded Laplacian; returns ``None`` when some source floats (then modified
    nodal analysis is needed). Assumes :func:`check_voltage_sources` passed.
    """
    fixed = {0: 0.0}
    pending = list(zip(circuit.vsource_edges.tolist(), circuit.vsource_values.tolist(),
                       strict=True))
    while pending:
        rest = []
        for (a, b), value in pending:
            if b in fixed:
                fixed[a] = fixed[b] + value
            elif a in fixed:
                fixed[b] = fixed[a] - value
            else:
                rest.append(((a, b), value))
        if len(rest) == len(pending):
            return None
        pending = rest
    return fixed
