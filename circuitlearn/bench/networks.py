"""Benchmark networks: 2D square lattices and 3D disordered (pruned Delaunay) networks.

Both are generated with NumPy/SciPy only (no networkx), fast enough for 10^6 edges.
Every network is a learning problem: ``num_inputs`` nodes held by grounded input
voltage sources ``vin<j>``, ``num_outputs`` other nodes read as outputs, node 0
(a network node) is ground. Conductances are uniform in [0.5, 2] S.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.generators import delaunay_edges, lattice_edges, prune_connected
from circuitlearn.solver.equilibrium import LearningProblem, make_problem

KINDS = ("lattice2d", "disordered3d")


@dataclass(frozen=True, eq=False)
class Network:
    """A benchmark learning problem.

    Attributes
    ----------
    kind : str
        ``"lattice2d"`` or ``"disordered3d"``.
    problem : LearningProblem
    k : ndarray, shape (E,)
        Initial conductances (S).
    """

    kind: str
    problem: LearningProblem
    k: np.ndarray

    @property
    def circuit(self) -> Circuit:
        return self.problem.circuit

    @property
    def num_edges(self) -> int:
        return self.problem.num_edges

    @property
    def num_nodes(self) -> int:
        return self.circuit.num_nodes

    def batch(self, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """A random regression batch: ``x`` (size, n_in) ~ U(-1, 1) V and targets
        ``y = x A`` (size, n_out) V for a fixed random ``A``."""
        rng = np.random.default_rng(seed)
        p = self.problem
        a = rng.uniform(-0.5, 0.5, (p.num_inputs, p.num_outputs))
        x = rng.uniform(-1.0, 1.0, (size, p.num_inputs))
        return x, x @ a


def lattice_network_edges(num_edges: int) -> tuple[int, np.ndarray]:
    """Nodes and edges of a square ``n x n`` lattice with about ``num_edges`` edges
    (``2 n (n - 1)``)."""
    n = max(2, round(0.5 + np.sqrt(num_edges / 2.0)))
    return n * n, lattice_edges(n, n)


def disordered_edges(num_edges: int, mean_degree: float = 6.0,
                     seed: int = 0) -> tuple[int, np.ndarray]:
    """Nodes and edges of a 3D disordered network with about ``num_edges`` edges.

    ``N = 2 E / z`` random points in the unit cube are Delaunay-triangulated
    (mean degree about 15.5); random edges are then removed down to ``E``,
    keeping a random spanning tree so that the network stays connected.
    """
    rng = np.random.default_rng(seed)
    n = max(8, round(2.0 * num_edges / mean_degree))
    edges = delaunay_edges(rng.random((n, 3)))
    return n, prune_connected(n, edges, min(len(edges), max(n - 1, num_edges)), rng)


def make_network(kind: str, num_edges: int, *, num_inputs: int = 8, num_outputs: int = 4,
                 seed: int = 0) -> Network:
    """A benchmark :class:`Network` of kind ``"lattice2d"`` or ``"disordered3d"``.

    Node 0 is ground, ``num_inputs`` random nodes carry grounded input sources and
    ``num_outputs`` other random nodes are outputs.
    """
    if kind == "lattice2d":
        n, edges = lattice_network_edges(num_edges)
        # ground in the middle of the lattice: relabel its centre node as node 0
        centre = (int(np.sqrt(n)) // 2) * (int(np.sqrt(n)) + 1)
        relabel = np.arange(n)
        relabel[[0, centre]] = [centre, 0]
        edges = relabel[edges]
    elif kind == "disordered3d":
        n, edges = disordered_edges(num_edges, seed=seed)
    else:
        raise ValueError(f"unknown network kind {kind!r} (known: {', '.join(KINDS)})")
    rng = np.random.default_rng(seed + 1)
    held = rng.choice(np.arange(1, n), num_inputs + num_outputs, replace=False)
    k = rng.uniform(0.5, 2.0, len(edges))
    nodes = ("0",) + tuple(f"n{i}" for i in range(1, n))
    circuit = Circuit(
        nodes=nodes, resistor_names=tuple(f"r{i + 1}" for i in range(len(edges))),
        resistor_edges=edges, conductance=k,
        vsource_names=tuple(f"vin{j + 1}" for j in range(num_inputs)),
        vsource_edges=np.c_[held[:num_inputs], np.zeros(num_inputs, np.int64)],
        vsource_values=np.zeros(num_inputs), title=f"{kind} benchmark, {len(edges)} edges")
    problem = make_problem(circuit, circuit.vsource_names,
                           [nodes[i] for i in held[num_inputs:]])
    return Network(kind, problem, k.copy())
