"""Many operating points of a linear circuit from a few ngspice solves.

ngspice 39 re-orders its sparse matrix (Markowitz, Sparse 1.3) at every ``op``;
that dominates large networks (about 0.5 s for a 71x71 resistor grid, 2.7 s for
100x100, tens of seconds for random sparse graphs of a few thousand nodes), so a
loop of ``alter`` + ``op`` over a thousand points takes minutes to hours.

A circuit made of resistors and independent sources is linear in the source
values. With the altered sources ``s_1 .. s_k`` (every point must name the same
ones), ngspice solves ``k + 1`` design points -- all altered sources at 0, then
each one alone at 1 (volt or ampere) -- plus, as a check, the requested point
farthest from them, and every requested point is the combination

    r(x) = r(0) + sum_j x_j * (r(e_j) - r(0)).

The check point compares ngspice's direct solution with the combination (relative
1e-9, absolute 1e-12 of the largest value); a mismatch (a nonlinear element, say)
raises :class:`SpiceFailed`. The combination agrees with per-point solves to
rounding, about 1e-15 of the circuit's largest voltage or current per unit of
``sum |x_j|``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from circuitlearn.errors import SpiceFailed
from circuitlearn.spice.common import SpiceResult

Solver = Callable[[list[dict[str, float]]], list[SpiceResult]]


def _keys(alterations: Sequence[Mapping[str, float]]) -> list[str]:
    keys = [str(k).strip().lower() for k in alterations[0]]
    wanted = set(keys)
    for index, alteration in enumerate(alterations):
        names = {str(k).strip().lower() for k in alteration}
        if names != wanted:
            raise ValueError(
                f"method='superposition' needs every alteration to name the same sources; "
                f"alteration {index} names {sorted(names)}, alteration 0 names {sorted(wanted)}"
            )
    return keys


def _as_arrays(result: SpiceResult, nodes: list[str], sources: list[str]) -> np.ndarray:
    try:
        values = [result.node_voltages[n] for n in nodes]
        values += [result.source_currents[s] for s in sources]
    except KeyError as exc:
        raise SpiceFailed(f"ngspice results differ in their vectors ({exc})") from None
    return np.array(values, dtype=float)


def run_superposition(
    solve: Solver, alterations: Sequence[Mapping[str, float]]
) -> list[SpiceResult]:
    """Solve many operating points of a linear circuit by superposition.

    Parameters
    ----------
    solve : callable
        Runs one ngspice session for a list of alterations (as
        :func:`circuitlearn.spice.run_op_batch` with the backend fixed).
    alterations : sequence of mapping of str to float
        Source name to DC value (volts or amperes); every mapping must name the
        same sources.

    Returns
    -------
    list of SpiceResult
        One result per alteration; the check point is ngspice's own solution.

    Raises
    ------
    ValueError
        If the alterations name different sources.
    SpiceFailed
        If ngspice fails or the check point shows the circuit is not linear.
    """
    points = [{str(k).strip().lower(): float(v) for k, v in a.items()} for a in alterations]
    if not points:
        return []
    keys = _keys(points)
    if len(points) <= len(keys) + 2:
        return solve(points)  # nothing to gain
    zero = dict.fromkeys(keys, 0.0)
    design = [zero] + [{**zero, key: 1.0} for key in keys]
    x = np.array([[p[k] for k in keys] for p in points], dtype=float)
    # Check the point farthest from every design point (a design point checks nothing).
    corners = np.vstack([np.zeros(len(keys)), np.eye(len(keys))])
    distance = np.linalg.norm(x[:, None, :] - corners[None, :, :], axis=2).min(axis=1)
    check = int(np.argmax(distance))
    solved = solve([*design, points[check]])
    base = solved[0]
    nodes = sorted(base.node_voltages)
    sources = sorted(base.source_currents)
    r0 = _as_arrays(base, nodes, sources)
    units = np.array([_as_arrays(r, nodes, sources) - r0 for r in solved[1 : 1 + len(keys)]])
    combined = r0 + x @ units.reshape(len(keys), r0.size)

    direct = _as_arrays(solved[-1], nodes, sources)
    n_nodes = len(nodes)
    for part, label in ((slice(0, n_nodes), "voltage"), (slice(n_nodes, None), "current")):
        stacked = np.array([_as_arrays(r, nodes, sources)[part] for r in solved])
        scale = float(np.abs(stacked).max()) if stacked.size else 0.0
        diff = np.abs(combined[check, part] - direct[part])
        limit = 1e-9 * np.abs(direct[part]) + 1e-12 * scale
        if np.any(diff > limit):
            worst = int(np.argmax(diff - limit))
            raise SpiceFailed(
                "superposition check failed: the circuit is not linear in the altered "
                f"sources (largest {label} mismatch {diff[worst]:.3g}); use method='op'"
            )

    warnings: list[str] = []
    for result in solved:
        for w in result.warnings:
            if w not in warnings:
                warnings.append(w)
    warnings.append(
        f"circuitlearn: {len(points)} operating points combined by superposition from "
        f"{len(design) + 1} ngspice solutions (one of them a check)"
    )
    out = []
    for index, row in enumerate(combined):
        if index == check:
            out.append(solved[-1])
            continue
        out.append(
            SpiceResult(
                node_voltages=dict(zip(nodes, row[:n_nodes].tolist(), strict=True)),
                source_currents=dict(zip(sources, row[n_nodes:].tolist(), strict=True)),
                warnings=list(warnings),
                backend=base.backend,
            )
        )
    return out
