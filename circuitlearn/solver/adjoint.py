r"""The adjoint network (Director and Rohrer 1969): exact gradients from a second circuit.

Sign convention (derived from Tellegen's theorem)
-------------------------------------------------
Take the physical network N at conductances ``k`` and a second network N^ on the
same graph with the same conductances, every independent source of N switched off
(voltage sources at 0 V: shorts; current sources at 0 A: open), and a current
``J_o`` injected into node+ of each output port ``o`` (drawn from node-). Give every
branch a voltage ``v`` and a current ``i`` entering at its + terminal. Tellegen's
theorem holds for any KVL-consistent voltages paired with any KCL-consistent
currents, so for a perturbation ``dk`` of N,
``sum_b (delta v_b i^_b - v^_b delta i_b) = 0``. Branch by branch:

* resistor: ``delta i = delta k v + k delta v`` and ``i^ = k v^``, contributing
  ``-delta k_e dV_e dV^_e``;
* voltage source: ``delta v = 0`` in N and ``v^ = 0`` in N^ (short): 0;
* current source: ``delta i = 0`` in N and ``i^ = 0`` in N^ (open): 0;
* output port (open in N, a source driving ``J_o`` into node+ in N^): ``i^ = -J_o``,
  contributing ``-J_o delta(C V)_o``.

Hence ``J^T delta(C V) = -sum_e delta k_e dV_e dV^_e``. Injecting the output errors
``J = e_b = C V_F - y_b`` (V read as A) gives the adjoint state ``lambda_b``
(:meth:`~circuitlearn.solver.equilibrium.EquilibriumSolver.adjoint`) and

.. math:: \frac{\partial L}{\partial k_e}
          = -\operatorname{mean}_b\, dV_{F,b,e}\; d\lambda_{b,e},
          \qquad L = \tfrac12 \operatorname{mean}_b \lVert C V_F - y_b \rVert^2 .

Injecting ``y - C V_F`` instead (``V^ = -lambda``, the direction of the EP nudge
current) flips the sign: ``dL/dk = +mean_b dV_F dV^``. The product of the two drops
does not depend on the orientation of the edge.

In SPICE a current source ``I n1 n2 val`` draws ``val`` out of ``n1`` and drives it
into ``n2``, so the injection into the output ``(a, b)`` is written ``Iadj<j> b a
DC e_j`` (``b = 0`` for a node output). Every source of the netlist stays in the
adjoint deck at DC 0, so one deck serves every example (``alter iadj<j> dc = ...``).

EP's nudged state is ``V_beta = V_F - beta lambda + O(beta^2)``; with a fixed nudge
current ``beta (y - C V_F)`` (:func:`current_nudged_network`) it is exactly
``V_F - beta lambda`` (see :mod:`circuitlearn.learning.rules`).

>>> from circuitlearn.solver.examples import random_problem
>>> from circuitlearn.solver.dc import solve
>>> from circuitlearn.solver.equilibrium import EquilibriumSolver
>>> problem, k, x, y = random_problem(0)
>>> adj = adjoint_network(problem, k, x[0], y[0])
>>> adj.isource_names[-2:], float(np.abs(adj.vsource_values).max())
(('iadj1', 'iadj2'), 0.0)
>>> es = EquilibriumSolver(problem, k)
>>> lam = es.adjoint(es.outputs(es.free(x[:1])) - y[:1])[0]
>>> bool(np.allclose(solve(adj).node_voltages, lam, rtol=1e-12, atol=1e-15))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.errors import ProblemError
from circuitlearn.solver.dc import solve
from circuitlearn.solver.equilibrium import EquilibriumSolver, LearningProblem

ADJOINT_PREFIX = "iadj"
NUDGE_PREFIX = "inudge"


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, with ``_`` appended until it is not in ``taken``."""
    while name in taken:
        name += "_"
    return name


def port_current_circuit(circuit: Circuit, ports: Sequence[tuple[int, int]],
                         currents: Sequence[float], *, sources_off: bool,
                         prefix: str = ADJOINT_PREFIX) -> tuple[Circuit, tuple[str, ...]]:
    """``circuit`` with a current source per port ``(a, b)`` (node indices) that drives
    ``currents[j]`` (A) into ``a`` and draws it from ``b``: SPICE ``<prefix><j> b a``.

    With ``sources_off`` every independent source of ``circuit`` is set to 0 (voltage
    sources short, current sources open): the adjoint network. Returns the circuit
    and the names of the added sources (unique among the circuit's source names).
    """
    taken = set(circuit.vsource_names) | set(circuit.isource_names) | set(
        circuit.resistor_names)
    names = []
    for j in range(1, len(ports) + 1):
        names.append(unique_name(f"{prefix}{j}", taken))
        taken.add(names[-1])
    v = np.zeros_like(circuit.vsource_values) if sources_off else circuit.vsource_values
    i = np.zeros_like(circuit.isource_values) if sources_off else circuit.isource_values
    edges = [(b, a) for a, b in ports]
    kind = "adjoint network" if sources_off else "port currents"
    out = Circuit(
        nodes=circuit.nodes, resistor_names=circuit.resistor_names,
        resistor_edges=circuit.resistor_edges, conductance=circuit.conductance,
        vsource_names=circuit.vsource_names, vsource_edges=circuit.vsource_edges,
        vsource_values=v, isource_names=(*circuit.isource_names, *names),
        isource_edges=np.vstack([circuit.isource_edges, np.reshape(edges, (-1, 2))]),
        isource_values=np.concatenate([i, np.asarray(currents, float)]),
        title=f"{circuit.title} ({kind})")
    return out, tuple(names)


def output_errors(problem: LearningProblem, k: np.ndarray, x: np.ndarray,
                  y: np.ndarray) -> np.ndarray:
    """Free-state output errors ``e = C V_F - y`` (B, n_out), V."""
    solver = EquilibriumSolver(problem, k)
    return solver.outputs(solver.free(x)) - np.reshape(y, (-1, problem.num_outputs))


def adjoint_network(problem: LearningProblem, k: np.ndarray, x: np.ndarray,
                    y: np.ndarray) -> Circuit:
    """The adjoint network of one example ``x`` (n_in,), ``y`` (n_out,) at ``k`` (S).

    Same resistors; every independent source at DC 0 (inputs and bias sources alike);
    ``iadj<j> node- node+ DC e_j`` injects the output error ``e = C V_F - y`` (A) into
    node+ of output ``j``. Its node potentials are the adjoint state ``lambda`` and
    ``dL/dk_e = -dV_{F,e} dlambda_e`` for this example (module docstring).
    """
    e = output_errors(problem, k, x, y)
    if len(e) != 1:
        raise ProblemError(f"adjoint_network takes one example, got {len(e)}")
    circuit = problem.circuit.with_conductance(k)
    return port_current_circuit(circuit, problem.outputs, e[0], sources_off=True)[0]


def current_nudged_network(problem: LearningProblem, k: np.ndarray, x: np.ndarray,
                           y: np.ndarray, beta: float) -> Circuit:
    """The network of one example with every source on and the fixed nudge currents
    ``beta (y - C V_F)`` (A, ``beta`` in S, any sign) driven into node+ of each output
    (``inudge<j> node- node+``): its potentials are exactly ``V_F - beta lambda``."""
    e = output_errors(problem, k, x, y)
    if len(e) != 1:
        raise ProblemError(f"current_nudged_network takes one example, got {len(e)}")
    circuit = problem.with_inputs(x).with_conductance(k)
    return port_current_circuit(circuit, problem.outputs, -beta * e[0], sources_off=False,
                                prefix=NUDGE_PREFIX)[0]


def resistance_sensitivity(circuit: Circuit, output: tuple[str, str]) -> np.ndarray:
    r"""``dV_out/dR_e`` (E,), V/ohm, of ``V_out = V(a) - V(b)`` (``b = "0"`` for a node)
    with respect to every resistance, by the adjoint network of a 1 A probe.

    With ``mu`` the potentials when 1 A is driven into ``a`` (out of ``b``) and every
    source is off, Tellegen gives ``dV_out/dk_e = -dV_e dmu_e``, and ``k = 1/R``:

    .. math:: \frac{\partial V_{out}}{\partial R_e} = k_e^2\, dV_e\, d\mu_e .

    >>> from circuitlearn.netlist import parse
    >>> c = parse("divider\nV1 in 0 10\nR1 in mid 1k\nR2 mid 0 3k\n")
    >>> [round(float(s), 12) for s in resistance_sensitivity(c, ("mid", "0"))]
    [-0.001875, 0.000625]
    """
    try:
        port = tuple(circuit.node_index(n) for n in output)
    except KeyError as exc:
        raise ProblemError(f"output {','.join(output)}: {exc.args[0]}") from None
    if port[0] == port[1]:
        raise ProblemError(f"output {','.join(output)} is a node against itself")
    probe, _ = port_current_circuit(circuit, [port], [1.0], sources_off=True)
    k = circuit.conductance
    return k**2 * solve(circuit).resistor_voltages() * solve(probe).resistor_voltages()
