"""Where the nodes of a network are drawn: known coordinates, else a fixed layout.

Coordinates come, in this order, from

* the netlist: comment lines ``* pos NODE x y [z]`` (any units; ngspice and every
  SPICE reader skip them). ``netlists/make_examples.py`` writes them for the
  bundled networks, and runs copy them into ``trained.cir`` and ``best.cir``;
* the generator of a ``[network] generator`` experiment
  (:func:`circuitlearn.generators.node_positions`): the lattice sites or the
  random points of a Delaunay network (the grounded node keeps its point).

Nodes without coordinates get a deterministic layout: networkx's Kamada-Kawai
layout of the resistor graph, started from a planar embedding when there is one,
or a seeded spring layout above 300 nodes, with the known nodes pinned (sources
are not edges of that graph, so a bridge is drawn as a diamond). Three-dimensional
points are drawn by their ``x, y``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from circuitlearn import generators
from circuitlearn.circuit import GROUND, Circuit
from circuitlearn.training.experiment import LEARNING_NETWORK, Experiment

Positions = dict[str, tuple[float, ...]]
_POS = re.compile(r"^\*\s*pos\s+(\S+)((?:\s+[-+0-9.eE]+){2,3})\s*$", re.IGNORECASE)


def netlist_positions(text: str) -> Positions:
    """Node coordinates from ``* pos NODE x y [z]`` comment lines of a netlist.

    >>> netlist_positions("title\\n* pos n1 0 1.5\\nR1 n1 0 1k\\n")
    {'n1': (0.0, 1.5)}
    """
    out: Positions = {}
    for line in text.splitlines():
        m = _POS.match(line.strip())
        if m:
            try:
                out[m.group(1).lower()] = tuple(float(v) for v in m.group(2).split())
            except ValueError:
                continue
    return out


def position_lines(positions: Positions) -> list[str]:
    """``* pos`` comment lines for ``positions`` (:func:`netlist_positions` reads them)."""
    return [f"* pos {node} " + " ".join(f"{v:.6g}" for v in xy)
            for node, xy in positions.items()]


def generated_positions(name: str, params: dict, circuit: Circuit) -> Positions:
    """Coordinates of a generated network's nodes (the ground gets the point of the
    node that :func:`~circuitlearn.generators.learning_network` grounded)."""
    learning = {p.name for p in LEARNING_NETWORK}
    points = generators.node_positions(name, **{k: v for k, v in params.items()
                                                 if k not in learning})
    if points is None:
        return {}
    named = {f"n{i + 1}": tuple(float(v) for v in p) for i, p in enumerate(points)}
    present = set(circuit.nodes)
    grounded = [n for n in named if n not in present]
    out = {n: xy for n, xy in named.items() if n in present}
    if len(grounded) == 1:
        out[GROUND] = named[grounded[0]]
    return out


def experiment_positions(exp: Experiment, circuit: Circuit) -> Positions:
    """Known coordinates of an experiment's network (netlist comments or generator)."""
    net = exp.network
    if net.netlist is not None:
        try:
            return netlist_positions(Path(net.netlist).read_text(errors="replace"))
        except OSError:
            return {}
    if net.generator is not None:
        return generated_positions(net.generator, dict(net.params), circuit)
    return {}


def layout(circuit: Circuit, known: Positions | None = None) -> np.ndarray:
    """2-D coordinates (N, 2) of every node of ``circuit``, ``known`` ones kept."""
    known = known or {}
    n = circuit.num_nodes
    xy = np.full((n, 2), np.nan)
    for i, name in enumerate(circuit.nodes):
        if name in known:
            xy[i] = known[name][:2]
    missing = np.isnan(xy[:, 0])
    if missing.any():
        xy[missing] = _fallback(circuit, xy)[missing]
    return xy


def _fallback(circuit: Circuit, xy: np.ndarray) -> np.ndarray:
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(circuit.num_nodes))
    g.add_edges_from(map(tuple, circuit.resistor_edges.tolist()))
    fixed = [i for i in range(len(xy)) if not np.isnan(xy[i, 0])]
    if fixed:
        pos = nx.spring_layout(g, pos={i: xy[i] for i in fixed}, fixed=fixed, seed=0)
    elif len(xy) <= 300:
        start = nx.planar_layout(g) if nx.check_planarity(g)[0] else None
        pos = nx.kamada_kawai_layout(g, pos=start)
    else:
        pos = nx.spring_layout(g, seed=0)
    return np.array([pos[i] for i in range(len(xy))], float)
