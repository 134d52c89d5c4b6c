r"""Flow matching on a resistor network: the GradEP circuit, its velocity field, generation.

The circuit (gradient equilibrium propagation, Gower's FlowEqProp, on linear resistors)
    ``d`` *visible* nodes; visible node ``i`` is tied by a fixed *spring* conductance
    ``lam`` (S) to a grounded voltage source at the data coordinate ``x_i`` (an input
    of the learning problem). Hidden nodes, trainable resistors, fixed bias sources
    (rails) and optionally a *time source* at voltage ``t`` (one more input) make up
    the rest. The outputs of the learning problem are the visible nodes.
Free equilibrium and read-out
    The free state minimises ``E(V) + lam/2 ||V_vis - x||^2`` (rails held); the spring
    current ``lam (x - V_vis)`` is the read-out, and with a capacitance ``C`` (F)

    .. math:: v(x, t) = \frac{\lambda}{C}\,\big(V_{vis}^*(x, t) - x\big)
              = A x + c_0 + t\, c_1 \quad (\mathrm{V/s}),

    affine for a linear network (:meth:`FlowField.affine`; the Kron-reduction closed
    form and what it can represent are in :mod:`circuitlearn.analysis.flow`).
Generation is an RC transient
    A capacitor ``C`` at each data node, joined to the network by its spring, obeys
    ``C dx/dt = lam (V_vis - x)``, i.e. ``dx/dt = v(x, t)``: :func:`integrate_flow`
    (RK4) and, in ngspice, :mod:`circuitlearn.spice.transient`.
Encodings
    ``single``: output ``i`` is visible node ``v_i``, input ``i`` the source behind
    its spring. ``differential`` (two nodes per coordinate, for couplings of either
    sign): output ``i`` is the pair ``(p_i, n_i)``, inputs ``i`` and ``d + i`` are
    sources at ``+x_i/2`` and ``-x_i/2`` behind the springs of ``p_i`` and ``n_i``,
    and ``v_i = (lam/C)(V(p_i) - V(n_i) - x_i)``. Either way the time source, if
    any, is the last input.

>>> from circuitlearn.solver.problem import make_problem
>>> problem = make_problem(*flow_network(2, hidden=1, rails=(-1.0, 1.0), seed=0))
>>> field = FlowField(problem, problem.circuit.conductance, capacitance=0.5)
>>> field.layout.dim, field.layout.encoding, field.lam
(2, 'single', 1.0)
>>> A, c0, c1 = field.affine()
>>> bool(np.allclose(field.velocity(np.ones((1, 2))), A @ np.ones(2) + c0))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.errors import ProblemError
from circuitlearn.solver.equilibrium import EquilibriumSolver
from circuitlearn.solver.problem import LearningProblem

SPRING_RTOL = 1e-9
"""Springs of one network must agree to this relative tolerance (one ``lam``)."""


@dataclass(frozen=True)
class FlowLayout:
    """Where the data, the springs and the time source sit in a learning problem.

    Attributes
    ----------
    dim : int
        Data dimension ``d`` (number of outputs).
    encoding : str
        ``"single"`` or ``"differential"``.
    springs : ndarray of int, shape (d,) or (2 d,)
        Resistor index of the spring behind input ``j`` (``j < 2 d`` differential).
    time : bool
        The last input is a time source at voltage ``t``.
    drive : ndarray, shape (n_in, d)
        Input voltages per unit data coordinate: ``[I]`` or ``[I/2; -I/2]``, and a
        zero row for the time source.
    """

    dim: int
    encoding: str
    springs: np.ndarray
    time: bool
    drive: np.ndarray

    def spring_conductance(self, k: np.ndarray) -> float:
        """The one spring conductance ``lam`` (S) of conductances ``k``.

        Raises
        ------
        ProblemError
            Springs of different conductance (the loss would weigh coordinates
            unequally) or a spring that is not positive.
        """
        lam = np.asarray(k, float)[self.springs]
        if lam.min() <= 0 or lam.max() - lam.min() > SPRING_RTOL * lam.max():
            raise ProblemError(f"the springs must share one positive conductance, got "
                               f"{lam.min():.6g} .. {lam.max():.6g} S")
        return float(lam.mean())

    def inputs(self, x: np.ndarray, t: np.ndarray | float | None = None) -> np.ndarray:
        """Input source values (B, n_in), V, for data points ``x`` (B, d) at times ``t``."""
        x = np.atleast_2d(np.asarray(x, float))
        u = x @ self.drive.T
        if self.time:
            u[:, -1] = 0.0 if t is None else t
        return u

    def data_points(self, inputs: np.ndarray) -> np.ndarray:
        """The data points ``x`` (B, d) that :meth:`inputs` turned into ``inputs``."""
        n = self.dim
        u = np.atleast_2d(np.asarray(inputs, float))
        return u[:, :n] if self.encoding == "single" else u[:, :n] - u[:, n:2 * n]


def flow_layout(problem: LearningProblem, time: bool | None = None) -> FlowLayout:
    """The :class:`FlowLayout` of ``problem``, found from its inputs and outputs.

    Node outputs give the single encoding, node-pair outputs the differential one.
    Input ``j`` must be a grounded voltage source whose node is joined to the
    network only by one resistor (its spring) to output terminal ``j``. One more
    input is the time source; ``time`` (if given) says whether there must be one.

    Raises
    ------
    ProblemError
        The problem is not wired as a GradEP circuit (the message names the input).
    """
    c, outs = problem.circuit, problem.outputs
    pairs = [m for _, m in outs]
    encoding = "single" if not any(pairs) else "differential"
    if encoding == "differential" and not all(pairs):
        raise ProblemError("flow outputs must be all nodes (single encoding) or all node "
                           "pairs (differential encoding)")
    d = len(outs)
    terminals = [p for p, _ in outs] + (pairs if encoding == "differential" else [])
    extra = problem.num_inputs - len(terminals)
    if extra not in (0, 1) or (time is not None and extra != int(time)):
        want = f"{len(terminals)}{' + 1 (time)' if time else ''}"
        raise ProblemError(f"a {encoding} flow network of dimension {d} needs {want} "
                           f"inputs, got {problem.num_inputs}")
    springs = [_spring(c, name, node) for name, node in
               zip(problem.inputs, terminals, strict=False)]
    eye = np.eye(d)
    drive = eye if encoding == "single" else np.vstack([eye / 2, -eye / 2])
    if extra:
        time_source = problem.inputs[-1]
        if time_source not in c.vsource_names:
            raise ProblemError(f"the time input {time_source!r} must be a voltage source")
        drive = np.vstack([drive, np.zeros((1, d))])
    return FlowLayout(d, encoding, np.array(springs, np.int64), bool(extra), drive)


def _spring(c: Circuit, source: str, terminal: int) -> int:
    """Index of the one resistor between ``source``'s node and output node ``terminal``."""
    if source not in c.vsource_names:
        raise ProblemError(f"flow input {source!r} must be a voltage source")
    a, b = c.vsource_edges[c.vsource_names.index(source)].tolist()
    if b != 0:
        raise ProblemError(f"flow input {source!r} must be grounded (its node- is "
                           f"{c.nodes[b]!r})")
    touching = np.flatnonzero(np.any(c.resistor_edges == a, axis=1))
    other = c.resistor_edges[touching].sum(axis=1) - a
    if len(touching) != 1 or other[0] != terminal:
        raise ProblemError(f"flow input {source!r}: node {c.nodes[a]!r} must be joined only "
                           f"by one resistor (the spring) to node {c.nodes[terminal]!r}")
    return int(touching[0])


class FlowField:
    r"""The velocity field ``v(x, t) = (lam/C)(V_vis*(x, t) - x)`` (V/s) of a network.

    Parameters
    ----------
    problem : LearningProblem
        A GradEP circuit (:func:`flow_layout`).
    k : ndarray, shape (E,)
        Conductances (S); the springs give ``lam``.
    capacitance : float
        ``C`` (F) at each data node.
    layout : FlowLayout, optional
        Default :func:`flow_layout` of ``problem``.
    """

    def __init__(self, problem: LearningProblem, k: np.ndarray, capacitance: float,
                 layout: FlowLayout | None = None):
        if not capacitance > 0:
            raise ProblemError(f"capacitance must be positive, got {capacitance}")
        self.problem = problem
        self.layout = layout or flow_layout(problem)
        self.lam = self.layout.spring_conductance(k)
        self.capacitance = float(capacitance)
        self.solver = EquilibriumSolver(problem, k)

    @property
    def rate(self) -> float:
        """``lam / C`` (1/s): spring current per farad per volt of displacement."""
        return self.lam / self.capacitance

    def velocity(self, x: np.ndarray, t: np.ndarray | float | None = None) -> np.ndarray:
        """``v`` (B, d), V/s, from the free states (one solve per example)."""
        x = np.atleast_2d(np.asarray(x, float))
        s = self.solver
        return self.rate * (s.outputs(s.free(self.layout.inputs(x, t))) - x)

    def affine(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(A, c0, c1)``: ``v(x, t) = A x + c0 + t c1``; A (d, d) in 1/s, c0 and c1
        (d,) in V/s and V/s^2 (zero without a time source). From the free map
        ``V_out = CH [u, 1]`` and the drive ``u = D x (+ t e_t)``."""
        ch = self.solver.outputs(self.solver.free_map.T)  # (n_in + 1, d)
        lay, r = self.layout, self.rate
        a = r * (ch[:-1].T @ lay.drive - np.eye(lay.dim))
        c1 = r * ch[-2] if lay.time else np.zeros(lay.dim)
        return a, r * ch[-1], c1

    def targets(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Voltage targets ``y = x + (C/lam) u`` (V) of velocities ``u`` (V/s) at ``x``."""
        return np.asarray(x, float) + np.asarray(u, float) / self.rate

    def loss(self, x: np.ndarray, u: np.ndarray, t: np.ndarray | float | None = None) -> float:
        """Flow-matching loss ``1/2 mean_b ||v(x_b, t_b) - u_b||^2`` (V^2/s^2)."""
        e = self.velocity(x, t) - np.asarray(u, float)
        return 0.5 * float(np.mean(np.sum(e ** 2, axis=1)))


def integrate_flow(field: FlowField, x0: np.ndarray, times: Sequence[float] | np.ndarray,
                   max_step: float | None = None) -> np.ndarray:
    r"""Trajectories of ``dx/dt = v(x, t)`` from ``x0`` (B, d), V, at ``times`` (s).

    Classical RK4, ``ceil(gap / max_step)`` equal steps between consecutive output
    times; ``x0`` is the state at ``times[0]``. Default ``max_step = 0.02 C/lam``:
    the stiffest mode of a passive field decays at most at the rate ``lam/C``, so
    ``h |a| <= 0.02`` and the error per step is below ``(h a)^5/120 ~ 3e-11`` of the
    state (measured: 3e-10 of ``max |x|`` after ``t = 1.7 s`` with ``lam/C = 1.9 /s``).

    The field is affine, so RK4 is linear in the augmented state ``z = [x, 1, t]``,
    ``dz/dt = M z``: one step is ``z <- R(h M) z`` with
    ``R(Z) = I + Z + Z^2/2 + Z^3/6 + Z^4/24`` (the same numbers as the four stages),
    and ``n`` steps are the matrix power ``R^n``.

    Returns
    -------
    ndarray, shape (len(times), B, d)
        ``x(times[i])``.
    """
    a, c0, c1 = field.affine()
    d = len(a)
    m = np.zeros((d + 2, d + 2))
    m[:d, :d], m[:d, d], m[:d, d + 1], m[d + 1, d] = a, c0, c1, 1.0
    eye = np.eye(d + 2)
    times = np.asarray(times, float)
    h_max = 0.02 / field.rate if max_step is None else float(max_step)
    x = np.atleast_2d(np.asarray(x0, float))
    z = np.hstack([x, np.ones((len(x), 1)), np.full((len(x), 1), times[0])])
    out = [x.copy()]
    for t0, t1 in zip(times[:-1], times[1:], strict=True):
        n = max(1, int(np.ceil((t1 - t0) / h_max - 1e-9)))
        hm = (t1 - t0) / n * m
        step = eye + hm @ (eye + hm @ (eye + hm @ (eye + hm / 4) / 3) / 2)
        z = z @ np.linalg.matrix_power(step, n).T
        out.append(z[:, :d].copy())
    return np.array(out)


# ------------------------------------------------------------------ networks
def flow_network(dim: int, *, hidden: int = 0, lam: float = 1.0,
                 rails: Sequence[float] = (), time: bool = False,
                 differential: bool = False, conductance: tuple[float, float] = (0.01, 0.02),
                 seed: int = 0) -> tuple[Circuit, list[str], list]:
    """A GradEP circuit: springs ``lam`` (S) to sources ``vx*``, every pair of free
    nodes (visible and hidden) joined by a trainable resistor ``rk*``, every free node
    joined to each rail (sources ``vb*`` at ``rails``, V) and to the time source ``vt``.

    Trainable conductances are uniform in ``conductance`` (S). Returns the circuit,
    its inputs and its outputs (for :func:`~circuitlearn.solver.problem.make_problem`).
    """
    from circuitlearn.netlist import parse

    if dim < 1 or hidden < 0:
        raise ProblemError(f"flow network needs dim >= 1 and hidden >= 0, got {dim}, {hidden}")
    d = range(1, dim + 1)
    if differential:
        terminals = [f"p{i}" for i in d] + [f"n{i}" for i in d]
        sources = [f"xp{i}" for i in d] + [f"xn{i}" for i in d]
        outputs: list = [(f"p{i}", f"n{i}") for i in d]
    else:
        terminals, sources, outputs = [f"v{i}" for i in d], [f"x{i}" for i in d], \
            [f"v{i}" for i in d]
    free = terminals + [f"h{j}" for j in range(1, hidden + 1)]
    lines = [f"* GradEP circuit: dimension {dim}, hidden nodes {hidden}, lam = {lam!r} S"]
    lines += [f"v{s} {s} 0 0" for s in sources]
    lines += [f"rs{i + 1} {s} {t} {1.0 / lam!r}" for i, (s, t) in
              enumerate(zip(sources, terminals, strict=True))]
    lines += [f"vb{j} b{j} 0 {float(b)!r}" for j, b in enumerate(rails, start=1)]
    ends = [f"b{j}" for j in range(1, len(rails) + 1)] + (["t"] if time else [])
    if time:
        lines.append("vt t 0 0")
    pairs = [(a, b) for i, a in enumerate(free) for b in free[i + 1:]]
    pairs += [(a, b) for a in free for b in ends]
    k = np.random.default_rng(seed).uniform(*conductance, size=len(pairs))
    lines += [f"rk{e} {a} {b} {1.0 / float(g)!r}" for e, ((a, b), g) in
              enumerate(zip(pairs, k, strict=True), start=1)]
    inputs = [f"v{s}" for s in sources] + (["vt"] if time else [])
    return parse("\n".join(lines) + "\n.end\n"), inputs, outputs
