r"""Generation as an analog circuit: the trained GradEP network as an RC transient in ngspice.

The generator replaces each data source ``vx_i`` of the trained circuit by a
capacitor ``C`` from the data node to ground, started at the source sample
(``.ic``). The network stays resistive, so at every instant it sits at the free
equilibrium for the capacitor voltages ``x`` and the spring current charges the
capacitor:

.. math:: C \frac{dx_i}{dt} = \lambda\,(V_{vis,i} - x_i) \;\Longleftrightarrow\;
          \frac{dx}{dt} = v(x, t) .

A time input becomes ``PWL(0 0 T T)``: a source whose voltage is the time. Several
samples run in one deck as disjoint copies (node and element names suffixed
``_s<j>``). ngspice ``.tran`` (``method=gear``, ``reltol=1e-7``, small ``abstol``,
``vntol``, ``chgtol`` and ``maxstep``) is compared with
:func:`~circuitlearn.learning.flow.integrate_flow` at ngspice's own time points:
the difference of every coordinate relative to the largest ``|x|`` of its sample's
trajectory. Single-ended networks only (a differential pair would need two
capacitors per coordinate with their common mode tied).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from circuitlearn.errors import ProblemError, SpiceFailed
from circuitlearn.learning.flow import FlowField, integrate_flow
from circuitlearn.spice import batch
from circuitlearn.spice.deck import Deck

OPTIONS = ".options reltol=1e-7 abstol=1e-15 vntol=1e-12 chgtol=1e-20 method=gear"


def generator_deck(field: FlowField, x0: np.ndarray, t_end: float, *,
                   max_step: float | None = None) -> str:
    """ngspice deck text of the generator for start points ``x0`` (B, d), V, run to
    ``t_end`` (s); ``max_step`` defaults to ``t_end / 2000``. Values are written as
    exact decimals (``repr`` of the doubles)."""
    lay = field.layout
    if lay.encoding != "single":
        raise ProblemError("the ngspice generator needs a single-ended flow network")
    c, p = field.problem.circuit, field.problem
    x0 = np.atleast_2d(np.asarray(x0, float))
    data_sources = set(p.inputs[:lay.dim])
    time_source = p.inputs[-1] if lay.time else None
    step = t_end / 2000 if max_step is None else max_step
    lines = [f"circuitlearn generator: {c.title.lstrip('* ') or 'flow network'}",
             f"* {len(x0)} copies: trained network, springs lam = {field.lam!r} S, "
             f"C = {field.capacitance!r} F at the data nodes"]
    for j, start in enumerate(x0):
        def node(i: int, j: int = j) -> str:
            return "0" if i == 0 else f"{c.nodes[i]}_s{j}"
        for name, (a, b), k in zip(c.resistor_names, c.resistor_edges.tolist(),
                                   field.solver.k.tolist(), strict=True):
            lines.append(f"{name}_s{j} {node(a)} {node(b)} {1.0 / k!r}")
        for name, (a, b), value in zip(c.vsource_names, c.vsource_edges.tolist(),
                                       c.vsource_values.tolist(), strict=True):
            if name in data_sources:
                i = p.inputs.index(name)
                lines.append(f"c{name}_s{j} {node(a)} {node(b)} {field.capacitance!r}")
                lines.append(f".ic v({node(a)})={float(start[i])!r}")
            elif name == time_source:
                lines.append(f"{name}_s{j} {node(a)} {node(b)} pwl(0 0 {t_end!r} {t_end!r})")
            else:
                lines.append(f"{name}_s{j} {node(a)} {node(b)} dc {value!r}")
        for name, (a, b), value in zip(c.isource_names, c.isource_edges.tolist(),
                                       c.isource_values.tolist(), strict=True):
            lines.append(f"{name}_s{j} {node(a)} {node(b)} dc {value!r}")
    lines += [OPTIONS, f".tran {step!r} {t_end!r} 0 {step!r}"]
    return "\n".join(lines) + "\n"


def run_transient(deck: str, timeout: float = 600.0) -> dict[str, np.ndarray]:
    """Run ``deck`` (with its ``.tran`` card) in ngspice and return the transient
    vectors by lower-case name (``time`` in s, ``v(node)`` in V).

    Raises
    ------
    SpiceUnavailable, SpiceFailed
    """
    lines = deck.rstrip("\n").split("\n")
    plot = batch.run_analysis(Deck(lines, Path.cwd(), "<generator deck>"), "run", timeout)
    return {name: np.real(v) for name, v in plot.vectors.items()}


@dataclass(frozen=True)
class TransientCheck:
    """ngspice's generator against circuitlearn's integration.

    Attributes
    ----------
    times : ndarray (T,), s
    spice, ours : ndarray (T, B, d), V
    max_relative_difference : float
        ``max |spice - ours|`` over time and coordinates, relative to the largest
        ``|x|`` of each sample's trajectory, maximised over samples.
    """

    times: np.ndarray
    spice: np.ndarray
    ours: np.ndarray
    max_relative_difference: float


def check_generation(field: FlowField, x0: np.ndarray, t_end: float, *,
                     max_step: float | None = None) -> TransientCheck:
    """Run the generator for ``x0`` (B, d) in ngspice and compare (module docstring)."""
    x0 = np.atleast_2d(np.asarray(x0, float))
    vectors = run_transient(generator_deck(field, x0, t_end, max_step=max_step))
    c, p = field.problem.circuit, field.problem
    times = vectors["time"]
    nodes = [c.nodes[c.vsource_edges[c.vsource_names.index(s), 0]]
             for s in p.inputs[:field.layout.dim]]
    try:
        spice = np.stack([np.column_stack([vectors[f"v({n}_s{j})"] for n in nodes])
                          for j in range(len(x0))], axis=1)
    except KeyError as exc:
        raise SpiceFailed(f"ngspice's transient has no vector {exc.args[0]}") from None
    ours = integrate_flow(field, x0, times)
    scale = np.max(np.abs(ours), axis=(0, 2))
    diff = np.max(np.abs(spice - ours), axis=(0, 2)) / np.where(scale > 0, scale, 1.0)
    return TransientCheck(times, spice, ours, float(diff.max()))
