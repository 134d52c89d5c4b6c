"""Learning problems: a circuit with named input sources, outputs and trainable edges.

Re-exported by :mod:`circuitlearn.equilibrium`, which solves their states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.errors import ProblemError
from circuitlearn.solver.structure import ProblemStructure
from circuitlearn.solver.topology import check_topology


@dataclass(frozen=True, eq=False)
class LearningProblem:
    """A circuit with named inputs, outputs and trainable edges.

    Attributes
    ----------
    circuit : Circuit
    inputs : tuple of str
        Input source names (lower case), V or I sources; column ``j`` of ``x`` is
        the value of ``inputs[j]`` (V or A).
    outputs : tuple of (int, int)
        ``(node+, node-)`` index pairs; ``node- == 0`` for a single-node output.
    output_names : tuple of str
        ``"a"`` for a node output, ``"a,b"`` for a difference ``V(a) - V(b)``.
    trainable : ndarray of bool, shape (E,)
        Edges whose conductance learns.
    voltage_driven : bool
        All inputs are voltage sources and there is no current source: then
        ``V(c k) = V(k)`` for ``c > 0`` and ``k . dL/dk = 0``.
    """

    circuit: Circuit
    inputs: tuple[str, ...]
    outputs: tuple[tuple[int, int], ...]
    output_names: tuple[str, ...]
    trainable: np.ndarray
    voltage_driven: bool

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    @property
    def num_edges(self) -> int:
        return self.circuit.num_resistors

    def with_inputs(self, x: np.ndarray) -> Circuit:
        """The circuit with input sources set to one example ``x`` (n_in,), V or A."""
        x = np.asarray(x, float).reshape(-1)
        if x.shape != (self.num_inputs,):
            raise ProblemError(f"one example needs {self.num_inputs} input values")
        c = self.circuit
        v, i = c.vsource_values.copy(), c.isource_values.copy()
        for name, value in zip(self.inputs, x, strict=True):
            if name in c.vsource_names:
                v[c.vsource_names.index(name)] = value
            else:
                i[c.isource_names.index(name)] = value
        return c.with_sources(v, i)

    @property
    def structure(self) -> ProblemStructure:
        """Conductance-independent matrices, built on first use and cached."""
        cached = self.__dict__.get("_structure")
        if cached is None:
            cached = ProblemStructure.build(self.circuit, self.inputs, self.outputs)
            object.__setattr__(self, "_structure", cached)
        return cached


def make_problem(circuit: Circuit, inputs: Sequence[str],
                 outputs: Sequence[str | tuple[str, str]],
                 trainable: np.ndarray | None = None) -> LearningProblem:
    """Build and validate a :class:`LearningProblem`.

    Parameters
    ----------
    circuit : Circuit
        Any topologically valid R/V/I circuit (floating voltage sources allowed).
    inputs : sequence of str
        Names of the input sources (case-insensitive).
    outputs : sequence of str or (str, str)
        Output node names, or ``(node+, node-)`` pairs for ``V(node+) - V(node-)``.
    trainable : ndarray of bool, shape (E,), optional
        Default: every edge.

    Raises
    ------
    ProblemError
        Unknown or repeated source, unknown node, an output fixed by voltage sources
        or outputs that cannot be clamped independently, a bad ``trainable`` mask.
    TopologyError
        If the circuit has no unique operating point.

    Examples
    --------
    >>> from circuitlearn.netlist import load
    >>> problem = make_problem(load("netlists/bridge.cir"), ["vs"], ["a", ("a", "b")])
    >>> problem.inputs, problem.output_names, problem.voltage_driven
    (('vs',), ('a', 'a,b'), True)
    """
    check_topology(circuit)
    names = tuple(_input_names(circuit, inputs))
    pairs, out_names = _output_pairs(circuit, outputs)
    mask = np.ones(circuit.num_resistors, bool) if trainable is None else np.asarray(trainable)
    if mask.shape != (circuit.num_resistors,) or not np.isin(mask, (0, 1)).all():
        raise ProblemError(f"trainable must be a bool array of shape ({circuit.num_resistors},)")
    mask = mask.astype(bool)
    mask.setflags(write=False)
    voltage = all(n in circuit.vsource_names for n in names) and not circuit.isource_names
    problem = LearningProblem(circuit, names, pairs, out_names, mask, voltage)
    if not problem.structure.output_ranks_ok():
        raise ProblemError(f"outputs {', '.join(out_names)} cannot be clamped independently: "
                           "an output is held by voltage sources or the outputs form a loop")
    return problem


def _input_names(circuit: Circuit, inputs: Sequence[str]) -> list[str]:
    known = set(circuit.vsource_names) | set(circuit.isource_names)
    names = [str(n).lower() for n in inputs]
    for name in names:
        if name not in known:
            raise ProblemError(f"unknown input source {name!r} (sources: "
                               f"{', '.join(sorted(known)) or 'none'})")
    if len(set(names)) != len(names):
        raise ProblemError(f"repeated input source in {names}")
    return names


def _output_pairs(circuit: Circuit, outputs: Sequence[str | tuple[str, str]]
                  ) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...]]:
    pairs, labels = [], []
    for out in outputs:
        nodes = (out, "0") if isinstance(out, str) else tuple(out)
        if len(nodes) != 2:
            raise ProblemError(f"output {out!r} must be a node name or a (node+, node-) pair")
        try:
            idx = tuple(circuit.node_index(str(n)) for n in nodes)
        except KeyError as exc:
            raise ProblemError(f"output {out!r}: {exc.args[0]}") from None
        if idx[0] == idx[1]:
            raise ProblemError(f"output {out!r} is a difference of a node with itself")
        pairs.append(idx)
        labels.append(",".join(circuit.nodes[i] for i in idx) if idx[1] else circuit.nodes[idx[0]])
    return tuple(pairs), tuple(labels)
