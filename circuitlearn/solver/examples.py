"""Small random learning problems for tests, benchmarks and demonstrations.

Nodes are ``"0"`` (ground) and ``"n1" .. "n{N-1}"``; conductances are drawn
uniformly from ``k_range`` (S). Input sources are named ``vin<j>`` (grounded
voltage), ``vfl<j>`` (floating voltage) and ``iin<j>`` (current); bias sources
``vb<j>`` and ``ib<j>``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.generators import delaunay_edges
from circuitlearn.solver.equilibrium import LearningProblem, make_problem


@dataclass(frozen=True)
class SourceSpec:
    """How many sources of each kind a random circuit gets."""

    v_inputs: int = 2
    floating_inputs: int = 0
    i_inputs: int = 0
    v_bias: int = 0
    i_bias: int = 0


#: Source configurations exercised by the tests: grounded voltage inputs, inputs with
#: constant bias sources, current inputs, and floating voltage inputs.
SOURCE_CASES = {
    "grounded-v": SourceSpec(v_inputs=2),
    "v-bias": SourceSpec(v_inputs=2, v_bias=1, i_bias=1),
    "current": SourceSpec(v_inputs=0, i_inputs=2, v_bias=1),
    "floating": SourceSpec(v_inputs=1, floating_inputs=1, i_inputs=1, i_bias=1),
}


def random_edges(rng: np.random.Generator, num_nodes: int, extra: int) -> np.ndarray:
    """A random connected simple graph: a random spanning tree plus ``extra`` edges."""
    order = rng.permutation(num_nodes)
    parent = order[rng.integers(0, np.arange(1, num_nodes))]
    edges = {tuple(sorted(e)) for e in zip(order[1:].tolist(), parent.tolist(), strict=True)}
    target = len(edges) + min(extra, num_nodes * (num_nodes - 1) // 2 - len(edges))
    while len(edges) < target:
        a, b = rng.choice(num_nodes, 2, replace=False).tolist()
        edges.add((min(a, b), max(a, b)))
    arr = np.array(sorted(edges), np.int64)
    flip = rng.random(len(arr)) < 0.5
    arr[flip] = arr[flip][:, ::-1]
    return arr


def random_circuit(seed: int, num_nodes: int = 12, extra_edges: int = 12,
                   sources: SourceSpec = SourceSpec(),
                   k_range: tuple[float, float] = (0.5, 2.0)) -> Circuit:
    """A random resistor network with the sources of ``sources`` (values ~ U(-1, 1)).

    Grounded voltage sources and floating ones sit on distinct nodes, so that the
    voltage sources never form a loop; current sources connect random node pairs.
    """
    rng = np.random.default_rng(seed)
    edges = random_edges(rng, num_nodes, extra_edges)
    n_v = sources.v_inputs + sources.v_bias
    held = rng.choice(np.arange(1, num_nodes), n_v + 2 * sources.floating_inputs, replace=False)
    v_names = ([f"vin{j + 1}" for j in range(sources.v_inputs)]
               + [f"vb{j + 1}" for j in range(sources.v_bias)]
               + [f"vfl{j + 1}" for j in range(sources.floating_inputs)])
    v_edges = np.vstack([np.c_[held[:n_v], np.zeros(n_v, np.int64)],
                         held[n_v:].reshape(-1, 2)]).astype(np.int64)
    n_i = sources.i_inputs + sources.i_bias
    i_names = ([f"iin{j + 1}" for j in range(sources.i_inputs)]
               + [f"ib{j + 1}" for j in range(sources.i_bias)])
    i_edges = np.array([rng.choice(num_nodes, 2, replace=False) for _ in range(n_i)],
                       np.int64).reshape(-1, 2)
    return Circuit(
        nodes=("0",) + tuple(f"n{i}" for i in range(1, num_nodes)),
        resistor_names=tuple(f"r{i + 1}" for i in range(len(edges))),
        resistor_edges=edges, conductance=rng.uniform(*k_range, len(edges)),
        vsource_names=tuple(v_names), vsource_edges=v_edges,
        vsource_values=rng.uniform(-1, 1, len(v_names)),
        isource_names=tuple(i_names), isource_edges=i_edges,
        isource_values=rng.uniform(-1, 1, n_i), title=f"random network {seed}")


def source_free_nodes(circuit: Circuit) -> np.ndarray:
    """Non-ground nodes touched by no voltage source (candidates for outputs)."""
    touched = np.zeros(circuit.num_nodes, bool)
    touched[circuit.vsource_edges.ravel()] = True
    touched[0] = True
    return np.flatnonzero(~touched)


def random_problem(seed: int, num_nodes: int = 12, extra_edges: int = 12,
                   sources: SourceSpec = SourceSpec(), num_outputs: int = 2,
                   pair_outputs: bool = False, batch: int = 6
                   ) -> tuple[LearningProblem, np.ndarray, np.ndarray, np.ndarray]:
    """A random problem with every non-bias source as an input.

    Returns ``(problem, k, x, y)``: conductances (E,) S, a batch of inputs
    (batch, n_in) and random targets (batch, n_out) ~ U(-1, 1) V.
    """
    circuit = random_circuit(seed, num_nodes, extra_edges, sources)
    rng = np.random.default_rng(seed + 1000)
    cand = rng.permutation(source_free_nodes(circuit))
    names = circuit.nodes
    if pair_outputs:
        outs = [(names[cand[2 * o]], names[cand[2 * o + 1]]) for o in range(num_outputs)]
    else:
        outs = [names[c] for c in cand[:num_outputs]]
    inputs = [n for n in circuit.vsource_names + circuit.isource_names
              if n.startswith(("vin", "vfl", "iin"))]
    problem = make_problem(circuit, inputs, outs)
    x = rng.uniform(-1, 1, (batch, len(inputs)))
    y = rng.uniform(-1, 1, (batch, num_outputs))
    return problem, circuit.conductance.copy(), x, y


def delaunay_problem(seed: int, num_nodes: int = 64, num_inputs: int = 3,
                     num_outputs: int = 2, batch: int = 40
                     ) -> tuple[LearningProblem, np.ndarray, np.ndarray, np.ndarray]:
    """Regression on a Delaunay network of ``num_nodes`` random points in the unit square.

    Node 0 is ground, ``num_inputs`` grounded voltage inputs; the targets are a
    random linear map of the inputs, ``y = A x`` (V).
    """
    rng = np.random.default_rng(seed)
    edges = delaunay_edges(rng.random((num_nodes, 2)))
    held = rng.choice(np.arange(1, num_nodes), num_inputs + num_outputs, replace=False)
    nodes = ("0",) + tuple(f"n{i}" for i in range(1, num_nodes))
    circuit = Circuit(
        nodes=nodes, resistor_names=tuple(f"r{i + 1}" for i in range(len(edges))),
        resistor_edges=edges, conductance=rng.uniform(0.5, 2.0, len(edges)),
        vsource_names=tuple(f"vin{j + 1}" for j in range(num_inputs)),
        vsource_edges=np.c_[held[:num_inputs], np.zeros(num_inputs, np.int64)],
        vsource_values=np.zeros(num_inputs), title=f"delaunay {seed}")
    problem = make_problem(circuit, circuit.vsource_names,
                           [nodes[i] for i in held[num_inputs:]])
    x = rng.uniform(-1, 1, (batch, num_inputs))
    y = x @ rng.uniform(-0.5, 0.5, (num_inputs, num_outputs))
    return problem, circuit.conductance.copy(), x, y
